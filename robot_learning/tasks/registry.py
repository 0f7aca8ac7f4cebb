# SPDX-License-Identifier: Apache-2.0
"""The task registry: one plain dict ``name -> TaskSpec`` that every other layer looks up.

A task is a first-class entry: its config class, its environment class, the episode metrics it
logs, what an operator feeds a deployed policy of it, and the task-specific entries of the
policy contract. ``train`` builds the environment from here, ``export`` writes the registered
name into ``contract.yaml``, and ``evaluate`` and the ROS 2 policy node read the task back from
the contract and look it up here; no code guesses a task from its attributes.

Tasks implemented in ``tasks/`` are listed in ``TASKS`` below. A training environment that lives
with its method in a higher layer (the ASAP delta-action environment in ``delta_action/env.py``)
adds its entry with :func:`register_task` where it is defined, so that no import points from
this layer up to a method package.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Literal, Protocol, runtime_checkable

import numpy as np

from robot_learning.config import ConfigError
from robot_learning.tasks.motion_tracking import MotionTaskConfig, MotionTrackingEnv
from robot_learning.tasks.velocity_tracking import VelocityTaskConfig, VelocityTrackingEnv

OperatorInput = Literal['velocity_command', 'reference_motion', 'none']
"""What a deployed policy of the task takes from its operator: a base velocity command
(``/cmd_vel``), reference motions played from activation on, or nothing."""


@runtime_checkable
class TaskEnvironment(Protocol):
    """A batched numpy task environment, as ``rl.vec_env.RslVecEnv`` presents it to rsl-rl.

    Every ``SimulatedTask`` subclass and the delta-action environment implement it.
    """

    config: Any
    """The task's frozen config dataclass (the ``config_cls`` of its TaskSpec)."""
    num_envs: int
    """Number of worlds N stepped together."""
    num_actions: int
    """Action dimension A."""
    max_episode_length: int
    """Episode length in control steps before a time-out."""
    episode_length: np.ndarray
    """(N,) int64 steps counted toward the time-out; rsl-rl may randomize it at the start."""
    observations: dict[str, np.ndarray]
    """{'policy': (N, D) float32 with noise, 'critic': (N, D_critic) noise-free}."""

    def step(self, actions: np.ndarray) -> tuple[dict, np.ndarray, np.ndarray, np.ndarray, dict]:
        """Apply (N, A) actions for one control step.

        Returns:
            Observations (as ``observations``), rewards (N,), terminated (N,) bool, truncated
            (N,) bool and info ({'log': {...}, 'episodes': {...}}).
        """


@dataclasses.dataclass(frozen=True)
class TaskSpec:
    """One registered task."""

    config_cls: type
    """Frozen dataclass that configures the task (``task:`` block of a training YAML)."""
    env_cls: type
    """Environment class implementing :class:`TaskEnvironment`; built as
    ``env_cls(config, backend=None, randomizer=None)`` for deployable tasks."""
    description: str
    """One line for ``robot-learning list tasks`` and error messages."""
    metrics: tuple[str, ...]
    """Per-episode metrics the environment reports in ``info['episodes']`` (besides
    ``env_ids``); ``success`` drives ADR and DORAEMON."""
    operator_input: OperatorInput = 'none'
    """What a deployed policy of this task takes from its operator."""
    deployable: bool = True
    """Whether a policy of this task is exported as a bundle and run by the policy node."""
    contract_entries: Callable[[Any], dict] = lambda config: {}
    """``fn(task config) -> dict`` of the task-specific policy-contract fields
    (``command_ranges``, ``motions``)."""


def _velocity_contract_entries(config: VelocityTaskConfig) -> dict:
    """Return the trained command ranges [m/s, m/s, rad/s]."""
    commands = config.commands
    return {'command_ranges': {'lin_vel_x': list(commands.lin_vel_x),
                               'lin_vel_y': list(commands.lin_vel_y),
                               'ang_vel_yaw': list(commands.ang_vel_yaw)}}


def _motion_contract_entries(config: MotionTaskConfig) -> dict:
    """Return the reference motions, in the order of the training library."""
    return {'motions': tuple(config.motions)}


TASKS: dict[str, TaskSpec] = {
    'velocity_tracking': TaskSpec(
        config_cls=VelocityTaskConfig, env_cls=VelocityTrackingEnv,
        description='legged base-velocity tracking (legged_gym / Isaac Lab style)',
        metrics=('success', 'speed_error', 'fell', 'complete'),
        operator_input='velocity_command', contract_entries=_velocity_contract_entries),
    'motion_tracking': TaskSpec(
        config_cls=MotionTaskConfig, env_cls=MotionTrackingEnv,
        description='whole-body reference-motion tracking (ASAP / DeepMimic style)',
        metrics=('success', 'fell', 'body_error', 'joint_error', 'motion_ids', 'complete'),
        operator_input='reference_motion', contract_entries=_motion_contract_entries),
}
"""Every registered task by name."""


def register_task(name: str, spec: TaskSpec) -> None:
    """Add ``spec`` under ``name``; a name registered twice with another spec is an error."""
    existing = TASKS.get(name)
    if existing is not None and existing != spec:
        raise ConfigError(f"task '{name}' is already registered ({existing.env_cls.__name__})")
    TASKS[name] = spec


def task_spec(name: str, where: str = 'task') -> TaskSpec:
    """Return the spec registered as ``name``; ConfigError lists the valid names."""
    try:
        return TASKS[name]
    except KeyError:
        raise ConfigError(f"{where}: '{name}' is not a registered task; valid: "
                          f"{', '.join(sorted(TASKS))}") from None


def task_name_of(config: object) -> str:
    """Return the registered name whose ``config_cls`` is the type of ``config``."""
    for name, spec in TASKS.items():
        if type(config) is spec.config_cls:
            return name
    raise ConfigError(f'{type(config).__name__} is the config of no registered task')
