# SPDX-License-Identifier: Apache-2.0
"""Distributions over a ``ParameterBox``: independent Betas (DORAEMON) and uniform sub-boxes.

Both sample physical values of shape (N, D) and report their differential entropy in nats,
including the log-width of the box, so the entropies of the two families compare directly:
the uniform distribution over the full box, Beta(1, 1) in every dimension, has the largest
entropy, sum_i ln(M_i - m_i).
"""

from __future__ import annotations

import dataclasses
import logging

import numpy as np

from robot_learning.config import ConfigError
from robot_learning.domain_randomization import beta
from robot_learning.domain_randomization.box import ParameterBox

LOG = logging.getLogger(__name__)

COLLAPSE_FRACTION = 1e-6
"""A parameter whose spread is below this fraction of its box width has collapsed."""


@dataclasses.dataclass(frozen=True)
class BetaDistribution:
    """x_i ~ Beta(a_i, b_i) on [0, 1], value_i = m_i + x_i (M_i - m_i); a, b of shape (D,)."""

    box: ParameterBox
    a: np.ndarray
    b: np.ndarray

    def __post_init__(self) -> None:
        a, b = np.asarray(self.a, dtype=np.float64), np.asarray(self.b, dtype=np.float64)
        if a.shape != (self.box.dim,) or b.shape != (self.box.dim,):
            raise ConfigError(f'Beta parameters need shape ({self.box.dim},), got a '
                              f'{a.shape} and b {b.shape}')
        if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b)) and np.all(a > 0)
                and np.all(b > 0)):
            raise ConfigError(f'Beta parameters must be finite and positive, got a={a}, b={b}')
        object.__setattr__(self, 'a', a)
        object.__setattr__(self, 'b', b)

    @classmethod
    def symmetric(cls, box: ParameterBox, concentration: float) -> BetaDistribution:
        """Beta(c, c) in every dimension: c = 1 is uniform, c = 100 is narrow and centred."""
        full = np.full(box.dim, float(concentration))
        return cls(box, full, full.copy())

    def sample(self, count: int, rng: np.random.Generator) -> np.ndarray:
        """Draw (count, D) physical values."""
        return self.box.from_unit(rng.beta(self.a, self.b, size=(count, self.box.dim)))

    def log_density_unit(self, unit: np.ndarray) -> np.ndarray:
        """(N,) log density of unit-cube points (N, D) [nats]."""
        return beta.log_density(unit, self.a, self.b).sum(axis=-1)

    def entropy(self) -> float:
        """Differential entropy of the physical values [nats]."""
        return float(np.sum(beta.entropy(self.a, self.b) + np.log(self.box.width)))

    def kl(self, other: BetaDistribution) -> float:
        """KL(self || other) [nats]; the box widths cancel."""
        return float(np.sum(beta.kl(self.a, self.b, other.a, other.b)))

    def mean(self) -> np.ndarray:
        """(D,) mean physical values."""
        return self.box.from_unit(self.a / (self.a + self.b))

    def std(self) -> np.ndarray:
        """(D,) standard deviation of the physical values."""
        return beta.std(self.a, self.b) * self.box.width

    def collapsed(self) -> list[str]:
        """Names of the parameters whose spread is below ``COLLAPSE_FRACTION`` of the box."""
        spread = self.std() / self.box.width
        return [name for name, s in zip(self.box.names, spread) if s < COLLAPSE_FRACTION]

    def describe(self) -> dict:
        """Return a JSON-friendly summary: a, b, mean and std per parameter."""
        return {name: {'a': float(a), 'b': float(b), 'mean': float(m), 'std': float(s)}
                for name, a, b, m, s in zip(self.box.names, self.a, self.b, self.mean(),
                                            self.std())}


@dataclasses.dataclass(frozen=True)
class UniformBox:
    """value_i ~ U(low_i, high_i) with m_i <= low_i <= high_i <= M_i; arrays of shape (D,).

    ``low == high`` is allowed (ADR starts from the nominal point); its entropy is then -inf.
    """

    box: ParameterBox
    low: np.ndarray
    high: np.ndarray

    def __post_init__(self) -> None:
        low = np.asarray(self.low, dtype=np.float64)
        high = np.asarray(self.high, dtype=np.float64)
        if np.any(low > high) or np.any(low < self.box.low - 1e-12) or np.any(
                high > self.box.high + 1e-12):
            raise ConfigError(f'uniform bounds low={low}, high={high} must satisfy '
                              f'{self.box.low} <= low <= high <= {self.box.high}')
        object.__setattr__(self, 'low', low)
        object.__setattr__(self, 'high', high)

    @classmethod
    def full(cls, box: ParameterBox) -> UniformBox:
        """Return the uniform distribution over the whole box (UDR; DORAEMON's target)."""
        return cls(box, box.low.copy(), box.high.copy())

    def sample(self, count: int, rng: np.random.Generator) -> np.ndarray:
        """Draw (count, D) physical values."""
        return rng.uniform(self.low, self.high, size=(count, self.box.dim))

    def entropy(self) -> float:
        """Differential entropy [nats]; -inf when any dimension has zero width."""
        width = self.high - self.low
        return float(np.sum(np.log(width))) if np.all(width > 0) else float('-inf')

    def describe(self) -> dict:
        """Return a JSON-friendly summary: low and high per parameter."""
        return {name: {'low': float(lo), 'high': float(hi)}
                for name, lo, hi in zip(self.box.names, self.low, self.high)}
