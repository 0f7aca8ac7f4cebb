# SPDX-License-Identifier: Apache-2.0
"""Cosine Fourier basis on the unit box, Sobolev weights and closed-form mixture coefficients.

The search region is scaled onto [0, 1]^d and extended symmetrically to [-1, 1]^d (period
L = 2, so omega = 2 pi / L = pi), which leaves only the cosines (Mathew & Mezić 2011; the pbdlib
and RCFS SMC demos). For a multi-index k (d,) with entries in 0..num_fct-1::

    phi_k(x) = prod_i cos(k_i omega x_i)                              (basis function)
    Lambda_k = (1 + |k|^2)^(-(d + 1) / 2)                             (Sobolev weight)
    w_k      = (1 / T) sum_t phi_k(x_t) / L^d                         (trajectory coefficient)
    w_hat_k  = E_{x ~ p}[phi_k(x)] / L^d                              (target coefficient)
    eps      = sum_k Lambda_k (w_k - w_hat_k)^2                       (ergodic metric)

For a Gaussian mixture the expectation is closed form: a product of cosines is the mean of
cos(s . (k omega) x) over the 2^(d-1) sign patterns s with s_1 = +1, and
E[cos(v . x)] = cos(v . mu) exp(-v^T Sigma v / 2) for x ~ N(mu, Sigma). No grid integration;
the mixture's mass outside the unit box is ignored (keep it inside by the choice of the box).
"""

from __future__ import annotations

import itertools

import numpy as np

PERIOD = 2.0
"""L: the unit box extended to [-1, 1] per dimension."""
OMEGA = 2.0 * np.pi / PERIOD
"""Angular frequency of the fundamental [rad per unit length]."""
MAX_COEFFICIENTS = 100_000
"""Largest basis (num_fct ** d) a planner accepts: above it one step takes milliseconds."""


class BasisError(ValueError):
    """A basis that cannot be built: bad size, or more coefficients than a planner handles."""


def basis_indices(num_fct: int, dim: int) -> np.ndarray:
    """Return every multi-index k with entries 0..num_fct-1, shape (num_fct ** dim, dim).

    Row-major order: the last dimension varies fastest, so a coefficient vector reshapes to a
    (num_fct,) * dim tensor indexed [k_1, ..., k_d].

    Raises:
        BasisError: ``num_fct`` < 1, ``dim`` < 1, or more than ``MAX_COEFFICIENTS`` indices.
    """
    if num_fct < 1 or dim < 1:
        raise BasisError(f'need num_fct >= 1 and dim >= 1, got num_fct={num_fct}, dim={dim}')
    count = num_fct ** dim
    if count > MAX_COEFFICIENTS:
        raise BasisError(
            f'{num_fct} basis functions per dimension in {dim}-D make {count} coefficients, more '
            f'than the {MAX_COEFFICIENTS} a planner can handle; use fewer per dimension '
            f'(10 is enough for search-region priors)')
    grids = np.meshgrid(*[np.arange(num_fct)] * dim, indexing='ij')
    return np.stack([grid.ravel() for grid in grids], axis=1)


def sobolev_weights(indices: np.ndarray) -> np.ndarray:
    """Return Lambda_k = (1 + |k|^2)^(-(d+1)/2) for indices (K, d); shape (K,)."""
    indices = np.asarray(indices, dtype=float)
    dim = indices.shape[1]
    return (1.0 + np.sum(indices ** 2, axis=1)) ** (-(dim + 1) / 2.0)


def basis_values(points: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """Return phi_k(x) for points (N, d) in the unit box and indices (K, d); shape (N, K)."""
    points = np.atleast_2d(np.asarray(points, dtype=float))
    return np.prod(np.cos(OMEGA * points[:, None, :] * indices[None, :, :]), axis=2)


def trajectory_coefficients(points: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """Return w_k of a trajectory (N, d) in the unit box: the time-average of phi_k / L^d, (K,)."""
    dim = indices.shape[1]
    return basis_values(points, indices).mean(axis=0) / PERIOD ** dim


def sign_patterns(dim: int) -> np.ndarray:
    """Return the 2^(dim-1) sign vectors with first entry +1, shape (2^(dim-1), dim)."""
    tails = itertools.product((1.0, -1.0), repeat=dim - 1)
    return np.array([(1.0, *tail) for tail in tails])


def gaussian_mixture_coefficients(weights: np.ndarray, means: np.ndarray,
                                  covariances: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """Return w_hat_k of a Gaussian mixture in unit-box coordinates, in closed form; (K,).

    Args:
        weights: (M,) mixture weights, summing to 1.
        means: (M, d) component means in the unit box.
        covariances: (M, d, d) component covariances (unit-box coordinates squared).
        indices: (K, d) multi-indices from :func:`basis_indices`.
    """
    weights = np.asarray(weights, dtype=float)
    means = np.asarray(means, dtype=float)
    covariances = np.asarray(covariances, dtype=float)
    dim = indices.shape[1]
    signs = sign_patterns(dim)
    # Frequencies of every sign pattern: (S, K, d).
    freqs = OMEGA * signs[:, None, :] * indices[None, :, :].astype(float)
    phase = np.einsum('skd,md->msk', freqs, means)
    quadratic = np.einsum('skd,mde,ske->msk', freqs, covariances, freqs)
    terms = np.cos(phase) * np.exp(-0.5 * quadratic)
    return np.einsum('m,msk->k', weights, terms) / len(signs) / PERIOD ** dim


def ergodic_metric(coefficients: np.ndarray, target: np.ndarray,
                   weights: np.ndarray) -> float:
    """Return eps = sum_k Lambda_k (w_k - w_hat_k)^2 for (K,) arrays."""
    difference = np.asarray(coefficients) - np.asarray(target)
    return float(np.sum(weights * difference * difference))
