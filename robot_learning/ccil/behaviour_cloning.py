# SPDX-License-Identifier: Apache-2.0
"""Deterministic behaviour cloning (CCIL step 4): MLP with tanh output, MSE.

Observations are z-scored and actions min-max scaled to [-1, 1] (CCIL's d3rlpy settings); both
scalings live inside :class:`BCPolicy`, so the module maps raw observations (N, S) to raw
actions (N, A) and exports as is. NoiseBC adds ``noise_bc * U[0, 1)`` (uniform, non-negative,
as the reference ``CustomBC``) to the z-scored observations of a random half of every batch.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from robot_learning.ccil.config import BCConfig

ACTION_MARGIN = 0.05
"""Fraction of the demonstrated action range added on each side before min-max scaling, so
that tanh does not have to saturate to reach the extreme expert actions."""


class BCPolicy(nn.Module):
    """Raw observation (N, S) -> raw action (N, A): z-score, MLP (ReLU), tanh, unscale."""

    def __init__(self, observation_mean: np.ndarray, observation_std: np.ndarray,
                 action_low: np.ndarray, action_high: np.ndarray,
                 hidden: tuple[int, ...] = (256, 256)) -> None:
        super().__init__()
        sizes = [len(observation_mean), *hidden, len(action_low)]
        layers: list[nn.Module] = []
        for index, (width_in, width_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(nn.Linear(width_in, width_out))
            layers.append(nn.ReLU() if index < len(sizes) - 2 else nn.Tanh())
        self.network = nn.Sequential(*layers)
        std = np.where(np.asarray(observation_std) < 1e-6, 1.0, observation_std)
        centre = (np.asarray(action_high) + np.asarray(action_low)) / 2
        half = np.maximum((np.asarray(action_high) - np.asarray(action_low)) / 2, 1e-6)
        for name, value in (('observation_mean', observation_mean), ('observation_std', std),
                            ('action_centre', centre), ('action_half_range', half)):
            self.register_buffer(name, torch.as_tensor(np.asarray(value), dtype=torch.float32))

    def normalise(self, observations: torch.Tensor) -> torch.Tensor:
        """Return z-scored observations."""
        return (observations - self.observation_mean) / self.observation_std

    def scaled(self, z: torch.Tensor) -> torch.Tensor:
        """Return the scaled action in [-1, 1] for z-scored observations."""
        return self.network(z)

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        """Return raw actions (N, A) for raw observations (N, S)."""
        return self.action_centre + self.action_half_range * self.scaled(
            self.normalise(observations))

    def act(self, observations: np.ndarray) -> np.ndarray:
        """Numpy convenience: actions (N, A) float64 for observations (N, S)."""
        with torch.no_grad():
            return self(torch.as_tensor(np.asarray(observations), dtype=torch.float32)
                        ).numpy().astype(np.float64)


def train_bc(observations: np.ndarray, actions: np.ndarray, config: BCConfig = BCConfig(),
             normalisation_data: tuple[np.ndarray, np.ndarray] | None = None,
             observation_std_floor: np.ndarray | None = None) -> tuple[BCPolicy, dict]:
    """Fit a BCPolicy on (N, S) observations and (N, A) actions.

    Args:
        observations: Training observations (expert, plus kept labels for CCIL).
        actions: Matching actions.
        config: Network and optimisation settings; ``noise_bc > 0`` makes it NoiseBC.
        normalisation_data: (observations, actions) to take the scalings from (default: the
            training data). CCIL passes the expert data so that labels do not move them.
        observation_std_floor: (S,) lower bound of each observation's z-score scale, in
            observation units, e.g. the sensor's noise level. Without it a dimension that
            barely varies in the demonstrations (a quadruped's gravity z) is scaled by 1/std,
            and sensor noise becomes tens of standard deviations at the policy's input.

    Returns:
        (policy in eval mode, report with ``train_mse`` in scaled action units).
    """
    observations = np.asarray(observations, dtype=np.float64)
    actions = np.asarray(actions, dtype=np.float64)
    if observations.ndim != 2 or actions.ndim != 2 or len(observations) != len(actions):
        raise ValueError(f'behaviour cloning needs (N, S) observations and (N, A) actions, got '
                         f'{observations.shape} and {actions.shape}')
    if not (np.isfinite(observations).all() and np.isfinite(actions).all()):
        raise ValueError('behaviour cloning data hold non-finite values')
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    ref_obs, ref_act = normalisation_data or (observations, actions)
    low, high = ref_act.min(axis=0), ref_act.max(axis=0)
    margin = ACTION_MARGIN * (high - low)
    std = ref_obs.std(axis=0)
    if observation_std_floor is not None:
        std = np.maximum(std, np.broadcast_to(observation_std_floor, std.shape))
    policy = BCPolicy(ref_obs.mean(axis=0), std, low - margin, high + margin, config.hidden)
    z_all = policy.normalise(torch.as_tensor(observations, dtype=torch.float32))
    target = ((torch.as_tensor(actions, dtype=torch.float32) - policy.action_centre)
              / policy.action_half_range).clamp(-1.0, 1.0)
    optimiser = torch.optim.Adam(policy.parameters(), lr=config.learning_rate)
    count = len(z_all)
    batch = min(config.batch_size, count)
    policy.train()
    for _ in range(config.epochs):
        order = torch.randperm(count, generator=generator)
        for start in range(0, count - batch + 1, batch):
            index = order[start:start + batch]
            z = z_all[index]
            if config.noise_bc > 0:
                noisy = torch.rand(len(z), 1, generator=generator) < 0.5
                z = z + noisy * config.noise_bc * torch.rand(z.shape, generator=generator)
            loss = torch.mean((policy.scaled(z) - target[index]) ** 2)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    policy.eval()
    with torch.no_grad():
        mse = float(torch.mean((policy.scaled(z_all) - target) ** 2))
    return policy, {'train_mse': mse, 'samples': count}
