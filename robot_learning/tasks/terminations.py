# SPDX-License-Identifier: Apache-2.0
"""Termination terms: pure functions returning (N,) bool, True where the episode must end."""

from __future__ import annotations

import numpy as np

from robot_learning.rotations import projected_gravity


def base_height_below(base_pos: np.ndarray, minimum: float) -> np.ndarray:
    """Flag a base origin lower than ``minimum`` [m] (the robot has fallen)."""
    return base_pos[:, 2] < minimum


def base_tilt_above(base_quat: np.ndarray, max_tilt: float) -> np.ndarray:
    """Flag a base tilted more than ``max_tilt`` [rad] from upright (roll/pitch combined)."""
    cos_tilt = -projected_gravity(base_quat)[:, 2]
    return cos_tilt < np.cos(max_tilt)


def time_out(episode_length: np.ndarray, max_episode_length: int) -> np.ndarray:
    """Flag episodes that reached their length limit (a truncation, not a failure)."""
    return episode_length >= max_episode_length
