# SPDX-License-Identifier: Apache-2.0
"""The interface between a task and a domain-randomization method, and the simple methods.

At every reset the task asks its ``Randomizer`` for the dynamics of the environments it resets;
when an episode ends it reports the sampled values and whether the episode succeeded. The
training loop calls ``update`` every K environment steps; the method then moves its
distribution using the episodes collected since the last update and clears them.
"""

from __future__ import annotations

import abc
import dataclasses

import numpy as np

from robot_learning.domain_randomization.box import ParameterBox
from robot_learning.domain_randomization.distributions import UniformBox

NO_BOUNDARY = -1
"""Tag of an episode whose dynamics were sampled from the distribution itself (not ADR's
boundary sampling); ADR tags boundary episodes with 2 * parameter index + (0 low | 1 high)."""


@dataclasses.dataclass
class EpisodeBuffer:
    """Episodes finished since the last update: K rows."""

    values: list[np.ndarray] = dataclasses.field(default_factory=list)
    """Sampled dynamics, (k, D) blocks in physical units."""
    success: list[np.ndarray] = dataclasses.field(default_factory=list)
    """(k,) bool blocks."""
    tags: list[np.ndarray] = dataclasses.field(default_factory=list)
    """(k,) int blocks: ``NO_BOUNDARY`` or an ADR boundary tag."""

    def add(self, values: np.ndarray, success: np.ndarray, tags: np.ndarray) -> None:
        """Append k episodes."""
        self.values.append(np.asarray(values, dtype=np.float64))
        self.success.append(np.asarray(success, dtype=bool))
        self.tags.append(np.asarray(tags, dtype=np.int64))

    def __len__(self) -> int:
        return int(sum(block.size for block in self.success))

    def arrays(self, dim: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return (values (K, D), success (K,) bool, tags (K,) int)."""
        if not self.success:
            return np.zeros((0, dim)), np.zeros(0, dtype=bool), np.zeros(0, dtype=np.int64)
        return (np.concatenate(self.values).reshape(-1, dim), np.concatenate(self.success),
                np.concatenate(self.tags))

    def clear(self) -> None:
        """Forget every episode."""
        self.values.clear()
        self.success.clear()
        self.tags.clear()


class Randomizer(abc.ABC):
    """A distribution over a ``ParameterBox`` that can learn from finished episodes."""

    method: str = ''

    def __init__(self, box: ParameterBox) -> None:
        self.box = box
        self.buffer = EpisodeBuffer()
        self.updates = 0

    @property
    def names(self) -> tuple[str, ...]:
        """Names of the randomized parameters, the column order of sampled values."""
        return self.box.names

    @abc.abstractmethod
    def sample(self, count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Draw dynamics for ``count`` resets: (values (count, D), tags (count,) int)."""

    def record(self, values: np.ndarray, success: np.ndarray, tags: np.ndarray) -> None:
        """Store finished episodes: values (k, D), success (k,) bool, tags (k,) int."""
        self.buffer.add(values, success, tags)

    def update(self) -> dict:
        """Move the distribution with the buffered episodes, clear them, return a log row.

        The row holds ``episodes`` (K), ``success_rate`` (in-distribution, over every buffered
        episode; NaN when K = 0), ``entropy`` (after the update, nats) and ``status``.
        """
        values, success, tags = self.buffer.arrays(self.box.dim)
        row = {'episodes': int(success.size),
               'success_rate': float(success.mean()) if success.size else float('nan')}
        row['status'] = self._update(values, success, tags)
        row['entropy'] = self.entropy()
        self.buffer.clear()
        self.updates += 1
        return row

    def _update(self, values: np.ndarray, success: np.ndarray, tags: np.ndarray) -> str:
        """Move the distribution; return a status word. Fixed distributions do nothing."""
        return 'fixed'

    @abc.abstractmethod
    def entropy(self) -> float:
        """Differential entropy of the current distribution [nats]."""

    @abc.abstractmethod
    def describe(self) -> dict:
        """Return a JSON-friendly description of the current distribution."""

    def state_dict(self) -> dict:
        """Return the state to save with a checkpoint (plain Python types)."""
        return {'method': self.method, 'updates': self.updates}

    def load_state_dict(self, state: dict) -> None:
        """Restore ``state_dict``; a different method is an error."""
        if state.get('method') != self.method:
            raise ValueError(f"checkpoint holds a '{state.get('method')}' randomization "
                             f"state, this run uses '{self.method}'")
        self.updates = int(state['updates'])


class NominalDynamics(Randomizer):
    """No randomization: every environment gets each parameter's nominal value."""

    method = 'none'

    def sample(self, count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Return the nominal values for every reset."""
        values = np.tile(self.box.nominal, (count, 1))
        return values, np.full(count, NO_BOUNDARY)

    def entropy(self) -> float:
        """Return -inf: a point mass."""
        return float('-inf')

    def describe(self) -> dict:
        """Return the nominal value of each parameter."""
        return {name: {'value': float(v)} for name, v in zip(self.names, self.box.nominal)}


class UniformRandomization(Randomizer):
    """Uniform over the whole box from the start (UDR, the paper's Fixed-DR)."""

    method = 'uniform'

    def __init__(self, box: ParameterBox) -> None:
        super().__init__(box)
        self.distribution = UniformBox.full(box)

    def sample(self, count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Draw uniformly over the box."""
        return self.distribution.sample(count, rng), np.full(count, NO_BOUNDARY)

    def entropy(self) -> float:
        """sum_i ln(M_i - m_i) [nats]."""
        return self.distribution.entropy()

    def describe(self) -> dict:
        """Return the box."""
        return self.distribution.describe()


class FixedValues(Randomizer):
    """Given values per reset, cycling through the rows (for evaluations on chosen dynamics)."""

    method = 'fixed'

    def __init__(self, box: ParameterBox, values: np.ndarray) -> None:
        super().__init__(box)
        self.values = np.asarray(values, dtype=np.float64).reshape(-1, box.dim)
        self.next_row = 0

    def sample(self, count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Return the next ``count`` rows (wrapping around)."""
        rows = (self.next_row + np.arange(count)) % len(self.values)
        self.next_row = int(rows[-1] + 1) if count else self.next_row
        return self.values[rows], np.full(count, NO_BOUNDARY)

    def entropy(self) -> float:
        """Return -inf: an empirical set of points."""
        return float('-inf')

    def describe(self) -> dict:
        """Return the number of value rows."""
        return {'rows': int(len(self.values))}
