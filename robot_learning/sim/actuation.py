# SPDX-License-Identifier: Apache-2.0
"""Engine-independent pieces of the actuator model: latency, pushes and sensor noise."""

from __future__ import annotations

import numpy as np

from robot_learning.sim.dynamics import DynamicsBatch, latency_substeps, PARAMETERS


class LatencyBuffer:
    """Delays joint targets by a per-environment number of physics steps.

    With latency L physics steps, the target applied at physics step t is the control target
    that was issued at the latest control step k with ``k * decimation <= t - L``.
    """

    def __init__(self, num_envs: int, num_joints: int, decimation: int, max_latency_steps: int):
        self.decimation = decimation
        # Enough control steps of history to look back max_latency_steps physics steps.
        self.depth = max_latency_steps // decimation + 2
        self.history = np.zeros((num_envs, self.depth, num_joints))
        """(N, depth, J): history[:, 0] is the newest target."""

    def reset(self, env_ids: np.ndarray, targets: np.ndarray) -> None:
        """Fill the whole history of ``env_ids`` with ``targets`` (len(ids), J)."""
        self.history[env_ids] = targets[:, None, :]

    def push(self, targets: np.ndarray, latency_steps: np.ndarray) -> np.ndarray:
        """Record new control targets (N, J); return the targets per physics step (N, D, J)."""
        self.history = np.roll(self.history, 1, axis=1)
        self.history[:, 0] = targets
        substep = np.arange(self.decimation)
        # Age (in control steps) of the target in force at each substep.
        age = np.ceil((latency_steps[:, None] - substep[None, :]) / self.decimation)
        age = np.clip(age, 0, self.depth - 1).astype(np.int64)
        return np.take_along_axis(self.history, age[:, :, None], axis=1)


def max_latency_steps(sim_dt: float) -> int:
    """Largest latency, in physics steps, that the parameter bounds allow."""
    return int(latency_substeps(np.array(PARAMETERS['action_latency'].upper), sim_dt))


class PushSchedule:
    """Per-environment timers for random horizontal base pushes (legged_gym style)."""

    def __init__(self, num_envs: int):
        self.time_since_push = np.zeros(num_envs)

    def reset(self, env_ids: np.ndarray) -> None:
        """Restart the timers of ``env_ids``."""
        self.time_since_push[env_ids] = 0.0

    def due(self, dynamics: DynamicsBatch, dt: float, rng: np.random.Generator
            ) -> tuple[np.ndarray, np.ndarray]:
        """Advance by ``dt`` [s]; return (env ids to push, their xy kicks (n, 2) [m/s])."""
        self.time_since_push += dt
        interval = dynamics['push_interval']
        mask = ((interval > 0) & (dynamics['push_velocity'] > 0)
                & (self.time_since_push >= interval))
        env_ids = np.flatnonzero(mask)
        self.time_since_push[env_ids] = 0.0
        limit = dynamics['push_velocity'][env_ids, None]
        kicks = rng.uniform(-1.0, 1.0, size=(env_ids.size, 2)) * limit
        return env_ids, kicks


def add_sensor_noise(joint_pos: np.ndarray, joint_vel: np.ndarray, base_ang_vel: np.ndarray,
                     dynamics: DynamicsBatch, rng: np.random.Generator
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return noisy copies of the measured joint positions, velocities and gyro rates."""
    def noisy(value: np.ndarray, std: np.ndarray) -> np.ndarray:
        if not np.any(std > 0):
            return value
        return value + rng.standard_normal(value.shape) * std[:, None]
    return (noisy(joint_pos, dynamics['joint_position_noise']),
            noisy(joint_vel, dynamics['joint_velocity_noise']),
            noisy(base_ang_vel, dynamics['imu_noise']))


def pd_torque(targets: np.ndarray, joint_pos: np.ndarray, joint_vel: np.ndarray,
              kp: np.ndarray, kd: np.ndarray, strength: np.ndarray,
              effort_limit: np.ndarray) -> np.ndarray:
    """``clip(strength * (kp (q* - q) - kd q_dot), ±effort)``; arrays broadcast to (N, J) [N·m]."""
    torque = strength * (kp * (targets - joint_pos) - kd * joint_vel)
    return np.clip(torque, -effort_limit, effort_limit)
