# SPDX-License-Identifier: Apache-2.0
"""CCIL task: the project quadruped tracking a forward speed, PPO expert from a policy bundle.

State = the bundle contract's noise-free 48-D observation (base velocities, gravity, command,
joint positions and velocities, last action); action = the raw policy action (joint target =
default + 0.25 action [rad]), so a cloned policy exported with the same contract runs in the
ROS 2 policy node. Every episode draws a forward speed command U(0.3, 0.8) m/s (no lateral or
yaw command). Reward per step: exp(-|v_xy - cmd_xy|^2 / 0.25) while the robot has not fallen;
score = mean reward over the episode (1 = perfect tracking for the whole episode, 0 = fell at
once). Observation noise scale = the contract's training noise half-width of each term (in
observation units); action noise scale = 1 action unit (0.25 rad). Pushes use the backend's
``push_velocity`` / ``push_interval`` dynamics parameters.
"""

from __future__ import annotations

import numpy as np

from robot_learning.ccil.tasks import Perturbation, Task
from robot_learning.paths import share_dir
from robot_learning.policies.runtime import PolicyRuntime
from robot_learning.rotations import quat_rotate_inverse
from robot_learning.sim.base import SimConfig
from robot_learning.tasks.commands import VelocityCommandConfig
from robot_learning.tasks.observations import term_size
from robot_learning.tasks.velocity_tracking import VelocityTaskConfig, VelocityTrackingEnv

EXPERT_BUNDLE = 'policies/quadruped_flat'
"""The shipped PPO policy (relative to the package share directory)."""
SPEED_RANGE = (0.3, 0.8)
"""Forward speed commands [m/s]."""
EPISODE_S = 10.0
TRACKING_SIGMA = 0.25


class QuadrupedVelocityTask(Task):
    """See the module docstring."""

    name = 'quadruped_velocity'
    robot = 'quadruped'
    score_name = 'mean velocity-tracking reward per step (0-1, 0 after a fall)'
    episode_s = EPISODE_S

    def __init__(self, num_envs: int, seed: int = 0,
                 perturbation: Perturbation = Perturbation(),
                 bundle: str | None = None) -> None:
        super().__init__(num_envs, seed, perturbation)
        self.runtime = PolicyRuntime(bundle or share_dir() / EXPERT_BUNDLE)
        contract = self.runtime.contract
        self.contract = contract
        dynamics = {}
        if perturbation.push_interval > 0:
            dynamics = {'push_velocity': perturbation.push_velocity,
                        'push_interval': perturbation.push_interval}
        config = VelocityTaskConfig(
            robot=contract.robot, num_envs=num_envs,
            sim=SimConfig(sim_dt=contract.sim_dt,
                          decimation=int(round(contract.control_dt / contract.sim_dt)),
                          num_threads=1, seed=seed),
            episode_length_s=EPISODE_S + 1.0,
            commands=VelocityCommandConfig(lin_vel_x=SPEED_RANGE, lin_vel_y=(0.0, 0.0),
                                           ang_vel_yaw=(0.0, 0.0), resample_time=1e6,
                                           standing_fraction=0.0),
            observations=contract.observations, noise_level=0.0,
            clip_observations=contract.clip_observations, clip_actions=contract.clip_actions,
            dynamics=dynamics, seed=seed)
        self.env = VelocityTrackingEnv(config)
        scales = []
        for term in contract.observations:
            size = term_size(term.name, contract.num_joints)
            scales.append(np.broadcast_to(np.asarray(term.scale, float) * term.noise, (size,)))
        self._observation_noise = np.concatenate(scales)

    @property
    def control_dt(self) -> float:
        """Control period [s]."""
        return self.env.dt

    @property
    def observation_noise_scale(self) -> np.ndarray:
        """(48,) training noise half-width of each observation dimension."""
        return self._observation_noise

    @property
    def action_noise_scale(self) -> np.ndarray:
        """(12,) one action unit."""
        return np.ones(self.contract.num_joints)

    def reset(self) -> np.ndarray:
        """Reset every environment (random pose, new command); return (N, 48) states."""
        env = self.env
        env._reset_envs(np.arange(self.num_envs))
        env.state = env.backend.get_state()
        env.observations = env._observe(env.state)
        return env.observations['critic'].astype(np.float64)

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Step with raw actions (N, 12)."""
        env = self.env
        command = env.commands.copy()
        observations, _, terminated, _, _ = env.step(actions)
        state = env.state
        velocity = quat_rotate_inverse(state.base_quat, state.base_lin_vel)
        error = np.sum((velocity[:, :2] - command[:, :2]) ** 2, axis=1)
        reward = np.exp(-error / TRACKING_SIGMA)
        return observations['critic'].astype(np.float64), reward, terminated

    def expert(self, states: np.ndarray) -> np.ndarray:
        """PPO bundle actions (N, 12) through onnxruntime."""
        return self.runtime.act(states)

    def score(self, returns: np.ndarray, final_states: np.ndarray,
              failed: np.ndarray) -> np.ndarray:
        """Mean tracking reward per step over the episode."""
        return returns / self.episode_steps

    def close(self) -> None:
        """Close the backend."""
        self.env.backend.close()
