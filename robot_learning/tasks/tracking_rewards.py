# SPDX-License-Identifier: Apache-2.0
"""Motion-tracking reward and metric terms (ASAP / PHC style): pure, vectorized, each (N,).

Tracking terms are ``exp(-error / sigma)`` with ``error`` a mean of squares, so 1 means exact
tracking. Body positions are (N, B, 3) world positions [m].
"""

from __future__ import annotations

import numpy as np

from robot_learning.rotations import quat_angle


def body_pos_exp(body_pos: np.ndarray, ref_body_pos: np.ndarray, sigma: float) -> np.ndarray:
    """exp(-mean over bodies and axes of (p - p_ref)² / sigma); sigma [m²]."""
    error = np.mean(np.square(body_pos - ref_body_pos), axis=(1, 2))
    return np.exp(-error / sigma)


def root_orientation_exp(base_quat: np.ndarray, ref_base_quat: np.ndarray,
                         sigma: float) -> np.ndarray:
    """exp(-angle² / sigma), angle [rad] of the rotation from the reference to the base."""
    return np.exp(-np.square(quat_angle(base_quat, ref_base_quat)) / sigma)


def mean_square_exp(value: np.ndarray, reference: np.ndarray, sigma: float) -> np.ndarray:
    """exp(-mean over the last axis of (value - reference)² / sigma) for (N, K) arrays."""
    return np.exp(-np.mean(np.square(value - reference), axis=1) / sigma)


def mean_body_distance(body_pos: np.ndarray, ref_body_pos: np.ndarray) -> np.ndarray:
    """Mean over bodies of |p - p_ref| [m], (N,); ASAP fails an episode above 0.5 m."""
    return np.mean(np.linalg.norm(body_pos - ref_body_pos, axis=2), axis=1)


def root_relative_distance(body_pos: np.ndarray, ref_body_pos: np.ndarray) -> np.ndarray:
    """Mean body distance [m] after subtracting each side's root (body 0) position, (N,)."""
    return mean_body_distance(body_pos - body_pos[:, :1], ref_body_pos - ref_body_pos[:, :1])


def termination(terminated: np.ndarray) -> np.ndarray:
    """1 for environments that failed this step (weighted by a negative penalty)."""
    return terminated.astype(float)
