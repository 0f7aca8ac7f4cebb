# SPDX-License-Identifier: Apache-2.0
"""Plots of the ergodic search: distribution, trajectories, coverage, ergodic metric (PNG)."""

from __future__ import annotations

import pathlib

import numpy as np

from robot_learning.atomic_write import atomic_path
from robot_learning.ergodic_search.distribution import ExplorationDistribution
from robot_learning.ergodic_search.plan import SearchPlan

MM = 1000.0
"""Plots show millimetres."""


def _pyplot():
    """Return matplotlib's pyplot on the file-only Agg backend."""
    import matplotlib
    matplotlib.use('Agg')
    from matplotlib import pyplot
    return pyplot


def _save(figure, path: pathlib.Path) -> pathlib.Path:
    figure.tight_layout()
    try:
        with atomic_path(path) as temporary:
            figure.savefig(temporary, dpi=110)
    finally:
        _pyplot().close(figure)
    return path


def _density(axes, distribution: ExplorationDistribution, extent: float) -> None:
    """Contour the x-y marginal of the mixture over [-extent, extent]^2 [m]."""
    marginal = ExplorationDistribution(
        weights=distribution.weights, means=distribution.means[:, :2],
        covariances=distribution.covariances[:, :2, :2])
    axis = np.linspace(-extent, extent, 120)
    grid = np.stack(np.meshgrid(axis, axis, indexing='xy'), axis=-1).reshape(-1, 2)
    density = marginal.density(grid).reshape(len(axis), len(axis))
    axes.contourf(axis * MM, axis * MM, density, levels=12, cmap='Blues')
    axes.set_aspect('equal')
    axes.set_xlabel('x [mm]')
    axes.set_ylabel('y [mm]')


def plot_distribution(distribution: ExplorationDistribution, demo_positions: np.ndarray,
                      hole_offsets: np.ndarray, path: pathlib.Path) -> pathlib.Path:
    """Plot the learned density, the demonstrated positions and the evaluated hole offsets."""
    figure, axes = _pyplot().subplots(figsize=(6, 6))
    extent = 1.1 * max(np.abs(demo_positions[:, :2]).max(), np.abs(hole_offsets[:, :2]).max())
    _density(axes, distribution, extent)
    axes.plot(demo_positions[:, 0] * MM, demo_positions[:, 1] * MM, '-', lw=0.4, color='0.3',
              label='demonstrations (synthetic)')
    axes.plot(hole_offsets[:, 0] * MM, hole_offsets[:, 1] * MM, 'x', color='tab:red', ms=4,
              label='hole offsets of the trials')
    axes.set_title(f'exploration distribution: {distribution.num_components} components (BIC)')
    axes.legend(loc='upper left', fontsize=8)
    return _save(figure, path)


def plot_trajectories(distribution: ExplorationDistribution, plans: dict[str, SearchPlan],
                      seconds: float, path: pathlib.Path) -> pathlib.Path:
    """Plot the first ``seconds`` of each plan over the learned density."""
    figure, grid = _pyplot().subplots(1, len(plans), figsize=(4.2 * len(plans), 4.4))
    grid = np.atleast_1d(grid)
    extent = max(np.abs(plan.positions[:int(seconds / plan.dt), :2]).max()
                 for plan in plans.values()) * 1.05
    for axes, (method, plan) in zip(grid, plans.items()):
        _density(axes, distribution, extent)
        shown = plan.positions[:int(seconds / plan.dt) + 1]
        axes.plot(shown[:, 0] * MM, shown[:, 1] * MM, lw=0.8, color='tab:orange')
        axes.set_title(f'{method}: first {seconds:g} s')
    return _save(figure, path)


def coverage_over_time(plan: SearchPlan, offsets: np.ndarray, capture: float) -> np.ndarray:
    """Return (N,) fraction of ``offsets`` (M, 2) passed within ``capture`` (x and y) by time."""
    first = np.full(len(offsets), np.inf)
    for index, offset in enumerate(offsets):
        inside = np.all(np.abs(plan.positions[:, :2] - offset[:2]) < capture, axis=1)
        if inside.any():
            first[index] = np.argmax(inside)
    steps = np.arange(len(plan.positions))
    return np.searchsorted(np.sort(first), steps, side='right') / len(offsets)


def plot_coverage(plans: dict[str, SearchPlan], offsets: np.ndarray, capture: float,
                  trial_times: dict[str, np.ndarray], path: pathlib.Path) -> pathlib.Path:
    """Plot the prior mass passed over by each plan and the fraction of trials inserted.

    ``trial_times`` holds each method's time-to-insert per trial (inf where it failed).
    """
    figure, (left, right) = _pyplot().subplots(1, 2, figsize=(11, 4))
    for method, plan in plans.items():
        times = np.arange(len(plan.positions)) * plan.dt
        left.plot(times, coverage_over_time(plan, offsets, capture), label=method)
        times_all = np.asarray(trial_times[method])  # inf: not inserted
        finished = np.sort(times_all[np.isfinite(times_all)])
        right.step(np.concatenate([[0.0], finished, [times[-1]]]),
                   np.concatenate([np.arange(len(finished) + 1), [len(finished)]])
                   / len(times_all), where='post', label=method)
    left.set_title(f'hole offsets passed within {capture * MM:.2f} mm (kinematic)')
    right.set_title('trials inserted (MuJoCo)')
    for axes in (left, right):
        axes.set_xlabel('time [s]')
        axes.set_ylim(0.0, 1.02)
        axes.grid(alpha=0.3)
        axes.legend()
    left.set_ylabel('fraction')
    return _save(figure, path)


def plot_metric(plans: dict[str, SearchPlan], path: pathlib.Path) -> pathlib.Path:
    """Plot the ergodic metric of each plan over time (log-log)."""
    figure, axes = _pyplot().subplots(figsize=(6, 4))
    for method, plan in plans.items():
        positive = plan.metric_times > 0
        axes.loglog(plan.metric_times[positive], plan.metric[positive], label=method)
    axes.set_xlabel('time [s]')
    axes.set_ylabel('ergodic metric')
    axes.grid(alpha=0.3, which='both')
    axes.legend()
    return _save(figure, path)
