# SPDX-License-Identifier: Apache-2.0
"""Backend registry: one plain dict ``name -> factory``.

Each factory imports its engine when called, so an unused optional engine (MuJoCo Warp,
PyBullet) is never imported: listing or validating names costs nothing.
"""

from __future__ import annotations

from typing import Callable

from robot_learning.config import ConfigError
from robot_learning.robots.spec import RobotSpec
from robot_learning.sim.base import SimBackend, SimConfig

BackendFactory = Callable[[RobotSpec, int, SimConfig], SimBackend]
"""``factory(robot, num_envs, config) -> SimBackend``."""


def _mujoco(robot: RobotSpec, num_envs: int, config: SimConfig) -> SimBackend:
    from robot_learning.sim.mujoco_backend import MujocoBackend
    return MujocoBackend(robot, num_envs, config)


def _pybullet(robot: RobotSpec, num_envs: int, config: SimConfig) -> SimBackend:
    from robot_learning.sim.pybullet_backend import PybulletBackend
    return PybulletBackend(robot, num_envs, config)


def _mujoco_warp(robot: RobotSpec, num_envs: int, config: SimConfig) -> SimBackend:
    from robot_learning.sim.mujoco_warp_backend import MujocoWarpBackend
    return MujocoWarpBackend(robot, num_envs, config)


def _mujoco_warp_cpu(robot: RobotSpec, num_envs: int, config: SimConfig) -> SimBackend:
    from robot_learning.sim.mujoco_warp_backend import MujocoWarpCpuBackend
    return MujocoWarpCpuBackend(robot, num_envs, config)


BACKENDS: dict[str, BackendFactory] = {
    'mujoco': _mujoco,
    'pybullet': _pybullet,
    'mujoco_warp': _mujoco_warp,
    'mujoco_warp_cpu': _mujoco_warp_cpu,
}
"""Every simulation backend by name: the CPU default, the second engine, MuJoCo Warp on the GPU
and MuJoCo Warp on Warp's CPU device (how CI tests the GPU backend)."""


def make_backend(name: str, robot: RobotSpec, num_envs: int,
                 config: SimConfig | None = None) -> SimBackend:
    """Construct backend ``name`` for ``num_envs`` copies of ``robot``.

    Raises:
        ConfigError: unknown backend name (the message lists the valid names).
    """
    try:
        factory = BACKENDS[name]
    except KeyError:
        raise ConfigError(f"unknown simulation backend '{name}'; valid: "
                          f"{', '.join(BACKENDS)}") from None
    return factory(robot, num_envs, config or SimConfig())
