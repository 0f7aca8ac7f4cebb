# SPDX-License-Identifier: Apache-2.0
"""The documented distributions of hole (socket) offsets from their nominal pose.

A family of named distributions of the offset (x, y) in the nominal hole frame, every length a
fraction of the uncertainty level ``scale`` [m] (4, 8, 12 mm for low, medium, high). ``a`` is
the unit vector at ``axis_angle`` (30°) from the x axis, ``n`` the one normal to it, and
``E(f_a, f_n) = scale^2 (f_a^2 a a^T + f_n^2 n n^T)`` an elongated covariance:

=========================  ========================================================  =======
name                       distribution of (x, y)                                    central
=========================  ========================================================  =======
``isotropic_centred``      N(0, (0.5 scale)^2 I)                                     yes
``isotropic_offcentre``    N(scale a, (0.3 scale)^2 I)                               no
``elongated_centred``      N(0, E(0.6, 0.15))                                        yes
``elongated_offcentre``    N(scale a, E(0.6, 0.15))                                  no
``elongated_with_mode``    0.7 N(0, E(0.6, 0.15)) + 0.3 N(1.2 scale n, (0.2 scale)^2 I)  no
``two_modes``              0.5 N(+-scale a, E(0.3, 0.1)): the two-stop fixture       no
``three_modes``            1/3 N(scale r_j, (0.2 scale)^2 I), r_j at axis_angle +      no
                           0°, 120°, 240°
``uniform_box``            uniform over the rectangle 2 scale (along a) x scale      yes
                           (along n), centred
``ring``                   radius scale + N(0, (0.1 scale)^2), angle uniform          no
=========================  ========================================================  =======

``two_modes`` is the fixture of the earlier evaluation: the part rests against one of two end
stops at +-scale along the axis, with play along it (0.3 scale) and less across it (0.1 scale).
A distribution is *central* when its density is highest at the nominal hole (a spiral from the
nominal hole is then close to the best blind search). ``spread`` scales every standard
deviation (Gaussian covariances by spread^2, the box's sides, the ring's radial spread) and the
yaw's: the synthetic demonstrator believes in the member widened by 1.2. The 3-D (socket)
variant adds a yaw offset about the hole axis, N(0, yaw_std^2) [rad], independent of the
position. These are simulation assumptions, stated so that the results can be read.
"""

from __future__ import annotations

import dataclasses

import numpy as np

UNCERTAINTY_LEVELS = {'low': 0.004, 'medium': 0.008, 'high': 0.012}
"""Named uncertainty levels: scale [m]."""
FAMILY = ('two_modes', 'isotropic_centred', 'isotropic_offcentre', 'elongated_centred',
          'elongated_offcentre', 'elongated_with_mode', 'three_modes', 'uniform_box', 'ring')
"""Names of the offset distributions (the module docstring defines each)."""
CENTRAL = ('isotropic_centred', 'elongated_centred', 'uniform_box')
"""The members whose density is highest at the nominal hole."""
BOX_SIDES = (2.0, 1.0)
"""``uniform_box``: sides along a and n, fractions of scale [-]."""
RING_RADIUS, RING_STD = 1.0, 0.1
"""``ring``: radius and radial standard deviation, fractions of scale [-]."""


@dataclasses.dataclass(frozen=True)
class OffsetDistribution:
    """Hole offsets from the nominal pose: one member of the family (see the module docstring)."""

    scale: float = 0.008
    """Uncertainty level [m]."""
    family: str = 'two_modes'
    """Name of the member (``FAMILY``)."""
    axis_angle: float = 0.5236
    """Direction a of the member's main axis from the x axis [rad] (30°)."""
    yaw_std: float = 0.0
    """Standard deviation of the yaw offset [rad]; 0 for the 2-D task."""
    spread: float = 1.0
    """Factor on every standard deviation [-] (1: the member as documented)."""

    def __post_init__(self) -> None:
        """Reject unknown names and non-positive sizes."""
        if self.family not in FAMILY:
            raise ValueError(f"unknown offset distribution '{self.family}'; valid: "
                             f"{', '.join(FAMILY)}")
        if not (self.scale > 0 and self.spread > 0 and self.yaw_std >= 0):
            raise ValueError(f'OffsetDistribution needs scale > 0, spread > 0 and yaw_std >= 0, '
                             f'got {self.scale}, {self.spread}, {self.yaw_std}')

    @property
    def dim(self) -> int:
        """2 for (x, y), 3 for (x, y, yaw)."""
        return 3 if self.yaw_std > 0 else 2

    @property
    def central(self) -> bool:
        """Whether the density is highest at the nominal hole."""
        return self.family in CENTRAL

    @property
    def is_mixture(self) -> bool:
        """Whether the member is a Gaussian mixture (``components`` gives it)."""
        return self.family not in ('uniform_box', 'ring')

    def widened(self, factor: float) -> OffsetDistribution:
        """Return the member with every standard deviation (and the yaw's) times ``factor``."""
        return dataclasses.replace(self, spread=self.spread * factor,
                                   yaw_std=self.yaw_std * factor)

    def _axes(self) -> tuple[np.ndarray, np.ndarray]:
        axis = np.array([np.cos(self.axis_angle), np.sin(self.axis_angle)])
        return axis, np.array([-axis[1], axis[0]])

    def _planar_mixture(self) -> tuple[list[float], list[np.ndarray], list[np.ndarray]]:
        """Return the x-y mixture (weights, means, covariances) of a Gaussian member [m, m²]."""
        s, k = self.scale, self.spread
        a, n = self._axes()

        def elongated(along: float, across: float) -> np.ndarray:
            return (k * s) ** 2 * (along ** 2 * np.outer(a, a) + across ** 2 * np.outer(n, n))

        def isotropic(std: float) -> np.ndarray:
            return (k * s * std) ** 2 * np.eye(2)

        zero = np.zeros(2)
        if self.family == 'isotropic_centred':
            return [1.0], [zero], [isotropic(0.5)]
        if self.family == 'isotropic_offcentre':
            return [1.0], [s * a], [isotropic(0.3)]
        if self.family == 'elongated_centred':
            return [1.0], [zero], [elongated(0.6, 0.15)]
        if self.family == 'elongated_offcentre':
            return [1.0], [s * a], [elongated(0.6, 0.15)]
        if self.family == 'elongated_with_mode':
            return [0.7, 0.3], [zero, 1.2 * s * n], [elongated(0.6, 0.15), isotropic(0.2)]
        if self.family == 'two_modes':
            return [0.5, 0.5], [s * a, -s * a], [elongated(0.3, 0.1)] * 2
        if self.family == 'three_modes':
            angles = self.axis_angle + np.radians([0.0, 120.0, 240.0])
            means = [s * np.array([np.cos(angle), np.sin(angle)]) for angle in angles]
            return [1.0 / 3.0] * 3, means, [isotropic(0.2)] * 3
        raise ValueError(f"offset distribution '{self.family}' is not a Gaussian mixture")

    def components(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return (weights (M,), means (M, d), covariances (M, d, d)) in metres (and rad).

        Raises:
            ValueError: The member is not a Gaussian mixture (``uniform_box``, ``ring``).
        """
        weights, means, covariances = self._planar_mixture()
        means, covariances = np.array(means), np.array(covariances)
        if self.dim == 3:
            means = np.column_stack([means, np.zeros(len(means))])
            padded = np.zeros((len(means), 3, 3))
            padded[:, :2, :2] = covariances
            padded[:, 2, 2] = self.yaw_std ** 2
            covariances = padded
        return np.array(weights), means, covariances

    def sample(self, count: int, rng: np.random.Generator) -> np.ndarray:
        """Draw ``count`` offsets (count, d) [m(, rad)]."""
        if self.is_mixture:
            weights, means, covariances = self.components()
            which = rng.choice(len(weights), size=count, p=weights)
            chol = np.linalg.cholesky(covariances)
            noise = rng.standard_normal((count, self.dim))
            return means[which] + np.einsum('nij,nj->ni', chol[which], noise)
        s, k = self.scale, self.spread
        if self.family == 'uniform_box':
            a, n = self._axes()
            unit = rng.uniform(-0.5, 0.5, size=(count, 2))
            planar = (k * s * (BOX_SIDES[0] * unit[:, :1] * a + BOX_SIDES[1] * unit[:, 1:] * n))
        else:  # ring
            angle = rng.uniform(0.0, 2.0 * np.pi, size=count)
            radius = s * (RING_RADIUS + k * RING_STD * rng.standard_normal(count))
            planar = radius[:, None] * np.column_stack([np.cos(angle), np.sin(angle)])
        if self.dim == 2:
            return planar
        return np.column_stack([planar, self.yaw_std * rng.standard_normal(count)])
