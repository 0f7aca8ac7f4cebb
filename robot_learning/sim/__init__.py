# SPDX-License-Identifier: Apache-2.0
"""Batched simulation backends behind one protocol, and the named dynamics parameters."""

from robot_learning.sim.base import SimBackend, SimConfig, SimState, SimulationError
from robot_learning.sim.dynamics import PARAMETERS
from robot_learning.sim.registry import BACKENDS, make_backend

__all__ = ['BACKENDS', 'make_backend', 'PARAMETERS', 'SimBackend', 'SimConfig', 'SimState',
           'SimulationError']
