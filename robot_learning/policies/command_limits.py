# SPDX-License-Identifier: Apache-2.0
"""Operator velocity commands checked against the policy contract's trained command ranges.

A velocity-tracking policy saw commands only inside its ``command_ranges`` in training; outside
them it stumbles, and a non-finite command would become the observation clip (violent motion).
:meth:`CommandLimits.apply` turns any operator command into one the policy was trained on: a
non-finite command becomes the zero command (and is reported, so the caller can warn), each
finite component is clamped into its range. Pure NumPy; the policy node applies it on /cmd_vel.
"""

from __future__ import annotations

import dataclasses
from typing import Mapping, Sequence

import numpy as np

COMMAND_KEYS = ('lin_vel_x', 'lin_vel_y', 'ang_vel_yaw')
"""``command_ranges`` keys, in the order of the command vector (vx, vy, yaw rate)."""


@dataclasses.dataclass(frozen=True)
class CommandCheck:
    """The result of :meth:`CommandLimits.apply`."""

    command: np.ndarray
    """(3,) the command to use: vx [m/s], vy [m/s], yaw rate [rad/s]."""
    rejected: bool
    """True when the input was not finite and ``command`` is zero."""
    clamped: tuple[str, ...]
    """Keys of the components that were clamped into their range."""


@dataclasses.dataclass(frozen=True)
class CommandLimits:
    """Lower and upper bound of each command component; ±inf where the contract has none."""

    lower: np.ndarray
    """(3,) lower bounds [m/s, m/s, rad/s]."""
    upper: np.ndarray
    """(3,) upper bounds [m/s, m/s, rad/s]."""

    @classmethod
    def from_ranges(cls, ranges: Mapping[str, Sequence[float]]) -> CommandLimits:
        """Build the limits from a contract's ``command_ranges`` (missing keys: unbounded).

        Raises:
            ValueError: a range is not [low, high] with finite low <= high, or an unknown key.
        """
        unknown = sorted(set(ranges) - set(COMMAND_KEYS))
        if unknown:
            raise ValueError(f'unknown command_ranges keys {unknown}; valid: '
                             f"{', '.join(COMMAND_KEYS)}")
        lower, upper = np.full(3, -np.inf), np.full(3, np.inf)
        for i, key in enumerate(COMMAND_KEYS):
            if key not in ranges:
                continue
            bounds = [float(value) for value in ranges[key]]
            if len(bounds) != 2 or not np.all(np.isfinite(bounds)) or bounds[0] > bounds[1]:
                raise ValueError(f'command_ranges.{key} must be [low, high], got {ranges[key]}')
            lower[i], upper[i] = bounds
        return cls(lower=lower, upper=upper)

    def apply(self, command: Sequence[float]) -> CommandCheck:
        """Return the command to use for an operator ``command`` (3,); see the module."""
        values = np.asarray(command, dtype=float)
        if values.shape != (3,) or not np.all(np.isfinite(values)):
            return CommandCheck(command=np.zeros(3), rejected=True, clamped=())
        clamped = np.clip(values, self.lower, self.upper)
        changed = tuple(key for key, old, new in zip(COMMAND_KEYS, values, clamped) if old != new)
        return CommandCheck(command=clamped, rejected=False, clamped=changed)
