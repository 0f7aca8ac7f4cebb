# SPDX-License-Identifier: Apache-2.0
"""Excitation signals for actuator identification: a log chirp or a stepped sine per joint.

One joint at a time moves about its default position while the others hold theirs (Guan et al.
2024: log chirp, 0.25 rad, 0.1 Hz to the control Nyquist rate, base on a stand). The signal
fades in and out over ``fade`` seconds so that the joint starts and ends at rest, and
:func:`check_limits` refuses an amplitude that would drive a joint past its position limits.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy import signal

from robot_learning.config import ConfigError
from robot_learning.robots.spec import RobotSpec

KINDS = ('log_chirp', 'stepped_sine')
"""log_chirp: frequency rising exponentially; stepped_sine: log-spaced constant-frequency
blocks, each a whole number of periods (slower, but each frequency is held at steady state)."""


@dataclasses.dataclass(frozen=True)
class ExcitationConfig:
    """What each excited joint is asked to follow: ``q* = q_default + a(t) sin(phi(t))``."""

    kind: str = 'log_chirp'
    """One of ``KINDS``."""
    amplitude: float = 0.1
    """Peak deviation from the default position [rad]."""
    f_start: float = 0.5
    """Lowest frequency [Hz]."""
    f_end: float = 20.0
    """Highest frequency [Hz]; at most 0.4 x the command rate."""
    duration: float = 30.0
    """Length of the sweep, fades included [s]."""
    fade: float = 1.0
    """Cosine fade-in and fade-out time of the amplitude [s]."""
    rest: float = 2.0
    """Time held at the default pose before and after the sweep, recorded too [s]. At least
    half a Welch segment (``robot_learning.impedance_matching.frf``), so that the sweep's first
    and last frequencies are not lost under the estimator's tapered end segments."""
    steps: int = 24
    """Number of frequencies of a stepped sine."""
    limit_margin: float = 0.05
    """Distance the peak command keeps from either position limit [rad]."""
    max_amplitude: float = 0.5
    """Largest amplitude accepted [rad] (a guard against unit mistakes, e.g. degrees)."""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ConfigError(f"excitation.kind: unknown '{self.kind}'; valid: {', '.join(KINDS)}")
        if not 0.0 < self.amplitude <= self.max_amplitude:
            raise ConfigError(f'excitation.amplitude must be in (0, {self.max_amplitude:g}] rad, '
                              f'got {self.amplitude:g}')
        if not 0.0 < self.f_start < self.f_end:
            raise ConfigError(f'excitation: need 0 < f_start < f_end, got {self.f_start:g} and '
                              f'{self.f_end:g} Hz')
        if not 0.0 <= 2.0 * self.fade < self.duration:
            raise ConfigError(f'excitation: the fades ({self.fade:g} s each) do not fit in '
                              f'{self.duration:g} s')
        if self.rest < 0.0:
            raise ConfigError(f'excitation.rest must be >= 0 s, got {self.rest:g}')
        if self.steps < 2:
            raise ConfigError(f'excitation.steps must be at least 2, got {self.steps}')

    def check_rate(self, rate: float) -> None:
        """Refuse a command rate [Hz] too low for ``f_end`` (0.4 x rate keeps 5 samples/period)."""
        if self.f_end > 0.4 * rate:
            raise ConfigError(f'excitation.f_end {self.f_end:g} Hz is above 0.4 x the command '
                              f'rate {rate:g} Hz; lower f_end or raise the rate')


def excitation_signal(config: ExcitationConfig, rate: float) -> np.ndarray:
    """Return the offsets from the default position [rad], rest included.

    Shape (round(duration * rate) + 2 round(rest * rate),).
    """
    config.check_rate(rate)
    time = np.arange(int(round(config.duration * rate))) / rate
    if config.kind == 'log_chirp':
        wave = signal.chirp(time, f0=config.f_start, t1=config.duration, f1=config.f_end,
                            method='logarithmic', phi=-90.0)  # sine phase: starts at 0
    else:
        wave = _stepped_sine(config, time)
    sweep = config.amplitude * _envelope(time, config.duration, config.fade) * wave
    rest = np.zeros(int(round(config.rest * rate)))
    return np.concatenate([rest, sweep, rest])


def _stepped_sine(config: ExcitationConfig, time: np.ndarray) -> np.ndarray:
    """Log-spaced frequencies, each held for an equal share of the sweep."""
    frequencies = np.geomspace(config.f_start, config.f_end, config.steps)
    block = config.duration / config.steps
    index = np.minimum((time / block).astype(int), config.steps - 1)
    local = time - index * block
    # Round each block to whole periods so that the blocks join at zero crossings.
    cycles = np.maximum(np.floor(frequencies * block), 1.0)
    return np.sin(2.0 * np.pi * cycles[index] * local / block)


def _envelope(time: np.ndarray, duration: float, fade: float) -> np.ndarray:
    """Raised-cosine fade in over [0, fade] and out over [duration - fade, duration]."""
    if fade <= 0.0:
        return np.ones_like(time)
    rise = np.clip(time / fade, 0.0, 1.0)
    fall = np.clip((duration - time) / fade, 0.0, 1.0)
    return 0.5 - 0.5 * np.cos(np.pi * np.minimum(rise, fall))


def check_limits(robot: RobotSpec, joints: np.ndarray, config: ExcitationConfig) -> None:
    """Refuse an amplitude that brings a joint within ``limit_margin`` of a position limit.

    Raises:
        ConfigError: naming each joint concerned and the largest amplitude it allows.
    """
    problems = []
    for joint in np.asarray(joints, dtype=int):
        default = robot.default_joint_pos[joint]
        room = min(default - robot.position_lower[joint],
                   robot.position_upper[joint] - default) - config.limit_margin
        if config.amplitude > room:
            problems.append(f'{robot.joint_names[joint]} (default {default:g} rad, limits '
                            f'[{robot.position_lower[joint]:g}, {robot.position_upper[joint]:g}]'
                            f' rad: amplitude at most {max(room, 0.0):.3g} rad)')
    if problems:
        raise ConfigError(f'excitation amplitude {config.amplitude:g} rad too large for: '
                          + '; '.join(problems))


def joint_targets(robot: RobotSpec, joint: int, offsets: np.ndarray) -> np.ndarray:
    """Targets (T, J) [rad]: the default pose, with ``offsets`` (T,) added on ``joint``."""
    targets = np.tile(robot.default_joint_pos, (offsets.size, 1))
    targets[:, joint] += offsets
    return targets


def select_joints(robot: RobotSpec, patterns: tuple[str, ...] | list[str]) -> np.ndarray:
    """Return the indices of the joints matching any of the regexes (all joints if none)."""
    if not patterns:
        return np.arange(robot.num_joints)
    return np.unique(np.concatenate([robot.joint_indices(p) for p in patterns]))


def excitation_schedule(robot: RobotSpec, joints: np.ndarray, config: ExcitationConfig,
                        rate: float) -> np.ndarray:
    """Targets (T, J) [rad] exciting ``joints`` one after another at ``rate`` [Hz].

    Each joint's block is :func:`excitation_signal` (rest, sweep, rest) on that joint with
    every other joint at its default position. Raises ConfigError where
    :func:`check_limits` or ``check_rate`` would.
    """
    joints = np.asarray(joints, dtype=int)
    check_limits(robot, joints, config)
    offsets = excitation_signal(config, rate)
    return np.concatenate([joint_targets(robot, joint, offsets) for joint in joints])
