# SPDX-License-Identifier: Apache-2.0
"""Bode overlays: measured vs simulated before and after matching, one image per joint group."""

from __future__ import annotations

import pathlib

import numpy as np

from robot_learning.atomic_write import atomic_path
from robot_learning.impedance_matching.identify import JointFit, MatchResult


def _pyplot():
    """Return matplotlib's pyplot on the file-only Agg backend."""
    import matplotlib
    matplotlib.use('Agg')
    from matplotlib import pyplot
    return pyplot


def plot_bode(fit: JointFit, path: str | pathlib.Path, title: str = '') -> pathlib.Path:
    """Magnitude [dB] and phase [deg] of the measured, nominal and matched responses."""
    pyplot = _pyplot()
    figure, (top, bottom) = pyplot.subplots(2, 1, figsize=(7, 6), sharex=True)
    measured = fit.measured.position
    kept = measured.kept
    curves = [('measured', measured, {'color': 'black', 'linewidth': 2.0}),
              (f'simulated, nominal ({fit.rms_db(fit.nominal_sim):.2f} dB RMS)',
               fit.nominal_sim, {'color': 'tab:red', 'linestyle': '--'})]
    if fit.matched_sim is not None:
        curves.append((f'simulated, matched ({fit.rms_db(fit.matched_sim):.2f} dB RMS)',
                       fit.matched_sim, {'color': 'tab:blue'}))
    for label, response, style in curves:
        top.semilogx(response.frequency, response.magnitude_db, label=label, **style)
        bottom.semilogx(response.frequency, response.phase_deg, **style)
    low, high = measured.frequency[kept].min(), measured.frequency[kept].max()
    for axis in (top, bottom):
        axis.axvspan(low, high, color='0.92', zorder=0)
        axis.grid(True, which='both', alpha=0.3)
    top.set_ylabel('|q / q*| [dB]')
    bottom.set_ylabel('phase [deg]')
    bottom.set_xlabel('frequency [Hz] (shaded: band kept for fitting)')
    top.set_title(title or f'{fit.joint}, trial {fit.trial}')
    top.legend(fontsize=8)
    figure.tight_layout()
    path = pathlib.Path(path)
    try:
        with atomic_path(path) as temporary:
            figure.savefig(temporary, dpi=110)
    finally:
        pyplot.close(figure)
    return path


def plot_groups(result: MatchResult, folder: str | pathlib.Path) -> list[pathlib.Path]:
    """One Bode overlay per joint group (its first joint, first trial): bode_<group>.png."""
    folder = pathlib.Path(folder)
    paths = []
    for group in dict.fromkeys(fit.group for fit in result.fits):
        fit = next(fit for fit in result.fits if fit.group == group)
        paths.append(plot_bode(fit, folder / f'bode_{group}.png',
                               f'{result.robot.name}: {fit.joint} (group {group})'))
    return paths


def plot_summary(rows: list[dict], path: str | pathlib.Path) -> pathlib.Path:
    """Bar chart of recovered / true per parameter and robot (benchmark summary)."""
    pyplot = _pyplot()
    names = ['kp', 'kd', 'armature']
    figure, axes = pyplot.subplots(1, len(names) + 1, figsize=(13, 3.6))
    labels = [row['label'] for row in rows]
    x = np.arange(len(rows))
    for axis, name in zip(axes, names):
        errors = [100.0 * row[f'{name}_error_max'] for row in rows]
        axis.bar(x, errors, color='tab:blue')
        axis.axhline(10.0, color='tab:red', linestyle='--', label='10 % goal')
        axis.set_xticks(x, labels, rotation=30, ha='right', fontsize=8)
        axis.set_title(f'{name}: worst joint error [%]')
    axis = axes[-1]
    axis.bar(x - 0.2, [row['rms_db_before'] for row in rows], 0.4, label='before',
             color='tab:red')
    axis.bar(x + 0.2, [row['rms_db_after'] for row in rows], 0.4, label='after',
             color='tab:blue')
    axis.axhline(1.0, color='black', linestyle='--', linewidth=1)
    axis.set_xticks(x, labels, rotation=30, ha='right', fontsize=8)
    axis.set_title('Bode magnitude RMS error [dB]')
    axis.legend(fontsize=8)
    axes[0].legend(fontsize=8)
    figure.tight_layout()
    path = pathlib.Path(path)
    try:
        with atomic_path(path) as temporary:
            figure.savefig(temporary, dpi=110)
    finally:
        pyplot.close(figure)
    return path
