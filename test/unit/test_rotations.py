# SPDX-License-Identifier: Apache-2.0
"""The angle between two rotations against hand-worked values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from robot_learning.rotations import quat_angle, quat_multiply

UPRIGHT = np.array([[1.0, 0.0, 0.0, 0.0]])
YAW_90 = np.array([[math.cos(math.pi / 4), 0.0, 0.0, math.sin(math.pi / 4)]])
"""90 degrees about z: (cos 45°, 0, 0, sin 45°)."""


def test_quarter_turn_about_z_is_half_pi():
    assert quat_angle(YAW_90, UPRIGHT)[0] == pytest.approx(math.pi / 2)
    assert quat_angle(UPRIGHT, YAW_90)[0] == pytest.approx(math.pi / 2)  # symmetric


def test_q_and_minus_q_are_one_rotation():
    assert quat_angle(-YAW_90, UPRIGHT)[0] == pytest.approx(math.pi / 2)
    assert quat_angle(YAW_90, -YAW_90)[0] == pytest.approx(0.0, abs=1e-6)


def test_half_turn_and_composed_quarter_turns():
    roll_180 = np.array([[0.0, 1.0, 0.0, 0.0]])  # 180 degrees about x
    assert quat_angle(roll_180, UPRIGHT)[0] == pytest.approx(math.pi)
    # Two quarter turns about z make a half turn about z: pi from upright, pi/2 from one turn.
    yaw_180 = quat_multiply(YAW_90, YAW_90)
    assert quat_angle(yaw_180, UPRIGHT)[0] == pytest.approx(math.pi)
    assert quat_angle(yaw_180, YAW_90)[0] == pytest.approx(math.pi / 2)


def test_batched_over_leading_axes():
    pairs = np.stack([np.concatenate([UPRIGHT, YAW_90]), np.concatenate([YAW_90, YAW_90])])
    angles = quat_angle(pairs, np.broadcast_to(UPRIGHT, pairs.shape))
    assert angles.shape == (2, 2)
    np.testing.assert_allclose(angles, [[0.0, math.pi / 2], [math.pi / 2, math.pi / 2]],
                               atol=1e-6)
