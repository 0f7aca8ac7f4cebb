# SPDX-License-Identifier: Apache-2.0
"""SMC against the reference NumPy figures (ergodic_impedance.md, A.4)."""

import time

import numpy as np
import pytest

from robot_learning.ergodic_search.fourier import (basis_indices, BasisError,
                                                   gaussian_mixture_coefficients)
from robot_learning.ergodic_search.smc import smc_trajectory, SmcConfig

# The two-Gaussian target of the pbdlib / RCFS demos on [0, 1]^2.
MEANS = np.array([[0.5, 0.7], [0.6, 0.3]])
COVARIANCES = np.stack([np.outer([0.3, 0.1], [0.3, 0.1]) * 0.5 + np.eye(2) * 5e-3,
                        np.outer([0.1, 0.2], [0.1, 0.2]) * 0.3 + np.eye(2) * 1e-2])
START = np.array([0.1, 0.3])


def _target(num_fct: int = 10) -> np.ndarray:
    return gaussian_mixture_coefficients(np.array([0.5, 0.5]), MEANS, COVARIANCES,
                                         basis_indices(num_fct, 2))


def test_smc_reaches_the_reference_metric():
    begin = time.perf_counter()
    result = smc_trajectory(_target(), START, 2000)
    elapsed = time.perf_counter() - begin
    # Reference NumPy implementation: 7.7e-3 after 10 steps, 2.1e-4 after 200, 4.1e-5 after 2000.
    assert result.metric[9] == pytest.approx(7.7e-3, rel=0.02)
    assert result.metric[199] == pytest.approx(2.1e-4, rel=0.05)
    assert result.metric[1999] == pytest.approx(4.1e-5, rel=0.05)
    assert result.points.shape == (2001, 2)
    np.testing.assert_array_equal(result.points[0], START)
    assert result.points.min() >= 0.0 and result.points.max() <= 1.0
    # Speed: u_max * dt = 0.1 per step at most.
    assert np.max(np.linalg.norm(np.diff(result.points, axis=0), axis=1)) <= 0.1 + 1e-12
    assert elapsed < 1.0  # benchmarks/ergodic_search.py measures the < 0.1 s goal


def test_smc_in_3d_decreases_the_metric():
    indices = basis_indices(8, 3)
    target = gaussian_mixture_coefficients(np.array([1.0]), np.array([[0.5, 0.4, 0.6]]),
                                           0.01 * np.eye(3)[None], indices)
    result = smc_trajectory(target, np.array([0.2, 0.2, 0.2]), 600, SmcConfig(num_fct=8))
    assert result.metric[-1] < 0.05 * result.metric[9]


def test_bad_requests_are_clear_errors():
    with pytest.raises(BasisError, match='coefficients'):
        smc_trajectory(np.zeros(10), np.zeros(3), 10, SmcConfig(num_fct=60))
    with pytest.raises(ValueError, match=r'need \(100,\)'):
        smc_trajectory(np.zeros(64), START, 10)
    with pytest.raises(ValueError, match='u_max must be > 0'):
        SmcConfig(u_max=0.0)
