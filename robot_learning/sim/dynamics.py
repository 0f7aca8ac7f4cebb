# SPDX-License-Identifier: Apache-2.0
"""Named, unit-documented dynamics parameters that every backend sets per environment.

Domain randomization, impedance matching, system identification and the reality configs all
speak these names. A backend holds one value per parameter per environment
(``DynamicsBatch``: name -> array of shape (num_envs,)).
"""

from __future__ import annotations

import dataclasses
from typing import Mapping

import numpy as np

from robot_learning.config import ConfigError


@dataclasses.dataclass(frozen=True)
class DynamicsParameter:
    """One named dynamics parameter."""

    name: str
    unit: str
    nominal: float
    """Value that leaves the robot description unchanged."""
    lower: float
    """Smallest physically meaningful value."""
    upper: float
    """Largest value a backend accepts."""
    doc: str


PARAMETERS: dict[str, DynamicsParameter] = {p.name: p for p in (
    DynamicsParameter('link_mass_scale', '-', 1.0, 0.1, 10.0,
                      'Scale of every link mass and inertia (*).'),
    DynamicsParameter('added_base_mass', 'kg', 0.0, -50.0, 100.0,
                      'Mass added to the base link, e.g. a payload (+).'),
    DynamicsParameter('base_com_offset_x', 'm', 0.0, -0.5, 0.5,
                      'Shift of the base centre of mass along the base x axis (+).'),
    DynamicsParameter('base_com_offset_y', 'm', 0.0, -0.5, 0.5,
                      'Shift of the base centre of mass along the base y axis (+).'),
    DynamicsParameter('base_com_offset_z', 'm', 0.0, -0.5, 0.5,
                      'Shift of the base centre of mass along the base z axis (+).'),
    DynamicsParameter('ground_friction', '-', 1.0, 0.0, 5.0,
                      'Sliding friction coefficient of robot-ground contacts (=).'),
    DynamicsParameter('joint_damping', 'N·m·s/rad', 0.0, 0.0, 100.0,
                      'Viscous damping added to every actuated joint (=).'),
    DynamicsParameter('armature_scale', '-', 1.0, 0.0, 100.0,
                      "Scale of the robot's rotor armature (*)."),
    DynamicsParameter('friction_loss', 'N·m', 0.0, 0.0, 100.0,
                      'Coulomb (dry) friction torque of every actuated joint (=).'),
    DynamicsParameter('kp_scale', '-', 1.0, 0.0, 10.0,
                      'Scale of the PD stiffness (*).'),
    DynamicsParameter('kd_scale', '-', 1.0, 0.0, 10.0,
                      'Scale of the PD damping (*).'),
    DynamicsParameter('motor_strength', '-', 1.0, 0.0, 10.0,
                      'Scale of the PD torque before the effort limit (*).'),
    DynamicsParameter('action_latency', 's', 0.0, 0.0, 0.2,
                      'Delay from a new joint target to the PD loop, at physics-step resolution.'),
    DynamicsParameter('joint_position_noise', 'rad', 0.0, 0.0, 1.0,
                      'Std of Gaussian noise on measured joint positions.'),
    DynamicsParameter('joint_velocity_noise', 'rad/s', 0.0, 0.0, 10.0,
                      'Std of Gaussian noise on measured joint velocities.'),
    DynamicsParameter('imu_noise', 'rad/s', 0.0, 0.0, 10.0,
                      'Std of Gaussian noise on the measured base angular velocity.'),
    DynamicsParameter('push_velocity', 'm/s', 0.0, 0.0, 5.0,
                      'Largest horizontal base velocity kick of a push, U(-v, v) per axis.'),
    DynamicsParameter('push_interval', 's', 0.0, 0.0, 1000.0,
                      'Time between pushes; 0 disables pushes.'),
)}

DynamicsBatch = dict[str, np.ndarray]
"""Parameter name -> per-environment values, shape (num_envs,)."""


def nominal_batch(num_envs: int) -> DynamicsBatch:
    """Every parameter at its nominal value for ``num_envs`` environments."""
    return {name: np.full(num_envs, param.nominal) for name, param in PARAMETERS.items()}


def check_values(values: Mapping[str, np.ndarray | float], where: str = 'dynamics') -> None:
    """Reject unknown names, non-finite values and values outside a parameter's bounds."""
    for name, value in values.items():
        if name not in PARAMETERS:
            raise ConfigError(f"{where}: unknown dynamics parameter '{name}'; valid: "
                              f"{', '.join(PARAMETERS)}")
        array = np.asarray(value, dtype=float)
        param = PARAMETERS[name]
        if not np.all(np.isfinite(array)):
            raise ConfigError(f'{where}: {name} has non-finite values')
        if np.any(array < param.lower) or np.any(array > param.upper):
            raise ConfigError(f'{where}: {name} = {array.min():g}..{array.max():g} {param.unit} '
                              f'is outside [{param.lower:g}, {param.upper:g}]')


def latency_substeps(latency: np.ndarray, sim_dt: float) -> np.ndarray:
    """Convert action latency [s] to whole physics steps (rounded), shape as ``latency``."""
    return np.rint(np.asarray(latency) / sim_dt).astype(np.int64)
