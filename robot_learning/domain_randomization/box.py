# SPDX-License-Identifier: Apache-2.0
"""The target box: per-parameter bounds [m_i, M_i] of the named dynamics parameters.

Every distribution of this package lives on such a box. Values are handled in two spaces:
physical (each parameter in its unit, ``robot_learning.sim.dynamics``) and the standardised
unit cube, x = (value - m) / (M - m) in [0, 1], where the Beta densities are evaluated.
"""

from __future__ import annotations

import dataclasses
import numbers
from typing import Mapping

import numpy as np

from robot_learning.config import ConfigError
from robot_learning.sim.dynamics import check_values, PARAMETERS


@dataclasses.dataclass(frozen=True)
class ParameterBox:
    """Bounds of D named dynamics parameters; arrays have shape (D,) in the parameters' units."""

    names: tuple[str, ...]
    low: np.ndarray
    high: np.ndarray

    @classmethod
    def from_mapping(cls, bounds: Mapping[str, object], where: str = 'randomization') -> \
            ParameterBox:
        """Build from ``{name: [low, high]}``; reject unknown names and min >= max."""
        if not bounds:
            raise ConfigError(f'{where}: no parameters to randomize; give '
                              f'{{name: [low, high]}} with names from: {", ".join(PARAMETERS)}')
        names, low, high = [], [], []
        for name, pair in bounds.items():
            if name not in PARAMETERS:
                raise ConfigError(f"{where}: unknown dynamics parameter '{name}'; valid: "
                                  f"{', '.join(PARAMETERS)}")
            if (not isinstance(pair, (list, tuple)) or len(pair) != 2
                    or not all(isinstance(v, numbers.Real) for v in pair)):
                raise ConfigError(f'{where}.{name}: expected [low, high], got {pair!r}')
            if not pair[0] < pair[1]:
                raise ConfigError(f'{where}.{name}: min {pair[0]:g} >= max {pair[1]:g}; a '
                                  'randomized parameter needs min < max (fix it with '
                                  'task.dynamics instead)')
            check_values({name: np.asarray(pair, dtype=float)}, f'{where}.{name}')
            names.append(name)
            low.append(float(pair[0]))
            high.append(float(pair[1]))
        return cls(tuple(names), np.asarray(low), np.asarray(high))

    @property
    def dim(self) -> int:
        """Number of parameters D."""
        return len(self.names)

    @property
    def width(self) -> np.ndarray:
        """(D,) M - m in the parameters' units."""
        return self.high - self.low

    @property
    def nominal(self) -> np.ndarray:
        """(D,) each parameter's nominal value (which may lie outside the box)."""
        return np.asarray([PARAMETERS[name].nominal for name in self.names], dtype=np.float64)

    def to_unit(self, values: np.ndarray) -> np.ndarray:
        """Map physical values (..., D) to the unit cube (..., D)."""
        return (np.asarray(values, dtype=float) - self.low) / self.width

    def from_unit(self, unit: np.ndarray) -> np.ndarray:
        """Map unit-cube points (..., D) to physical values (..., D)."""
        return self.low + np.asarray(unit, dtype=float) * self.width

    def as_dict(self, values: np.ndarray) -> dict[str, np.ndarray]:
        """Split (N, D) values into ``{name: (N,)}`` for ``SimBackend.set_dynamics``."""
        values = np.atleast_2d(values)
        return {name: values[:, i].copy() for i, name in enumerate(self.names)}

    def to_mapping(self) -> dict[str, list[float]]:
        """Return ``{name: [low, high]}`` (the YAML form)."""
        return {name: [float(lo), float(hi)]
                for name, lo, hi in zip(self.names, self.low, self.high)}
