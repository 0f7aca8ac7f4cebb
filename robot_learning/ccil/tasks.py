# SPDX-License-Identifier: Apache-2.0
"""Evaluation tasks for CCIL: a batched environment with an expert, a score and perturbations.

A task exposes the state the policy sees (S,), the action it sends (A,), a per-step reward,
failure, and an ``expert``; :class:`Perturbation` describes what the evaluation adds:
Gaussian observation noise (``observation_noise`` x the task's per-dimension noise scale),
Gaussian action noise (``action_noise`` x the task's action noise scale) and pushes. Tasks:

- ``quadruped_velocity``: the project quadruped tracking a forward speed command; expert =
  the shipped PPO bundle ``policies/quadruped_flat`` through ``policies/runtime.py``;
- ``arm_reach``: the project 7-DoF arm reaching a random goal; expert = scripted
  operational-space (resolved-rate) controller;
- ``humanoid_balance``: the project humanoid standing under pushes; expert = scripted
  ankle-strategy balance controller;
- ``pendulum_swingup``: a torque-limited pendulum from an MJCF string (no registered robot),
  swing-up and balance; expert = scripted energy pumping blended into PD balance. The
  reproduction task: smooth, 3-D, where the CCIL reference reports gains.
"""

from __future__ import annotations

import abc
import dataclasses
from typing import Callable

import numpy as np

from robot_learning.config import ConfigError


@dataclasses.dataclass(frozen=True)
class Perturbation:
    """Disturbances applied during a rollout."""

    observation_noise: float = 0.0
    """Multiplier of the task's observation noise scale (Gaussian std)."""
    action_noise: float = 0.0
    """Multiplier of the task's action noise scale (Gaussian std)."""
    push_velocity: float = 0.0
    """Largest velocity kick of a push, U(-v, v) per axis [m/s] (arm: per joint [rad/s])."""
    push_interval: float = 0.0
    """Time between pushes [s]; 0 disables pushes."""


class Task(abc.ABC):
    """``num_envs`` copies of one task; every call works on all of them at once."""

    name: str = ''
    robot: str = ''
    score_name: str = ''
    """What ``score`` means, for reports."""
    episode_s: float = 0.0
    """Episode duration [s]."""

    def __init__(self, num_envs: int, seed: int = 0,
                 perturbation: Perturbation = Perturbation()) -> None:
        self.num_envs = num_envs
        self.seed = seed
        self.perturbation = perturbation
        self.rng = np.random.default_rng(seed)

    @property
    @abc.abstractmethod
    def control_dt(self) -> float:
        """Control period [s]."""

    @property
    def episode_steps(self) -> int:
        """Control steps per episode."""
        return int(round(self.episode_s / self.control_dt))

    @property
    @abc.abstractmethod
    def observation_noise_scale(self) -> np.ndarray:
        """(S,) Gaussian std per state dimension at ``observation_noise = 1``."""

    @property
    @abc.abstractmethod
    def action_noise_scale(self) -> np.ndarray:
        """(A,) Gaussian std per action dimension at ``action_noise = 1``."""

    @abc.abstractmethod
    def reset(self) -> np.ndarray:
        """Start new episodes; return the states (N, S)."""

    @abc.abstractmethod
    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Apply actions (N, A); return (states (N, S), rewards (N,), failed (N,) bool)."""

    @abc.abstractmethod
    def expert(self, states: np.ndarray) -> np.ndarray:
        """Return the expert's actions (N, A) for clean states (N, S)."""

    def score(self, returns: np.ndarray, final_states: np.ndarray,
              failed: np.ndarray) -> np.ndarray:
        """Map the summed rewards (N,) to per-episode scores (default: unchanged)."""
        return returns

    def close(self) -> None:
        """Release the simulator."""

    def observe(self, states: np.ndarray) -> np.ndarray:
        """Return the states as the policy sees them (observation noise added)."""
        level = self.perturbation.observation_noise
        if level <= 0:
            return states
        return states + self.rng.normal(size=states.shape) * level * self.observation_noise_scale

    def disturb(self, actions: np.ndarray) -> np.ndarray:
        """Return the actions as the robot receives them (action noise added)."""
        level = self.perturbation.action_noise
        if level <= 0:
            return actions
        return actions + self.rng.normal(size=actions.shape) * level * self.action_noise_scale


def _quadruped_velocity(num_envs: int, seed: int, perturbation: Perturbation) -> Task:
    from robot_learning.ccil.quadruped_velocity import QuadrupedVelocityTask
    return QuadrupedVelocityTask(num_envs, seed, perturbation)


def _arm_reach(num_envs: int, seed: int, perturbation: Perturbation) -> Task:
    from robot_learning.ccil.arm_reach import ArmReachTask
    return ArmReachTask(num_envs, seed, perturbation)


def _humanoid_balance(num_envs: int, seed: int, perturbation: Perturbation) -> Task:
    from robot_learning.ccil.humanoid_balance import HumanoidBalanceTask
    return HumanoidBalanceTask(num_envs, seed, perturbation)


def _pendulum_swingup(num_envs: int, seed: int, perturbation: Perturbation) -> Task:
    from robot_learning.ccil.pendulum_swingup import PendulumSwingupTask
    return PendulumSwingupTask(num_envs, seed, perturbation)


TASKS: dict[str, Callable[[int, int, Perturbation], Task]] = {
    'quadruped_velocity': _quadruped_velocity,
    'arm_reach': _arm_reach,
    'humanoid_balance': _humanoid_balance,
    'pendulum_swingup': _pendulum_swingup,
}
"""Every CCIL task by name: ``factory(num_envs, seed, perturbation) -> Task``. Each factory
imports its module when called (the task modules import this one for :class:`Task`, and the
quadruped's expert loads onnxruntime)."""


def make_task(name: str, num_envs: int, seed: int = 0,
              perturbation: Perturbation = Perturbation()) -> Task:
    """Build a registered task; ConfigError lists the valid names."""
    try:
        factory = TASKS[name]
    except KeyError:
        raise ConfigError(f"unknown CCIL task '{name}'; valid: {', '.join(TASKS)}") from None
    return factory(num_envs, seed, perturbation)


def observation_noise_of(name: str) -> np.ndarray:
    """Return a registered task's observation noise scale (S,) (builds and closes the task)."""
    task = make_task(name, 1)
    try:
        return task.observation_noise_scale.copy()
    finally:
        task.close()
