# SPDX-License-Identifier: Apache-2.0
"""The documented distribution of hole (socket) offsets from their nominal pose.

The part that holds the hole sits in a fixture with two end stops along one axis, rotated by
``axis_angle`` about the vertical: a part pushed against either stop is offset by about
``+-stop_fraction * scale`` along that axis, with play (standard deviation ``along_fraction *
scale``) along it and less (``across_fraction * scale``) across it. So the offset (x, y) in the
nominal hole frame follows an equal-weight mixture of two Gaussians::

    mean_j = (-1)^j stop_fraction * scale * a,          a = (cos axis_angle, sin axis_angle)
    Sigma  = scale^2 (along_fraction^2 a a^T + across_fraction^2 n n^T),   n normal to a

``scale`` is the uncertainty level [m]. The 3-D (socket) variant adds a yaw offset about the hole
axis, N(0, yaw_std^2) [rad], independent of the position. This is a simulation assumption,
stated so that the results can be read: the learned search helps when the uncertainty has such a
structure (a blind spiral cannot know it).
"""

from __future__ import annotations

import dataclasses

import numpy as np

UNCERTAINTY_LEVELS = {'low': 0.004, 'medium': 0.008, 'high': 0.012}
"""Named uncertainty levels: scale [m]."""


@dataclasses.dataclass(frozen=True)
class OffsetDistribution:
    """Hole offsets from the nominal pose: a two-stop fixture (see the module docstring)."""

    scale: float = 0.008
    """Uncertainty level [m]."""
    axis_angle: float = 0.5236
    """Direction of the fixture's stop axis from the x axis [rad] (30°)."""
    stop_fraction: float = 1.0
    """Stop offsets as a fraction of ``scale`` [-]."""
    along_fraction: float = 0.3
    """Standard deviation along the stop axis, as a fraction of ``scale`` [-]."""
    across_fraction: float = 0.1
    """Standard deviation across the stop axis, as a fraction of ``scale`` [-]."""
    yaw_std: float = 0.0
    """Standard deviation of the yaw offset [rad]; 0 for the 2-D task."""

    @property
    def dim(self) -> int:
        """2 for (x, y), 3 for (x, y, yaw)."""
        return 3 if self.yaw_std > 0 else 2

    def components(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return (weights (2,), means (2, d), covariances (2, d, d)) in metres (and rad)."""
        axis = np.array([np.cos(self.axis_angle), np.sin(self.axis_angle)])
        normal = np.array([-axis[1], axis[0]])
        mean = self.stop_fraction * self.scale * axis
        cov = self.scale ** 2 * (self.along_fraction ** 2 * np.outer(axis, axis)
                                 + self.across_fraction ** 2 * np.outer(normal, normal))
        means = np.stack([mean, -mean])
        covariances = np.stack([cov, cov])
        if self.dim == 3:
            means = np.column_stack([means, np.zeros(2)])
            padded = np.zeros((2, 3, 3))
            padded[:, :2, :2] = covariances
            padded[:, 2, 2] = self.yaw_std ** 2
            covariances = padded
        return np.array([0.5, 0.5]), means, covariances

    def sample(self, count: int, rng: np.random.Generator) -> np.ndarray:
        """Draw ``count`` offsets (count, d)."""
        weights, means, covariances = self.components()
        which = rng.choice(2, size=count, p=weights)
        chol = np.linalg.cholesky(covariances)
        noise = rng.standard_normal((count, self.dim))
        return means[which] + np.einsum('nij,nj->ni', chol[which], noise)
