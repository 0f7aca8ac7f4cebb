# SPDX-License-Identifier: Apache-2.0
"""Observation terms: pure functions of ObservationInputs, shared by training and deployment.

A policy contract names its terms in order with a scale each; the ROS 2 policy node fills an
ObservationInputs from its messages and calls the very same functions, so training and
deployment cannot drift apart. Each term returns an array of shape (N, size).
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np

from robot_learning.rotations import projected_gravity as _projected_gravity
from robot_learning.rotations import quat_rotate_inverse


@dataclasses.dataclass
class ObservationInputs:
    """Everything an observation term may read; N environments, J joints (contract order)."""

    base_quat: np.ndarray
    """(N, 4) base orientation (w, x, y, z)."""
    base_lin_vel: np.ndarray
    """(N, 3) base linear velocity in the world frame [m/s]."""
    base_ang_vel: np.ndarray
    """(N, 3) base angular velocity in the base frame [rad/s] (IMU gyroscope)."""
    joint_pos: np.ndarray
    """(N, J) [rad]"""
    joint_vel: np.ndarray
    """(N, J) [rad/s]"""
    default_joint_pos: np.ndarray
    """(J,) [rad]"""
    command: np.ndarray
    """(N, 3) velocity command (forward [m/s], lateral [m/s], yaw rate [rad/s])."""
    last_action: np.ndarray
    """(N, J) the previous raw policy action."""
    motion_phase: np.ndarray | None = None
    """(N, 1) progress through the reference motion in [0, 1] (motion tracking only)."""
    reference_joint_pos: np.ndarray | None = None
    """(N, J) reference joint positions at the current motion time [rad] (motion tracking)."""


def base_lin_vel(inputs: ObservationInputs) -> np.ndarray:
    """Return the base linear velocity in the base frame [m/s], (N, 3)."""
    return quat_rotate_inverse(inputs.base_quat, inputs.base_lin_vel)


def base_ang_vel(inputs: ObservationInputs) -> np.ndarray:
    """Return the base angular velocity in the base frame [rad/s], (N, 3)."""
    return inputs.base_ang_vel


def projected_gravity(inputs: ObservationInputs) -> np.ndarray:
    """Return the unit gravity direction in the base frame, (N, 3); (0, 0, -1) upright."""
    return _projected_gravity(inputs.base_quat)


def velocity_command(inputs: ObservationInputs) -> np.ndarray:
    """Return the command (vx [m/s], vy [m/s], yaw rate [rad/s]), (N, 3)."""
    return inputs.command


def joint_pos_rel(inputs: ObservationInputs) -> np.ndarray:
    """Joint positions relative to the default pose [rad], (N, J)."""
    return inputs.joint_pos - inputs.default_joint_pos


def joint_vel(inputs: ObservationInputs) -> np.ndarray:
    """Joint velocities [rad/s], (N, J)."""
    return inputs.joint_vel


def last_action(inputs: ObservationInputs) -> np.ndarray:
    """Return the previous raw policy action, (N, J)."""
    return inputs.last_action


def motion_phase(inputs: ObservationInputs) -> np.ndarray:
    """Return the phase of the reference motion in [0, 1], (N, 1)."""
    return _required(inputs.motion_phase, 'motion_phase')


def reference_joint_pos(inputs: ObservationInputs) -> np.ndarray:
    """Return the reference joint positions relative to the default pose [rad], (N, J)."""
    return _required(inputs.reference_joint_pos, 'reference_joint_pos') - inputs.default_joint_pos


def _required(value: np.ndarray | None, name: str) -> np.ndarray:
    if value is None:
        raise ValueError(f"observation term '{name}' needs a reference motion, and the "
                         'observation inputs hold none')
    return value


TERMS: dict[str, Callable[[ObservationInputs], np.ndarray]] = {
    'base_lin_vel': base_lin_vel,
    'base_ang_vel': base_ang_vel,
    'projected_gravity': projected_gravity,
    'velocity_command': velocity_command,
    'joint_pos_rel': joint_pos_rel,
    'joint_vel': joint_vel,
    'last_action': last_action,
    'motion_phase': motion_phase,
    'reference_joint_pos': reference_joint_pos,
}
"""Every observation term by name."""


@dataclasses.dataclass(frozen=True)
class ObservationTerm:
    """One term of an observation vector: ``clip(term(inputs) * scale)`` plus training noise."""

    name: str
    """Term function, a key of ``TERMS`` (e.g. 'base_ang_vel', 'joint_pos_rel')."""
    scale: tuple[float, ...] = (1.0,)
    """Multiplier: one number, or one per component."""
    noise: float = 0.0
    """Half-width of the uniform noise added in training, in the term's raw unit."""


def term_size(name: str, num_joints: int) -> int:
    """Width of term ``name`` for a robot with ``num_joints`` joints."""
    if name == 'motion_phase':
        return 1
    return num_joints if name in ('joint_pos_rel', 'joint_vel', 'last_action',
                                  'reference_joint_pos') else 3


def compute_observation(terms: tuple[ObservationTerm, ...], inputs: ObservationInputs,
                        clip: float = 100.0, rng: np.random.Generator | None = None,
                        noise_level: float = 0.0) -> np.ndarray:
    """Concatenate the scaled terms into one (N, D) float32 array.

    With ``rng`` and ``noise_level > 0`` each term gets uniform noise of half-width
    ``noise * noise_level`` (in the raw unit) before scaling, as in training.
    """
    parts = []
    for term in terms:
        try:
            function = TERMS[term.name]
        except KeyError:
            raise ValueError(f"unknown observation term '{term.name}'; valid: "
                             f"{', '.join(TERMS)}") from None
        value = function(inputs)
        if rng is not None and noise_level > 0 and term.noise > 0:
            value = value + rng.uniform(-1, 1, value.shape) * term.noise * noise_level
        parts.append(value * np.asarray(term.scale))
    return np.clip(np.concatenate(parts, axis=1), -clip, clip).astype(np.float32)
