# SPDX-License-Identifier: Apache-2.0
"""Cosine basis, Sobolev weights and closed-form mixture coefficients against hand values."""

import numpy as np
import pytest

from robot_learning.ergodic_search.fourier import (basis_indices, basis_values, BasisError,
                                                   ergodic_metric,
                                                   gaussian_mixture_coefficients, PERIOD,
                                                   sobolev_weights, trajectory_coefficients)

MEAN = np.array([0.4, 0.6])
COVARIANCE = np.array([[0.006, 0.002], [0.002, 0.004]])


def _gaussian_on_grid(resolution: int = 600) -> tuple[np.ndarray, np.ndarray]:
    """Return cell centres (R*R, 2) of [0, 1]^2 and the Gaussian density times the cell area."""
    centres = (np.arange(resolution) + 0.5) / resolution
    grid = np.stack(np.meshgrid(centres, centres, indexing='ij'), axis=-1).reshape(-1, 2)
    delta = grid - MEAN
    inverse = np.linalg.inv(COVARIANCE)
    density = np.exp(-0.5 * np.einsum('ni,ij,nj->n', delta, inverse, delta))
    density /= 2.0 * np.pi * np.sqrt(np.linalg.det(COVARIANCE))
    return grid, density / resolution ** 2


def test_indices_are_row_major_and_weights_follow_sobolev():
    indices = basis_indices(3, 2)
    assert indices.shape == (9, 2)
    np.testing.assert_array_equal(indices[:4], [[0, 0], [0, 1], [0, 2], [1, 0]])
    weights = sobolev_weights(np.array([[0, 0], [1, 2], [3, 0]]))
    # (1 + |k|^2)^(-3/2): 1, 6^-1.5 = 0.0680414, 10^-1.5 = 0.0316228
    np.testing.assert_allclose(weights, [1.0, 0.0680414, 0.0316228], rtol=1e-6)
    assert sobolev_weights(np.array([[1, 1, 1]]))[0] == pytest.approx(4.0 ** -2)


def test_gaussian_coefficients_match_numerical_integration():
    indices = basis_indices(10, 2)
    closed = gaussian_mixture_coefficients(np.array([1.0]), MEAN[None], COVARIANCE[None],
                                           indices)
    grid, mass = _gaussian_on_grid()
    numerical = mass @ basis_values(grid, indices) / PERIOD ** 2
    np.testing.assert_allclose(closed, numerical, atol=2e-6)
    # Hand-worked: k = (0, 0) is the mass / L^2; k = (1, 0) is
    # cos(pi 0.4) exp(-pi^2 0.006 / 2) / 4 = 0.309017 * 0.9708 / 4 = 0.0749977.
    assert closed[0] == pytest.approx(0.25, abs=1e-12)
    assert closed[10] == pytest.approx(0.309017 * np.exp(-np.pi ** 2 * 0.003) / 4, rel=1e-5)


def test_mixture_coefficients_are_the_weighted_sum_of_the_components():
    indices = basis_indices(6, 3)
    means = np.array([[0.3, 0.4, 0.5], [0.7, 0.6, 0.2]])
    covariances = np.stack([np.diag([0.01, 0.02, 0.005]), 0.01 * np.eye(3)])
    weights = np.array([0.3, 0.7])
    mixture = gaussian_mixture_coefficients(weights, means, covariances, indices)
    parts = [gaussian_mixture_coefficients(np.array([1.0]), means[i:i + 1],
                                           covariances[i:i + 1], indices) for i in range(2)]
    np.testing.assert_allclose(mixture, 0.3 * parts[0] + 0.7 * parts[1], atol=1e-15)
    # A product Gaussian factorises: k = (1, 1, 0) is the product of the 1-D factors / L^3.
    k110 = np.flatnonzero((indices == [1, 1, 0]).all(axis=1))[0]
    factor = [np.cos(np.pi * m) * np.exp(-0.5 * np.pi ** 2 * v)
              for m, v in zip(means[0][:2], [0.01, 0.02])]
    assert parts[0][k110] == pytest.approx(factor[0] * factor[1] / 8, rel=1e-9)


def test_the_metric_of_samples_from_the_distribution_falls_toward_zero():
    rng = np.random.default_rng(3)
    indices = basis_indices(10, 2)
    weights = sobolev_weights(indices)
    target = gaussian_mixture_coefficients(np.array([1.0]), MEAN[None], COVARIANCE[None],
                                           indices)
    samples = rng.multivariate_normal(MEAN, COVARIANCE, size=20000)
    metrics = {count: ergodic_metric(trajectory_coefficients(samples[:count], indices), target,
                                     weights) for count in (20, 200, 2000, 20000)}
    values = list(metrics.values())
    assert all(later < earlier for earlier, later in zip(values, values[1:]))
    assert metrics[20000] < 1e-5
    # i.i.d. samples: E[eps] = sum_k Lambda_k Var[phi_k] / (N L^4), so N * eps stays put.
    phi = basis_values(samples, indices) / PERIOD ** 2
    expected = np.sum(weights * phi.var(axis=0))
    for count, value in metrics.items():
        assert 0.2 * expected < count * value < 5.0 * expected, (count, value, expected)


def test_too_many_coefficients_is_a_clear_error():
    with pytest.raises(BasisError, match='more than the 100000 a planner can handle'):
        basis_indices(50, 3)
    with pytest.raises(BasisError, match='need num_fct >= 1'):
        basis_indices(0, 2)
