# SPDX-License-Identifier: Apache-2.0
"""Excitation signals, the H1 estimate against an analytic second-order system, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from robot_learning.config import ConfigError
from robot_learning.impedance_matching.excitation import (check_limits, excitation_schedule,
                                                          excitation_signal, ExcitationConfig)
from robot_learning.impedance_matching.frf import estimate_frf, FrfConfig, minimum_duration
from robot_learning.impedance_matching.recording import check_recording, JointRecording
from robot_learning.robots.registry import load_robot

RATE = 200.0
F_N, ZETA = 5.0, 0.2
"""Natural frequency [Hz] and damping ratio of the reference system."""


def _second_order(command: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact ZOH discretisation of w^2 / (s^2 + 2 zeta w s + w^2); returns output, (b, a)."""
    omega = 2 * np.pi * F_N
    b, a, _ = signal.cont2discrete(([omega ** 2], [1, 2 * ZETA * omega, omega ** 2]),
                                   1 / RATE, method='zoh')
    b = np.ravel(b)
    return signal.lfilter(b, a, command), (b, a)


def test_chirp_starts_and_ends_at_rest_with_the_requested_peak():
    config = ExcitationConfig(amplitude=0.2, f_start=0.5, f_end=10.0, duration=20.0, rest=1.0)
    offsets = excitation_signal(config, RATE)
    assert offsets.size == int((20.0 + 2.0) * RATE)
    assert np.all(offsets[:int(RATE)] == 0) and np.all(offsets[-int(RATE):] == 0)
    assert 0.199 < np.abs(offsets).max() <= 0.2


def test_stepped_sine_holds_log_spaced_frequencies():
    config = ExcitationConfig(kind='stepped_sine', f_start=1.0, f_end=8.0, steps=4,
                              duration=8.0, fade=0.0, rest=0.0)
    offsets = excitation_signal(config, RATE)
    block = offsets[int(6 * RATE):int(8 * RATE)]  # the last 2 s block: 8 Hz, 16 periods
    spectrum = np.abs(np.fft.rfft(block))
    assert np.fft.rfftfreq(block.size, 1 / RATE)[spectrum.argmax()] == pytest.approx(8.0)


def test_h1_matches_the_analytic_second_order_response():
    config = ExcitationConfig(amplitude=0.1, f_start=0.5, f_end=20.0, duration=30.0)
    command = excitation_signal(config, RATE)
    rng = np.random.default_rng(0)
    output, (b, a) = _second_order(command)
    output = output + 1e-4 * rng.standard_normal(output.size)  # measurement noise
    frf = estimate_frf(command, output, RATE, (0.5, 20.0))
    _, exact = signal.freqz(b, a, worN=frf.frequency, fs=RATE)
    kept = frf.kept
    assert kept.sum() > 0.9 * kept.size
    error_db = 20 * np.log10(np.abs(frf.response[kept] / exact[kept]))
    error_deg = np.degrees(np.angle(frf.response[kept] / exact[kept]))
    # Bias of Welch averaging on a swept sine: largest at the resonance (0.79 dB, 3.4 deg
    # measured), small elsewhere.
    assert np.abs(error_db).max() < 1.0
    assert np.median(np.abs(error_db)) < 0.1
    assert np.abs(error_deg).max() < 5.0
    # Hand-worked resonance peak: 1 / (2 zeta sqrt(1 - zeta^2)) = 2.552 -> 8.14 dB at
    # f_n sqrt(1 - 2 zeta^2) = 4.80 Hz; the 0.25 Hz Hann-window smoothing lowers it by 0.36 dB.
    peak = frf.magnitude_db.argmax()
    assert frf.magnitude_db[peak] == pytest.approx(8.14, abs=0.5)
    assert frf.frequency[peak] == pytest.approx(4.80, abs=0.35)


def test_too_short_for_the_lowest_frequency_says_how_long_it_must_be():
    config = FrfConfig()
    needed = minimum_duration(RATE, 0.5, config)
    assert needed == pytest.approx(10.0)  # 4 half-overlapping segments of 2 periods (4 s)
    command = np.sin(np.arange(int(8 * RATE)) / RATE * 2 * np.pi)
    with pytest.raises(ConfigError, match='too short for the lowest frequency 0.5 Hz'):
        estimate_frf(command, command, RATE, (0.5, 20.0))


def test_coherence_too_low_everywhere_is_an_error():
    rng = np.random.default_rng(1)
    command = excitation_signal(ExcitationConfig(duration=20.0), RATE)
    with pytest.raises(ConfigError, match='coherence below 0.9 at every frequency'):
        estimate_frf(command, rng.standard_normal(command.size), RATE, (0.5, 20.0))


def test_limit_guard_names_the_joint_and_its_largest_amplitude():
    robot = load_robot('humanoid')
    knee = robot.joint_indices('left_knee')
    # Default 0.3 rad, lower limit -0.087 rad, margin 0.05 -> at most 0.337 rad.
    with pytest.raises(ConfigError, match=r'left_knee_joint .*at most 0.337 rad'):
        check_limits(robot, knee, ExcitationConfig(amplitude=0.4))
    check_limits(robot, knee, ExcitationConfig(amplitude=0.3))


def test_schedule_excites_one_joint_at_a_time_about_the_default_pose():
    robot = load_robot('arm')
    config = ExcitationConfig(duration=4.0, f_start=1.0, f_end=5.0, rest=0.5)
    schedule = excitation_schedule(robot, np.array([1, 3]), config, 50.0)
    assert schedule.shape == (2 * 250, robot.num_joints)
    moved = np.abs(schedule - robot.default_joint_pos) > 0
    assert set(np.flatnonzero(moved[:250].any(axis=0))) == {1}
    assert set(np.flatnonzero(moved[250:].any(axis=0))) == {3}


def _recording(**overrides) -> JointRecording:
    time = np.arange(2000) / RATE
    values = {'joint': 'joint_2', 'rate': RATE, 'command': 0.6 + 0.1 * np.sin(time),
              'position': 0.6 + 0.1 * np.sin(time - 0.1), 'torque': 10 * np.sin(time)}
    values.update(overrides)
    return JointRecording(**values)


def test_saturated_and_clipped_signals_are_rejected():
    robot = load_robot('arm')  # joint_2: effort limit 320 N·m
    check_recording(_recording(), robot)
    with pytest.raises(ConfigError, match='torque saturated at the effort limit 320'):
        check_recording(_recording(torque=np.clip(400 * np.sin(np.arange(2000) / RATE),
                                                  -320, 320)), robot)
    clipped = np.clip(0.6 + 0.1 * np.sin(np.arange(2000) / RATE), 0.0, 0.65)
    with pytest.raises(ConfigError, match='position clipped'):
        check_recording(_recording(position=clipped), robot)
