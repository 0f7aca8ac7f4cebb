# SPDX-License-Identifier: Apache-2.0
"""The exploration distribution: a Gaussian mixture over demonstrated search positions.

Positions are relative to the nominal hole (or socket) pose, in metres (and radians for a yaw
coordinate). scikit-learn's ``GaussianMixture`` is fitted by EM for 1..max_components
components and the Bayesian information criterion picks the number. The search region is the
box that holds the mixture (every component mean +- ``region_sigmas`` standard deviations); the
planners work in that box scaled onto [0, 1]^d.
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np

MIN_SAMPLES_PER_DIMENSION = 10
"""A fit needs at least this many positions per dimension (and per candidate component)."""


class DistributionFitError(ValueError):
    """A mixture that cannot be fitted to the given positions; the message says why."""


@dataclasses.dataclass(frozen=True)
class SearchRegion:
    """An axis-aligned box in the hole frame, mapped onto the unit box [0, 1]^d."""

    lower: np.ndarray
    """(d,) lower corner [m or rad]."""
    upper: np.ndarray
    """(d,) upper corner [m or rad]."""

    @property
    def size(self) -> np.ndarray:
        """(d,) edge lengths [m or rad]."""
        return self.upper - self.lower

    def to_unit(self, points: np.ndarray) -> np.ndarray:
        """Map points (..., d) from the hole frame into the unit box."""
        return (np.asarray(points, dtype=float) - self.lower) / self.size

    def from_unit(self, points: np.ndarray) -> np.ndarray:
        """Map points (..., d) from the unit box into the hole frame."""
        return self.lower + np.asarray(points, dtype=float) * self.size


@dataclasses.dataclass(frozen=True)
class ExplorationDistribution:
    """A Gaussian mixture over positions relative to the nominal hole; M components in d-D."""

    weights: np.ndarray
    """(M,) component weights, summing to 1."""
    means: np.ndarray
    """(M, d) component means [m or rad]."""
    covariances: np.ndarray
    """(M, d, d) component covariances [m² or rad²]."""
    frame: str = 'hole'
    """Frame the positions are expressed in (the nominal hole frame)."""
    bic: tuple[float, ...] = ()
    """BIC of the 1..max_components candidates (the chosen one is the smallest)."""

    @property
    def dim(self) -> int:
        """Number of search coordinates d."""
        return self.means.shape[1]

    @property
    def num_components(self) -> int:
        """Number of mixture components M."""
        return len(self.weights)

    def region(self, region_sigmas: float = 3.0) -> SearchRegion:
        """Return the box of every component mean +- ``region_sigmas`` standard deviations."""
        sigma = np.sqrt(np.einsum('mii->mi', self.covariances))
        lower = np.min(self.means - region_sigmas * sigma, axis=0)
        upper = np.max(self.means + region_sigmas * sigma, axis=0)
        return SearchRegion(lower=lower, upper=upper)

    def in_unit_box(self, region: SearchRegion) -> tuple[np.ndarray, np.ndarray]:
        """Return (means (M, d), covariances (M, d, d)) in the unit-box coordinates of region."""
        scale = 1.0 / region.size
        means = region.to_unit(self.means)
        covariances = self.covariances * scale[None, :, None] * scale[None, None, :]
        return means, covariances

    def sample(self, count: int, rng: np.random.Generator) -> np.ndarray:
        """Draw ``count`` positions (count, d) from the mixture."""
        components = rng.choice(self.num_components, size=count, p=self.weights)
        chol = np.linalg.cholesky(self.covariances)
        noise = rng.standard_normal((count, self.dim))
        return self.means[components] + np.einsum('nij,nj->ni', chol[components], noise)

    def density(self, points: np.ndarray) -> np.ndarray:
        """Return the mixture density at points (N, d); shape (N,)."""
        from scipy.stats import multivariate_normal
        points = np.atleast_2d(points)
        return sum(weight * multivariate_normal(mean, cov).pdf(points).reshape(len(points))
                   for weight, mean, cov in zip(self.weights, self.means, self.covariances))

    def to_dict(self) -> dict:
        """Return a JSON/YAML-ready mapping (lists of floats)."""
        return {'weights': self.weights.tolist(), 'means': self.means.tolist(),
                'covariances': self.covariances.tolist(), 'frame': self.frame,
                'bic': list(self.bic)}

    @classmethod
    def from_dict(cls, data: dict) -> ExplorationDistribution:
        """Build from :meth:`to_dict` output; ValueError on inconsistent shapes."""
        weights = np.asarray(data['weights'], dtype=float)
        means = np.asarray(data['means'], dtype=float)
        covariances = np.asarray(data['covariances'], dtype=float)
        if (means.ndim != 2 or weights.shape != (len(means),)
                or covariances.shape != (len(means), means.shape[1], means.shape[1])):
            raise ValueError(f'inconsistent mixture shapes: weights {weights.shape}, means '
                             f'{means.shape}, covariances {covariances.shape}')
        return cls(weights=weights, means=means, covariances=covariances,
                   frame=str(data.get('frame', 'hole')), bic=tuple(data.get('bic', ())))


def fit_gaussian_mixture(data: np.ndarray, *, max_components: int = 5,
                         regularization: float = 1e-8, seed: int = 0
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[float, ...]]:
    """Fit a full-covariance Gaussian mixture to data (N, D), choosing M in 1..max by BIC.

    Returns:
        (weights (M,), means (M, D), covariances (M, D, D), BIC of every candidate).

    Raises:
        DistributionFitError: Too few or non-finite samples, no spread in some coordinate,
            or EM fails for every candidate.
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.mixture import GaussianMixture
    from threadpoolctl import threadpool_limits

    data = np.asarray(data, dtype=float)
    if data.ndim != 2 or data.shape[1] < 1:
        raise DistributionFitError(f'data must be (N, D), got shape {data.shape}')
    count, dim = data.shape
    if not np.all(np.isfinite(data)):
        raise DistributionFitError(
            f'{int(np.sum(~np.all(np.isfinite(data), axis=1)))} of {count} samples are '
            'not finite')
    if count < MIN_SAMPLES_PER_DIMENSION * dim:
        raise DistributionFitError(
            f'{count} samples cannot fit a {dim}-D mixture; need at least '
            f'{MIN_SAMPLES_PER_DIMENSION * dim}')
    spread = data.std(axis=0)
    flat = np.flatnonzero(spread <= 1e-9)
    if flat.size:
        raise DistributionFitError(
            f'the data do not vary in coordinate(s) {flat.tolist()} (std '
            f'{spread[flat].tolist()}): the demonstrations hold no motion there')
    candidates = range(1, min(max_components, count // (MIN_SAMPLES_PER_DIMENSION * dim)) + 1)
    fits, bics, errors = [], [], []
    for components in candidates:
        mixture = GaussianMixture(n_components=components, covariance_type='full',
                                  reg_covar=regularization, random_state=seed, n_init=1,
                                  max_iter=200)
        try:
            # One thread: k-means' OpenMP pool costs 10-50x on a busy machine for small data.
            with warnings.catch_warnings(), threadpool_limits(limits=1):
                warnings.simplefilter('error', ConvergenceWarning)
                mixture.fit(data)
        except (ValueError, ConvergenceWarning, np.linalg.LinAlgError) as error:
            errors.append(f'{components} component(s): {error}')
            bics.append(float('inf'))
            fits.append(None)
            continue
        fits.append(mixture)
        bics.append(float(mixture.bic(data)))
    best = int(np.argmin(bics))
    if fits[best] is None:
        raise DistributionFitError('the Gaussian mixture failed to fit: ' + '; '.join(errors))
    mixture = fits[best]
    return (np.asarray(mixture.weights_), np.asarray(mixture.means_),
            np.asarray(mixture.covariances_), tuple(bics))


def fit_exploration_distribution(positions: np.ndarray, *, max_components: int = 5,
                                 regularization: float = 1e-8, seed: int = 0,
                                 frame: str = 'hole') -> ExplorationDistribution:
    """Fit the exploration distribution to positions (N, d) relative to the nominal hole.

    Args:
        positions: (N, d) demonstrated positions relative to the nominal hole [m or rad].
        max_components: Largest number of components tried (BIC picks among 1..max).
        regularization: Added to the covariance diagonals [m²] (scikit-learn's reg_covar).
        seed: Seed of the k-means initialisation.
        frame: Frame name stored with the result.

    Raises:
        DistributionFitError: See :func:`fit_gaussian_mixture`.
    """
    weights, means, covariances, bics = fit_gaussian_mixture(
        positions, max_components=max_components, regularization=regularization, seed=seed)
    return ExplorationDistribution(weights=weights, means=means, covariances=covariances,
                                   frame=frame, bic=bics)
