# SPDX-License-Identifier: Apache-2.0
"""Episode success criteria: pure functions of per-episode summaries (arrays of shape (N,)).

Domain randomization (DORAEMON's success constraint, ADR's boundary buffers) and the transfer
evaluations count successes with these, so training and evaluation agree on what success is.
"""

from __future__ import annotations

import numpy as np


def velocity_tracking_success(mean_speed_error: np.ndarray, fell: np.ndarray,
                              max_speed_error: float) -> np.ndarray:
    """Return (N,) bool: no fall and a mean |v_xy - cmd_xy| [m/s] below ``max_speed_error``."""
    return ~np.asarray(fell, dtype=bool) & (np.asarray(mean_speed_error) < max_speed_error)
