# SPDX-License-Identifier: Apache-2.0
"""Corrective labels (CCIL step 2): states from which an action leads back onto the demonstration.

BackTrack label for an expert sample (s*, a*): the state s_b with

    s_b + f(s_b, a*) = s*,        label (s_b, a*),

solved by batched Newton in torch (``solver='newton'``): r(s) = s + f(s, a*) - s*,
J_r = I + df/ds (``torch.func.jacrev``), s <- s - J_r^-1 r with step halving while |r| grows,
starting from the one-step (backward-Euler) estimate s* - f(s*, a*), which is the whole answer
for ``solver='one_step'``. Labels whose Newton solve does not reach ``tolerance`` (in
normalised units) are dropped.

Noisy-action label for a transition (s*_t, a*_t, s*_{t+1}): a_n = a*_t + xi,
xi ~ N(0, (action_noise * sigma_a)^2), and the state s_n with s_n + f(s_n, a_n) = s*_{t+1};
label (s_n, a_n), attached to s*_t.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np
import torch

from robot_learning.ccil.config import LabelConfig

BACKTRACK, NOISY_ACTION = 0, 1
"""Values of ``Labels.kind``."""

Residual = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
"""f(s (N, S), a (N, A)) -> predicted s' - s (N, S), raw units, torch."""


@dataclasses.dataclass(frozen=True, eq=False)
class Labels:
    """M corrective labels and the expert samples they belong to."""

    states: np.ndarray
    """(M, S) label states s_b."""
    actions: np.ndarray
    """(M, A) label actions."""
    origin_states: np.ndarray
    """(M, S) expert state s*_t each label is attached to."""
    origin_actions: np.ndarray
    """(M, A) expert action a*_t."""
    targets: np.ndarray
    """(M, S) state the label should reach in one step (s*_t or s*_{t+1})."""
    kind: np.ndarray
    """(M,) BACKTRACK or NOISY_ACTION."""
    residual: np.ndarray
    """(M,) final |s + f(s, a) - target|_inf in normalised units."""

    def __len__(self) -> int:
        """Return the number of labels M."""
        return int(self.states.shape[0])

    def select(self, keep: np.ndarray) -> Labels:
        """Return the labels where ``keep`` (M,) bool is True."""
        return Labels(**{field.name: getattr(self, field.name)[keep]
                         for field in dataclasses.fields(self)})

    @staticmethod
    def concatenate(parts: list[Labels]) -> Labels:
        """Stack several label sets."""
        return Labels(**{field.name: np.concatenate([getattr(p, field.name) for p in parts])
                         for field in dataclasses.fields(Labels)})


def solve_state(residual: Residual, actions: torch.Tensor, targets: torch.Tensor,
                state_scale: torch.Tensor, solver: str = 'newton', max_iterations: int = 20,
                tolerance: float = 1e-4, fixed: tuple[int, ...] = (),
                fixed_values: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Solve s + f(s, a) = target for s, row by row (batched).

    Dimensions listed in ``fixed`` are held (at ``fixed_values``) and their equations dropped
    (the solve runs over the other dimensions): state entries that the action alone sets, such
    as the previous action, have no state to come back from.

    Args:
        residual: f (see ``Residual``).
        actions: (N, A).
        targets: (N, S).
        state_scale: (S,) scale of the tolerance (normalised units).
        solver: 'newton' or 'one_step'.
        max_iterations: Newton iterations at most.
        tolerance: Convergence threshold on |r / state_scale|_inf (free dimensions).
        fixed: State dimensions held, not solved for.
        fixed_values: (N, S) whose ``fixed`` columns hold them (default: the targets). A
            noisy-action label reaches s*_{t+1} from near s*_t, so it holds s*_t's values.

    Returns:
        (states (N, S), final |r / state_scale|_inf (N,)).
    """
    free = torch.ones(targets.shape[1], dtype=torch.bool)
    free[list(fixed)] = False
    held = targets if fixed_values is None else fixed_values
    with torch.no_grad():
        states = torch.where(free, targets - residual(targets, actions), held)

    def error_of(s: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        with torch.no_grad():
            r = (s + residual(s, actions) - targets)[:, free]
        return r, (r / state_scale[free]).abs().amax(dim=1)

    r, error = error_of(states)
    if solver == 'one_step':
        return states, error
    if solver != 'newton':
        raise ValueError(f"solver '{solver}' is not 'newton' or 'one_step'")

    def row_residual(z: torch.Tensor, s: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        full = s.clone()
        full[free] = z
        return (full + residual(full[None], a[None])[0])[free]

    jacobian_of = torch.func.vmap(torch.func.jacrev(row_residual, argnums=0))
    for _ in range(max_iterations):
        active = error > tolerance
        if not active.any():
            break
        s_a, a_a = states[active], actions[active]
        jacobian = jacobian_of(s_a[:, free], s_a, a_a).detach()
        step = torch.zeros_like(s_a)
        step[:, free] = torch.linalg.solve(jacobian, r[active].unsqueeze(-1)).squeeze(-1)
        # Halve the step while the residual grows (ReLU models are piecewise linear).
        fraction = torch.ones(len(s_a), 1)
        best_s, best_r, best_error = s_a, r[active], error[active]
        for _ in range(6):
            trial = s_a - fraction * step
            with torch.no_grad():
                trial_r = (trial + residual(trial, a_a) - targets[active])[:, free]
            trial_error = (trial_r / state_scale[free]).abs().amax(dim=1)
            better = trial_error < best_error
            best_s = torch.where(better[:, None], trial, best_s)
            best_r = torch.where(better[:, None], trial_r, best_r)
            best_error = torch.where(better, trial_error, best_error)
            if bool(better.all()):
                break
            fraction = torch.where(better[:, None], fraction, fraction / 2)
        if bool((best_error >= error[active]).all()):
            break  # no row improves any more
        states, r, error = states.clone(), r.clone(), error.clone()
        states[active], r[active], error[active] = best_s, best_r, best_error
    return states, error


def backtrack_labels(model, states: np.ndarray, actions: np.ndarray,
                     config: LabelConfig = LabelConfig(),
                     label_actions: np.ndarray | None = None) -> Labels:
    """Return BackTrack labels for expert samples (N, S), (N, A) (unconverged ones dropped).

    ``label_actions`` (N, A): the actions the labels carry (default: ``actions``, the ones the
    states are solved with), e.g. a*_{t-1} for ``backtrack_action='previous'``.
    """
    s = torch.as_tensor(states, dtype=torch.float32)
    a = torch.as_tensor(actions, dtype=torch.float32)
    solved, error = solve_state(model, a, s, model.state_scale, config.solver,
                                config.max_iterations, config.tolerance, config.fixed_dims)
    carried = actions if label_actions is None else label_actions
    labels = Labels(states=solved.numpy().astype(np.float64), actions=np.asarray(carried, float),
                    origin_states=np.asarray(states, float),
                    origin_actions=np.asarray(actions, float),
                    targets=np.asarray(states, float),
                    kind=np.full(len(states), BACKTRACK), residual=error.numpy())
    return _converged(labels, config)


def noisy_action_labels(model, states: np.ndarray, actions: np.ndarray, following: np.ndarray,
                        config: LabelConfig = LabelConfig()) -> Labels:
    """Noisy-action labels for transitions (N, S), (N, A), (N, S); ``labels_per_sample`` each."""
    rng = np.random.default_rng(config.seed)
    count = config.labels_per_sample
    origin_s = np.repeat(np.asarray(states, float), count, axis=0)
    origin_a = np.repeat(np.asarray(actions, float), count, axis=0)
    targets = np.repeat(np.asarray(following, float), count, axis=0)
    scale = model.action_scale.numpy().astype(np.float64)
    noisy = origin_a + rng.normal(size=origin_a.shape) * config.action_noise * scale
    solved, error = solve_state(
        model, torch.as_tensor(noisy, dtype=torch.float32),
        torch.as_tensor(targets, dtype=torch.float32), model.state_scale, config.solver,
        config.max_iterations, config.tolerance, config.fixed_dims,
        fixed_values=torch.as_tensor(origin_s, dtype=torch.float32))
    labels = Labels(states=solved.numpy().astype(np.float64), actions=noisy,
                    origin_states=origin_s, origin_actions=origin_a, targets=targets,
                    kind=np.full(len(noisy), NOISY_ACTION), residual=error.numpy())
    return _converged(labels, config)


def generate_labels(model, states: np.ndarray, actions: np.ndarray, following: np.ndarray,
                    config: LabelConfig = LabelConfig(),
                    previous_actions: np.ndarray | None = None) -> Labels:
    """Labels of ``config.method`` for transitions (s_t, a_t, s_{t+1}).

    ``previous_actions`` (N, A): a*_{t-1} of each transition (a*_t at a trajectory's start),
    needed for ``backtrack_action='previous'``.
    """
    parts = []
    if config.method in ('backtrack', 'both'):
        carried = None
        if config.backtrack_action == 'previous':
            if previous_actions is None:
                raise ValueError("labels.backtrack_action 'previous' needs the previous "
                                 'actions of the transitions')
            carried = previous_actions
        parts.append(backtrack_labels(model, states, actions, config, carried))
    if config.method in ('noisy_action', 'both'):
        parts.append(noisy_action_labels(model, states, actions, following, config))
    if not parts:
        raise ValueError(f"labels.method '{config.method}' is not backtrack, noisy_action "
                         'or both')
    return Labels.concatenate(parts)


def _converged(labels: Labels, config: LabelConfig) -> Labels:
    if config.solver == 'one_step':
        return labels
    return labels.select(np.isfinite(labels.residual) & (labels.residual <= config.tolerance))
