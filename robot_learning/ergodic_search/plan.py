# SPDX-License-Identifier: Apache-2.0
"""SearchPlan: a timed reference trajectory in the hole frame, with its ergodic metric."""

from __future__ import annotations

import dataclasses

import numpy as np

from robot_learning.ergodic_search.distribution import ExplorationDistribution, SearchRegion
from robot_learning.ergodic_search.fourier import (basis_indices, basis_values,
                                                   gaussian_mixture_coefficients, PERIOD,
                                                   sobolev_weights)

PLANNERS = ('ergodic', 'ergodic_coverage', 'ergodic_search', 'sampling', 'spiral', 'random')
"""Names of the search methods (``planners.make_plan``)."""
METRIC_POINTS = 2000
"""Trajectories longer than this are subsampled evenly for :func:`metric_over_time`."""


@dataclasses.dataclass(frozen=True)
class PlannerConfig:
    """Parameters shared by the search planners (physical units, hole frame)."""

    duration: float = 30.0
    """Length of the planned search [s] (the time budget of a trial)."""
    speed: float = 0.02
    """Speed along the search path in the x-y plane [m/s]."""
    dt: float = 0.01
    """Sample period of the plan; also the SMC integration step [s]."""
    num_fct: int = 10
    """Fourier basis functions per dimension (ergodic planner and metric)."""
    u_reg: float = 1e-3
    """SMC speed-normalisation regulariser (pbdlib uses 0.1; smaller keeps the speed at
    ``speed``, as the other planners move) [-]."""
    region_sigmas: float = 3.0
    """Search region: every component mean +- this many standard deviations."""
    region_margin: float = 0.1
    """Search region grown by this fraction of its x-y edge on every side [-]."""
    uniform_weight: float = 0.05
    """Weight of a uniform density over the region mixed into the learned one (ergodic and
    sampling planners): search time spent on tails the few demonstrations missed [-]."""
    spiral_pitch: float = 0.003
    """Distance between two turns of the spiral [m] (about the capture width of the hole)."""
    sampling_batch: int = 16
    """Samples drawn and ordered by nearest neighbour at a time (sampling planner)."""
    seed: int = 0
    """Seed of the sampling and random planners."""

    def __post_init__(self) -> None:
        """Reject non-positive sizes."""
        for name in ('duration', 'speed', 'dt', 'num_fct', 'u_reg', 'region_sigmas',
                     'spiral_pitch', 'sampling_batch'):
            if not getattr(self, name) > 0:
                raise ValueError(f'PlannerConfig.{name} must be > 0, got {getattr(self, name)}')
        if not 0.0 <= self.uniform_weight < 1.0 or not self.region_margin >= 0.0:
            raise ValueError('PlannerConfig.uniform_weight must be in [0, 1) and region_margin '
                             f'>= 0, got {self.uniform_weight}, {self.region_margin}')

    @property
    def num_steps(self) -> int:
        """Number of plan steps."""
        return int(round(self.duration / self.dt))


def search_region(distribution: ExplorationDistribution, config: PlannerConfig) -> SearchRegion:
    """Return the planners' region: the mixture's box, made square in x-y (same unit, metres).

    The nominal hole (the origin) is always inside the region.
    """
    region = distribution.region(config.region_sigmas)
    lower = np.minimum(region.lower, 0.0)
    upper = np.maximum(region.upper, 0.0)
    centre = 0.5 * (lower[:2] + upper[:2])
    half = 0.5 * np.max(upper[:2] - lower[:2]) * (1.0 + 2.0 * config.region_margin)
    lower[:2], upper[:2] = centre - half, centre + half
    return SearchRegion(lower=lower, upper=upper)


def polyline_positions(waypoints: np.ndarray, speed: float, dt: float,
                       num_steps: int) -> np.ndarray:
    """Sample the path through waypoints (W, d) at constant x-y ``speed`` every ``dt``.

    Returns (num_steps + 1, d); the last waypoint is held once the path ends. Extra
    coordinates (yaw) are interpolated along the same arc length.
    """
    waypoints = np.asarray(waypoints, dtype=float)
    lengths = np.linalg.norm(np.diff(waypoints[:, :2], axis=0), axis=1)
    arc = np.concatenate(([0.0], np.cumsum(lengths)))
    travelled = np.minimum(np.arange(num_steps + 1) * speed * dt, arc[-1])
    return np.stack([np.interp(travelled, arc, waypoints[:, i])
                     for i in range(waypoints.shape[1])], axis=1)


@dataclasses.dataclass(frozen=True)
class SearchPlan:
    """A search trajectory relative to the nominal hole; N samples in d-D at period ``dt``.

    The first coordinates are x, y [m] in the hole frame; a third one, when present, is the yaw
    about the hole axis [rad].
    """

    method: str
    """One of ``PLANNERS``."""
    dt: float
    """Sample period [s]."""
    positions: np.ndarray
    """(N, d) reference positions [m, m(, rad)]."""
    metric_times: np.ndarray
    """(M,) times at which ``metric`` is given [s]."""
    metric: np.ndarray
    """(M,) ergodic metric of the trajectory so far w.r.t. the exploration distribution."""
    plan_seconds: float = 0.0
    """Wall-clock time spent planning [s]."""
    detail: str = ''
    """How the plan was made, where a planner chooses (``ergodic_search``: the candidate)."""

    @property
    def duration(self) -> float:
        """Length of the plan [s]."""
        return (len(self.positions) - 1) * self.dt

    @property
    def velocities(self) -> np.ndarray:
        """(N, d) reference velocities by finite differences [m/s(, rad/s)]."""
        return np.gradient(self.positions, self.dt, axis=0)

    def at(self, time: float) -> tuple[np.ndarray, np.ndarray]:
        """Return (position (d,), velocity (d,)) at ``time`` [s], held after the end."""
        index = min(max(time / self.dt, 0.0), len(self.positions) - 1.0)
        low = int(index)
        high = min(low + 1, len(self.positions) - 1)
        fraction = index - low
        position = (1.0 - fraction) * self.positions[low] + fraction * self.positions[high]
        velocity = ((self.positions[high] - self.positions[low]) / self.dt if high > low
                    else np.zeros(self.positions.shape[1]))
        return position, velocity


def metric_over_time(positions: np.ndarray, dt: float, distribution: ExplorationDistribution,
                     region: SearchRegion, num_fct: int = 10
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Return (times (M,), ergodic metric (M,)) of the growing trajectory positions (N, d).

    Positions are mapped into the unit box of ``region`` (and clipped to it); at most
    ``METRIC_POINTS`` evenly spaced samples are used.
    """
    positions = np.asarray(positions, dtype=float)
    stride = max(1, int(np.ceil(len(positions) / METRIC_POINTS)))
    sampled = np.clip(region.to_unit(positions[::stride]), 0.0, 1.0)
    indices = basis_indices(num_fct, positions.shape[1])
    means, covariances = distribution.in_unit_box(region)
    target = gaussian_mixture_coefficients(distribution.weights, means, covariances, indices)
    weights = sobolev_weights(indices)
    values = basis_values(sampled, indices) / PERIOD ** positions.shape[1]
    coefficients = np.cumsum(values, axis=0) / np.arange(1, len(values) + 1)[:, None]
    difference = coefficients - target
    metric = np.sum(weights * difference * difference, axis=1)
    return np.arange(len(sampled)) * stride * dt, metric
