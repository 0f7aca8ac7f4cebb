# SPDX-License-Identifier: Apache-2.0
"""Operator velocity commands: non-finite -> zero, each component clamped to its trained range."""

from __future__ import annotations

import math

import numpy as np
import pytest

from robot_learning.paths import share_dir
from robot_learning.policies.command_limits import CommandLimits
from robot_learning.policies.contract import load_contract

RANGES = {'lin_vel_x': [-0.5, 1.0], 'lin_vel_y': [-0.5, 0.5], 'ang_vel_yaw': [-1.0, 1.0]}


@pytest.mark.parametrize('command, expected, clamped', [
    ((0.3, -0.2, 0.5), (0.3, -0.2, 0.5), ()),
    ((2.0, 0.0, 0.0), (1.0, 0.0, 0.0), ('lin_vel_x',)),
    ((-3.0, 0.7, -1.5), (-0.5, 0.5, -1.0), ('lin_vel_x', 'lin_vel_y', 'ang_vel_yaw')),
    ((1.0, -0.5, 1.0), (1.0, -0.5, 1.0), ()),  # the bounds themselves
])
def test_finite_commands_are_clamped_per_component(command, expected, clamped):
    check = CommandLimits.from_ranges(RANGES).apply(command)
    np.testing.assert_array_equal(check.command, expected)
    assert not check.rejected and check.clamped == clamped


@pytest.mark.parametrize('command', [
    (math.inf, 0.0, 0.0), (0.0, -math.inf, 0.0), (0.0, 0.0, math.nan), (1e308 * 10, 0.0, 0.0),
])
def test_non_finite_commands_become_the_zero_command(command):
    check = CommandLimits.from_ranges(RANGES).apply(command)
    np.testing.assert_array_equal(check.command, np.zeros(3))
    assert check.rejected


def test_missing_ranges_are_unbounded_and_bad_ranges_are_named():
    check = CommandLimits.from_ranges({'lin_vel_x': [0.0, 1.0]}).apply((2.0, 5.0, -7.0))
    np.testing.assert_array_equal(check.command, (1.0, 5.0, -7.0))
    with pytest.raises(ValueError, match=r'command_ranges.lin_vel_y must be \[low, high\]'):
        CommandLimits.from_ranges({'lin_vel_y': [1.0, -1.0]})
    with pytest.raises(ValueError, match="unknown command_ranges keys \\['vx'\\]"):
        CommandLimits.from_ranges({'vx': [0.0, 1.0]})


def test_the_shipped_quadruped_policy_ranges():
    contract = load_contract(share_dir() / 'policies' / 'quadruped_flat')
    limits = CommandLimits.from_ranges(contract.command_ranges)
    np.testing.assert_array_equal(limits.apply((2.0, -2.0, 3.0)).command, (1.0, -0.5, 1.0))
