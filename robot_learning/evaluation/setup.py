# SPDX-License-Identifier: Apache-2.0
"""What every bundle evaluation shares: its config, the simulated robot and world, the report.

Every evaluation simulates the robot the contract was trained on with the contract's own policy
interface (gains, limits, action scale, default pose: ``PolicyContract.robot_for_simulation``),
so a wrong contract evaluates as wrong.
"""

from __future__ import annotations

import dataclasses
import json
import pathlib

from robot_learning.atomic_write import atomic_write_text
from robot_learning.config import ConfigError
from robot_learning.policies.contract import PolicyContract
from robot_learning.robots.registry import load_robot
from robot_learning.robots.spec import RobotSpec
from robot_learning.sim.base import SimConfig
from robot_learning.sim.reality import load_reality


@dataclasses.dataclass(frozen=True)
class EvaluationConfig:
    """One evaluation run of a bundle; task-specific fields are ignored by other tasks."""

    backend: str = 'mujoco'
    """Simulation backend ('mujoco', 'pybullet', ...)."""
    reality: str = ''
    """Reality config (``config/reality/``) to evaluate on; replaces ``backend`` and the physics
    settings, and its dynamics are applied under ``dynamics``."""
    dynamics: dict = dataclasses.field(default_factory=dict)
    """Dynamics parameter values for every environment (name -> value)."""
    seed: int = 0
    """Seed of the simulation and reset states."""
    num_envs: int = 16
    """Velocity tracking: environments, one episode each."""
    episode_length_s: float = 20.0
    """Velocity tracking: episode length [s]."""
    command: tuple[float, float, float] = (0.5, 0.0, 0.0)
    """Velocity tracking: (vx [m/s], vy [m/s], yaw rate [rad/s])."""
    warmup_s: float = 1.0
    """Velocity tracking: time excluded from ``lin_vel_error`` while the robot accelerates [s]."""
    motions: tuple[str, ...] = ()
    """Motion tracking: names of the bundle's motions to play (default: all of them)."""

    def __post_init__(self) -> None:
        """Refuse values no evaluation can run with."""
        if self.num_envs < 1:
            raise ConfigError(f'evaluation: num_envs must be at least 1, got {self.num_envs}')
        if not self.episode_length_s > 0:
            raise ConfigError(f'evaluation: episode_length_s must be positive, got '
                              f'{self.episode_length_s}')


@dataclasses.dataclass(frozen=True)
class SimulationSetup:
    """Where an evaluation runs: backend, physics settings and fixed dynamics."""

    backend: str
    """Simulation backend name."""
    sim: SimConfig
    """Physics timing (the contract's sim_dt and decimation unless a reality gives its own)."""
    dynamics: dict
    """Fixed dynamics parameter values (reality's, then the config's)."""


def simulation_robot(contract: PolicyContract) -> RobotSpec:
    """Return the simulated robot model of ``contract`` with the contract's policy interface."""
    return contract.robot_for_simulation(load_robot(contract.robot))


def simulation_setup(contract: PolicyContract, config: EvaluationConfig) -> SimulationSetup:
    """Backend, physics and dynamics of an evaluation of ``contract`` with ``config``."""
    decimation = int(round(contract.control_dt / contract.sim_dt))
    sim = SimConfig(sim_dt=contract.sim_dt, decimation=decimation, seed=config.seed)
    setup = SimulationSetup(config.backend, sim, dict(config.dynamics))
    if config.reality:
        reality = load_reality(config.reality)
        if reality.robot != contract.robot:
            raise ConfigError(f"reality '{config.reality}' plays robot '{reality.robot}', the "
                              f"bundle drives '{contract.robot}'")
        setup = SimulationSetup(reality.backend, reality.sim,
                                {**reality.dynamics, **config.dynamics})
    return setup


def write_report(report: dict, path: str | pathlib.Path) -> pathlib.Path:
    """Write the JSON report atomically."""
    return atomic_write_text(path, json.dumps(report, indent=2))
