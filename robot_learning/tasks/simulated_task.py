# SPDX-License-Identifier: Apache-2.0
"""What every task environment does with its simulator, whatever the task.

The velocity-tracking and motion-tracking environments differ in commands or references,
rewards and episode ends; they share how a batch of worlds is created with its fixed dynamics,
how raw policy actions become joint targets (with the optional action transform that ASAP
fine-tuning routes them through), how a non-finite simulator state is reset, and how the
policy and critic observations are computed from the pure observation terms.
"""

from __future__ import annotations

import abc
from typing import Callable, Protocol

import numpy as np

from robot_learning.config import ConfigError
from robot_learning.domain_randomization.randomizer import Randomizer
from robot_learning.robots.spec import RobotSpec
from robot_learning.sim.base import SimBackend, SimConfig, SimState
from robot_learning.sim.dynamics import check_values
from robot_learning.sim.registry import make_backend
from robot_learning.tasks.actions import joint_position_targets
from robot_learning.tasks.observations import (compute_observation, ObservationInputs,
                                               ObservationTerm)

ActionTransform = Callable[[SimState, np.ndarray], np.ndarray]
"""``fn(state, joint_targets (N, J)) -> joint_targets (N, J)`` [rad]."""


class SimulatedTaskConfig(Protocol):
    """The fields every simulated task's config has (VelocityTaskConfig, MotionTaskConfig)."""

    robot: str
    """Registered robot name or path of a robot YAML."""
    backend: str
    """Simulation backend name (``sim/registry.py``)."""
    num_envs: int
    """Worlds simulated together."""
    sim: SimConfig
    """Physics timing and solver settings."""
    seed: int
    """Seed of resets, commands and observation noise."""
    dynamics: dict
    """Fixed dynamics parameter values for every environment (name -> value)."""
    clip_actions: float
    """Raw actions are clipped to ±this before scaling."""
    soft_joint_limit_factor: float
    """Fraction of the joint range inside which no limit penalty applies."""
    observations: tuple[ObservationTerm, ...]
    """Observation terms in order, with scales and noise."""
    clip_observations: float
    """Observations are clipped to ±this after scaling."""
    noise_level: float
    """Multiplier of every term's training noise in the policy observation."""


class SimulatedTask(abc.ABC):
    """Base of the task environments: backend, fixed dynamics, actions, observations.

    A subclass sets ``config`` (a :class:`SimulatedTaskConfig`) and ``robot``, calls
    :meth:`_init_simulation`, and implements ``observation_inputs(state)``. Subclasses implement
    the ``tasks.registry.TaskEnvironment`` protocol.
    """

    config: SimulatedTaskConfig
    robot: RobotSpec

    def _init_simulation(self, backend: SimBackend | None,
                         randomizer: Randomizer | None) -> None:
        """Create (or adopt) the backend, apply the fixed dynamics, derive limits and timing."""
        config, robot = self.config, self.robot
        self.randomizer = randomizer
        self.backend = backend or make_backend(config.backend, robot, config.num_envs,
                                               config.sim)
        self.num_envs = self.backend.num_envs
        self.num_actions = robot.num_joints
        self.dt = self.backend.control_dt
        self.rng = np.random.default_rng(config.seed)
        check_values(config.dynamics, 'task.dynamics')
        if randomizer is not None:
            fixed = sorted(set(config.dynamics) & set(randomizer.names))
            if fixed:
                raise ConfigError(f'task.dynamics fixes {", ".join(fixed)}, which the '
                                  'randomization also samples; keep each parameter in one place')
        if config.dynamics:
            self.backend.set_dynamics(np.arange(self.num_envs), config.dynamics)
        mid = (robot.position_lower + robot.position_upper) / 2
        half = (robot.position_upper - robot.position_lower) / 2 * config.soft_joint_limit_factor
        self.soft_lower, self.soft_upper = mid - half, mid + half
        """(J,) soft joint limits of the joint-limit penalty [rad]."""
        self.action_transform: ActionTransform | None = None
        self.nonfinite_resets = 0

    def set_action_transform(self, transform: ActionTransform | None) -> None:
        """Route joint targets through ``transform(state, targets (N, J)) -> (N, J)`` [rad].

        Applied in ``step`` before the backend steps (ASAP fine-tuning: targets + delta-action
        offset); ``None`` removes it.
        """
        self.action_transform = transform

    def _joint_targets(self, actions: np.ndarray, state: SimState) -> tuple[np.ndarray,
                                                                            np.ndarray]:
        """Return the clipped actions (N, J) and the joint targets (N, J) [rad] they command."""
        clip = self.config.clip_actions
        actions = np.clip(np.asarray(actions, dtype=float), -clip, clip)
        targets = joint_position_targets(actions, self.robot.default_joint_pos,
                                         self.robot.action_scale, clip)
        if self.action_transform is not None:
            targets = np.asarray(self.action_transform(state, targets), dtype=float)
            if targets.shape != (self.num_envs, self.num_actions):
                raise ValueError(f'the action transform returned shape {targets.shape}, '
                                 f'expected {(self.num_envs, self.num_actions)}')
        return actions, targets

    def _reset_nonfinite(self, state: SimState) -> tuple[SimState, np.ndarray]:
        """Reset environments whose state is not finite; return the state and (N,) that mask."""
        nonfinite = ~state.is_finite()
        if nonfinite.any():
            ids = np.flatnonzero(nonfinite)
            self.nonfinite_resets += ids.size
            self.backend.reset(ids)
            state = self.backend.get_state()
        return state, nonfinite

    @abc.abstractmethod
    def observation_inputs(self, state: SimState) -> ObservationInputs:
        """Collect the observation-term inputs for ``state`` (the subclass's task inputs)."""

    def _observe(self, state: SimState) -> dict[str, np.ndarray]:
        """Return {'policy': (N, D) with noise, 'critic': (N, D) noise-free}."""
        config = self.config
        inputs = self.observation_inputs(state)
        policy = compute_observation(config.observations, inputs, config.clip_observations,
                                     self.rng, config.noise_level)
        critic = compute_observation(config.observations, inputs, config.clip_observations)
        return {'policy': policy, 'critic': critic}
