# SPDX-License-Identifier: Apache-2.0
"""Reality configs: simulated "real robots" for sim-to-sim transfer (``config/reality/``).

A reality is one robot in one engine with fixed, documented dynamics parameters
(``robot_learning.sim.dynamics``): the robot a trained policy is deployed on when there is no
hardware. The sim bridge node publishes it like a robot driver; evaluations step it directly.
"""

from __future__ import annotations

import dataclasses
import numbers
import pathlib
import typing

import numpy as np

from robot_learning.config import apply_overrides, ConfigError, from_dict, load_yaml
from robot_learning.paths import share_dir
from robot_learning.robots.registry import load_robot
from robot_learning.sim.base import SimBackend, SimConfig
from robot_learning.sim.dynamics import check_values
from robot_learning.sim.registry import BACKENDS, make_backend


@dataclasses.dataclass(frozen=True)
class RealityConfig:
    """The YAML form of a reality (``config/reality/<name>.yaml``)."""

    name: str
    """Registry name; by convention the file's stem."""
    robot: str
    """Robot registry name (``config/robots/``) or the path of a robot YAML file."""
    backend: str
    """Simulation engine, a key of ``robot_learning.sim.registry.BACKENDS``."""
    description: str = ''
    """One line for humans: what physical robot this stands for."""
    sim: SimConfig = dataclasses.field(default_factory=SimConfig)
    """Physics step and decimation (control period = sim_dt * decimation [s]) and engine
    options."""
    dynamics: dict[str, float] = dataclasses.field(default_factory=dict)
    """Dynamics parameter name -> value in the parameter's unit; unnamed parameters stay at
    their nominal values."""

    def __post_init__(self) -> None:
        where = f"reality '{self.name}'"
        if self.backend not in BACKENDS:
            raise ConfigError(f"{where}: unknown backend '{self.backend}'; valid: "
                              f"{', '.join(BACKENDS)}")
        if not isinstance(self.dynamics, typing.Mapping):
            raise ConfigError(f'{where}: dynamics must be a mapping of parameter name to '
                              f'value, got {self.dynamics!r}')
        for name, value in self.dynamics.items():
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise ConfigError(f'{where}: dynamics.{name} must be a number, got {value!r}')
        check_values(self.dynamics, where=f'{where} dynamics')

    @property
    def control_dt(self) -> float:
        """Control period [s]: one backend step."""
        return self.sim.sim_dt * self.sim.decimation


def reality_dir() -> pathlib.Path:
    """Return the folder of the reality YAML files."""
    return share_dir() / 'config' / 'reality'


def available_realities() -> list[str]:
    """Return the names of the shipped realities, sorted."""
    return sorted(path.stem for path in reality_dir().glob('*.yaml'))


def load_reality(name_or_path: str | pathlib.Path,
                 overrides: typing.Iterable[str] = ()) -> RealityConfig:
    """Load a reality by name (``config/reality/<name>.yaml``) or by the path of a YAML file.

    Args:
        name_or_path: a shipped reality's name, or a path ending in ``.yaml`` / ``.yml``.
        overrides: dotted ``key=value`` overrides, e.g. ``dynamics.motor_strength=0.7``.

    Returns:
        The checked config: known keys, a known backend, known and in-range dynamics values.

    Raises:
        ConfigError: unknown name (the message lists the shipped realities), missing file,
            unknown keys or dynamics parameters, or values of the wrong type or out of range.
    """
    path = pathlib.Path(name_or_path)
    if path.suffix not in ('.yaml', '.yml'):
        path = reality_dir() / f'{name_or_path}.yaml'
        if not path.is_file():
            raise ConfigError(f"unknown reality '{name_or_path}'; available realities: "
                              f"{', '.join(available_realities())}")
    data = apply_overrides(load_yaml(path), overrides)
    try:
        return from_dict(RealityConfig, data)
    except ConfigError as error:
        raise ConfigError(f'{path}: {error}') from error


def make_reality_backend(config: RealityConfig) -> SimBackend:
    """Build a one-environment backend of the reality, its dynamics applied, at the default pose.

    Raises:
        ConfigError: unknown robot.
        SimulationError: the engine cannot load the robot.
    """
    robot = load_robot(config.robot)
    backend = make_backend(config.backend, robot, 1, config.sim)
    env_ids = np.arange(1)
    if config.dynamics:
        backend.set_dynamics(env_ids, dict(config.dynamics))
    backend.reset(env_ids)
    return backend
