# SPDX-License-Identifier: Apache-2.0
"""Latency buffer, PD law, pushes and dynamics-parameter checks against hand-worked values."""

from __future__ import annotations

import numpy as np
import pytest

from robot_learning.config import ConfigError
from robot_learning.sim.actuation import LatencyBuffer, pd_torque, PushSchedule
from robot_learning.sim.dynamics import check_values, latency_substeps, nominal_batch


def test_latency_buffer_delays_targets_by_whole_physics_steps():
    # decimation 4; env 0 has no latency, env 1 one physics step, env 2 six physics steps.
    buffer = LatencyBuffer(num_envs=3, num_joints=1, decimation=4, max_latency_steps=8)
    buffer.reset(np.arange(3), np.zeros((3, 1)))
    latency = np.array([0, 1, 6])
    first = buffer.push(np.full((3, 1), 1.0), latency)[..., 0]
    np.testing.assert_array_equal(first[0], [1, 1, 1, 1])
    np.testing.assert_array_equal(first[1], [0, 1, 1, 1])
    np.testing.assert_array_equal(first[2], [0, 0, 0, 0])
    second = buffer.push(np.full((3, 1), 2.0), latency)[..., 0]
    np.testing.assert_array_equal(second[1], [1, 2, 2, 2])
    # Physics steps 4..7: latency 6 sees the target of step k with 4k <= t - 6 -> 0, 0, 1, 1.
    np.testing.assert_array_equal(second[2], [0, 0, 1, 1])


def test_latency_seconds_round_to_physics_steps():
    np.testing.assert_array_equal(latency_substeps(np.array([0.0, 0.004, 0.0051, 0.02]), 0.005),
                                  [0, 1, 1, 4])


def test_pd_torque_matches_the_hand_computed_law_and_clips():
    torque = pd_torque(targets=np.array([[0.5, 2.0]]), joint_pos=np.array([[0.1, 0.0]]),
                       joint_vel=np.array([[2.0, 0.0]]), kp=np.array([20.0, 20.0]),
                       kd=np.array([0.5, 0.5]), strength=0.8,
                       effort_limit=np.array([30.0, 23.7]))
    # 0.8 * (20 * 0.4 - 0.5 * 2) = 5.6; the second joint asks 0.8 * 40 = 32 > 23.7.
    np.testing.assert_allclose(torque, [[5.6, 23.7]])


def test_pushes_fire_on_their_interval_within_the_velocity_bound():
    dynamics = nominal_batch(2)
    dynamics['push_interval'][:] = [0.1, 0.0]
    dynamics['push_velocity'][:] = [1.0, 1.0]
    schedule = PushSchedule(2)
    rng = np.random.default_rng(0)
    fired = [schedule.due(dynamics, 0.02, rng) for _ in range(10)]
    pushed_steps = [step for step, (ids, _) in enumerate(fired) if ids.size]
    assert pushed_steps == [4, 9]
    for ids, kicks in fired:
        assert list(ids) in ([], [0])
        assert np.all(np.abs(kicks) <= 1.0)


def test_dynamics_values_are_checked_by_name_and_bounds():
    check_values({'ground_friction': np.array([0.5, 1.0])})
    with pytest.raises(ConfigError, match="unknown dynamics parameter 'friction'"):
        check_values({'friction': 1.0})
    with pytest.raises(ConfigError, match='outside'):
        check_values({'motor_strength': -1.0})
    with pytest.raises(ConfigError, match='non-finite'):
        check_values({'kp_scale': np.nan})
