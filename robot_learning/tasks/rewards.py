# SPDX-License-Identifier: Apache-2.0
"""Reward terms: pure, vectorized functions named ``<quantity>_<kernel>``; each returns (N,).

Weights live only in the task config (a weight of 0 disables a term); the environment
multiplies each term by ``weight * control_dt`` as legged_gym does.
"""

from __future__ import annotations

import numpy as np

from robot_learning.rotations import projected_gravity, quat_rotate_inverse


def track_lin_vel_xy_exp(base_quat: np.ndarray, base_lin_vel: np.ndarray, command: np.ndarray,
                         sigma: float) -> np.ndarray:
    """exp(-|v_xy - cmd_xy|² / sigma) in the base frame; 1 when tracking exactly."""
    velocity = quat_rotate_inverse(base_quat, base_lin_vel)
    error = np.sum(np.square(command[:, :2] - velocity[:, :2]), axis=1)
    return np.exp(-error / sigma)


def track_ang_vel_z_exp(base_ang_vel: np.ndarray, command: np.ndarray,
                        sigma: float) -> np.ndarray:
    """exp(-(w_z - cmd_yaw)² / sigma); 1 when the yaw rate matches."""
    return np.exp(-np.square(command[:, 2] - base_ang_vel[:, 2]) / sigma)


def lin_vel_z_l2(base_quat: np.ndarray, base_lin_vel: np.ndarray) -> np.ndarray:
    """Squared vertical base velocity (base frame) [m²/s²]; 0 when the body does not bob."""
    return np.square(quat_rotate_inverse(base_quat, base_lin_vel)[:, 2])


def ang_vel_xy_l2(base_ang_vel: np.ndarray) -> np.ndarray:
    """Squared roll and pitch rates [rad²/s²]; 0 when the body does not rock."""
    return np.sum(np.square(base_ang_vel[:, :2]), axis=1)


def flat_orientation_l2(base_quat: np.ndarray) -> np.ndarray:
    """Squared xy components of gravity in the base frame; 0 when the base is level."""
    return np.sum(np.square(projected_gravity(base_quat)[:, :2]), axis=1)


def joint_torques_l2(joint_torque: np.ndarray) -> np.ndarray:
    """Sum of squared joint torques [N²·m²]."""
    return np.sum(np.square(joint_torque), axis=1)


def joint_acc_l2(joint_vel: np.ndarray, last_joint_vel: np.ndarray, dt: float) -> np.ndarray:
    """Sum of squared finite-difference joint accelerations [rad²/s⁴]."""
    return np.sum(np.square((joint_vel - last_joint_vel) / dt), axis=1)


def action_rate_l2(action: np.ndarray, last_action: np.ndarray) -> np.ndarray:
    """Sum of squared changes of the action; 0 for a constant action."""
    return np.sum(np.square(action - last_action), axis=1)


def joint_pos_limits_l1(joint_pos: np.ndarray, lower: np.ndarray,
                        upper: np.ndarray) -> np.ndarray:
    """Sum the distances [rad] by which joints exceed the (soft) limits; 0 inside them."""
    below = np.clip(lower - joint_pos, 0.0, None)
    above = np.clip(joint_pos - upper, 0.0, None)
    return np.sum(below + above, axis=1)


def feet_air_time(first_contact: np.ndarray, air_time: np.ndarray, command: np.ndarray,
                  threshold: float) -> np.ndarray:
    """Sum over feet touching down now of (air time - threshold) [s], 0 for a zero command.

    Args:
        first_contact: (N, C) bool, the foot touched down during this step.
        air_time: (N, C) time the foot had been in the air before touching down [s].
        command: (N, 3) velocity command.
        threshold: air time that earns nothing [s].
    """
    reward = np.sum((air_time - threshold) * first_contact, axis=1)
    moving = np.linalg.norm(command[:, :2], axis=1) > 0.1
    return reward * moving


def stand_still_l1(joint_pos: np.ndarray, default_joint_pos: np.ndarray,
                   command: np.ndarray) -> np.ndarray:
    """Sum the deviations from the default pose [rad] when the command is (near) zero."""
    still = np.linalg.norm(command[:, :2], axis=1) < 0.1
    return np.sum(np.abs(joint_pos - default_joint_pos), axis=1) * still


def is_alive(terminated: np.ndarray) -> np.ndarray:
    """1 for environments that did not fail this step."""
    return (~terminated).astype(float)
