# SPDX-License-Identifier: Apache-2.0
"""The sampling-based search planner: mixture samples visited in nearest-neighbour order.

Batches of ``sampling_batch`` positions are drawn from the exploration distribution (a fraction
``uniform_weight`` of them uniformly over the search region instead); each batch
is visited greedily (nearest unvisited sample next, starting where the path is), and the
waypoints are joined by straight segments travelled at constant speed. Small batches spread the
early search over the whole distribution, as a human who tries the likely places first.
"""

from __future__ import annotations

import time

import numpy as np

from robot_learning.ergodic_search.distribution import ExplorationDistribution
from robot_learning.ergodic_search.plan import (metric_over_time, PlannerConfig,
                                                polyline_positions, search_region, SearchPlan)


def nearest_neighbour_order(points: np.ndarray, start: np.ndarray) -> np.ndarray:
    """Return the greedy nearest-neighbour visiting order (P,) of points (P, d) from start (d,).

    Distances use the x-y coordinates only.
    """
    remaining = list(range(len(points)))
    order = []
    current = np.asarray(start, dtype=float)[:2]
    while remaining:
        distances = np.linalg.norm(points[remaining, :2] - current, axis=1)
        chosen = remaining.pop(int(np.argmin(distances)))
        order.append(chosen)
        current = points[chosen, :2]
    return np.asarray(order, dtype=int)


def sampling_plan(distribution: ExplorationDistribution, config: PlannerConfig) -> SearchPlan:
    """Plan a search through mixture samples, starting at the nominal hole (the origin)."""
    begin = time.perf_counter()
    rng = np.random.default_rng(config.seed)
    region = search_region(distribution, config)
    path_length = config.speed * config.duration
    waypoints = [np.zeros(distribution.dim)]
    length = 0.0
    while length < path_length:
        batch = distribution.sample(config.sampling_batch, rng)
        uniform = rng.random(len(batch)) < config.uniform_weight
        batch[uniform] = rng.uniform(region.lower, region.upper, size=(uniform.sum(), len(
            region.lower)))
        batch = np.clip(batch, region.lower, region.upper)
        ordered = batch[nearest_neighbour_order(batch, waypoints[-1])]
        steps = np.diff(np.vstack([waypoints[-1], ordered])[:, :2], axis=0)
        length += float(np.sum(np.linalg.norm(steps, axis=1)))
        waypoints.extend(ordered)
    positions = polyline_positions(np.asarray(waypoints), config.speed, config.dt,
                                   config.num_steps)
    elapsed = time.perf_counter() - begin
    times, metric = metric_over_time(positions, config.dt, distribution, region, config.num_fct)
    return SearchPlan(method='sampling', dt=config.dt, positions=positions, metric_times=times,
                      metric=metric, plan_seconds=elapsed)
