# SPDX-License-Identifier: Apache-2.0
"""Batched rotation helpers; quaternions are (w, x, y, z), arrays have a leading batch axis N."""

from __future__ import annotations

import numpy as np


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cross product of (N, 3) arrays (np.cross costs ~10x more for small N)."""
    a1, a2, a3 = a[:, 0], a[:, 1], a[:, 2]
    b1, b2, b3 = b[:, 0], b[:, 1], b[:, 2]
    return np.stack([a2 * b3 - a3 * b2, a3 * b1 - a1 * b3, a1 * b2 - a2 * b1], axis=1)


def quat_rotate_inverse(quat: np.ndarray, vector: np.ndarray) -> np.ndarray:
    """Express world-frame vectors (N, 3) in the frames given by quaternions (N, 4)."""
    w = quat[:, 0:1]
    xyz = quat[:, 1:4]
    t = 2.0 * _cross(xyz, vector)
    return vector - w * t + _cross(xyz, t)


def quat_rotate(quat: np.ndarray, vector: np.ndarray) -> np.ndarray:
    """Rotate body-frame vectors (N, 3) into the world by quaternions (N, 4)."""
    w = quat[:, 0:1]
    xyz = quat[:, 1:4]
    t = 2.0 * _cross(xyz, vector)
    return vector + w * t + _cross(xyz, t)


def yaw_quat(yaw: np.ndarray) -> np.ndarray:
    """Quaternions (N, 4) of rotations by ``yaw`` [rad] about the world z axis."""
    quat = np.zeros((yaw.shape[0], 4))
    quat[:, 0] = np.cos(yaw / 2)
    quat[:, 3] = np.sin(yaw / 2)
    return quat


def projected_gravity(quat: np.ndarray) -> np.ndarray:
    """Express the unit gravity direction (0, 0, -1) in the base frame, (N, 3)."""
    down = np.zeros((quat.shape[0], 3))
    down[:, 2] = -1.0
    return quat_rotate_inverse(quat, down)
