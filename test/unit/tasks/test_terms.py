# SPDX-License-Identifier: Apache-2.0
"""Observation, reward and termination terms against hand-worked values."""

from __future__ import annotations

import numpy as np
import pytest

from robot_learning.rotations import projected_gravity, quat_rotate, quat_rotate_inverse
from robot_learning.tasks import rewards as R
from robot_learning.tasks import terminations as T
from robot_learning.tasks.actions import joint_position_targets
from robot_learning.tasks.commands import sample_velocity_commands, VelocityCommandConfig
from robot_learning.tasks.observations import (compute_observation, ObservationInputs,
                                               ObservationTerm, term_size)

# A base yawed by +90 degrees, and one pitched nose-down by 90 degrees (rotation about +y).
YAW_90 = np.array([[np.cos(np.pi / 4), 0.0, 0.0, np.sin(np.pi / 4)]])
PITCH_90 = np.array([[np.cos(np.pi / 4), 0.0, np.sin(np.pi / 4), 0.0]])
UPRIGHT = np.array([[1.0, 0.0, 0.0, 0.0]])


def _inputs(quat=UPRIGHT, lin_vel=(0.0, 0.0, 0.0), command=(0.0, 0.0, 0.0)):
    return ObservationInputs(
        base_quat=quat, base_lin_vel=np.array([lin_vel]), base_ang_vel=np.array([[0.1, 0.2, 0.3]]),
        joint_pos=np.array([[0.5, -1.0]]), joint_vel=np.array([[2.0, -4.0]]),
        default_joint_pos=np.array([0.4, -1.5]), command=np.array([command]),
        last_action=np.array([[0.25, -0.75]]))


def test_rotations_by_hand():
    # World +x seen from a base yawed +90 degrees points along the base's -y axis.
    np.testing.assert_allclose(quat_rotate_inverse(YAW_90, np.array([[1.0, 0, 0]])),
                               [[0, -1, 0]], atol=1e-12)
    np.testing.assert_allclose(quat_rotate(YAW_90, np.array([[1.0, 0, 0]])), [[0, 1, 0]],
                               atol=1e-12)
    np.testing.assert_allclose(projected_gravity(UPRIGHT), [[0, 0, -1]])
    # Nose down by 90 degrees: gravity points along the base's +x axis.
    np.testing.assert_allclose(projected_gravity(PITCH_90), [[1, 0, 0]], atol=1e-12)


def test_observation_is_scaled_concatenation_in_contract_order():
    terms = (ObservationTerm('base_lin_vel', (2.0,)),
             ObservationTerm('velocity_command', (2.0, 2.0, 0.25)),
             ObservationTerm('joint_pos_rel', (1.0,)),
             ObservationTerm('joint_vel', (0.05,)),
             ObservationTerm('last_action', (1.0,)))
    observation = compute_observation(terms, _inputs(YAW_90, (1.0, 0, 0), (0.5, 0.1, 0.4)))
    expected = [0, -2, 0, 1.0, 0.2, 0.1, 0.1, 0.5, 0.1, -0.2, 0.25, -0.75]
    np.testing.assert_allclose(observation[0], expected, atol=1e-6)
    assert observation.dtype == np.float32
    assert sum(term_size(t.name, 2) for t in terms) == len(expected)


def test_observation_noise_is_bounded_and_clipping_applies():
    terms = (ObservationTerm('joint_vel', (1.0,), noise=0.5),)
    rng = np.random.default_rng(0)
    noisy = compute_observation(terms, _inputs(), rng=rng, noise_level=1.0)
    assert np.all(np.abs(noisy - [[2.0, -4.0]]) <= 0.5) and not np.allclose(noisy, [[2, -4]])
    clipped = compute_observation(terms, _inputs(), clip=3.0)
    np.testing.assert_allclose(clipped, [[2.0, -3.0]])
    with pytest.raises(ValueError, match="unknown observation term 'joint_speed'"):
        compute_observation((ObservationTerm('joint_speed'),), _inputs())


def test_tracking_rewards_by_hand():
    # Base yawed +90 degrees moving along world +y = base +x at 1 m/s; command 0.5 m/s forward.
    reward = R.track_lin_vel_xy_exp(YAW_90, np.array([[0.0, 1.0, 0.0]]),
                                    np.array([[0.5, 0.0, 0.0]]), sigma=0.25)
    np.testing.assert_allclose(reward, [np.exp(-0.25 / 0.25)])
    yaw = R.track_ang_vel_z_exp(np.array([[0, 0, 0.3]]), np.array([[0, 0, 0.5]]), 0.25)
    np.testing.assert_allclose(yaw, [np.exp(-0.04 / 0.25)])


def test_penalties_by_hand():
    np.testing.assert_allclose(R.lin_vel_z_l2(UPRIGHT, np.array([[1.0, 2.0, 0.5]])), [0.25])
    np.testing.assert_allclose(R.ang_vel_xy_l2(np.array([[0.1, 0.2, 9.0]])), [0.05])
    np.testing.assert_allclose(R.flat_orientation_l2(PITCH_90), [1.0], atol=1e-12)
    np.testing.assert_allclose(R.joint_torques_l2(np.array([[3.0, 4.0]])), [25.0])
    np.testing.assert_allclose(
        R.joint_acc_l2(np.array([[1.0, 0.0]]), np.array([[0.0, 0.0]]), dt=0.02), [2500.0])
    np.testing.assert_allclose(
        R.action_rate_l2(np.array([[1.0, 1.0]]), np.array([[0.0, 2.0]])), [2.0])
    np.testing.assert_allclose(R.joint_pos_limits_l1(
        np.array([[-1.2, 0.0, 1.5]]), np.full(3, -1.0), np.full(3, 1.0)), [0.7])


def test_feet_air_time_rewards_long_steps_only_when_commanded():
    first_contact = np.array([[True, False], [True, False]])
    air_time = np.array([[0.7, 0.3], [0.7, 0.3]])
    command = np.array([[0.5, 0.0, 0.0], [0.0, 0.0, 0.0]])
    reward = R.feet_air_time(first_contact, air_time, command, threshold=0.5)
    np.testing.assert_allclose(reward, [0.2, 0.0])


def test_terminations_by_hand():
    heights = np.array([[0, 0, 0.1], [0, 0, 0.3]])
    assert T.base_height_below(heights, 0.12).tolist() == [True, False]
    tilted = np.array([[np.cos(0.6), np.sin(0.6), 0, 0]])  # roll of 1.2 rad
    assert T.base_tilt_above(np.concatenate([UPRIGHT, tilted]), 1.0).tolist() == [False, True]
    assert T.time_out(np.array([999, 1000]), 1000).tolist() == [False, True]


def test_action_term_and_command_sampling():
    targets = joint_position_targets(np.array([[1.0, -200.0]]), np.array([0.1, -1.5]),
                                     np.array([0.25, 0.5]), clip=100.0)
    np.testing.assert_allclose(targets, [[0.35, -51.5]])
    config = VelocityCommandConfig(lin_vel_x=(0.0, 1.0), lin_vel_y=(-0.5, 0.5),
                                   ang_vel_yaw=(-1.0, 1.0), standing_fraction=0.25)
    commands = sample_velocity_commands(config, 4000, np.random.default_rng(1))
    assert commands[:, 0].min() >= 0.0 and commands[:, 0].max() <= 1.0
    standing = np.all(commands == 0.0, axis=1).mean()
    assert 0.2 < standing < 0.35
    planar = np.linalg.norm(commands[:, :2], axis=1)
    assert np.all((planar == 0.0) | (planar >= config.small_command_threshold))


def test_rotations_match_numpy_cross_on_random_quaternions():
    rng = np.random.default_rng(3)
    quat = rng.normal(size=(50, 4))
    quat /= np.linalg.norm(quat, axis=1, keepdims=True)
    vector = rng.normal(size=(50, 3))
    w, xyz = quat[:, 0:1], quat[:, 1:4]
    t = 2.0 * np.cross(xyz, vector)
    np.testing.assert_allclose(quat_rotate(quat, vector), vector + w * t + np.cross(xyz, t),
                               atol=1e-12)
    np.testing.assert_allclose(quat_rotate_inverse(quat, quat_rotate(quat, vector)), vector,
                               atol=1e-12)
