# SPDX-License-Identifier: Apache-2.0
"""Residual dynamics model f(s, a) ~ s' - s with local-continuity options (CCIL step 1).

A torch MLP (ReLU) maps the normalised (s, a) to the normalised state change::

    z_s = (s - mu_s) / sigma_s,   z_a = (a - mu_a) / sigma_a,
    f(s, a) = out_shift + out_scale * MLP(z_s, z_a),

with means mu and mean absolute deviations sigma of the demonstrations (CCIL's
``init_normalization_to_data``); output dimensions that never change (out_scale < 1e-8, e.g.
a constant velocity command) are predicted as their constant change. Local continuity:

- ``spectral``: every linear layer is ``torch.nn.utils.parametrizations.spectral_norm`` scaled
  by K, so each layer's spectral norm is K (power iteration) and the MLP is K^(layers)-Lipschitz
  in normalised units;
- ``penalty``: a sampled hinge ``w * mean relu(|MLP(x + d) - MLP(x)| - K |d|)`` over
  Gaussian perturbations d of the normalised input (input and output compared in the SAME
  normalised units, unlike the reference code's ``soft_sampling``);
- ``none``: MSE only.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib

import numpy as np
import torch
from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import spectral_norm

from robot_learning.atomic_write import atomic_open
from robot_learning.ccil.config import DynamicsConfig

SCALE_FLOOR = 1e-8
"""Dimensions whose mean absolute deviation is below this are treated as constant."""


class _Scale(nn.Module):
    """Parametrization W -> K W (applied after spectral normalisation)."""

    def __init__(self, factor: float) -> None:
        super().__init__()
        self.factor = float(factor)

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        """Return the scaled weight."""
        return weight * self.factor


def mlp(sizes: list[int], spectral_bound: float | None = None) -> nn.Sequential:
    """Build a ReLU MLP with linear output; with ``spectral_bound`` K every layer's norm is K."""
    layers: list[nn.Module] = []
    for index, (width_in, width_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        linear = nn.Linear(width_in, width_out)
        if spectral_bound is not None:
            linear = spectral_norm(linear)
            parametrize.register_parametrization(linear, 'weight', _Scale(spectral_bound))
        layers.append(linear)
        if index < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def linear_layers(network: nn.Module) -> list[nn.Linear]:
    """Return the linear layers of ``network`` in order."""
    return [module for module in network.modules() if isinstance(module, nn.Linear)]


@dataclasses.dataclass(frozen=True)
class Normalisation:
    """Per-dimension shift and scale (mean, mean absolute deviation) of s, a and s' - s."""

    state_mean: np.ndarray
    state_scale: np.ndarray
    action_mean: np.ndarray
    action_scale: np.ndarray
    delta_mean: np.ndarray
    delta_scale: np.ndarray

    @classmethod
    def fit(cls, states: np.ndarray, actions: np.ndarray, following: np.ndarray
            ) -> Normalisation:
        """Fit from transitions (N, S), (N, A), (N, S)."""
        def stats(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            mean = values.mean(axis=0)
            return mean, np.abs(values - mean).mean(axis=0)
        delta = following - states
        return cls(*stats(states), *stats(actions), *stats(delta))


class DynamicsModel(nn.Module):
    """f(s, a) ~ s' - s on raw (unnormalised) torch tensors; see the module docstring."""

    def __init__(self, state_dim: int, action_dim: int, normalisation: Normalisation,
                 config: DynamicsConfig = DynamicsConfig()) -> None:
        super().__init__()
        self.state_dim, self.action_dim = state_dim, action_dim
        self.config = config
        bound = config.lipschitz_constant if config.lipschitz == 'spectral' else None
        self.network = mlp([state_dim + action_dim, *config.hidden, state_dim], bound)
        n = normalisation

        def buffer(name: str, value: np.ndarray, floor: bool = True) -> None:
            value = np.asarray(value, dtype=np.float32)
            if floor:
                value = np.where(value < SCALE_FLOOR, 1.0, value)
            self.register_buffer(name, torch.as_tensor(value))
        buffer('state_mean', n.state_mean, False)
        buffer('state_scale', n.state_scale)
        buffer('action_mean', n.action_mean, False)
        buffer('action_scale', n.action_scale)
        buffer('delta_mean', n.delta_mean, False)
        buffer('delta_scale', n.delta_scale)
        self.register_buffer('mask', torch.as_tensor(
            (np.asarray(n.delta_scale) >= SCALE_FLOOR).astype(np.float32)))

    def normalised_input(self, states: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """Return z = (z_s, z_a), (N, S + A)."""
        return torch.cat([(states - self.state_mean) / self.state_scale,
                          (actions - self.action_mean) / self.action_scale], dim=-1)

    def normalised_output(self, z: torch.Tensor) -> torch.Tensor:
        """Return the normalised state change for normalised inputs z (N, S + A)."""
        return self.network(z) * self.mask

    def forward(self, states: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """Return f(s, a) (N, S), the predicted s' - s in raw units."""
        y = self.normalised_output(self.normalised_input(states, actions))
        return self.delta_mean + self.delta_scale * y

    def predict(self, states: np.ndarray, actions: np.ndarray) -> np.ndarray:
        """Return the predicted next states s + f(s, a) (N, S) for numpy inputs."""
        with torch.no_grad():
            s = torch.as_tensor(states, dtype=torch.float32)
            a = torch.as_tensor(actions, dtype=torch.float32)
            return (s + self(s, a)).numpy().astype(np.float64)

    def step_jacobian_norm(self, states: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """Spectral norm of d(s + f)/d(s, a) in normalised units at each row, (N,).

        In normalised coordinates the map is z_s' = z_s + (delta_mean + delta_scale y) /
        state_scale, so its Jacobian is [I, 0] + diag(delta_scale / state_scale) dy/dz.
        """
        z = self.normalised_input(states, actions).detach()
        ratio = self.delta_scale / self.state_scale
        identity = torch.cat([torch.eye(self.state_dim),
                              torch.zeros(self.state_dim, self.action_dim)], dim=1)

        def step(row: torch.Tensor) -> torch.Tensor:
            return self.normalised_output(row[None])[0] * ratio

        jacobian = torch.func.vmap(torch.func.jacrev(step))(z) + identity
        return torch.linalg.matrix_norm(jacobian, ord=2).detach()


def _converge_spectral_norms(model: DynamicsModel, iterations: int = 30) -> None:
    """Run power iterations until each layer's sigma estimate is converged.

    ``spectral_norm`` does one power iteration per training forward pass, so right after the
    last optimiser step its sigma may still trail the true largest singular value and K W/sigma
    would exceed K slightly; each access of ``weight`` in training mode does one more.
    """
    if model.config.lipschitz != 'spectral':
        return
    model.train()
    with torch.no_grad():
        for _ in range(iterations):
            for layer in linear_layers(model.network):
                layer.weight  # noqa: B018 (one power iteration per access)


def lipschitz_penalty(model: DynamicsModel, z: torch.Tensor, config: DynamicsConfig,
                      generator: torch.Generator | None = None) -> torch.Tensor:
    """Return the sampled hinge mean relu(|y(z + d) - y(z)| - K |d|), normalised units."""
    samples = config.penalty_samples
    base = model.normalised_output(z).repeat(samples, 1)
    noise = torch.randn((samples * z.shape[0], z.shape[1]), generator=generator)
    noise = noise * config.penalty_radius
    moved = model.normalised_output(z.repeat(samples, 1) + noise)
    excess = (moved - base).norm(dim=1) - config.lipschitz_constant * noise.norm(dim=1)
    return torch.relu(excess).mean()


def fit_dynamics(states: np.ndarray, actions: np.ndarray, following: np.ndarray,
                 config: DynamicsConfig = DynamicsConfig()) -> tuple[DynamicsModel, dict]:
    """Fit f on transitions (N, S), (N, A), (N, S); MSE of the normalised residual.

    Returns:
        (model in eval mode, report): report holds ``train_mse`` (normalised units) and
        ``mean_abs_error`` of s + f against s' per state dimension mean [raw units].
    """
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    normalisation = Normalisation.fit(states, actions, following)
    model = DynamicsModel(states.shape[1], actions.shape[1], normalisation, config)
    s = torch.as_tensor(states, dtype=torch.float32)
    a = torch.as_tensor(actions, dtype=torch.float32)
    target = ((torch.as_tensor(following - states, dtype=torch.float32) - model.delta_mean)
              / model.delta_scale) * model.mask
    z_all = model.normalised_input(s, a)
    optimiser = torch.optim.Adam(model.parameters(), lr=config.learning_rate,
                                 weight_decay=config.weight_decay)
    count = len(s)
    batch = min(config.batch_size, count)
    model.train()
    for _ in range(config.epochs):
        order = torch.randperm(count, generator=generator)
        for start in range(0, count - batch + 1, batch):
            index = order[start:start + batch]
            z = z_all[index]
            loss = torch.mean((model.normalised_output(z) - target[index]) ** 2)
            if config.lipschitz == 'penalty':
                loss = loss + config.penalty_weight * lipschitz_penalty(model, z, config,
                                                                        generator)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    _converge_spectral_norms(model)
    model.eval()
    with torch.no_grad():
        mse = float(torch.mean((model.normalised_output(z_all) - target) ** 2))
    error = np.abs(model.predict(states, actions) - following).mean()
    return model, {'train_mse': mse, 'mean_abs_error': float(error)}


def save_dynamics(model: DynamicsModel, path: str | os.PathLike) -> pathlib.Path:
    """Write the model (state dict, sizes and config) atomically to ``path``."""
    path = pathlib.Path(path)
    with atomic_open(path, 'wb') as stream:
        torch.save({'state_dim': model.state_dim, 'action_dim': model.action_dim,
                    'config': dataclasses.asdict(model.config),
                    'state_dict': model.state_dict()}, stream)
    return path


def load_dynamics(path: str | os.PathLike) -> DynamicsModel:
    """Read a model written by :func:`save_dynamics` (in eval mode)."""
    data = torch.load(path, weights_only=True)
    config = data['config']
    config = DynamicsConfig(**{**config, 'hidden': tuple(config['hidden'])})
    state_dim, action_dim = data['state_dim'], data['action_dim']
    ones = np.ones
    placeholder = Normalisation(np.zeros(state_dim), ones(state_dim), np.zeros(action_dim),
                                ones(action_dim), np.zeros(state_dim), ones(state_dim))
    model = DynamicsModel(state_dim, action_dim, placeholder, config)
    model.load_state_dict(data['state_dict'])
    return model.eval()
