# SPDX-License-Identifier: Apache-2.0
"""Smoothness and standing metrics: what heats motors and shakes a robot, in numbers.

Pure functions over recorded arrays (a bag exported to a Trajectory, or a simulated rollout):

- ``target_change_mean`` / ``target_change_p95``: joint-target change per control step,
  |q*_t - q*_{t-1}| averaged over joints, then its mean / 95th percentile over steps [rad].
- ``target_change_nyquist_share``: share of the power of the target changes in the top
  ``NYQUIST_BAND`` of the spectrum (frequencies >= 0.9 x the Nyquist frequency 1 / (2 dt)),
  summed over joints; a period-2 oscillation (targets alternating every step) gives about 1,
  white-noise changes about 0.1, a smooth gait close to 0.
- ``standing_*``: the same on the longest zero-command stretch after ``settle_s``, plus the
  base-height drift (last minus first height [m], negative when sinking), the yaw drift
  (wrapped to [-pi, pi) [rad]) and the stretch's duration [s];
  ``standing_to_walking_change_ratio`` divides the standing mean target change by the walking
  (non-zero command) one.
- ``foot_slip``: mean horizontal speed of the contact bodies while they touch the ground, over
  steps where a body is in contact at both ends [m/s].
"""

from __future__ import annotations

import numpy as np

from robot_learning.rotations import heading_of

NYQUIST_BAND = 0.9
"""Frequencies at or above this fraction of the Nyquist frequency count as period-2."""
PERIOD_TWO_SHARE = 0.5
"""A Nyquist share at or above this is a period-2 oscillation (when the targets move at all)."""
STILL_TARGET_CHANGE = 1e-3
"""[rad per step] Below this mean target change the joints hold still: 0.057 deg, under the
position resolution of a geared joint, where the spectrum of the changes is sensor and float
noise (a standing policy measured 2e-5 to 5e-5 rad with Nyquist shares from 0.10 to 0.54 over
three identical runs)."""
CONTACT_FORCE_THRESHOLD = 1.0
"""A contact body touches the ground above this normal force [N]."""


def target_change_metrics(targets: np.ndarray, prefix: str = '') -> dict[str, float]:
    """Change of joint targets (T, J) [rad] per control step; see the module docstring."""
    targets = np.asarray(targets, dtype=float)
    names = ('target_change_mean', 'target_change_p95', 'target_change_nyquist_share')
    if targets.shape[0] < 3:
        return {prefix + name: float('nan') for name in names}
    change = np.diff(targets, axis=0)
    per_step = np.abs(change).mean(axis=1)
    power = np.abs(np.fft.rfft(change - change.mean(axis=0), axis=0)) ** 2
    fraction = np.fft.rfftfreq(change.shape[0]) / 0.5  # of the Nyquist frequency
    total = power[1:].sum()
    share = float(power[fraction >= NYQUIST_BAND].sum() / total) if total > 0 else 0.0
    return {prefix + names[0]: float(per_step.mean()),
            prefix + names[1]: float(np.percentile(per_step, 95)),
            prefix + names[2]: share}


def period_two_oscillation(target_change_mean: float, nyquist_share: float) -> bool:
    """Return whether joint targets alternate step to step (a period-2 oscillation).

    True when they move (mean change above ``STILL_TARGET_CHANGE`` [rad per step]) and at
    least ``PERIOD_TWO_SHARE`` of the power of their changes sits at the Nyquist frequency.
    """
    return bool(target_change_mean > STILL_TARGET_CHANGE and nyquist_share >= PERIOD_TWO_SHARE)


def zero_command_window(time: np.ndarray, commands: np.ndarray,
                        settle_s: float) -> np.ndarray:
    """Return the indices of the longest zero-command run after its first ``settle_s`` [s]."""
    zero = np.all(np.abs(np.asarray(commands)) < 1e-9, axis=1)
    best = np.zeros(0, dtype=np.int64)
    start = None
    for index, flag in enumerate(np.append(zero, False)):
        if flag and start is None:
            start = index
        elif not flag and start is not None:
            run = np.arange(start, index)
            if run.size > best.size:
                best = run
            start = None
    if best.size == 0:
        return best
    return best[time[best] >= time[best[0]] + settle_s]


def standing_metrics(time: np.ndarray, commands: np.ndarray, targets: np.ndarray,
                     base_pos: np.ndarray, base_quat: np.ndarray,
                     settle_s: float = 1.0) -> dict[str, float]:
    """Return the standing metrics of a run (see the module docstring).

    Args:
        time: (T,) sample times [s].
        commands: (T, 3) velocity commands (vx [m/s], vy [m/s], yaw rate [rad/s]).
        targets: (T, J) joint targets [rad].
        base_pos: (T, 3) base positions [m].
        base_quat: (T, 4) base orientations (w, x, y, z).
        settle_s: time after the command becomes zero that is not judged [s].
    """
    window = zero_command_window(np.asarray(time), commands, settle_s)
    moving = ~np.all(np.abs(np.asarray(commands)) < 1e-9, axis=1)
    metrics = target_change_metrics(np.asarray(targets)[window], 'standing_')
    walking = target_change_metrics(np.asarray(targets)[moving], 'walking_')
    metrics['walking_target_change_mean'] = walking['walking_target_change_mean']
    ratio = metrics['standing_target_change_mean'] / walking['walking_target_change_mean'] \
        if walking['walking_target_change_mean'] > 0 else float('nan')
    metrics['standing_to_walking_change_ratio'] = float(ratio)
    if window.size < 2:
        metrics.update(standing_height_drift=float('nan'), standing_yaw_drift=float('nan'),
                       standing_duration=0.0)
        return metrics
    first, last = window[0], window[-1]
    yaw = heading_of(np.asarray(base_quat)[[first, last]])
    metrics.update(
        standing_height_drift=float(base_pos[last, 2] - base_pos[first, 2]),
        standing_yaw_drift=float((yaw[1] - yaw[0] + np.pi) % (2 * np.pi) - np.pi),
        standing_duration=float(time[last] - time[first]))
    return metrics


def foot_slip(contact_pos: np.ndarray, contact_force: np.ndarray, dt: float,
              threshold: float = CONTACT_FORCE_THRESHOLD) -> float:
    """Mean horizontal speed [m/s] of contact bodies in contact at two successive steps.

    Args:
        contact_pos: (T, C, 3) world positions of the contact bodies [m].
        contact_force: (T, C) normal contact forces [N].
        dt: time between rows [s].
        threshold: contact above this force [N].
    """
    touching = np.asarray(contact_force) > threshold
    both = touching[1:] & touching[:-1]
    if not both.any():
        return float('nan')
    speed = np.linalg.norm(np.diff(np.asarray(contact_pos)[..., :2], axis=0), axis=2) / dt
    return float(speed[both].mean())
