# SPDX-License-Identifier: Apache-2.0
"""CCIL corrective labels on a linear system against the closed-form inverse."""

import numpy as np
import torch

from robot_learning.ccil.config import DynamicsConfig, LabelConfig
from robot_learning.ccil.dynamics import fit_dynamics
from robot_learning.ccil.labels import (BACKTRACK, backtrack_labels, NOISY_ACTION,
                                        noisy_action_labels, solve_state)

A = np.array([[1.0, 0.1], [-0.2, 0.9]])
B = np.array([[0.0], [0.1]])
"""s' = A s + B a."""


def _linear_residual(s: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """Exact f(s, a) = (A - I) s + B a."""
    a_minus_i = torch.as_tensor(A - np.eye(2), dtype=s.dtype)
    return s @ a_minus_i.T + a @ torch.as_tensor(B, dtype=s.dtype).T


def _closed_form(target: np.ndarray, action: np.ndarray) -> np.ndarray:
    """s_b = A^-1 (s* - B a)."""
    return np.linalg.solve(A, (target - action @ B.T).T).T


def test_newton_solves_the_implicit_equation_exactly_on_a_linear_system():
    rng = np.random.default_rng(0)
    target, action = rng.normal(size=(50, 2)), rng.normal(size=(50, 1))
    solved, error = solve_state(_linear_residual, torch.as_tensor(action),
                                torch.as_tensor(target), torch.ones(2), 'newton', 5, 1e-10)
    np.testing.assert_allclose(solved.numpy(), _closed_form(target, action), atol=1e-9)
    assert error.max() < 1e-10


def test_the_one_step_label_is_the_backward_euler_estimate_not_the_inverse():
    rng = np.random.default_rng(1)
    target, action = rng.normal(size=(20, 2)), rng.normal(size=(20, 1))
    solved, error = solve_state(_linear_residual, torch.as_tensor(action),
                                torch.as_tensor(target), torch.ones(2), 'one_step')
    one_step = target - (target @ (A - np.eye(2)).T + action @ B.T)
    np.testing.assert_allclose(solved.numpy(), one_step, atol=1e-12)
    # A != I, so the one-step estimate misses the exact label by |(A - I)(s* - s_b)|.
    assert np.abs(one_step - _closed_form(target, action)).max() > 0.01
    assert error.max() > 1e-3


def test_labels_from_a_fitted_model_match_the_closed_form_inverse():
    torch.manual_seed(0)
    rng = np.random.default_rng(2)
    states, actions = rng.uniform(-1, 1, (1500, 2)), rng.uniform(-1, 1, (1500, 1))
    following = states @ A.T + actions @ B.T
    model, report = fit_dynamics(states, actions, following, DynamicsConfig(
        hidden=(64, 64), lipschitz='none', epochs=60, batch_size=256, learning_rate=3e-3))
    assert report['mean_abs_error'] < 0.01
    inner = slice(0, 200)
    expert_s, expert_a = states[inner] * 0.7, actions[inner] * 0.7
    labels = backtrack_labels(model, expert_s, expert_a, LabelConfig(tolerance=1e-4))
    assert len(labels) >= 190  # Newton converges on (almost) every sample
    assert (labels.kind == BACKTRACK).all()
    exact = _closed_form(labels.targets, labels.actions)
    typical_move = np.abs(exact - labels.targets).mean()
    assert np.abs(labels.states - exact).mean() < 0.1 * typical_move
    # The label's action is the expert's; the label leads back onto the expert state.
    np.testing.assert_array_equal(labels.actions, labels.origin_actions)
    np.testing.assert_allclose(labels.states @ A.T + labels.actions @ B.T, labels.targets,
                               atol=0.02)

    noisy = noisy_action_labels(model, expert_s, expert_a, expert_s @ A.T + expert_a @ B.T,
                                LabelConfig(tolerance=1e-4, action_noise=0.5,
                                            labels_per_sample=3, seed=4))
    assert len(noisy) >= 570 and (noisy.kind == NOISY_ACTION).all()
    assert np.abs(noisy.actions - noisy.origin_actions).max() > 0.1  # the action was moved
    np.testing.assert_allclose(noisy.states, _closed_form(noisy.targets, noisy.actions),
                               atol=0.03)


def test_fixed_dimensions_keep_the_expert_value_and_the_rest_is_solved():
    """Solve s' = (A s_1 + B a, a): the second entry is the previous action, not invertible."""
    def residual(s: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        return torch.stack([0.5 * s[:, 0] + 0.3 * s[:, 1] + a[:, 0], a[:, 0] - s[:, 1]], dim=1)
    rng = np.random.default_rng(5)
    target, action = rng.normal(size=(30, 2)), rng.normal(size=(30, 1))
    solved, error = solve_state(residual, torch.as_tensor(action), torch.as_tensor(target),
                                torch.ones(2), 'newton', 5, 1e-10, fixed=(1,))
    solved = solved.numpy()
    np.testing.assert_array_equal(solved[:, 1], target[:, 1])
    # 1.5 s_1 + 0.3 s_2 + a = s*_1 with s_2 = s*_2.
    expected = (target[:, 0] - 0.3 * target[:, 1] - action[:, 0]) / 1.5
    np.testing.assert_allclose(solved[:, 0], expected, atol=1e-9)
    assert error.max() < 1e-10
