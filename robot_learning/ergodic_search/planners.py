# SPDX-License-Identifier: Apache-2.0
"""The registry of search planners: name -> planner function."""

from __future__ import annotations

from typing import Callable

from robot_learning.ergodic_search.baselines import random_plan, spiral_plan
from robot_learning.ergodic_search.coverage import coverage_plan
from robot_learning.ergodic_search.distribution import ExplorationDistribution
from robot_learning.ergodic_search.plan import PlannerConfig, SearchPlan
from robot_learning.ergodic_search.sampling import sampling_plan
from robot_learning.ergodic_search.selection import ergodic_search_plan
from robot_learning.ergodic_search.smc import ergodic_plan

PLANNER_FUNCTIONS: dict[str, Callable[[ExplorationDistribution, PlannerConfig], SearchPlan]] = {
    'ergodic': ergodic_plan,
    'ergodic_coverage': coverage_plan,
    'ergodic_search': ergodic_search_plan,
    'sampling': sampling_plan,
    'spiral': spiral_plan,
    'random': random_plan,
}
"""Every planner by name; each takes (distribution, config) and returns a SearchPlan."""


def make_plan(method: str, distribution: ExplorationDistribution,
              config: PlannerConfig) -> SearchPlan:
    """Plan a search with the named method; ValueError lists the valid names."""
    try:
        planner = PLANNER_FUNCTIONS[method]
    except KeyError:
        raise ValueError(f"unknown search method '{method}'; valid: "
                         f"{', '.join(PLANNER_FUNCTIONS)}") from None
    return planner(distribution, config)
