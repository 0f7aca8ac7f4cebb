# SPDX-License-Identifier: Apache-2.0
"""Smoothness and standing metrics against hand-worked signals."""

import numpy as np
import pytest

from robot_learning.evaluation.smoothness import (foot_slip, period_two_oscillation,
                                                  standing_metrics, target_change_metrics,
                                                  zero_command_window)
from robot_learning.rotations import yaw_quat

DT = 0.02


def test_a_period_2_oscillation_is_all_nyquist():
    steps = np.arange(200)
    targets = np.stack([0.1 * (-1.0) ** steps, 0.1 + 0.05 * (-1.0) ** steps], axis=1)
    metrics = target_change_metrics(targets)
    # |x_t - x_{t-1}| = 2 a: 0.2 and 0.1 rad, averaged over the two joints
    assert metrics['target_change_mean'] == pytest.approx(0.15)
    assert metrics['target_change_p95'] == pytest.approx(0.15)
    assert metrics['target_change_nyquist_share'] > 0.97  # 199 changes: a little leakage


def test_a_slow_gait_has_no_nyquist_share():
    time = np.arange(500) * DT
    targets = 0.3 * np.sin(2 * np.pi * 2.0 * time)[:, None]  # 2 Hz at 50 Hz control
    metrics = target_change_metrics(targets)
    # mean |d/dt| of a sine = 4 A f, times dt
    assert metrics['target_change_mean'] == pytest.approx(4 * 0.3 * 2.0 * DT, rel=0.02)
    assert metrics['target_change_nyquist_share'] < 0.01


def test_white_noise_changes_spread_over_the_band():
    rng = np.random.default_rng(0)
    targets = np.cumsum(rng.normal(size=(4000, 3)), axis=0)  # changes are white
    share = target_change_metrics(targets)['target_change_nyquist_share']
    assert share == pytest.approx(0.1, abs=0.02)


def test_period_two_needs_targets_that_move():
    steps = np.arange(200)
    chatter = target_change_metrics(0.1 * (-1.0) ** steps[:, None])
    assert period_two_oscillation(chatter['target_change_mean'],
                                  chatter['target_change_nyquist_share'])
    # the same alternation at 2e-5 rad (targets held still, float noise) is no oscillation
    still = target_change_metrics(1e-5 * (-1.0) ** steps[:, None])
    assert still['target_change_nyquist_share'] > 0.97
    assert not period_two_oscillation(still['target_change_mean'],
                                      still['target_change_nyquist_share'])
    # moving targets with most power below the Nyquist band
    assert not period_two_oscillation(0.05, 0.3)


def test_standing_drifts_are_measured_after_the_settle_time():
    time = np.arange(500) * DT  # 10 s: 4 s walking, 6 s zero command
    commands = np.zeros((500, 3))
    commands[:200, 0] = 0.5
    base_pos = np.zeros((500, 3))
    base_pos[:, 2] = 0.3 - 0.002 * time  # sinks 2 mm/s
    yaw = 0.01 * time
    targets = np.zeros((500, 2))
    targets[:200, 0] = 0.2 * np.sin(2 * np.pi * 2.0 * time[:200])
    window = zero_command_window(time, commands, settle_s=1.0)
    assert window[0] == 250 and window[-1] == 499
    metrics = standing_metrics(time, commands, targets, base_pos, yaw_quat(yaw), settle_s=1.0)
    assert metrics['standing_duration'] == pytest.approx(249 * DT)
    assert metrics['standing_height_drift'] == pytest.approx(-0.002 * 249 * DT)
    assert metrics['standing_yaw_drift'] == pytest.approx(0.01 * 249 * DT)
    assert metrics['standing_target_change_mean'] == 0.0
    assert metrics['standing_to_walking_change_ratio'] == 0.0
    assert metrics['walking_target_change_mean'] > 0.0


def test_without_a_zero_command_there_is_no_standing_window():
    time = np.arange(100) * DT
    metrics = standing_metrics(time, np.full((100, 3), 0.3), np.zeros((100, 2)),
                               np.zeros((100, 3)), yaw_quat(np.zeros(100)))
    assert metrics['standing_duration'] == 0.0
    assert np.isnan(metrics['standing_height_drift'])


def test_foot_slip_counts_only_feet_in_contact():
    steps = 50
    position = np.zeros((steps, 2, 3))
    position[:, 0, 0] = 0.1 * np.arange(steps) * DT  # foot 0 slides at 0.1 m/s on the ground
    position[:, 1, 0] = 1.0 * np.arange(steps) * DT  # foot 1 swings at 1 m/s in the air
    force = np.zeros((steps, 2))
    force[:, 0] = 50.0
    assert foot_slip(position, force, DT) == pytest.approx(0.1)
    assert np.isnan(foot_slip(position, np.zeros((steps, 2)), DT))
