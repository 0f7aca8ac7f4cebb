# SPDX-License-Identifier: Apache-2.0
"""RobotSpec: the one source of truth for a robot's joints, limits, gains and assets."""

from __future__ import annotations

import dataclasses
import pathlib
import re
from typing import Any, Literal

import numpy as np

from robot_learning.config import ConfigError, from_dict
from robot_learning.paths import resolve_asset
from robot_learning.robots.urdf_info import read_urdf, UrdfInfo
from robot_learning.robots.xacro_urdf import expand_xacro, is_xacro

RobotClass = Literal['quadruped', 'humanoid', 'arm']


@dataclasses.dataclass(frozen=True)
class RobotConfig:
    """The YAML form of a robot (``config/robots/<name>.yaml``).

    Per-joint quantities (``default_joint_pos``, ``kp``, ``kd``, ``action_scale``, ``armature``
    and the limit overrides) accept a number (all joints), a list in ``joint_names`` order, or a
    mapping from regular expression to number (first pattern that matches a joint name wins;
    every joint must match one).
    """

    name: str
    """Registry name of the robot."""
    robot_class: str
    """'quadruped', 'humanoid' or 'arm'."""
    urdf: str
    """URDF path: relative to the package share folder, absolute, or 'pybullet_data:<rel>'; a
    ``.xacro`` file (``robot.urdf.xacro``) is expanded with xacro first."""
    joint_names: tuple[str, ...]
    """Actuated joints in policy/action order."""
    default_joint_pos: Any
    """Default (standing / home) joint positions [rad]."""
    kp: Any
    """PD stiffness [N·m/rad]."""
    kd: Any
    """PD damping [N·m·s/rad]."""
    action_scale: Any = 0.25
    """Policy action to joint-target offset scale [rad per unit action]."""
    armature: Any = 0.0
    """Rotor inertia reflected to the joint [kg·m²]."""
    base_link: str = ''
    """Root link of the kinematic tree; empty means the URDF's root link."""
    floating_base: bool = True
    """True for legged robots (6-DoF free base), False for arms bolted to the world."""
    init_base_height: float = 0.0
    """Height of the base link origin at reset; a fixed base is bolted at this height [m]."""
    contact_bodies: tuple[str, ...] = ()
    """Links whose ground contact is sensed: feet, or the end effector / tool of an arm."""
    contact_radius: float = 0.03
    """Radius of the contact-sensing zone around each contact body origin [m]."""
    position_lower: Any = None
    """Override of the URDF lower position limits [rad]."""
    position_upper: Any = None
    """Override of the URDF upper position limits [rad]."""
    velocity_limit: Any = None
    """Override of the URDF velocity limits [rad/s]."""
    effort_limit: Any = None
    """Override of the URDF effort limits [N·m]."""
    balance_inertia: bool = False
    """Let MuJoCo repair link inertias that break the triangle inequality (A + B >= C): its
    compiler option ``balanceinertia``. Some third-party URDFs (e.g. pybullet_data's Mini
    Cheetah) need it; PyBullet loads such inertias as they are."""
    description: str = ''
    """One line for humans."""


@dataclasses.dataclass(frozen=True, eq=False)
class RobotSpec:
    """A robot resolved against its URDF: every per-joint array is in ``joint_names`` order.

    All arrays have shape (num_joints,).
    """

    name: str
    robot_class: RobotClass
    urdf_path: pathlib.Path
    base_link: str
    floating_base: bool
    joint_names: tuple[str, ...]
    default_joint_pos: np.ndarray
    """[rad]"""
    kp: np.ndarray
    """[N·m/rad]"""
    kd: np.ndarray
    """[N·m·s/rad]"""
    action_scale: np.ndarray
    """[rad per unit action]"""
    armature: np.ndarray
    """[kg·m²]"""
    position_lower: np.ndarray
    """[rad]"""
    position_upper: np.ndarray
    """[rad]"""
    velocity_limit: np.ndarray
    """[rad/s]"""
    effort_limit: np.ndarray
    """[N·m]"""
    init_base_height: float
    """[m]"""
    contact_bodies: tuple[str, ...]
    contact_radius: float
    """[m]"""
    total_mass: float
    """[kg], from the URDF."""
    description: str = ''
    balance_inertia: bool = False
    """MuJoCo's ``balanceinertia`` compiler option (see RobotConfig.balance_inertia)."""

    @property
    def num_joints(self) -> int:
        """Number of actuated joints."""
        return len(self.joint_names)

    def joint_index(self, name: str) -> int:
        """Index of joint ``name`` in the spec's order; ConfigError lists the valid names."""
        try:
            return self.joint_names.index(name)
        except ValueError:
            raise ConfigError(f"unknown joint '{name}' for robot '{self.name}'; valid joints: "
                              f"{', '.join(self.joint_names)}") from None

    def joint_indices(self, pattern: str) -> np.ndarray:
        """Return the indices of the joints whose names match the regex ``pattern``."""
        indices = [i for i, name in enumerate(self.joint_names) if re.search(pattern, name)]
        if not indices:
            raise ConfigError(f"no joint of robot '{self.name}' matches '{pattern}'; joints: "
                              f"{', '.join(self.joint_names)}")
        return np.asarray(indices)


def per_joint(value: Any, joint_names: tuple[str, ...], key: str) -> np.ndarray:
    """Expand a number, list or {regex: number} mapping to an array in joint order."""
    count = len(joint_names)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return np.full(count, float(value))
    if isinstance(value, (list, tuple)):
        if len(value) != count:
            raise ConfigError(f'{key}: has {len(value)} values but the robot has {count} joints')
        return np.asarray(value, dtype=float)
    if isinstance(value, dict):
        result = np.empty(count)
        for i, name in enumerate(joint_names):
            for pattern, number in value.items():
                if re.search(str(pattern), name):
                    result[i] = float(number)
                    break
            else:
                raise ConfigError(f"{key}: no pattern matches joint '{name}'; patterns: "
                                  f"{', '.join(map(str, value))}")
        return result
    raise ConfigError(f'{key}: expected a number, a list or a mapping, got {value!r}')


def build_spec(config: RobotConfig) -> RobotSpec:
    """Resolve a RobotConfig against its URDF; unknown joints or links raise ConfigError."""
    if config.robot_class not in ('quadruped', 'humanoid', 'arm'):
        raise ConfigError(f"robot '{config.name}': robot_class '{config.robot_class}' is not one "
                          'of quadruped, humanoid, arm')
    urdf = resolve_asset(config.urdf)
    if is_xacro(urdf):
        urdf = expand_xacro(urdf)
    info: UrdfInfo = read_urdf(urdf)
    names = tuple(config.joint_names)
    if len(set(names)) != len(names):
        raise ConfigError(f"robot '{config.name}': joint_names has duplicates")
    joints = []
    for name in names:
        try:
            joints.append(info.joint(name))
        except ValueError as error:
            raise ConfigError(f"robot '{config.name}': {error}") from None
    base_link = config.base_link or info.root_link()
    for link in (base_link, *config.contact_bodies):
        if link not in info.links:
            raise ConfigError(f"robot '{config.name}': link '{link}' is not in {info.path}; "
                              f"links: {', '.join(info.links)}")

    def limit(override: Any, attribute: str, key: str) -> np.ndarray:
        if override is not None:
            return per_joint(override, names, key)
        return np.array([getattr(joint, attribute) for joint in joints])

    spec = RobotSpec(
        name=config.name, robot_class=config.robot_class, urdf_path=info.path,
        base_link=base_link, floating_base=config.floating_base, joint_names=names,
        default_joint_pos=per_joint(config.default_joint_pos, names, 'default_joint_pos'),
        kp=per_joint(config.kp, names, 'kp'), kd=per_joint(config.kd, names, 'kd'),
        action_scale=per_joint(config.action_scale, names, 'action_scale'),
        armature=per_joint(config.armature, names, 'armature'),
        position_lower=limit(config.position_lower, 'lower', 'position_lower'),
        position_upper=limit(config.position_upper, 'upper', 'position_upper'),
        velocity_limit=limit(config.velocity_limit, 'velocity', 'velocity_limit'),
        effort_limit=limit(config.effort_limit, 'effort', 'effort_limit'),
        init_base_height=config.init_base_height, contact_bodies=tuple(config.contact_bodies),
        contact_radius=config.contact_radius, total_mass=info.total_mass,
        description=config.description, balance_inertia=config.balance_inertia)
    _check_limits(spec, config)
    outside = [name for name, q, lo, hi in zip(names, spec.default_joint_pos,
                                               spec.position_lower, spec.position_upper)
               if not lo <= q <= hi]
    if outside:
        raise ConfigError(f"robot '{config.name}': default_joint_pos outside the joint limits "
                          f"for {', '.join(outside)}")
    return spec


def _check_limits(spec: RobotSpec, config: RobotConfig) -> None:
    """Refuse joint limits that a simulator or a policy cannot use, naming the joints.

    Continuous URDF joints have no position limits, and URDFs often leave out (or zero) the
    velocity and effort limits; the YAML's overrides must then give finite values. Infinite
    limits would otherwise pass silently into the tasks (``(lower + upper) / 2`` is NaN).

    Raises:
        ConfigError: a non-finite or empty position range, or a velocity or effort limit that
            is not a finite number > 0.
    """
    names = np.asarray(spec.joint_names)
    where = f"robot '{spec.name}' ({config.urdf})"
    unbounded = ~(np.isfinite(spec.position_lower) & np.isfinite(spec.position_upper))
    if unbounded.any():
        raise ConfigError(
            f"{where}: joints {', '.join(names[unbounded])} have no finite position limits "
            '(continuous joints, or a URDF <limit> without lower/upper); give position_lower '
            'and position_upper in the robot YAML, e.g. position_lower: {hip: -0.8, '
            'thigh: -1.0, knee: -2.6}')
    empty = spec.position_lower >= spec.position_upper
    if empty.any():
        raise ConfigError(f'{where}: position_lower >= position_upper for joints '
                          f"{', '.join(names[empty])}")
    for key, values in (('velocity_limit', spec.velocity_limit),
                        ('effort_limit', spec.effort_limit)):
        bad = ~(np.isfinite(values) & (values > 0.0))
        if bad.any():
            raise ConfigError(
                f"{where}: joints {', '.join(names[bad])} have no finite {key} > 0 (the URDF's "
                f'<limit> gives none, zero or infinity); give {key} in the robot YAML '
                f'(a number, a list, or a {{regex: number}} mapping)')


def spec_from_dict(data: dict, where: str = '') -> RobotSpec:
    """Build a RobotSpec from a YAML mapping (strict keys)."""
    return build_spec(from_dict(RobotConfig, data, where))
