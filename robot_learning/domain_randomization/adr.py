# SPDX-License-Identifier: Apache-2.0
"""Automatic domain randomization (OpenAI et al. 2019, arXiv 1910.07113, Sec. 5).

Each parameter is uniform on [low_i, high_i], starting collapsed at its nominal value (clipped
into the target box). With probability ``boundary_probability`` an episode pins one parameter,
chosen uniformly, to one of its current bounds (the others uniform) and its success goes into
that bound's buffer. When a buffer holds ``buffer_size`` episodes its success rate p decides:
p >= t_H widens the bound by ``step_fraction`` of the box width (never past the box), p <= t_L
shrinks it (never past the other bound); the buffer is then cleared.
"""

from __future__ import annotations

import logging

import numpy as np

from robot_learning.domain_randomization.box import ParameterBox
from robot_learning.domain_randomization.config import AdrConfig
from robot_learning.domain_randomization.distributions import UniformBox
from robot_learning.domain_randomization.randomizer import NO_BOUNDARY, Randomizer

LOG = logging.getLogger(__name__)
SIDES = ('low', 'high')


class AdrRandomization(Randomizer):
    """ADR over a ``ParameterBox``: per-bound performance buffers and widen/shrink thresholds."""

    method = 'adr'

    def __init__(self, box: ParameterBox, config: AdrConfig) -> None:
        super().__init__(box)
        self.config = config
        start = np.clip(box.nominal, box.low, box.high)
        self.low, self.high = start.copy(), start.copy()
        self.bound_buffers: list[list[bool]] = [[] for _ in range(2 * box.dim)]
        self.widest = np.zeros(box.dim)
        """(D,) widest width each parameter has reached (to report a later collapse)."""

    @property
    def distribution(self) -> UniformBox:
        """The current uniform box."""
        return UniformBox(self.box, self.low, self.high)

    def sample(self, count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Uniform in the current box; a ``boundary_probability`` share pins one bound."""
        values = rng.uniform(self.low, self.high, size=(count, self.box.dim))
        tags = np.full(count, NO_BOUNDARY)
        pinned = np.flatnonzero(rng.random(count) < self.config.boundary_probability)
        dims = rng.integers(0, self.box.dim, pinned.size)
        sides = rng.integers(0, 2, pinned.size)
        values[pinned, dims] = np.where(sides == 0, self.low[dims], self.high[dims])
        tags[pinned] = 2 * dims + sides
        return values, tags

    def _update(self, values: np.ndarray, success: np.ndarray, tags: np.ndarray) -> str:
        config = self.config
        step = config.step_fraction * self.box.width
        changes = []
        for tag, succeeded in zip(tags, success):
            if tag == NO_BOUNDARY:
                continue
            buffer = self.bound_buffers[tag]
            buffer.append(bool(succeeded))
            if len(buffer) < config.buffer_size:
                continue
            rate = float(np.mean(buffer))
            buffer.clear()
            dim, side = divmod(int(tag), 2)
            if rate >= config.success_high:
                self._move(dim, side, +step[dim])
                changes.append(f'widen {self.box.names[dim]}.{SIDES[side]}')
            elif rate <= config.success_low:
                self._move(dim, side, -step[dim])
                changes.append(f'shrink {self.box.names[dim]}.{SIDES[side]}')
        self._warn_on_collapse()
        return ', '.join(changes) if changes else 'unchanged'

    def _move(self, dim: int, side: int, outward: float) -> None:
        """Move one bound outward (> 0, widen) or inward (< 0, shrink)."""
        if side == 0:
            self.low[dim] = float(np.clip(self.low[dim] - outward, self.box.low[dim],
                                          self.high[dim]))
        else:
            self.high[dim] = float(np.clip(self.high[dim] + outward, self.low[dim],
                                           self.box.high[dim]))
        # Any bound change clears that parameter's buffers (DeXtreme's ADR does the same).
        self.bound_buffers[2 * dim].clear()
        self.bound_buffers[2 * dim + 1].clear()

    def _warn_on_collapse(self) -> None:
        width = self.high - self.low
        collapsed = (width <= 0.0) & (self.widest > 0.0)
        for dim in np.flatnonzero(collapsed):
            LOG.warning('ADR: the range of %s has collapsed to zero width at %g (it had reached '
                        '%g): the policy fails at both of its bounds', self.box.names[dim],
                        self.low[dim], self.widest[dim])
        self.widest = np.maximum(self.widest, width)

    def entropy(self) -> float:
        """sum_i ln(high_i - low_i) [nats]; -inf while any range has zero width."""
        return self.distribution.entropy()

    def describe(self) -> dict:
        """Return the current bounds of each parameter."""
        return self.distribution.describe()

    def state_dict(self) -> dict:
        """Bounds and bound buffers."""
        return {**super().state_dict(), 'low': self.low.tolist(), 'high': self.high.tolist(),
                'bound_buffers': [list(b) for b in self.bound_buffers],
                'widest': self.widest.tolist()}

    def load_state_dict(self, state: dict) -> None:
        """Restore bounds and bound buffers."""
        super().load_state_dict(state)
        self.low = np.asarray(state['low'], dtype=np.float64)
        self.high = np.asarray(state['high'], dtype=np.float64)
        self.bound_buffers = [list(b) for b in state['bound_buffers']]
        self.widest = np.asarray(state['widest'], dtype=np.float64)
