# SPDX-License-Identifier: Apache-2.0
"""CCIL label filters on a system with a discontinuity, where the model is known to be wrong."""

import numpy as np
import pytest
import torch

from robot_learning.ccil.config import DynamicsConfig, FilterConfig, LabelConfig
from robot_learning.ccil.dynamics import fit_dynamics
from robot_learning.ccil.filters import filter_labels, label_distance, label_error
from robot_learning.ccil.labels import backtrack_labels

JUMP = 0.5
"""s' = s + 0.05 a + JUMP [s > 0]: a step in the dynamics at s = 0."""


def _true_next(states: np.ndarray, actions: np.ndarray) -> np.ndarray:
    return states + 0.05 * actions + JUMP * (states > 0)


@pytest.fixture(scope='module')
def labelled():
    """Fit a model without a Lipschitz constraint; return it, BackTrack labels, true errors."""
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    states, actions = rng.uniform(-1, 1, (2000, 1)), rng.uniform(-1, 1, (2000, 1))
    model, _ = fit_dynamics(states, actions, _true_next(states, actions), DynamicsConfig(
        hidden=(64, 64), lipschitz='none', epochs=40, batch_size=256, learning_rate=3e-3))
    expert_s, expert_a = rng.uniform(-1, 1, (400, 1)), rng.uniform(-1, 1, (400, 1))
    labels = backtrack_labels(model, expert_s, expert_a, LabelConfig(solver='one_step'))
    true_error = np.abs(_true_next(labels.states, labels.actions) - labels.targets)[:, 0]
    return model, labels, true_error


def test_labels_that_cross_the_discontinuity_are_wrong_and_others_are_right(labelled):
    _, labels, true_error = labelled
    crossing = (labels.targets[:, 0] > 0.1) & (labels.states[:, 0] < -0.02)
    assert crossing.sum() > 50
    assert (true_error[crossing] > 0.3).all()  # about JUMP, less where the fit is smooth
    far = np.abs(labels.targets[:, 0]) > 0.7
    assert np.median(true_error[far]) < 0.02


def test_the_label_error_filter_rejects_the_wrong_labels(labelled):
    model, labels, true_error = labelled
    kept, report = filter_labels(model, labels, FilterConfig(
        kind='label_error', epsilon=10.0, quantile=1.0, max_label_error=2.0,
        segment_points=16))
    keep = np.isin(labels.states[:, 0], kept.states[:, 0])
    wrong, right = true_error > 0.25, true_error < 0.02
    assert wrong.sum() > 50
    assert not (keep & wrong).any()
    assert (keep & right).sum() >= 0.75 * right.sum()
    assert report['generated'] == len(labels) and report['kept'] == len(kept)


def test_distance_alone_cannot_tell_the_wrong_labels_apart(labelled):
    """Both kinds of label move by about JUMP: an epsilon that keeps the right ones keeps all."""
    model, labels, true_error = labelled
    distance = label_distance(model, labels)
    right = (true_error < 0.02) & (labels.targets[:, 0] > 0.7)
    kept, _ = filter_labels(model, labels, FilterConfig(kind='distance',
                                                        epsilon=distance[right].max() + 1e-6))
    keep = np.isin(labels.states[:, 0], kept.states[:, 0])
    assert (keep & (true_error > 0.25)).sum() > 50


def test_the_estimated_error_is_the_jacobian_bound_times_the_distance(labelled):
    model, labels, _ = labelled
    error, bound = label_error(model, labels, segment_points=1)
    scale = np.array([model.state_scale.item(), model.action_scale.item()])
    step = np.concatenate([labels.states - labels.origin_states,
                           labels.actions - labels.origin_actions], axis=1) / scale
    np.testing.assert_allclose(error, bound * np.linalg.norm(step, axis=1), rtol=1e-6)
    # Away from the jump s + f has slope 1 in s and 0.05 sigma_a / sigma_s in a.
    far = np.abs(labels.origin_states[:, 0]) > 0.5
    np.testing.assert_allclose(np.median(bound[far]), 1.0, atol=0.15)
