# SPDX-License-Identifier: Apache-2.0
"""Closed forms of the Beta distribution and their exact gradients, in float64.

DORAEMON optimises Beta parameters (a, b) with SciPy's trust-constr, which needs the entropy,
the KL divergence and the log density together with their derivatives. All functions are
element-wise over arrays of parameters; digamma (psi) and trigamma (psi_1) come from
``scipy.special``. Float64 throughout: in float32, KL(Beta(100, 100) || Beta(99.99, 99.99))
rounds to a negative number and the optimiser silently stalls.
"""

from __future__ import annotations

import numpy as np
from scipy import special

UNIT_EPS = 1e-9
"""Unit-cube samples are clipped to [eps, 1 - eps] before taking logarithms."""


def entropy(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Differential entropy of Beta(a, b) on [0, 1] [nats].

    H = ln B(a, b) - (a - 1) psi(a) - (b - 1) psi(b) + (a + b - 2) psi(a + b).
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return (special.betaln(a, b) - (a - 1) * special.digamma(a) - (b - 1) * special.digamma(b)
            + (a + b - 2) * special.digamma(a + b))


def entropy_grad(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(dH/da, dH/db) of ``entropy``."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    shared = (a + b - 2) * special.polygamma(1, a + b)
    return (shared - (a - 1) * special.polygamma(1, a),
            shared - (b - 1) * special.polygamma(1, b))


def kl(a1: np.ndarray, b1: np.ndarray, a2: np.ndarray, b2: np.ndarray) -> np.ndarray:
    """KL(Beta(a1, b1) || Beta(a2, b2)) [nats].

    KL = ln B(a2, b2) - ln B(a1, b1) + (a1 - a2) psi(a1) + (b1 - b2) psi(b1)
         + (a2 - a1 + b2 - b1) psi(a1 + b1).
    """
    a1, b1, a2, b2 = (np.asarray(v, dtype=np.float64) for v in (a1, b1, a2, b2))
    return (special.betaln(a2, b2) - special.betaln(a1, b1)
            + (a1 - a2) * special.digamma(a1) + (b1 - b2) * special.digamma(b1)
            + (a2 - a1 + b2 - b1) * special.digamma(a1 + b1))


def kl_grad_second(a1: np.ndarray, b1: np.ndarray, a2: np.ndarray,
                   b2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(dKL/da2, dKL/db2) of ``kl``: the derivative in the second (new) distribution."""
    a1, b1, a2, b2 = (np.asarray(v, dtype=np.float64) for v in (a1, b1, a2, b2))
    psi_sum2, psi_sum1 = special.digamma(a2 + b2), special.digamma(a1 + b1)
    return (special.digamma(a2) - psi_sum2 - special.digamma(a1) + psi_sum1,
            special.digamma(b2) - psi_sum2 - special.digamma(b1) + psi_sum1)


def log_density(x: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Log density ln p(x | a, b) of unit-cube points x (broadcast against a, b)."""
    x = np.clip(np.asarray(x, dtype=np.float64), UNIT_EPS, 1 - UNIT_EPS)
    return (a - 1) * np.log(x) + (b - 1) * np.log1p(-x) - special.betaln(a, b)


def log_density_grad(x: np.ndarray, a: np.ndarray,
                     b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(d ln p/da, d ln p/db) of ``log_density``, shaped like the broadcast of x, a, b."""
    x = np.clip(np.asarray(x, dtype=np.float64), UNIT_EPS, 1 - UNIT_EPS)
    psi_sum = special.digamma(a + b)
    return (np.log(x) - special.digamma(a) + psi_sum,
            np.log1p(-x) - special.digamma(b) + psi_sum)


def std(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Return the standard deviation of Beta(a, b) on [0, 1]."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return np.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))
