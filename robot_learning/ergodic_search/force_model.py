# SPDX-License-Identifier: Apache-2.0
"""The state-invariant force model: the demonstrator's force as a function of the motion.

A Gaussian mixture (scikit-learn, components by BIC) over the joint vector [v, f], with v (d,)
the search velocity in the hole frame (x, y [m/s], and yaw rate [rad/s] in 3-D) and f (3,) the
force the demonstrator applied [N]; Gaussian mixture regression gives the superposed force::

    f(v) = sum_m h_m(v) (mu_f,m + Sigma_fv,m Sigma_vv,m^-1 (v - mu_v,m)),
    h_m(v) = alpha_m N(v; mu_v,m, Sigma_vv,m) / sum_n alpha_n N(v; mu_v,n, Sigma_vv,n)

It does not depend on the position (the "state-invariant dynamics" of Ehlers et al.).
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy.special import logsumexp

from robot_learning.ergodic_search.distribution import (DistributionFitError,
                                                        fit_gaussian_mixture)


@dataclasses.dataclass(frozen=True)
class ForceModel:
    """GMR from search velocity (d,) to force (3,); M components over the joint (d + 3,)."""

    weights: np.ndarray
    """(M,) component weights."""
    means: np.ndarray
    """(M, d + 3) joint means [m/s..., N]."""
    covariances: np.ndarray
    """(M, d + 3, d + 3) joint covariances."""

    @property
    def dim(self) -> int:
        """Velocity dimension d."""
        return self.means.shape[1] - 3

    def predict(self, velocities: np.ndarray) -> np.ndarray:
        """Return the expected force (N, 3) [N] for velocities (N, d) (or (d,) -> (3,))."""
        velocities = np.asarray(velocities, dtype=float)
        single = velocities.ndim == 1
        v = np.atleast_2d(velocities)
        d = self.dim
        mu_v, mu_f = self.means[:, :d], self.means[:, d:]
        s_vv = self.covariances[:, :d, :d]
        s_fv = self.covariances[:, d:, :d]
        inverse = np.linalg.inv(s_vv)
        delta = v[:, None, :] - mu_v[None]  # (N, M, d)
        solved = np.einsum('mij,nmj->nmi', inverse, delta)
        _, logdet = np.linalg.slogdet(s_vv)
        log_prob = (np.log(self.weights)[None] - 0.5 * np.einsum('nmi,nmi->nm', delta, solved)
                    - 0.5 * logdet[None] - 0.5 * d * np.log(2.0 * np.pi))
        responsibility = np.exp(log_prob - logsumexp(log_prob, axis=1, keepdims=True))
        conditional = mu_f[None] + np.einsum('mfi,nmi->nmf', s_fv, solved)
        force = np.einsum('nm,nmf->nf', responsibility, conditional)
        return force[0] if single else force

    def to_dict(self) -> dict:
        """Return a JSON/YAML-ready mapping."""
        return {'weights': self.weights.tolist(), 'means': self.means.tolist(),
                'covariances': self.covariances.tolist()}

    @classmethod
    def from_dict(cls, data: dict) -> ForceModel:
        """Build from :meth:`to_dict` output."""
        return cls(weights=np.asarray(data['weights'], dtype=float),
                   means=np.asarray(data['means'], dtype=float),
                   covariances=np.asarray(data['covariances'], dtype=float))


def fit_force_model(velocities: np.ndarray, forces: np.ndarray, *, max_components: int = 4,
                    seed: int = 0) -> ForceModel:
    """Fit the force model to velocities (N, d) [m/s] and forces (N, 3) [N].

    Raises:
        DistributionFitError: Shapes differ, values are not finite, too few samples, or the
            mixture fails to fit.
    """
    velocities = np.asarray(velocities, dtype=float)
    forces = np.asarray(forces, dtype=float)
    if velocities.ndim != 2 or forces.shape != (len(velocities), 3):
        raise DistributionFitError(f'velocities {velocities.shape} and forces {forces.shape} '
                                   'must be (N, d) and (N, 3)')
    weights, means, covariances, _ = fit_gaussian_mixture(
        np.hstack([velocities, forces]), max_components=max_components, seed=seed,
        regularization=1e-6)
    return ForceModel(weights=weights, means=means, covariances=covariances)
