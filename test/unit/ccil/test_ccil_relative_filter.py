# SPDX-License-Identifier: Apache-2.0
"""The distance-aware label filter (``filter.max_relative_error``) on a hand-set linear model."""

import numpy as np
import pytest
import torch

from robot_learning.ccil.config import DynamicsConfig, FilterConfig, load_ccil_config
from robot_learning.ccil.dynamics import DynamicsModel, Normalisation
from robot_learning.ccil.filters import filter_labels, label_distance, label_error
from robot_learning.ccil.labels import BACKTRACK, Labels, NOISY_ACTION
from robot_learning.config import ConfigError


@pytest.fixture()
def linear():
    """Return s' = s + 0.5 a (every scale 1; d(s + f)/d(s, a) = [1, 0.5], norm √1.25), labels."""
    one, zero = np.ones(1), np.zeros(1)
    model = DynamicsModel(1, 1, Normalisation(zero, one, zero, one, zero, one),
                          DynamicsConfig(hidden=(), lipschitz='none'))
    with torch.no_grad():
        model.network[0].weight.copy_(torch.tensor([[0.0, 0.5]]))
        model.network[0].bias.zero_()
    # Expert sample s* = 0, a* = 0 (s*_{t+1} = 0). Labels: (s_b, a_b) =
    #   A (-0.5, 1): noisy-action, step (-0.5, 1), d = 0.5, e = √1.25 √1.25 = 1.25, e/d = 2.5
    #   B (-0.5, 0): BackTrack-like, step (-0.5, 0), d = 0.5, e = 0.559, e/d = √1.25 = 1.118
    #   C (-0.1, 0.2): a short, steep one, d = 0.1, e = √1.25 √0.05 = 0.25, e/d = 2.5;
    #   D (-0.1, 1): gain 10, d = 0.1, e = √1.25 √1.01 = 1.1237, e/d = 11.24.
    states = np.array([[-0.5], [-0.5], [-0.1], [-0.1]])
    actions = np.array([[1.0], [0.0], [0.2], [1.0]])
    zeros = np.zeros((4, 1))
    labels = Labels(states=states, actions=actions, origin_states=zeros, origin_actions=zeros,
                    targets=zeros, kind=np.array([NOISY_ACTION, BACKTRACK, NOISY_ACTION,
                                                  NOISY_ACTION]),
                    residual=np.zeros(4))
    return model, labels


def test_the_estimated_errors_are_the_hand_worked_ones(linear):
    model, labels = linear
    error, bound = label_error(model, labels, segment_points=4)
    np.testing.assert_allclose(bound, np.sqrt(1.25), rtol=1e-6)
    np.testing.assert_allclose(error, [1.25, 0.5 * np.sqrt(1.25), 0.25,
                                       np.sqrt(1.25 * 1.01)], rtol=1e-6)
    np.testing.assert_allclose(label_distance(model, labels), [0.5, 0.5, 0.1, 0.1], rtol=1e-6)


def test_the_relative_cut_drops_the_high_gain_label_the_quantile_keeps(linear):
    model, labels = linear
    relative, report = filter_labels(model, labels, FilterConfig(
        epsilon=10.0, quantile=1.0, max_relative_error=3.0))
    np.testing.assert_array_equal(relative.actions[:, 0], [1.0, 0.0, 0.2])   # e/d <= 3: not D
    assert report['max_relative_error'] == 3.0 and report['kept'] == 3
    tight, _ = filter_labels(model, labels, FilterConfig(
        epsilon=10.0, quantile=1.0, max_relative_error=2.0))
    np.testing.assert_array_equal(tight.actions[:, 0], [0.0])                 # only B
    # The 0.5 quantile of e (0.25, 0.559, 1.124, 1.25 -> 0.841) keeps the two smallest errors,
    # B and C, and drops A; D (1.124) is dropped only because it is the third largest.
    quantile, _ = filter_labels(model, labels, FilterConfig(epsilon=10.0, quantile=0.5))
    np.testing.assert_array_equal(quantile.actions[:, 0], [0.0, 0.2])


def test_default_is_off_and_a_non_positive_bound_is_rejected(linear):
    model, labels = linear
    kept, report = filter_labels(model, labels, FilterConfig(epsilon=10.0, quantile=1.0))
    assert report['kept'] == 4 and 'max_relative_error' not in report
    with pytest.raises(ConfigError, match='filter.max_relative_error'):
        load_ccil_config(None, ['filter.max_relative_error=0'])
