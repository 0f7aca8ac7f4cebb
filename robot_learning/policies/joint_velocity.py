# SPDX-License-Identifier: Apache-2.0
"""Joint velocities from stamped joint positions, for drivers that leave ``velocity`` empty.

A ``sensor_msgs/JointState`` may legally carry positions only. The policy needs velocities, so
:class:`JointVelocityEstimator` differentiates the positions over the header stamps, across a
window of about one control period: a driver that publishes faster than its encoders update
(repeated positions between physics steps) would give a zero / spike sequence over single
messages, the window gives the mean velocity over its span. Pure NumPy.
"""

from __future__ import annotations

import collections

import numpy as np


class JointVelocityEstimator:
    """Finite difference of positions over the newest samples spanning ``window`` seconds."""

    def __init__(self, window: float) -> None:
        """Keep samples up to ``window`` [s] old (> 0)."""
        if not window > 0:
            raise ValueError(f'window must be > 0 s, got {window}')
        self.window = float(window)
        self._samples: collections.deque[tuple[float, np.ndarray]] = collections.deque()

    def update(self, stamp: float, joint_pos: np.ndarray) -> np.ndarray:
        """Add the positions (J,) [rad] stamped ``stamp`` [s]; return the velocity (J,) [rad/s].

        The first sample gives zeros; a stamp not after the newest is ignored (the previous
        estimate's samples are kept and the estimate is recomputed from them).
        """
        joint_pos = np.asarray(joint_pos, dtype=float)
        if not self._samples or stamp > self._samples[-1][0]:
            self._samples.append((float(stamp), joint_pos.copy()))
        newest_stamp, newest = self._samples[-1]
        # Drop samples older than the window, but keep the oldest one inside or just beyond it.
        while len(self._samples) > 2 and newest_stamp - self._samples[1][0] >= self.window:
            self._samples.popleft()
        oldest_stamp, oldest = self._samples[0]
        if newest_stamp <= oldest_stamp:
            return np.zeros_like(newest)
        return (newest - oldest) / (newest_stamp - oldest_stamp)

    def clear(self) -> None:
        """Forget every sample."""
        self._samples.clear()
