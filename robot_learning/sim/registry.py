# SPDX-License-Identifier: Apache-2.0
"""Backend registry: name -> constructor, imported lazily so unused engines are not loaded."""

from __future__ import annotations

import importlib

from robot_learning.config import ConfigError
from robot_learning.robots.spec import RobotSpec
from robot_learning.sim.base import SimBackend, SimConfig

BACKENDS = {
    'mujoco': 'robot_learning.sim.mujoco_backend:MujocoBackend',
    'pybullet': 'robot_learning.sim.pybullet_backend:PybulletBackend',
    'mujoco_warp': 'robot_learning.sim.mujoco_warp_backend:MujocoWarpBackend',
    'mujoco_warp_cpu': 'robot_learning.sim.mujoco_warp_backend:MujocoWarpCpuBackend',
}
"""Backend name -> 'module:Class'."""


def make_backend(name: str, robot: RobotSpec, num_envs: int,
                 config: SimConfig | None = None) -> SimBackend:
    """Construct backend ``name`` for ``num_envs`` copies of ``robot``.

    Raises:
        ConfigError: unknown backend name (the message lists the valid names).
    """
    if name not in BACKENDS:
        raise ConfigError(f"unknown simulation backend '{name}'; valid: {', '.join(BACKENDS)}")
    module_name, class_name = BACKENDS[name].split(':')
    backend_class = getattr(importlib.import_module(module_name), class_name)
    return backend_class(robot, num_envs, config or SimConfig())
