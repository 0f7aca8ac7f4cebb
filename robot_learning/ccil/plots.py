# SPDX-License-Identifier: Apache-2.0
"""Plots: where corrective labels land relative to the demonstrations, and benchmark bars."""

from __future__ import annotations

import pathlib

import matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from robot_learning.atomic_write import atomic_path  # noqa: E402
from robot_learning.ccil.labels import Labels  # noqa: E402


def _save(figure, path: str | pathlib.Path) -> pathlib.Path:
    path = pathlib.Path(path)
    try:
        with atomic_path(path) as temporary:
            figure.savefig(temporary, dpi=120, bbox_inches='tight')
    finally:
        plt.close(figure)
    return path


def plot_labels(demo_states: np.ndarray, generated: Labels, keep: np.ndarray,
                state_scale: np.ndarray, path: str | pathlib.Path, title: str = '',
                max_points: int = 3000) -> pathlib.Path:
    """Scatter demonstrations, kept and rejected labels on the 2 main axes of the demos.

    States are divided by ``state_scale`` (the dynamics model's normalisation) and projected
    on the first two principal components of the normalised demonstration states; a second
    panel shows the histogram of label distances (kept vs. rejected).
    """
    scale = np.where(np.asarray(state_scale) < 1e-8, 1.0, state_scale)
    demo = demo_states / scale
    centre = demo.mean(axis=0)
    _, _, vt = np.linalg.svd(demo - centre, full_matrices=False)
    axes2 = vt[:2].T

    def project(states: np.ndarray) -> np.ndarray:
        return (states / scale - centre) @ axes2

    rejected = ~np.asarray(keep, dtype=bool)
    rng = np.random.default_rng(0)

    def thin(points: np.ndarray) -> np.ndarray:
        if len(points) <= max_points:
            return points
        return points[rng.choice(len(points), max_points, replace=False)]

    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
    d = project(thin(demo_states))
    left.scatter(d[:, 0], d[:, 1], s=3, c='black', label='demonstrations')
    if rejected.any():
        r = project(thin(generated.states[rejected]))
        left.scatter(r[:, 0], r[:, 1], s=3, c='tab:red', alpha=0.5, label='rejected labels')
    if (~rejected).any():
        k = project(thin(generated.states[~rejected]))
        left.scatter(k[:, 0], k[:, 1], s=3, c='tab:green', alpha=0.5, label='kept labels')
    left.set_xlabel('principal axis 1 (normalised state)')
    left.set_ylabel('principal axis 2 (normalised state)')
    left.legend(markerscale=4)
    left.set_title(title or 'corrective labels')
    distance = np.linalg.norm((generated.states - generated.origin_states) / scale, axis=1)
    bins = np.linspace(0, max(float(distance.max()), 1e-6), 40)
    right.hist(distance[~rejected], bins=bins, color='tab:green', alpha=0.7, label='kept')
    if rejected.any():
        right.hist(distance[rejected], bins=bins, color='tab:red', alpha=0.7,
                   label='rejected')
    right.set_xlabel('label distance |s_b - s*| (normalised)')
    right.set_ylabel('labels')
    right.legend()
    return _save(figure, path)


def plot_benchmark(results: dict, path: str | pathlib.Path) -> pathlib.Path:
    """Bar chart: per task, mean score +- std over seeds for each method (and the expert)."""
    tasks = list(results)
    methods = ['expert', 'bc', 'noise_bc', 'ccil']
    colours = {'expert': 'grey', 'bc': 'tab:blue', 'noise_bc': 'tab:orange',
               'ccil': 'tab:green'}
    figure, axes = plt.subplots(1, len(tasks), figsize=(4.2 * len(tasks), 3.8), squeeze=False)
    for axis, task in zip(axes[0], tasks):
        summary = results[task]['summary']
        means = [summary[m]['mean'] for m in methods]
        stds = [summary[m]['std'] for m in methods]
        axis.bar(methods, means, yerr=stds, color=[colours[m] for m in methods], capsize=4)
        axis.set_title(task)
        axis.set_ylabel(results[task]['score_name'], fontsize=7)
        axis.set_ylim(0, 1.05)
    figure.suptitle('BC vs NoiseBC vs CCIL under observation/action noise and pushes')
    return _save(figure, path)
