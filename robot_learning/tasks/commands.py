# SPDX-License-Identifier: Apache-2.0
"""Velocity command sampling for locomotion tasks."""

from __future__ import annotations

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class VelocityCommandConfig:
    """Ranges of the uniformly sampled base velocity commands."""

    lin_vel_x: tuple[float, float] = (-1.0, 1.0)
    """Forward velocity range [m/s]."""
    lin_vel_y: tuple[float, float] = (-1.0, 1.0)
    """Lateral velocity range [m/s]."""
    ang_vel_yaw: tuple[float, float] = (-1.0, 1.0)
    """Yaw rate range [rad/s]."""
    resample_time: float = 10.0
    """Time between two command draws [s]."""
    standing_fraction: float = 0.1
    """Fraction of draws that are the zero command (stand still)."""
    small_command_threshold: float = 0.2
    """Planar commands slower than this [m/s] are set to zero (as legged_gym)."""


def sample_velocity_commands(config: VelocityCommandConfig, count: int,
                             rng: np.random.Generator) -> np.ndarray:
    """Draw ``count`` commands (vx [m/s], vy [m/s], yaw rate [rad/s]), shape (count, 3)."""
    commands = np.stack([
        rng.uniform(*config.lin_vel_x, count),
        rng.uniform(*config.lin_vel_y, count),
        rng.uniform(*config.ang_vel_yaw, count)], axis=1)
    slow = np.linalg.norm(commands[:, :2], axis=1) < config.small_command_threshold
    commands[slow, :2] = 0.0
    standing = rng.random(count) < config.standing_fraction
    commands[standing] = 0.0
    return commands
