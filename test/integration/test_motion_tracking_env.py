# SPDX-License-Identifier: Apache-2.0
"""The motion-tracking environment on MuJoCo: reference resets, the action hook, episode ends."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from robot_learning.config import load_config
from robot_learning.motions.library import motion_inputs
from robot_learning.rl.train_config import TrainConfig
from robot_learning.sim.base import SimConfig
from robot_learning.tasks.motion_tracking import MotionTaskConfig, MotionTrackingEnv
from robot_learning.tasks.observations import compute_observation, ObservationInputs

SIM = SimConfig(num_threads=1)


def _env(**changes) -> MotionTrackingEnv:
    config = MotionTaskConfig(num_envs=4, sim=SIM, noise_level=0.0, **changes)
    return MotionTrackingEnv(config)


def test_resets_put_every_environment_on_its_reference():
    env = _env(seed=3)
    reference = env.reference()
    assert np.all(env.motion_time >= 0.0)
    np.testing.assert_allclose(env.state.joint_pos, reference.joint_pos, atol=1e-9)
    np.testing.assert_allclose(env.state.base_pos, reference.base_pos, atol=1e-9)
    np.testing.assert_allclose(env.body_pos, reference.body_pos, atol=1e-9)
    # Random starts are whole control steps that leave start_margin_s of the motion.
    steps = env.motion_time / env.dt
    np.testing.assert_allclose(steps, np.round(steps), atol=1e-9)
    assert np.all(env.motion_time <= env.library.durations[env.motion_ids] - 0.5 + 1e-9)


def test_the_action_transform_changes_the_targets_before_the_backend_steps():
    calls = []

    def add_offset(state, targets):
        calls.append((state.joint_pos.copy(), targets.copy()))
        return targets + 0.1

    shifted, direct = _env(random_start=False), _env(random_start=False)
    shifted.set_action_transform(add_offset)
    start = shifted.state.joint_pos.copy()
    shifted.step(np.zeros((4, 21)))
    # The same targets reached directly: default + 0.25 * 0.4 = default + 0.1.
    direct.step(np.full((4, 21), 0.4))
    np.testing.assert_array_equal(shifted.state.joint_pos, direct.state.joint_pos)
    np.testing.assert_array_equal(calls[0][0], start)
    np.testing.assert_allclose(calls[0][1], np.tile(shifted.robot.default_joint_pos, (4, 1)))
    shifted.set_action_transform(lambda state, targets: targets[:, :3])
    with pytest.raises(ValueError, match=r'returned shape \(4, 3\), expected \(4, 21\)'):
        shifted.step(np.zeros((4, 21)))


def test_the_motion_end_is_a_time_out_and_the_phase_follows_the_step_count():
    env = _env(random_start=False, motions=('kick', 'squat'),
               terminate_body_distance=np.inf)
    steps = int(round(env.library.durations[0] / env.dt))  # the kick: 3.2 s
    column = 21 * 2 + 6 + 21  # gravity, ang vel, joints, joint vel, last action -> phase
    for step in range(1, steps):
        _, _, terminated, truncated, info = env.step(np.zeros((4, 21)))
        assert not truncated.any()
        if step == 10:
            phase = env.observations['critic'][:, column]
            np.testing.assert_allclose(phase, [0.2 / 3.2, 0.2 / 4.4] * 2, atol=1e-6)
            # The policy node's path: motion_inputs at (steps since activation) * dt.
            node_phase, node_reference = motion_inputs(env.library, np.array([0]),
                                                       np.array([10 * env.dt]))
            inputs = ObservationInputs(
                base_quat=env.state.base_quat[:1], base_lin_vel=env.state.base_lin_vel[:1],
                base_ang_vel=env.state.base_ang_vel[:1], joint_pos=env.state.joint_pos[:1],
                joint_vel=env.state.joint_vel[:1],
                default_joint_pos=env.robot.default_joint_pos, command=np.zeros((1, 3)),
                last_action=np.zeros((1, 21)), motion_phase=node_phase,
                reference_joint_pos=node_reference)
            np.testing.assert_array_equal(compute_observation(env.config.observations, inputs),
                                          env.observations['critic'][:1])
    _, _, terminated, truncated, info = env.step(np.zeros((4, 21)))
    # Environments 0 and 2 play the kick and end now; 1 and 3 (the squat) go on.
    np.testing.assert_array_equal(truncated | terminated, [True, False, True, False])
    np.testing.assert_array_equal(info['episodes']['env_ids'], [0, 2])
    assert env.motion_time[0] == 0.0 and env.motion_time[1] == pytest.approx(3.2)


def test_leaving_the_reference_terminates_as_a_failure():
    env = _env(random_start=False, terminate_body_distance=1e-6)
    _, rewards, terminated, truncated, info = env.step(np.full((4, 21), 2.0))
    assert terminated.all() and not truncated.any()
    assert not info['episodes']['success'].any()
    assert info['log']['/episode/success_rate'] == 0.0
    # The termination penalty (-200 * dt) is part of the reward.
    assert np.all(rewards < -200 * env.dt + 10 * env.dt)


def test_the_training_config_builds_a_motion_task():
    config = load_config(TrainConfig, 'config/train/humanoid_motion.yaml')
    assert config.task_type == 'motion_tracking'
    assert isinstance(config.task, MotionTaskConfig)
    assert config.task.motions == ('squat', 'arm_swing', 'step_in_place', 'kick')
    assert dataclasses.replace(config, max_iterations=3).task is config.task
    assert TrainConfig(task_type='motion_tracking').task == MotionTaskConfig()
    from robot_learning.config import ConfigError
    with pytest.raises(ConfigError, match="task_type: 'dance' is not a registered task"):
        load_config(TrainConfig, None, ['task_type=dance'])
    with pytest.raises(ConfigError, match='unknown config key.*task.commands'):
        load_config(TrainConfig, 'config/train/humanoid_motion.yaml', ['task.commands.x=1'])


def test_targets_can_be_clamped_like_the_policy_node_clamps_them():
    clamped, direct = (_env(random_start=False, target_limit_margin=0.1),
                       _env(random_start=False))
    robot = clamped.robot
    actions = np.full((4, 21), 3.0)  # targets far beyond the upper limits of several joints
    limited = np.minimum(robot.default_joint_pos + 0.75, robot.position_upper - 0.1)
    clamped.step(actions)
    direct.step(np.tile((limited - robot.default_joint_pos) / 0.25, (4, 1)))
    np.testing.assert_allclose(clamped.state.joint_pos, direct.state.joint_pos, atol=1e-12)
