# SPDX-License-Identifier: Apache-2.0
"""Coverage-driven ergodic search: SMC toward the probability mass not yet searched.

Classic SMC (``smc.py``) makes the *time-average* of the trajectory match the distribution, so
it keeps coming back to the likely places; a search only needs to pass over each place once
(the chamfer catches the peg within ``capture`` of the hole). Here the statistic is the
*searched mass* instead: on a grid over the unit box (``cells`` per x-y dimension,
``yaw_cells`` for a yaw), the residual r (the prior, mixed with ``uniform_weight`` of a uniform
density, times the probability that the hole was not passed yet) loses, at every step, a
fraction of itself in the footprint (the box of half-width ``capture`` [m] and ``yaw_capture``
[rad] around the tool), such that one pass straight through the footprint leaves
``1 - detection`` of it (a hole passed over is found with probability ``detection``, so missed
places come back, in order of what is left, once the fresh mass is spent). The agent moves at
the search speed up the gradient of the Sobolev-smoothed residual::

    R_k = sum_cells r(x) phi_k(x)                         (cosine coefficients of r)
    u   = grad_x sum_k Lambda_k R_k phi_k(x),  Lambda_k = (1 + |k|^2)^(-sobolev)
    x  <- clip(x + speed dt u / |u|, 0, 1)                 (the turn per step limited to
                                                            speed dt / turn_radius)

which is the SMC law with w(t) - w_hat replaced by -R (the target minus the searched mass; the
HEDAC idea of Ivić et al. in the spectral form). The coefficients are updated where the
footprint changed, so a step costs O(num_fct^d + footprint cells * num_fct).
"""

from __future__ import annotations

import dataclasses
import math
import time

import numpy as np

from robot_learning.ergodic_search.distribution import ExplorationDistribution
from robot_learning.ergodic_search.fourier import OMEGA
from robot_learning.ergodic_search.plan import (metric_over_time, PlannerConfig, search_region,
                                                SearchPlan)
from robot_learning.ergodic_search.smc import START_NUDGE


@dataclasses.dataclass(frozen=True)
class CoverageConfig:
    """Parameters of the coverage-driven planner."""

    capture: float = 0.002
    """Half-width of the searched footprint in x and y [m] (clearance + chamfer is 1.75 mm;
    the compliant peg catches the chamfer a little farther out)."""
    yaw_capture: float = 0.05
    """Half-width of the footprint in yaw [rad] (3-D search)."""
    detection: float = 0.9
    """Probability that one pass over the hole finds it [-]."""
    num_fct: int = 30
    """Cosine basis functions per dimension (finer than SMC's 10: a footprint is a few mm)."""
    sobolev: float = 0.75
    """Exponent of the weights (1 + |k|^2)^-sobolev (SMC uses (d + 1) / 2: smoother)."""
    cells: int = 128
    """Grid cells per x-y dimension of the search region."""
    yaw_cells: int = 32
    """Grid cells along the yaw."""
    turn_radius: float = 0.002
    """Smallest turning radius of the path [m] (no back-and-forth on the spot)."""

    def __post_init__(self) -> None:
        """Reject values out of range."""
        for name in ('capture', 'yaw_capture', 'num_fct', 'sobolev', 'cells', 'yaw_cells',
                     'turn_radius'):
            if not getattr(self, name) > 0:
                raise ValueError(f'CoverageConfig.{name} must be > 0, got {getattr(self, name)}')
        if not 0.0 < self.detection <= 1.0:
            raise ValueError(f'CoverageConfig.detection must be in (0, 1], got {self.detection}')


def _contract(block: np.ndarray, bases: list[np.ndarray]) -> np.ndarray:
    """Return sum over cells of block * prod_i bases[i][k_i, cell_i]: shape (num_fct,) * d."""
    out = block
    for axis, basis in enumerate(bases):
        out = np.moveaxis(np.tensordot(basis, out, axes=([1], [axis])), 0, axis)
    return out


def coverage_trajectory(prior: np.ndarray, start: np.ndarray, step: float, num_steps: int,
                        half_widths: np.ndarray, turn_radius: float,
                        config: CoverageConfig) -> np.ndarray:
    """Run the coverage-driven agent on a grid prior; return the points (num_steps + 1, d).

    Args:
        prior: (n_1, ..., n_d) probability of each cell of the unit box (sums to 1).
        start: (d,) start in the unit box.
        step: Distance per step in the unit box.
        num_steps: Number of steps.
        half_widths: (d,) footprint half-widths in the unit box.
        turn_radius: Smallest turning radius in the unit box.
        config: Planner parameters (basis, weights, detection, turn radius).
    """
    shape = prior.shape
    dim = len(shape)
    counts = np.array(shape)
    frequencies = OMEGA * np.arange(config.num_fct)
    bases = [np.cos(np.outer(frequencies, (np.arange(n) + 0.5) / n)) for n in shape]
    residual = prior.astype(float).copy()
    coefficients = _contract(residual, bases)
    grids = np.meshgrid(*[np.arange(config.num_fct)] * dim, indexing='ij')
    weights = (1.0 + sum(grid ** 2 for grid in grids)) ** (-config.sobolev)
    # One pass straight through the footprint spends (2 half-width / step) steps in it.
    keep = (1.0 - config.detection) ** (step / (2.0 * half_widths[0])) if (
        config.detection < 1.0) else 0.0
    phases = np.array([0.0, -0.5 * np.pi])[:, None]
    multipliers = np.stack((np.ones(config.num_fct), -frequencies))
    max_turn = min(math.pi, step / turn_radius)
    points = np.empty((num_steps + 1, dim))
    points[0] = start
    x = np.asarray(start, dtype=float).copy()
    heading = np.zeros(dim)
    gradient = np.empty(dim)
    for index in range(num_steps):
        lower = np.clip(np.ceil((x - half_widths) * counts - 0.5).astype(int), 0, counts - 1)
        upper = np.clip(np.floor((x + half_widths) * counts - 0.5).astype(int), 0, counts - 1)
        window = tuple(slice(low, high + 1) for low, high in zip(lower, upper))
        old = residual[window]
        change = (keep - 1.0) * old
        residual[window] = old + change
        coefficients += _contract(change, [basis[:, part] for basis, part in zip(
            bases, window)])
        weighted = weights * coefficients
        trig = np.cos(x[:, None, None] * frequencies + phases) * multipliers
        if dim == 2:
            block = trig[0, ::-1] @ weighted @ trig[1].T
            gradient[0], gradient[1] = block[0, 0], block[1, 1]
        else:
            for i in range(dim):
                reduced = weighted
                for j in range(dim - 1, -1, -1):
                    reduced = reduced @ trig[j, int(j == i)]
                gradient[i] = reduced
        norm = math.sqrt(gradient @ gradient)
        direction = gradient / norm if norm > 0 else (heading if index else np.eye(dim)[0])
        if index:
            cosine = float(np.clip(direction @ heading, -1.0, 1.0))
            if math.acos(cosine) > max_turn:
                normal = direction - cosine * heading
                length = math.sqrt(normal @ normal)
                if length < 1e-12:  # straight back: turn to the left in x-y
                    normal = np.zeros(dim)
                    normal[0], normal[1] = -heading[1], heading[0]
                    length = math.sqrt(normal @ normal) or 1.0
                direction = math.cos(max_turn) * heading + math.sin(max_turn) * normal / length
        heading = direction
        x = np.minimum(np.maximum(x + step * direction, 0.0), 1.0)
        points[index + 1] = x
    return points


def coverage_plan(distribution: ExplorationDistribution, config: PlannerConfig,
                  coverage: CoverageConfig = CoverageConfig()) -> SearchPlan:
    """Plan a coverage-driven search over the exploration distribution from the nominal hole.

    The prior on the grid is the mixture density (times the cell volume), mixed with
    ``config.uniform_weight`` of a uniform density over the search region (``search_region``).
    The unit-box speed is ``config.speed`` divided by the x-y edge of the region.
    """
    begin = time.perf_counter()
    dim = distribution.dim
    region = search_region(distribution, config)
    shape = (coverage.cells,) * 2 + ((coverage.yaw_cells,) if dim == 3 else ())
    axes = [(np.arange(count) + 0.5) / count for count in shape]
    centres = np.stack(np.meshgrid(*axes, indexing='ij'), axis=-1).reshape(-1, dim)
    prior = distribution.density(region.from_unit(centres)).reshape(shape)
    prior = prior / prior.sum()
    prior = (1.0 - config.uniform_weight) * prior + config.uniform_weight / prior.size
    widths = [coverage.capture] * 2 + ([coverage.yaw_capture] if dim == 3 else [])
    half_widths = np.asarray(widths) / region.size
    start = region.to_unit(np.zeros(dim)) + START_NUDGE * 0.5 ** np.arange(dim)
    step = config.speed * config.dt / float(region.size[0])
    points = coverage_trajectory(prior, start, step, config.num_steps, half_widths,
                                 coverage.turn_radius / float(region.size[0]), coverage)
    points[0] = region.to_unit(np.zeros(dim))
    positions = region.from_unit(points)
    elapsed = time.perf_counter() - begin
    times, metric = metric_over_time(positions, config.dt, distribution, region, config.num_fct)
    return SearchPlan(method='ergodic_coverage', dt=config.dt, positions=positions,
                      metric_times=times, metric=metric, plan_seconds=elapsed)
