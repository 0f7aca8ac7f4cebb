# SPDX-License-Identifier: Apache-2.0
"""CCIL dynamics model: normalisation and the local-continuity options."""

import numpy as np
import pytest
import torch

from robot_learning.ccil.config import DynamicsConfig
from robot_learning.ccil.dynamics import (fit_dynamics, linear_layers, lipschitz_penalty,
                                          Normalisation)


def _steep_data(count: int = 800):
    """Return data of s' = s + 3 sin(4 s) + a (slopes up to 12 in normalised units)."""
    rng = np.random.default_rng(0)
    states, actions = rng.uniform(-1, 1, (count, 1)), rng.uniform(-1, 1, (count, 1))
    return states, actions, states + 3 * np.sin(4 * states) + actions


def test_normalisation_uses_mean_absolute_deviation():
    states = np.array([[0.0, 5.0], [2.0, 5.0], [4.0, 5.0], [6.0, 5.0]])
    actions = np.array([[1.0], [-1.0], [1.0], [-1.0]])
    following = states + np.array([[1.0, 0.0], [3.0, 0.0], [1.0, 0.0], [3.0, 0.0]])
    n = Normalisation.fit(states, actions, following)
    np.testing.assert_allclose(n.state_mean, [3.0, 5.0])
    np.testing.assert_allclose(n.state_scale, [2.0, 0.0])  # mean |s - 3| = (3+1+1+3)/4
    np.testing.assert_allclose(n.delta_mean, [2.0, 0.0])
    np.testing.assert_allclose(n.delta_scale, [1.0, 0.0])
    np.testing.assert_allclose(n.action_scale, [1.0])


def test_spectral_normalisation_bounds_every_layer_by_k():
    states, actions, following = _steep_data(400)
    for bound in (0.5, 2.0):
        model, _ = fit_dynamics(states, actions, following, DynamicsConfig(
            hidden=(32, 32), lipschitz='spectral', lipschitz_constant=bound, epochs=8,
            batch_size=128, learning_rate=1e-2))
        layers = linear_layers(model.network)
        assert len(layers) == 3
        for layer in layers:
            norm = float(torch.linalg.matrix_norm(layer.weight.detach(), ord=2))
            assert norm <= bound * 1.01


def test_without_a_constraint_the_layers_exceed_the_bound():
    states, actions, following = _steep_data()
    model, _ = fit_dynamics(states, actions, following, DynamicsConfig(
        hidden=(32, 32), lipschitz='none', epochs=40, batch_size=128, learning_rate=3e-3))
    norms = [float(torch.linalg.matrix_norm(layer.weight.detach(), ord=2))
             for layer in linear_layers(model.network)]
    assert max(norms) > 2.0


def test_the_lipschitz_penalty_is_zero_for_a_slow_function_and_grows_with_the_slope():
    states, actions, following = _steep_data(200)
    model, _ = fit_dynamics(states, actions, following, DynamicsConfig(
        hidden=(8,), lipschitz='none', epochs=1))
    first, last = linear_layers(model.network)
    z = torch.zeros(64, 2)
    with torch.no_grad():
        first.weight.copy_(torch.tensor([[1.0, 0.0]] * 8))
        first.bias.fill_(1.0)  # every unit active: the network is linear with slope 8 w
        for weight, expected_zero in ((0.1, True), (10.0, False)):
            last.weight.fill_(weight)
            config = DynamicsConfig(lipschitz='penalty', lipschitz_constant=1.0)
            penalty = float(lipschitz_penalty(model, z, config, torch.Generator().manual_seed(0)))
            if expected_zero:
                assert penalty == 0.0  # slope 0.8 < K = 1 everywhere
            else:
                assert penalty > 0.0


def test_the_penalty_mode_trains_a_flatter_model_than_none():
    states, actions, following = _steep_data()
    slopes = {}
    for mode in ('none', 'penalty'):
        model, _ = fit_dynamics(states, actions, following, DynamicsConfig(
            hidden=(32, 32), lipschitz=mode, lipschitz_constant=1.0, penalty_weight=10.0,
            epochs=40, batch_size=128, learning_rate=3e-3))
        grid = torch.linspace(-1, 1, 200)[:, None]
        slopes[mode] = float(model.step_jacobian_norm(grid, torch.zeros(200, 1)).max())
    assert slopes['penalty'] < slopes['none']


@pytest.mark.parametrize('mode', ['spectral', 'penalty', 'none'])
def test_every_mode_predicts_the_next_state(mode):
    rng = np.random.default_rng(3)
    states, actions = rng.uniform(-1, 1, (600, 2)), rng.uniform(-1, 1, (600, 1))
    following = states + 0.1 * actions
    model, report = fit_dynamics(states, actions, following, DynamicsConfig(
        hidden=(32, 32), lipschitz=mode, epochs=30, batch_size=128))
    assert report['mean_abs_error'] < 0.02
