# SPDX-License-Identifier: Apache-2.0
"""SearchModel: what is learned from demonstrations (exploration distribution + force model)."""

from __future__ import annotations

import dataclasses
import json
import pathlib

from robot_learning.atomic_write import atomic_write_text
from robot_learning.ergodic_search.demonstrations import (Demonstration, HolePose,
                                                          search_data)
from robot_learning.ergodic_search.distribution import (ExplorationDistribution,
                                                        fit_exploration_distribution)
from robot_learning.ergodic_search.force_model import fit_force_model, ForceModel


@dataclasses.dataclass(frozen=True)
class SearchModel:
    """The learned search strategy: where to search and with which force."""

    distribution: ExplorationDistribution
    force_model: ForceModel
    num_samples: int = 0
    """Search-phase samples it was fitted to."""

    def save(self, path: str | pathlib.Path) -> pathlib.Path:
        """Write the model as JSON."""
        return atomic_write_text(path, json.dumps({
            'distribution': self.distribution.to_dict(),
            'force_model': self.force_model.to_dict(),
            'num_samples': self.num_samples}, indent=1))

    @classmethod
    def load(cls, path: str | pathlib.Path) -> SearchModel:
        """Read a model written by :meth:`save`.

        Raises:
            FileNotFoundError: No such file.
            ValueError: Not a search model.
        """
        path = pathlib.Path(path)
        if not path.is_file():
            raise FileNotFoundError(f'search model not found: {path}')
        data = json.loads(path.read_text(encoding='utf-8'))
        if not isinstance(data, dict) or not {'distribution', 'force_model'} <= set(data):
            raise ValueError(f'{path}: not a search model (needs distribution and force_model)')
        return cls(distribution=ExplorationDistribution.from_dict(data['distribution']),
                   force_model=ForceModel.from_dict(data['force_model']),
                   num_samples=int(data.get('num_samples', 0)))


def learn_search_model(demonstrations: list[Demonstration], hole: HolePose, dim: int = 2,
                       max_components: int = 5, seed: int = 0) -> SearchModel:
    """Fit the exploration distribution and the force model to demonstrations.

    Raises:
        DemonstrationError: Demonstrations in another frame or without search-phase samples.
        DistributionFitError: A mixture that cannot be fitted.
    """
    data = search_data(demonstrations, hole, dim=dim)
    distribution = fit_exploration_distribution(data.positions, max_components=max_components,
                                                seed=seed)
    force_model = fit_force_model(data.velocities, data.forces, seed=seed)
    return SearchModel(distribution=distribution, force_model=force_model,
                       num_samples=len(data.positions))
