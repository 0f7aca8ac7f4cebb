# SPDX-License-Identifier: Apache-2.0
"""CCIL tasks: the experts solve their tasks in MuJoCo; perturbations and names."""

import numpy as np
import pytest

from robot_learning.ccil.evaluation import collect_demonstrations, evaluate_policy
from robot_learning.ccil.tasks import make_task, Perturbation
from robot_learning.config import ConfigError


def _expert(name: str):
    task = make_task(name, 1)
    return task, task.expert


def test_the_scripted_arm_expert_reaches_every_goal():
    task, expert = _expert('arm_reach')
    report = evaluate_policy('arm_reach', expert, 4, seed=3)
    task.close()
    assert report['score'] > 0.95 and report['failure_rate'] == 0.0


def test_the_humanoid_expert_stands_and_holding_the_default_pose_falls():
    task, expert = _expert('humanoid_balance')
    standing = evaluate_policy('humanoid_balance', expert, 2, seed=3)
    holding = evaluate_policy('humanoid_balance', lambda s: np.zeros((len(s), 21)), 2, seed=3)
    task.close()
    assert standing['score'] == 1.0
    assert holding['failure_rate'] == 1.0 and holding['score'] < 0.5


def test_the_ppo_expert_tracks_the_speed_command():
    demos = collect_demonstrations('quadruped_velocity', 1, seed=3)
    assert demos.robot == 'quadruped' and demos.state_dim == 48 and demos.action_dim == 12
    assert len(demos.states[0]) == 500  # no fall: the whole 10 s episode
    command = demos.states[0][0, 9]  # velocity_command x, scaled by 2
    assert 0.6 <= command <= 1.6
    forward = demos.states[0][100:, 0] / 2.0  # base_lin_vel x [m/s] after 2 s
    assert abs(forward.mean() - command / 2.0) < 0.15


def test_action_noise_is_gaussian_with_the_task_scale():
    task = make_task('arm_reach', 1, perturbation=Perturbation(action_noise=0.5))
    noise = task.disturb(np.zeros((20000, 7)))
    task.close()
    np.testing.assert_allclose(noise.std(axis=0), 0.5, rtol=0.05)
    np.testing.assert_allclose(noise.mean(axis=0), 0.0, atol=0.02)


def test_an_unknown_task_is_refused():
    with pytest.raises(ConfigError, match="unknown CCIL task 'hopper'; valid: "
                                          'quadruped_velocity, arm_reach, humanoid_balance'):
        make_task('hopper', 1)
