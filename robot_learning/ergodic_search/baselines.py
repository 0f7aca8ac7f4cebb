# SPDX-License-Identifier: Apache-2.0
"""Baseline searches that ignore the demonstrations: an Archimedean spiral and random waypoints.

Spiral: r = pitch * theta / (2 pi) around the nominal hole, travelled at constant speed (arc
length s ~ pitch theta^2 / (4 pi), so theta(t) = sqrt(4 pi speed t / pitch)); with the pitch
equal to the capture width of the hole it covers the plane without gaps, the standard blind
search of industrial peg-in-hole. Random: uniform waypoints in the search region joined by
straight segments at constant speed. A yaw coordinate (3-D search), when present, is swept
back and forth over the region at the rate that one x-y turn of the spiral takes.
"""

from __future__ import annotations

import time

import numpy as np

from robot_learning.ergodic_search.distribution import ExplorationDistribution
from robot_learning.ergodic_search.plan import (metric_over_time, PlannerConfig,
                                                polyline_positions, search_region, SearchPlan)


def spiral_positions(pitch: float, speed: float, dt: float, num_steps: int) -> np.ndarray:
    """Return (num_steps + 1, 2) points of the constant-speed Archimedean spiral from 0 [m]."""
    times = np.arange(num_steps + 1) * dt
    theta = np.sqrt(4.0 * np.pi * speed * times / pitch)
    radius = pitch * theta / (2.0 * np.pi)
    return np.stack([radius * np.cos(theta), radius * np.sin(theta)], axis=1)


def _yaw_sweep(lower: float, upper: float, period: float, times: np.ndarray) -> np.ndarray:
    """Triangle wave over [lower, upper] starting at 0 (clipped into the range)."""
    phase = (times / period) % 1.0
    triangle = np.where(phase < 0.5, 2.0 * phase, 2.0 - 2.0 * phase)
    start = np.clip(0.0, lower, upper)
    return np.clip(start + (triangle - 0.5) * 2.0 * max(upper - start, start - lower),
                   lower, upper)


def _finish(method: str, positions: np.ndarray, begin: float,
            distribution: ExplorationDistribution, config: PlannerConfig) -> SearchPlan:
    region = search_region(distribution, config)
    if distribution.dim == 3:
        times = np.arange(len(positions)) * config.dt
        period = 4.0 * np.pi * config.spiral_pitch / config.speed
        yaw = _yaw_sweep(region.lower[2], region.upper[2], period, times)
        positions = np.column_stack([positions[:, :2], yaw])
    elapsed = time.perf_counter() - begin
    metric_times, metric = metric_over_time(positions, config.dt, distribution, region,
                                            config.num_fct)
    return SearchPlan(method=method, dt=config.dt, positions=positions,
                      metric_times=metric_times, metric=metric, plan_seconds=elapsed)


def spiral_plan(distribution: ExplorationDistribution, config: PlannerConfig) -> SearchPlan:
    """Plan the spiral around the nominal hole (the distribution only sets the yaw range)."""
    begin = time.perf_counter()
    positions = spiral_positions(config.spiral_pitch, config.speed, config.dt, config.num_steps)
    return _finish('spiral', positions, begin, distribution, config)


def random_plan(distribution: ExplorationDistribution, config: PlannerConfig) -> SearchPlan:
    """Plan a path through uniform random waypoints of the search region, from the origin."""
    begin = time.perf_counter()
    rng = np.random.default_rng(config.seed)
    region = search_region(distribution, config)
    mean_segment = 0.5 * float(np.mean(region.size[:2]))
    count = int(np.ceil(config.speed * config.duration / mean_segment)) * 2 + 2
    waypoints = rng.uniform(region.lower[:2], region.upper[:2], size=(count, 2))
    waypoints = np.vstack([np.zeros(2), waypoints])
    positions = polyline_positions(waypoints, config.speed, config.dt, config.num_steps)
    return _finish('random', positions, begin, distribution, config)
