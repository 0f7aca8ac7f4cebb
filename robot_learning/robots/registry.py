# SPDX-License-Identifier: Apache-2.0
"""Robot registry: one YAML file per robot in ``config/robots/``."""

from __future__ import annotations

import functools
import pathlib

from robot_learning.config import ConfigError, load_yaml
from robot_learning.paths import share_dir
from robot_learning.robots.spec import RobotSpec, spec_from_dict


def robots_dir() -> pathlib.Path:
    """Folder of the robot YAML files."""
    return share_dir() / 'config' / 'robots'


def available_robots() -> list[str]:
    """Names of the registered robots, sorted."""
    return sorted(path.stem for path in robots_dir().glob('*.yaml'))


@functools.lru_cache(maxsize=None)
def load_robot(name_or_path: str) -> RobotSpec:
    """Load a robot by registry name or by the path of a robot YAML file.

    Raises:
        ConfigError: unknown name (the message lists the registered robots), bad keys, or
            joints/links that the URDF does not have.
    """
    path = pathlib.Path(name_or_path)
    if path.suffix in ('.yaml', '.yml'):
        return spec_from_dict(load_yaml(path), str(path))
    candidate = robots_dir() / f'{name_or_path}.yaml'
    if not candidate.is_file():
        raise ConfigError(f"unknown robot '{name_or_path}'; registered robots: "
                          f"{', '.join(available_robots())}")
    return spec_from_dict(load_yaml(candidate), str(candidate))
