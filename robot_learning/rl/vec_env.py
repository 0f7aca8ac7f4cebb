# SPDX-License-Identifier: Apache-2.0
"""Adapter from a numpy task environment onto rsl-rl-lib 5.x's ``VecEnv`` contract."""

from __future__ import annotations

import dataclasses

from rsl_rl.env import VecEnv
from tensordict import TensorDict
import torch

from robot_learning.config import to_dict
from robot_learning.tasks.registry import TaskEnvironment


class RslVecEnv(VecEnv):
    """Presents a registered task environment (numpy, CPU) to rsl-rl's runners.

    Observation groups: ``policy`` (noisy, what the deployed policy sees) and ``critic``
    (noise-free). ``extras['time_outs']`` marks truncations so PPO bootstraps them;
    ``extras['log']`` carries the per-episode metrics of the environments that just reset.
    """

    def __init__(self, env: TaskEnvironment) -> None:
        self.env = env
        self.num_envs = env.num_envs
        self.num_actions = env.num_actions
        self.max_episode_length = env.max_episode_length
        self.device = 'cpu'
        self.cfg = to_dict(env.config) if dataclasses.is_dataclass(env.config) else {}

    @property
    def episode_length_buf(self) -> torch.Tensor:
        """(N,) steps since each environment's reset; shares memory with the environment."""
        return torch.from_numpy(self.env.episode_length)

    @episode_length_buf.setter
    def episode_length_buf(self, value: torch.Tensor) -> None:
        self.env.episode_length[:] = value.cpu().numpy()

    def get_observations(self) -> TensorDict:
        """Return the observation groups as a TensorDict of (N, D) float32 tensors."""
        return _to_tensordict(self.env.observations, self.num_envs)

    def step(self, actions: torch.Tensor) -> tuple[TensorDict, torch.Tensor, torch.Tensor, dict]:
        """Step with (N, num_actions) actions; returns obs, rewards (N,), dones (N,), extras."""
        obs, rewards, terminated, truncated, info = self.env.step(
            actions.detach().cpu().numpy())
        dones = torch.from_numpy(terminated | truncated).long()
        extras = {'time_outs': torch.from_numpy(truncated), 'log': info['log']}
        return (_to_tensordict(obs, self.num_envs),
                torch.from_numpy(rewards.astype('float32')), dones, extras)


def _to_tensordict(observations: dict, num_envs: int) -> TensorDict:
    return TensorDict({key: torch.from_numpy(value) for key, value in observations.items()},
                      batch_size=[num_envs])
