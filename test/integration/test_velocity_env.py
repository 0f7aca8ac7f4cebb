# SPDX-License-Identifier: Apache-2.0
"""The velocity-tracking environment on both registered quadrupeds and both engines."""

from __future__ import annotations

import numpy as np
import pytest

from robot_learning.config import ConfigError
from robot_learning.domain_randomization.box import ParameterBox
from robot_learning.domain_randomization.randomizer import UniformRandomization
from robot_learning.tasks.velocity_tracking import VelocityTaskConfig, VelocityTrackingEnv


@pytest.mark.parametrize('robot', ['quadruped', 'a1'])
@pytest.mark.parametrize('backend', ['mujoco', 'pybullet'])
def test_reset_and_step_shapes_and_finite_values(robot, backend):
    env = VelocityTrackingEnv(VelocityTaskConfig(robot=robot, backend=backend, num_envs=3))
    rng = np.random.default_rng(0)
    for _ in range(5):
        obs, rewards, terminated, truncated, info = env.step(rng.uniform(-1, 1, (3, 12)))
    assert obs['policy'].shape == (3, 48) and obs['critic'].shape == (3, 48)
    assert rewards.shape == terminated.shape == truncated.shape == (3,)
    assert np.all(np.isfinite(obs['policy'])) and np.all(np.isfinite(rewards))
    assert np.all(rewards >= 0.0)  # only_positive_rewards
    env.backend.close()


def test_non_finite_simulator_state_resets_the_environment_and_is_counted():
    env = VelocityTrackingEnv(VelocityTaskConfig(num_envs=4, reset_base_velocity=0.0))
    env.step(np.zeros((4, 12)))
    backend = env.backend
    backend.state[2, backend._qvel.start + 7] = np.nan  # a simulator blow-up in env 2
    obs, rewards, terminated, truncated, info = env.step(np.zeros((4, 12)))
    assert terminated.tolist() == [False, False, True, False]
    assert env.nonfinite_resets == 1 and info['log']['/sim/nonfinite_resets'] == 1.0
    assert np.all(np.isfinite(obs['policy'])) and rewards[2] == 0.0
    assert env.episode_length[2] == 0
    obs, *_ = env.step(np.zeros((4, 12)))  # training goes on
    assert np.all(np.isfinite(obs['policy']))


def test_time_out_is_a_truncation_and_commands_can_be_fixed():
    config = VelocityTaskConfig(num_envs=2, episode_length_s=0.1, fixed_command=(0.5, 0.0, 0.0),
                                reset_base_velocity=0.0)
    env = VelocityTrackingEnv(config)
    np.testing.assert_allclose(env.commands, [[0.5, 0, 0], [0.5, 0, 0]])
    for _ in range(env.max_episode_length - 1):
        _, _, terminated, truncated, _ = env.step(np.zeros((2, 12)))
        assert not truncated.any()
    _, _, terminated, truncated, info = env.step(np.zeros((2, 12)))
    assert truncated.all() and not terminated.any()
    assert '/reward/track_lin_vel_xy_exp' in info['log']


def test_per_reset_randomization_and_bad_task_inputs():
    box = ParameterBox.from_mapping({'ground_friction': [0.5, 1.25]})
    env = VelocityTrackingEnv(VelocityTaskConfig(num_envs=8),
                              randomizer=UniformRandomization(box))
    friction = env.backend.dynamics['ground_friction']
    assert np.all((friction >= 0.5) & (friction <= 1.25)) and np.ptp(friction) > 0
    np.testing.assert_array_equal(env.sampled_dynamics[:, 0], friction)
    with pytest.raises(ConfigError, match='task.dynamics fixes ground_friction'):
        VelocityTrackingEnv(VelocityTaskConfig(num_envs=1, dynamics={'ground_friction': 1.0}),
                            randomizer=UniformRandomization(box))
    with pytest.raises(ConfigError, match="unknown robot 'spot'"):
        VelocityTrackingEnv(VelocityTaskConfig(robot='spot', num_envs=1))
    with pytest.raises(ConfigError, match="unknown dynamics parameter 'frction'"):
        VelocityTrackingEnv(VelocityTaskConfig(num_envs=1, dynamics={'frction': 0.5}))
    with pytest.raises(ValueError, match='fixed base'):
        VelocityTrackingEnv(VelocityTaskConfig(robot='arm', num_envs=1))
    with pytest.raises(ConfigError, match="unknown simulation backend 'gazebo'"):
        VelocityTrackingEnv(VelocityTaskConfig(backend='gazebo', num_envs=1))


def test_finished_episodes_report_success_and_only_complete_ones_reach_the_randomizer():
    box = ParameterBox.from_mapping({'motor_strength': [0.9, 1.1]})
    randomizer = UniformRandomization(box)
    config = VelocityTaskConfig(num_envs=3, episode_length_s=0.2, fixed_command=(0.0, 0.0, 0.0),
                                reset_base_velocity=0.0, reset_joint_pos_scale=(1.0, 1.0),
                                success_speed_error=0.05)
    env = VelocityTrackingEnv(config, randomizer=randomizer)
    env.episode_length[2] = 5  # what rsl-rl's random initial episode lengths do
    sampled = env.sampled_dynamics.copy()
    for _ in range(env.max_episode_length - 5):
        _, _, _, _, info = env.step(np.zeros((3, 12)))
    assert info['episodes']['env_ids'].tolist() == [2]
    assert info['episodes']['complete'].tolist() == [False]
    assert len(randomizer.buffer) == 0  # cut short: proves nothing about its dynamics
    for _ in range(5):
        _, _, _, _, info = env.step(np.zeros((3, 12)))
    episodes = info['episodes']
    assert episodes['env_ids'].tolist() == [0, 1] and episodes['complete'].all()
    # Standing still on a zero command at the default pose: tiny speed error, no fall.
    assert np.all(episodes['speed_error'] < 0.05) and episodes['success'].all()
    values, success, _ = randomizer.buffer.arrays(1)
    np.testing.assert_array_equal(values, sampled[:2])
    assert success.tolist() == [True, True]
    assert info['log']['/episode/success_rate'] == 1.0
