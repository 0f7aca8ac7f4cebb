# SPDX-License-Identifier: Apache-2.0
"""The action term: raw policy actions -> joint position targets (training and deployment)."""

from __future__ import annotations

import numpy as np


def joint_position_targets(action: np.ndarray, default_joint_pos: np.ndarray,
                           action_scale: np.ndarray, clip: float) -> np.ndarray:
    """Return ``default + scale * clip(action, ±clip)`` [rad]; action (N, J), default (J,)."""
    return (np.asarray(default_joint_pos)
            + np.asarray(action_scale) * np.clip(action, -clip, clip))
