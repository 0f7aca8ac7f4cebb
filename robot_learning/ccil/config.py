# SPDX-License-Identifier: Apache-2.0
"""Configuration of CCIL (dynamics model, corrective labels, filter, behaviour cloning).

Frozen dataclasses read from ``config/ccil/*.yaml`` with strict keys and ``key.sub=value``
overrides (``robot_learning.config.load_config``). Distances and Jacobians are measured in the
dynamics model's NORMALISED coordinates (each state or action dimension divided by its mean
absolute deviation over the demonstrations), so one ε means the same on joint angles [rad] and
joint velocities [rad/s].
"""

from __future__ import annotations

import dataclasses
import math
import pathlib
from typing import Iterable

from robot_learning.config import ConfigError, load_config

LIPSCHITZ_MODES = ('spectral', 'penalty', 'none')
LABEL_METHODS = ('backtrack', 'noisy_action', 'both')
BACKTRACK_ACTIONS = ('current', 'previous')
SOLVERS = ('newton', 'one_step')
FILTERS = ('distance', 'label_error', 'none')


@dataclasses.dataclass(frozen=True)
class DynamicsConfig:
    """Residual dynamics model f(s, a) ~ s' - s (torch MLP, ReLU)."""

    hidden: tuple[int, ...] = (256, 256)
    """Hidden layer widths."""
    lipschitz: str = 'spectral'
    """Local-continuity option: 'spectral' (every linear layer's spectral norm set to
    ``lipschitz_constant``), 'penalty' (sampled hinge penalty) or 'none'."""
    lipschitz_constant: float = 3.0
    """K: per-layer spectral norm ('spectral') or the network's allowed slope ('penalty'),
    in normalised units."""
    penalty_weight: float = 1.0
    """Weight of the sampled Lipschitz hinge penalty ('penalty' only)."""
    penalty_samples: int = 4
    """Perturbations per sample for the penalty."""
    penalty_radius: float = 0.05
    """Std of the input perturbations of the penalty [normalised units]."""
    learning_rate: float = 1e-3
    """Adam step size."""
    weight_decay: float = 1e-5
    """Adam's L2 weight decay."""
    batch_size: int = 512
    """Transitions per gradient step (capped at the data set size)."""
    epochs: int = 100
    """Passes over the transitions."""
    seed: int = 0
    """Seed of the initial weights, the batch order and the penalty samples."""


@dataclasses.dataclass(frozen=True)
class LabelConfig:
    """Corrective labels generated around every expert sample."""

    method: str = 'backtrack'
    """'backtrack' (s_b + f(s_b, a*) = s*), 'noisy_action' (s_b + f(s_b, a* + xi) = s*_{t+1})
    or 'both'."""
    solver: str = 'newton'
    """'newton' solves the implicit equation (torch Newton, batched); 'one_step' is the
    backward-Euler closed form s_b = s* - f(s*, a)."""
    max_iterations: int = 20
    """Newton iterations at most."""
    tolerance: float = 1e-4
    """Newton stops when |residual| <= tolerance [normalised units]; unconverged labels are
    dropped."""
    action_noise: float = 0.1
    """Std of xi for noisy-action labels, as a fraction of each action's scale."""
    labels_per_sample: int = 1
    """Noisy-action labels per expert sample."""
    backtrack_action: str = 'current'
    """Action a BackTrack label carries: 'current' (a*_t, the reference) or 'previous'
    (a*_{t-1}; the label state solves s_b + f(s_b, a*_t) = s*_t and so lies about one step
    before s*_t, where the expert acted with a*_{t-1}: a phase-aligned diagnostic)."""
    fixed_dims: tuple[int, ...] = ()
    """State dimensions held at the expert's value in a label (no equation solved for them):
    entries the action alone sets (the previous action) or that never change (a command)."""
    seed: int = 0
    """Seed of the noisy-action noise xi."""


@dataclasses.dataclass(frozen=True)
class FilterConfig:
    """Which labels are trusted."""

    kind: str = 'label_error'
    """'distance' (|s_b - s*| < epsilon), 'label_error' (L_local * distance, L_local the largest
    Jacobian norm of s + f along the segment from the expert point to the label) or 'none'."""
    epsilon: float = 1.0
    """Largest label distance [normalised units] ('distance'; also applied by 'label_error')."""
    quantile: float = 0.8
    """'label_error': keep the labels whose estimated error is at most this quantile."""
    max_label_error: float = math.inf
    """'label_error': and at most this estimated error [normalised units]."""
    max_relative_error: float = math.inf
    """'label_error': and e <= max_relative_error * d, d = |(s_b - s*) / sigma_s| the label's
    distance (distance-aware, unlike the quantile, which keeps the shortest labels). For a
    noisy-action label e / d = L sqrt(1 + (|xi / sigma_a| / d)^2), so the cut bounds the
    correction's implied feedback gain |xi / sigma_a| / d; inf = off."""
    segment_points: int = 8
    """Points on the segment where the Jacobian norm is evaluated (1 = expert point only)."""


@dataclasses.dataclass(frozen=True)
class BCConfig:
    """Deterministic behaviour cloning: MLP, tanh output, MSE on min-max scaled actions."""

    hidden: tuple[int, ...] = (256, 256)
    """Hidden layer widths of the policy MLP."""
    learning_rate: float = 1e-3
    """Adam step size."""
    batch_size: int = 512
    """Samples per gradient step (capped at the data set size)."""
    epochs: int = 100
    """Passes over the training set (demonstrations plus kept labels)."""
    noise_bc: float = 0.0
    """NoiseBC: add noise_bc * U[0, 1) to the z-scored observations of a random half of each
    batch (CCIL's baseline; 0 = plain BC)."""
    seed: int = 0
    """Seed of the initial weights, the batch order and the NoiseBC noise."""


@dataclasses.dataclass(frozen=True)
class CCILConfig:
    """The whole pipeline: dynamics model -> labels -> filter -> behaviour cloning."""

    dynamics: DynamicsConfig = DynamicsConfig()
    """The residual dynamics model and its training."""
    labels: LabelConfig = LabelConfig()
    """How corrective labels are generated."""
    filter: FilterConfig = FilterConfig()  # noqa: A003
    """Which labels are trusted."""
    bc: BCConfig = BCConfig()
    """The behaviour-cloning policy trained on demonstrations plus kept labels."""
    label_ratio: float = 1.0
    """Mixing ratio: at most label_ratio kept labels per expert sample in the BC data set
    (random subset when more survive the filter)."""
    torch_threads: int = 1
    """torch intra-op threads (the machines are shared; 0 leaves torch's default)."""

    def validate(self) -> None:
        """Check the choices and ranges; ConfigError names the key."""
        checks = (
            ('dynamics.lipschitz', self.dynamics.lipschitz, LIPSCHITZ_MODES),
            ('labels.method', self.labels.method, LABEL_METHODS),
            ('labels.solver', self.labels.solver, SOLVERS),
            ('labels.backtrack_action', self.labels.backtrack_action, BACKTRACK_ACTIONS),
            ('filter.kind', self.filter.kind, FILTERS),
        )
        for key, value, valid in checks:
            if value not in valid:
                raise ConfigError(f"{key}: '{value}' is not one of {', '.join(valid)}")
        positive = {
            'dynamics.lipschitz_constant': self.dynamics.lipschitz_constant,
            'dynamics.learning_rate': self.dynamics.learning_rate,
            'dynamics.batch_size': self.dynamics.batch_size,
            'dynamics.epochs': self.dynamics.epochs,
            'labels.max_iterations': self.labels.max_iterations,
            'labels.tolerance': self.labels.tolerance,
            'labels.labels_per_sample': self.labels.labels_per_sample,
            'filter.epsilon': self.filter.epsilon,
            'filter.segment_points': self.filter.segment_points,
            'bc.learning_rate': self.bc.learning_rate,
            'bc.batch_size': self.bc.batch_size,
            'bc.epochs': self.bc.epochs,
        }
        for key, value in positive.items():
            if not value > 0:
                raise ConfigError(f'{key}: must be positive, got {value}')
        if not self.filter.max_relative_error > 0:
            raise ConfigError('filter.max_relative_error: must be positive, got '
                              f'{self.filter.max_relative_error}')
        if not 0.0 < self.filter.quantile <= 1.0:
            raise ConfigError(f'filter.quantile: must be in (0, 1], got {self.filter.quantile}')
        if self.label_ratio < 0 or self.bc.noise_bc < 0 or self.labels.action_noise < 0:
            raise ConfigError('label_ratio, bc.noise_bc and labels.action_noise must be >= 0')


def load_ccil_config(path: str | pathlib.Path | None = None,
                     overrides: Iterable[str] = ()) -> CCILConfig:
    """Read a CCIL YAML (None: defaults) with ``key.sub=value`` overrides and validate it."""
    config = load_config(CCILConfig, path, list(overrides))
    config.validate()
    return config
