# SPDX-License-Identifier: Apache-2.0
"""Plots of domain randomization: training curves of runs and success heatmaps (PNG files)."""

from __future__ import annotations

import pathlib

import numpy as np

from robot_learning.atomic_write import atomic_path


def _pyplot():
    """Return matplotlib's pyplot on the file-only Agg backend."""
    import matplotlib
    matplotlib.use('Agg')
    from matplotlib import pyplot
    return pyplot


def plot_training(histories: dict[str, list[dict]], path: str | pathlib.Path) -> pathlib.Path:
    """Entropy [nats] and in-distribution success rate over env steps, one line per run."""
    figure, (top, bottom) = _pyplot().subplots(2, 1, figsize=(8, 6), sharex=True)
    for label, rows in histories.items():
        steps = np.asarray([row['env_steps'] for row in rows], dtype=float)
        entropy = np.asarray([np.nan if row['entropy'] is None else row['entropy']
                              for row in rows], dtype=float)
        success = np.asarray([np.nan if row['success_rate'] is None else row['success_rate']
                              for row in rows], dtype=float)
        top.plot(steps, entropy, label=label)
        bottom.plot(steps, success, label=label)
    top.set_ylabel('entropy of the DR distribution [nats]')
    bottom.set_ylabel('in-distribution success rate')
    bottom.set_xlabel('environment steps')
    bottom.set_ylim(-0.02, 1.02)
    top.legend()
    top.grid(alpha=0.3)
    bottom.grid(alpha=0.3)
    figure.tight_layout()
    return _save(figure, path)


def plot_heatmap(heatmap: dict, path: str | pathlib.Path, title: str = '') -> pathlib.Path:
    """Success rate over the grid of a transfer report's ``heatmap`` entry."""
    xs, ys = np.asarray(heatmap['x_values']), np.asarray(heatmap['y_values'])
    grid = np.asarray(heatmap['success'])
    dx, dy = np.diff(xs).mean() / 2, np.diff(ys).mean() / 2
    figure, axes = _pyplot().subplots(figsize=(6, 5))
    image = axes.imshow(grid, origin='lower', vmin=0.0, vmax=1.0, cmap='viridis', aspect='auto',
                        extent=(xs[0] - dx, xs[-1] + dx, ys[0] - dy, ys[-1] + dy))
    figure.colorbar(image, ax=axes, label='success rate')
    axes.set_xlabel(heatmap['x'])
    axes.set_ylabel(heatmap['y'])
    axes.set_title(title or 'success over the target box (other parameters nominal)')
    figure.tight_layout()
    return _save(figure, path)


def _save(figure, path: str | pathlib.Path) -> pathlib.Path:
    path = pathlib.Path(path)
    try:
        with atomic_path(path) as temporary:
            figure.savefig(temporary, dpi=120)
    finally:
        _pyplot().close(figure)
    return path
