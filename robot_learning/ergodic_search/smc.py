# SPDX-License-Identifier: Apache-2.0
"""Spectral Multiscale Coverage (Mathew & Mezić 2011): a first-order ergodic controller.

A point agent x' = u in the unit box [0, 1]^d follows, at every step t (1-based)::

    w(t) = (1 / t) sum_{tau <= t} phi(x_tau) / L^d
    u    = -grad phi(x_t)^T [Lambda * (w(t) - w_hat)]
    u   <- u * u_max / (|u| + u_reg)            (speed close to u_max, smooth near u = 0)
    x   <- clip(x + u dt, 0, 1)

with the cosine basis, Sobolev weights and target coefficients of ``fourier.py``; the ergodic
metric eps(t) = sum_k Lambda_k (w_k(t) - w_hat_k)^2 is logged at every step. Defaults follow the
pbdlib / RCFS demos (10 basis functions per dimension, dt = 0.01, u_max = 10, u_reg = 0.1).

The basis factorises per dimension, so one step costs d cosines and sines of num_fct angles,
one outer product and d^2 small matrix-vector products: the gradient is never formed as a
(d, num_fct^d) matrix.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import time

import numpy as np

from robot_learning.ergodic_search.distribution import ExplorationDistribution
from robot_learning.ergodic_search.fourier import (basis_indices,
                                                   gaussian_mixture_coefficients, OMEGA, PERIOD,
                                                   sobolev_weights)
from robot_learning.ergodic_search.plan import (METRIC_POINTS, PlannerConfig, search_region,
                                                SearchPlan)


START_NUDGE = 1e-3
"""Offset of the SMC start from the nominal hole, unit-box units (see ``ergodic_plan``)."""


@dataclasses.dataclass(frozen=True)
class SmcConfig:
    """Parameters of the SMC controller (unit-box units)."""

    num_fct: int = 10
    """Basis functions per dimension (num_fct ** d coefficients)."""
    dt: float = 0.01
    """Integration step [s]."""
    u_max: float = 10.0
    """Speed of the agent [unit box / s]."""
    u_reg: float = 0.1
    """Regulariser of the speed normalisation [unit box / s]."""

    def __post_init__(self) -> None:
        """Reject non-positive values."""
        for name in ('num_fct', 'dt', 'u_max', 'u_reg'):
            if not getattr(self, name) > 0:
                raise ValueError(f'SmcConfig.{name} must be > 0, got {getattr(self, name)}')


@dataclasses.dataclass(frozen=True)
class SmcResult:
    """A planned SMC trajectory in the unit box; N steps in d-D."""

    points: np.ndarray
    """(N + 1, d) positions, the start first."""
    metric: np.ndarray
    """(N,) ergodic metric eps after each step (coefficients of points 1..t)."""


def smc_trajectory(target: np.ndarray, start: np.ndarray, num_steps: int,
                   config: SmcConfig = SmcConfig()) -> SmcResult:
    """Run SMC for ``num_steps`` steps toward the target coefficients.

    Args:
        target: (num_fct ** d,) target coefficients w_hat (``gaussian_mixture_coefficients``),
            in the row-major order of ``basis_indices(config.num_fct, d)``.
        start: (d,) start in the unit box.
        num_steps: Number of steps N.
        config: Controller parameters.

    Raises:
        BasisError: More coefficients than a planner handles.
        ValueError: ``target`` does not have num_fct ** d entries, or a bad start or step count.
    """
    start = np.asarray(start, dtype=float)
    dim = start.shape[0]
    num_fct = config.num_fct
    indices = basis_indices(num_fct, dim)  # raises on too many coefficients
    target = np.asarray(target, dtype=float)
    if target.shape != (len(indices),):
        raise ValueError(f'target has shape {target.shape}; {num_fct} functions per dimension '
                         f'in {dim}-D need ({len(indices)},)')
    if num_steps < 1 or not np.all(np.isfinite(start)):
        raise ValueError(f'need num_steps >= 1 and a finite start, got {num_steps}, {start}')
    shape = (num_fct,) * dim
    weights = sobolev_weights(indices).reshape(shape)
    target = target.reshape(shape)
    frequencies = OMEGA * np.arange(num_fct)
    # cos(a - pi/2) = sin(a): one cosine call gives both rows.
    phases = np.array([0.0, -0.5 * np.pi])[:, None]
    multipliers = np.stack((np.ones(num_fct), -frequencies))
    norm = 1.0 / PERIOD ** dim
    points = np.empty((num_steps + 1, dim))
    points[0] = start
    metric = np.empty(num_steps)
    coefficient_sum = np.zeros(shape)
    scale = config.u_max * config.dt
    gradient = np.empty(dim)
    x = start.copy()
    for step in range(num_steps):
        # Rows (cos(k omega x_i), d/dx_i cos(k omega x_i)) per dimension: (d, 2, num_fct).
        trig = np.cos(x[:, None, None] * frequencies + phases) * multipliers
        cosines = trig[:, 0]
        if dim == 2:
            coefficient_sum += np.outer(cosines[0], cosines[1])
        else:
            coefficient_sum += functools.reduce(np.multiply.outer, cosines)
        difference = coefficient_sum * (norm / (step + 1)) - target
        weighted = weights * difference
        metric[step] = np.vdot(weighted, difference)
        if dim == 2:
            # [slope_0; cos_0] W [cos_1, slope_1]: the diagonal is the gradient.
            block = trig[0, ::-1] @ weighted @ trig[1].T
            gradient[0], gradient[1] = block[0, 0], block[1, 1]
        else:
            for i in range(dim):
                reduced = weighted
                for j in range(dim - 1, -1, -1):
                    reduced = reduced @ trig[j, int(j == i)]
                gradient[i] = reduced
        factor = -scale / (math.sqrt(gradient @ gradient) + config.u_reg)
        x = np.minimum(np.maximum(x + factor * gradient, 0.0), 1.0)
        points[step + 1] = x
    return SmcResult(points=points, metric=metric)


def ergodic_plan(distribution: ExplorationDistribution, config: PlannerConfig) -> SearchPlan:
    """Plan an SMC search over the exploration distribution, starting at the nominal hole.

    The target is the mixture, mixed with ``config.uniform_weight`` of a uniform density over
    the search region.

    The unit-box speed is ``config.speed`` divided by the x-y edge of the search region, so the
    x-y speed is about ``config.speed`` [m/s].

    Raises:
        BasisError: ``config.num_fct ** d`` is more than a planner handles.
    """
    begin = time.perf_counter()
    dim = distribution.dim
    indices = basis_indices(config.num_fct, dim)
    region = search_region(distribution, config)
    means, covariances = distribution.in_unit_box(region)
    target = gaussian_mixture_coefficients(distribution.weights, means, covariances, indices)
    # A uniform density over the unit box has w_hat = 1 / L^d for k = 0 and 0 otherwise.
    target *= 1.0 - config.uniform_weight
    target[0] += config.uniform_weight / PERIOD ** dim
    smc = SmcConfig(num_fct=config.num_fct, dt=config.dt,
                    u_max=config.speed / float(region.size[0]), u_reg=config.u_reg)
    # A start on a symmetry plane of the target sees no gradient across it (the odd
    # coefficients vanish there) and would never leave it: nudge it off by 1e-3 of the box.
    start = region.to_unit(np.zeros(dim)) + START_NUDGE * 0.5 ** np.arange(dim)
    result = smc_trajectory(target, start, config.num_steps, smc)
    result.points[0] = region.to_unit(np.zeros(dim))
    elapsed = time.perf_counter() - begin
    stride = max(1, int(np.ceil(config.num_steps / METRIC_POINTS)))
    return SearchPlan(
        method='ergodic', dt=config.dt, positions=region.from_unit(result.points),
        metric_times=np.arange(1, config.num_steps + 1)[::stride] * config.dt,
        metric=result.metric[::stride], plan_seconds=elapsed)
