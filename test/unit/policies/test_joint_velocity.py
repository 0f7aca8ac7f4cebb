# SPDX-License-Identifier: Apache-2.0
"""Joint velocities differentiated from stamped positions (JointStates without velocities)."""

from __future__ import annotations

import numpy as np
import pytest

from robot_learning.policies.joint_velocity import JointVelocityEstimator


def test_constant_velocity_is_recovered_over_the_window():
    estimator = JointVelocityEstimator(window=0.02)
    velocity = np.array([1.0, -2.0])
    np.testing.assert_array_equal(estimator.update(10.0, np.zeros(2)), np.zeros(2))  # first
    for k in range(1, 30):
        estimate = estimator.update(10.0 + 0.002 * k, velocity * 0.002 * k)
    np.testing.assert_allclose(estimate, velocity, rtol=1e-9)


def test_positions_updating_slower_than_the_messages_give_the_mean_not_spikes():
    # 500 Hz messages, positions from a 200 Hz physics loop (held between its steps).
    estimator = JointVelocityEstimator(window=0.02)
    estimates = []
    for k in range(100):
        stamp = 0.002 * k
        physics_time = np.floor(stamp / 0.005) * 0.005
        estimates.append(estimator.update(stamp, np.array([3.0 * physics_time]))[0])
    late = np.asarray(estimates[20:])
    assert np.all(np.abs(late - 3.0) < 0.8)  # single-message differences swing 0 .. 7.5


def test_repeated_stamps_do_not_divide_by_zero_and_bad_windows_are_rejected():
    estimator = JointVelocityEstimator(window=0.02)
    estimator.update(1.0, np.array([0.0]))
    np.testing.assert_allclose(estimator.update(1.01, np.array([0.1])), [10.0])
    np.testing.assert_allclose(estimator.update(1.01, np.array([5.0])), [10.0])  # ignored
    with pytest.raises(ValueError, match='window must be > 0'):
        JointVelocityEstimator(window=0.0)
