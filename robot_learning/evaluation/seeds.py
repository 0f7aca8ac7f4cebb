# SPDX-License-Identifier: Apache-2.0
"""Learning results over training seeds: mean, sample standard deviation, count per metric."""

from __future__ import annotations

import numpy as np


def seed_statistics(by_seed: dict[int, dict]) -> dict[str, dict]:
    """Return ``{metric: {'mean', 'std', 'seeds'}}`` over the seeds' numeric metrics.

    Args:
        by_seed: seed -> metrics of the run with that seed (non-numeric values are skipped).

    ``std`` is the sample standard deviation (ddof 1), 0 for a single seed.
    """
    statistics = {}
    metrics = dict.fromkeys(name for row in by_seed.values() for name in row)
    for metric in metrics:
        values = [float(row[metric]) for row in by_seed.values()
                  if isinstance(row.get(metric), (int, float)) and not isinstance(
                      row.get(metric), bool)]
        if values:
            statistics[metric] = {
                'mean': float(np.mean(values)),
                'std': float(np.std(values, ddof=1)) if len(values) > 1 else 0.0,
                'seeds': len(values)}
    return statistics


def format_mean_std(statistic: dict, digits: int = 3) -> str:
    """Return ``'mean ± std (n)'`` of one ``seed_statistics`` entry."""
    return (f"{statistic['mean']:.{digits}f} ± {statistic['std']:.{digits}f} "
            f"({statistic['seeds']})")
