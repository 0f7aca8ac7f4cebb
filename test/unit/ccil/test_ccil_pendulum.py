# SPDX-License-Identifier: Apache-2.0
"""CCIL against a known model: the pendulum's true dynamics check labels and Lipschitz bound.

The pendulum task's MuJoCo step is analytic (semi-implicit Euler), so the labels that
``labels.py`` computes can be propagated through the TRUE dynamics and compared with the
demonstrated state they are meant to reach.
"""

import dataclasses
import math

import mujoco
import numpy as np
import pytest
import torch

from robot_learning.ccil.augmentation import augment
from robot_learning.ccil.config import CCILConfig, DynamicsConfig, FilterConfig, LabelConfig
from robot_learning.ccil.dynamics import fit_dynamics, linear_layers
from robot_learning.ccil.evaluation import collect_demonstrations, evaluate_policy
from robot_learning.ccil.filters import label_error
from robot_learning.ccil.labels import backtrack_labels, noisy_action_labels, solve_state
from robot_learning.ccil.pendulum_swingup import (analytic_inverse, analytic_residual,
                                                  analytic_step, MJCF, SUBSTEPS)
from robot_learning.ccil.tasks import make_task

BOUND = 3.0
"""Per-layer spectral norm K of the fitted model."""
NEWTON_TOLERANCE = 1e-3
"""|s + f(s, a) - target|_inf at convergence [normalised units]."""


@pytest.fixture(scope='module')
def demos():
    """Record two expert swing-ups (1000 samples, about 400 of them moving)."""
    return collect_demonstrations('pendulum_swingup', 2, seed=100)


@pytest.fixture(scope='module')
def fitted(demos):
    """Fit the CCIL dynamics model (spectral norm K = 3) on the demonstrations."""
    torch.set_num_threads(1)
    states, actions, following = demos.transitions()
    model, report = fit_dynamics(states, actions, following, DynamicsConfig(
        hidden=(64, 64), lipschitz='spectral', lipschitz_constant=BOUND, epochs=150,
        batch_size=128, learning_rate=3e-3))
    return model, report


def _mujoco_step(states: np.ndarray, actions: np.ndarray) -> np.ndarray:
    """Step MuJoCo from states on the unit circle (N, 3) with torques (N, 1)."""
    model = mujoco.MjModel.from_xml_string(MJCF)
    data = mujoco.MjData(model)
    out = []
    for state, action in zip(states, actions):
        mujoco.mj_resetData(model, data)
        data.qpos[0] = math.atan2(state[1], state[0])
        data.qvel[0] = state[2]
        data.ctrl[0] = action[0]
        for _ in range(SUBSTEPS):
            mujoco.mj_step(model, data)
        out.append([math.cos(data.qpos[0]), math.sin(data.qpos[0]), data.qvel[0]])
    return np.array(out)


def test_the_expert_swings_up_and_no_torque_stays_down():
    task = make_task('pendulum_swingup', 1)
    expert = evaluate_policy('pendulum_swingup', task.expert, 4, seed=3)
    idle = evaluate_policy('pendulum_swingup', lambda s: np.zeros((len(s), 1)), 4, seed=3)
    task.close()
    assert expert['score'] == 1.0 and idle['score'] == 0.0


def test_the_analytic_model_is_the_mujoco_step_and_its_inverse_undoes_it(demos):
    states, actions, following = demos.transitions()
    s, a = torch.as_tensor(states), torch.as_tensor(actions)
    np.testing.assert_allclose(analytic_step(s, a).numpy(), following, atol=1e-12)
    np.testing.assert_allclose(analytic_inverse(torch.as_tensor(following), a).numpy(), states,
                               atol=1e-12)
    np.testing.assert_allclose(_mujoco_step(states[:50], actions[:50]), following[:50],
                               atol=1e-12)


def test_newton_labels_on_the_true_dynamics_reach_the_demonstrated_state_in_mujoco(demos):
    """labels.py's solver on the exact f: MuJoCo from the label with a* lands on s*."""
    states, actions = demos.samples()
    s, a = torch.as_tensor(states), torch.as_tensor(actions)
    solved, error = solve_state(analytic_residual, a, s, torch.ones(3), 'newton', 20, 1e-10)
    assert error.max() < 1e-10
    np.testing.assert_allclose(solved.numpy(), analytic_inverse(s, a).numpy(), atol=1e-9)
    np.testing.assert_allclose(_mujoco_step(solved.numpy(), actions), states, atol=1e-9)


def test_learned_labels_reach_their_target_within_the_lipschitz_bound(demos, fitted):
    """True error of a label <= model error at the expert point + (L_true + L_model) distance.

    With g the true step and g_hat = s + f the model, Newton gives g_hat(x_b) = s_target, so
    |g(x_b) - s_target| <= |g(x*) - g_hat(x*)| + (L_g + L_g_hat) |x_b - x*| (x = (s, a), all
    in the model's normalised units; L = the largest Jacobian norm on the segment x* -> x_b).
    """
    model, _ = fitted
    states, actions, following = demos.transitions()
    state_scale = model.state_scale.numpy().astype(np.float64)
    action_scale = model.action_scale.numpy().astype(np.float64)
    config = LabelConfig(tolerance=NEWTON_TOLERANCE, action_noise=2.0, labels_per_sample=2)
    for labels, requested in (
            (backtrack_labels(model, states, actions, config), len(states)),
            (noisy_action_labels(model, states, actions, following, config), 2 * len(states))):
        assert len(labels) > 0.9 * requested  # Newton converged
        x_b = torch.as_tensor(labels.states), torch.as_tensor(labels.actions)
        x_star = torch.as_tensor(labels.origin_states), torch.as_tensor(labels.origin_actions)
        true_error = np.linalg.norm(
            (analytic_step(*x_b).numpy() - labels.targets) / state_scale, axis=1)
        at_expert = np.linalg.norm(
            (analytic_step(*x_star).numpy() - model.predict(labels.origin_states,
                                                            labels.origin_actions))
            / state_scale, axis=1)
        _, model_bound = label_error(model, labels, segment_points=16)
        true_bound = _true_jacobian_bound(labels, state_scale, action_scale)
        distance = np.linalg.norm(np.concatenate(
            [(labels.states - labels.origin_states) / state_scale,
             (labels.actions - labels.origin_actions) / action_scale], axis=1), axis=1)
        allowed = (at_expert + (true_bound + model_bound) * distance
                   + math.sqrt(3) * NEWTON_TOLERANCE)
        assert np.mean(true_error <= allowed) > 0.99
        # And the labels are useful: far closer to their target than the distance moved.
        moving = distance > 0.05
        assert moving.sum() > 100
        assert np.median(true_error[moving] / distance[moving]) < 0.1


def _true_jacobian_bound(labels, state_scale: np.ndarray, action_scale: np.ndarray,
                         points: int = 16) -> np.ndarray:
    """Largest spectral norm of d g / d (s, a) of the true step on each segment, normalised."""
    def step(x: torch.Tensor) -> torch.Tensor:
        s = x[:3] * torch.as_tensor(state_scale)
        a = x[3:] * torch.as_tensor(action_scale)
        return analytic_step(s[None], a[None])[0] / torch.as_tensor(state_scale)
    jacobian = torch.func.vmap(torch.func.jacrev(step))
    bound = np.zeros(len(labels))
    for fraction in np.linspace(0.0, 1.0, points):
        s = labels.origin_states + fraction * (labels.states - labels.origin_states)
        a = labels.origin_actions + fraction * (labels.actions - labels.origin_actions)
        x = torch.as_tensor(np.concatenate([s / state_scale, a / action_scale], axis=1))
        norms = torch.linalg.matrix_norm(jacobian(x), ord=2).numpy()
        bound = np.maximum(bound, norms)
    return bound


def test_the_learned_model_achieves_its_configured_lipschitz_bound(demos, fitted):
    """On sample pairs, |MLP(z1) - MLP(z2)| <= K^layers |z1 - z2| (normalised units)."""
    model, report = fitted
    assert report['train_mse'] < 0.05
    layers = linear_layers(model.network)
    for layer in layers:
        assert torch.linalg.matrix_norm(layer.weight.detach(), ord=2) <= BOUND * 1.001
    states, actions, _ = demos.transitions()
    rng = np.random.default_rng(0)
    z = model.normalised_input(torch.as_tensor(states, dtype=torch.float32),
                               torch.as_tensor(actions, dtype=torch.float32)).detach()
    first = z[rng.integers(0, len(z), 4000)]
    for radius in (0.01, 0.3, 3.0):
        second = first + radius * torch.as_tensor(rng.normal(size=first.shape),
                                                  dtype=torch.float32)
        with torch.no_grad():
            ratio = ((model.normalised_output(second) - model.normalised_output(first)).norm(dim=1)
                     / (second - first).norm(dim=1))
        assert ratio.max() <= BOUND ** len(layers)
    # The step map s + f in normalised units: |J| <= 1 + max(delta_scale / state_scale) K^3.
    ratio = (model.delta_scale / model.state_scale).max()
    norms = model.step_jacobian_norm(torch.as_tensor(states, dtype=torch.float32),
                                     torch.as_tensor(actions, dtype=torch.float32))
    assert norms.max() <= 1.0 + ratio * BOUND ** len(layers)


def test_previous_action_labels_carry_a_star_t_minus_1_from_the_same_states(demos):
    """``labels.backtrack_action='previous'``: same label states, the action one step earlier."""
    one = dataclasses.replace(demos, states=demos.states[:1], actions=demos.actions[:1])
    config = CCILConfig(dynamics=DynamicsConfig(hidden=(16,), epochs=2),
                        labels=LabelConfig(solver='one_step'), filter=FilterConfig(kind='none'))
    current = augment(one, config).generated
    previous = augment(one, dataclasses.replace(config, labels=LabelConfig(
        solver='one_step', backtrack_action='previous'))).generated
    actions = demos.actions[0]
    np.testing.assert_array_equal(previous.states, current.states)
    np.testing.assert_array_equal(current.actions, actions[:-1])
    np.testing.assert_array_equal(previous.actions[1:], actions[:-2])
    np.testing.assert_array_equal(previous.actions[0], actions[0])
    np.testing.assert_array_equal(previous.origin_actions, actions[:-1])
