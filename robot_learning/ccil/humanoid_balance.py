# SPDX-License-Identifier: Apache-2.0
"""CCIL task: the project humanoid standing under pushes, scripted ankle-strategy expert.

State (51,) = projected gravity (3), base angular velocity (3) [rad/s], base linear velocity in
the base frame (3) [m/s], joint positions relative to the default pose (21) [rad], joint
velocities (21) [rad/s]. Action (21,) = joint target offsets from the default pose in action
units (target = default + 0.25 action [rad]). The expert moves the ankles only (the ankle
strategy of human balance): pitch offset = b + k_p g_x + k_d w_y + k_v v_x (g the projected
gravity, positive x when the robot leans forward), roll offset = -(k_p g_y - k_d w_x + k_v v_y)
on both ankles; every other joint holds the default pose. Every episode starts at the default
pose and is pushed (base velocity kick) every ``push_interval`` seconds. Reward: 1 per step
standing (pelvis above ``FALL_HEIGHT``); score = fraction of the episode before a fall.
"""

from __future__ import annotations

import numpy as np

from robot_learning.ccil.tasks import Perturbation, Task
from robot_learning.robots.registry import load_robot
from robot_learning.rotations import projected_gravity, quat_rotate_inverse
from robot_learning.sim.base import SimConfig
from robot_learning.sim.registry import make_backend

EPISODE_S = 8.0
FALL_HEIGHT = 0.55
"""Pelvis height below which the robot has fallen [m]."""
PITCH_BIAS = 0.2
"""b: ankle pitch offset that puts the centre of mass over the feet at rest [rad]."""
GAINS = (4.0, 0.15, 1.5)
"""(k_p [rad per unit gravity], k_d [rad per rad/s], k_v [rad per m/s])."""


class HumanoidBalanceTask(Task):
    """See the module docstring."""

    name = 'humanoid_balance'
    robot = 'humanoid'
    score_name = 'fraction of the episode standing'
    episode_s = EPISODE_S

    def __init__(self, num_envs: int, seed: int = 0,
                 perturbation: Perturbation = Perturbation(),
                 gains: tuple[float, float, float] = GAINS) -> None:
        super().__init__(num_envs, seed, perturbation)
        self.spec = load_robot(self.robot)
        self.backend = make_backend('mujoco', self.spec, num_envs,
                                    SimConfig(num_threads=1, seed=seed))
        if perturbation.push_interval > 0:
            self.backend.set_dynamics(np.arange(num_envs), {
                'push_velocity': perturbation.push_velocity,
                'push_interval': perturbation.push_interval})
        self.gains = gains
        self.default = self.spec.default_joint_pos.copy()
        self.scale = self.spec.action_scale.copy()
        names = self.spec.joint_names
        self.ankle_pitch = [names.index(f'{side}_ankle_pitch_joint') for side in ('left', 'right')]
        self.ankle_roll = [names.index(f'{side}_ankle_roll_joint') for side in ('left', 'right')]
        joints = self.spec.num_joints
        self._noise = np.concatenate([np.full(3, 0.02), np.full(3, 0.1), np.full(3, 0.05),
                                      np.full(joints, 0.01), np.full(joints, 0.1)])
        self.fallen = np.zeros(num_envs, dtype=bool)

    @property
    def control_dt(self) -> float:
        """Control period [s]."""
        return self.backend.control_dt

    @property
    def observation_noise_scale(self) -> np.ndarray:
        """(51,) 0.02 gravity, 0.1 rad/s, 0.05 m/s, 0.01 rad, 0.1 rad/s."""
        return self._noise

    @property
    def action_noise_scale(self) -> np.ndarray:
        """(21,) one action unit (0.25 rad)."""
        return np.ones(self.spec.num_joints)

    def reset(self) -> np.ndarray:
        """Reset to the default pose at rest; return (N, 51) states."""
        self.backend.reset(np.arange(self.num_envs))
        self.fallen[:] = False
        return self._states()[0]

    def _states(self) -> tuple[np.ndarray, np.ndarray]:
        state = self.backend.get_state()
        velocity = quat_rotate_inverse(state.base_quat, state.base_lin_vel)
        states = np.concatenate([projected_gravity(state.base_quat), state.base_ang_vel,
                                 velocity, state.joint_pos - self.default, state.joint_vel],
                                axis=1)
        return states, state.base_pos[:, 2]

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Step with actions (N, 21)."""
        self.backend.step(self.default + self.scale * np.asarray(actions))
        states, height = self._states()
        self.fallen |= (height < FALL_HEIGHT) | ~np.isfinite(states).all(axis=1)
        return states, (~self.fallen).astype(float), self.fallen.copy()

    def expert(self, states: np.ndarray) -> np.ndarray:
        """Ankle-strategy actions (N, 21) for clean states (N, 51)."""
        k_p, k_d, k_v = self.gains
        gravity, rate, velocity = states[:, 0:3], states[:, 3:6], states[:, 6:9]
        pitch = PITCH_BIAS + k_p * gravity[:, 0] + k_d * rate[:, 1] + k_v * velocity[:, 0]
        roll = -(k_p * gravity[:, 1] - k_d * rate[:, 0] + k_v * velocity[:, 1])
        offsets = np.zeros((len(states), self.spec.num_joints))
        offsets[:, self.ankle_pitch] = pitch[:, None]
        offsets[:, self.ankle_roll] = roll[:, None]
        return offsets / self.scale

    def score(self, returns: np.ndarray, final_states: np.ndarray,
              failed: np.ndarray) -> np.ndarray:
        """Fraction of the episode standing."""
        return returns / self.episode_steps

    def close(self) -> None:
        """Close the backend."""
        self.backend.close()
