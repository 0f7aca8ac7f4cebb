# SPDX-License-Identifier: Apache-2.0
"""Reorder per-joint values from a message's joint order into a robot's or contract's order."""

from __future__ import annotations

from typing import Sequence

import numpy as np


def joint_order(source_names: Sequence[str], target_names: Sequence[str]) -> list[int]:
    """Return, for each target joint, its index among ``source_names``.

    Raises:
        KeyError: a target joint is missing from the source (the message lists them).
    """
    index = {name: i for i, name in enumerate(source_names)}
    missing = [name for name in target_names if name not in index]
    if missing:
        raise KeyError(f'joints {missing} missing; the source has {list(source_names)}')
    return [index[name] for name in target_names]


def pick(values: Sequence[float], order: list[int], source_count: int) -> np.ndarray:
    """Return ``values`` reordered by ``order``; all NaN when the field was not filled.

    ROS leaves ``velocity`` or ``effort`` empty when a driver does not measure them; any length
    other than ``source_count`` counts as not filled.
    """
    values = np.asarray(values, dtype=np.float64)
    if values.size != source_count:
        return np.full(len(order), np.nan)
    return values[order]
