# SPDX-License-Identifier: Apache-2.0
"""The ``ergodic_search`` planner: the candidate with the smallest expected time-to-insert.

Ergodicity is not the goal of a search; finding the hole soon is. This planner builds the
candidates (the SMC plan of ``smc.py``, the coverage-driven plan of ``coverage.py`` and, as
the fall-back a learned distribution can recommend, the spiral of ``baselines.py``), estimates
for each the expected time-to-insert under the LEARNED exploration distribution, and returns
the best::

    E[T] = mean over n samples x_j of the mixture of min(T_capture(x_j), duration)
    T_capture(x) = first plan time with |p_i(t) - x_i| <= capture_i in every coordinate

(x-y half-width ``CoverageConfig.capture``, yaw ``CoverageConfig.yaw_capture``; an offset never
passed counts at the budget). It uses nothing but the demonstrations: on a distribution whose
density is highest at the nominal hole the spiral (the probability-ordered search there) can
win, and is then chosen. ``SearchPlan.detail`` names the choice and every candidate's E[T].
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from robot_learning.ergodic_search.baselines import spiral_plan
from robot_learning.ergodic_search.coverage import coverage_plan, CoverageConfig
from robot_learning.ergodic_search.distribution import ExplorationDistribution
from robot_learning.ergodic_search.plan import PlannerConfig, SearchPlan
from robot_learning.ergodic_search.smc import ergodic_plan

CANDIDATES = {'smc': ergodic_plan, 'coverage': coverage_plan, 'spiral': spiral_plan}
"""The candidate planners by name."""
SCORE_SAMPLES = 2000
"""Mixture samples of the expected time."""


def capture_times(positions: np.ndarray, dt: float, offsets: np.ndarray,
                  half_widths: np.ndarray, chunk: int = 256) -> np.ndarray:
    """Return the first time [s] the path passes within ``half_widths`` of each offset.

    An offset never passed gets inf.

    Args:
        positions: (N, d) plan positions [m(, rad)], one every ``dt``.
        dt: Sample period of the plan [s].
        offsets: (n, d) hole offsets (the same coordinates).
        half_widths: (d,) capture half-widths.
        chunk: Offsets per batch (memory: chunk * N * d floats).
    """
    times = np.full(len(offsets), np.inf)
    for begin in range(0, len(offsets), chunk):
        part = offsets[begin:begin + chunk]
        inside = np.all(np.abs(positions[None, :, :] - part[:, None, :]) <= half_widths, axis=2)
        hit = inside.any(axis=1)
        times[begin:begin + chunk][hit] = inside[hit].argmax(axis=1) * dt
    return times


def expected_time(plan: SearchPlan, samples: np.ndarray, half_widths: np.ndarray) -> float:
    """Return the mean capture time of the samples, a sample never passed at the budget [s]."""
    times = capture_times(plan.positions, plan.dt, samples, half_widths)
    return float(np.mean(np.minimum(times, plan.duration)))


def ergodic_search_plan(distribution: ExplorationDistribution, config: PlannerConfig,
                        coverage: CoverageConfig = CoverageConfig()) -> SearchPlan:
    """Return the candidate plan with the smallest expected time under ``distribution``."""
    begin = time.perf_counter()
    samples = distribution.sample(SCORE_SAMPLES, np.random.default_rng(config.seed))
    half_widths = np.array([coverage.capture] * 2 + [coverage.yaw_capture] * (
        distribution.dim - 2))
    scores, plans = {}, {}
    for name, planner in CANDIDATES.items():
        plans[name] = planner(distribution, config)
        scores[name] = expected_time(plans[name], samples, half_widths)
    best = min(scores, key=scores.get)
    detail = f'{best} (expected time ' + ', '.join(
        f'{name} {value:.2f} s' for name, value in scores.items()) + ')'
    return dataclasses.replace(plans[best], method='ergodic_search',
                               plan_seconds=time.perf_counter() - begin, detail=detail)
