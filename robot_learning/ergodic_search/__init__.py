# SPDX-License-Identifier: Apache-2.0
"""Ergodic search for assembly: search strategies learned from demonstrations (Ehlers et al.)."""

from robot_learning.ergodic_search.demonstrations import (Demonstration, DemonstrationError,
                                                          HolePose, SyntheticDemonstrator)
from robot_learning.ergodic_search.distribution import (DistributionFitError,
                                                        ExplorationDistribution,
                                                        fit_exploration_distribution)
from robot_learning.ergodic_search.force_model import fit_force_model, ForceModel
from robot_learning.ergodic_search.fourier import BasisError
from robot_learning.ergodic_search.offsets import OffsetDistribution
from robot_learning.ergodic_search.plan import PlannerConfig, SearchPlan
from robot_learning.ergodic_search.planners import make_plan

__all__ = ['BasisError', 'Demonstration', 'DemonstrationError', 'DistributionFitError',
           'ExplorationDistribution', 'fit_exploration_distribution', 'fit_force_model',
           'ForceModel', 'HolePose', 'make_plan', 'OffsetDistribution', 'PlannerConfig',
           'SearchPlan', 'SyntheticDemonstrator']
