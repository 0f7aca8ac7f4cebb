# SPDX-License-Identifier: Apache-2.0
"""Check a robot description in both engines: what ``robot-learning robot check`` reports.

The robot is loaded exactly as training and evaluation load it (``load_robot`` and the
``mujoco`` and ``pybullet`` backends with one world each), then held at its default pose by its
PD gains for a short while; the report lists its joints, masses and contact bodies and warns
about what loads but is likely wrong.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from robot_learning.robots.registry import load_robot
from robot_learning.robots.spec import RobotSpec
from robot_learning.sim.base import SimBackend, SimConfig, SimulationError
from robot_learning.sim.registry import make_backend

ENGINES = ('mujoco', 'pybullet')
"""The engines a robot must load in: the training default and the second ("real") engine."""
HOLD_SECONDS = 1.0
"""How long the default pose is held by PD control to see that the robot stays finite [s]."""
LIMIT_MARGIN = 0.02
"""Fraction of a joint's range: a default position closer than this to a limit is warned."""
MASS_TOLERANCE = 0.01
"""Relative difference of the engines' total masses above which a warning is given."""


@dataclasses.dataclass(frozen=True)
class EngineReport:
    """What one engine made of the robot."""

    engine: str
    """Backend name."""
    total_mass: float
    """Sum of the robot's link masses as the engine loaded them [kg]."""
    link_masses: dict[str, float]
    """Mass of each link or body [kg], in the engine's order."""
    base_height: float
    """Base height after holding the default pose for ``HOLD_SECONDS`` [m]."""
    contact_force: dict[str, float]
    """Normal contact force on each contact body at the end of the hold [N]."""


@dataclasses.dataclass(frozen=True)
class RobotReport:
    """A robot resolved against its URDF and loaded in every engine of ``ENGINES``."""

    spec: RobotSpec
    """The robot as training loads it."""
    engines: tuple[EngineReport, ...]
    """One report per engine of ``ENGINES``, in that order."""
    warnings: tuple[str, ...]
    """Things that load but are likely wrong, one sentence each."""


def check_robot(name_or_path: str, hold_seconds: float = HOLD_SECONDS) -> RobotReport:
    """Load ``name_or_path`` (registry name or robot YAML) in every engine and report on it.

    Raises:
        ConfigError: the YAML or URDF is refused (bad keys, continuous joints without limits,
            unbalanced inertias without ``balance_inertia``, ...), with the fix in the message.
        SimulationError: an engine cannot load the robot, or its state turns non-finite while
            the default pose is held.
    """
    spec = load_robot(name_or_path)
    engines = tuple(_engine_report(engine, spec, hold_seconds) for engine in ENGINES)
    return RobotReport(spec=spec, engines=engines, warnings=tuple(_warnings(spec, engines)))


def _engine_report(engine: str, spec: RobotSpec, hold_seconds: float) -> EngineReport:
    backend = make_backend(engine, spec, 1, SimConfig(num_threads=1))
    try:
        masses = _link_masses(backend)
        targets = spec.default_joint_pos[None, :]
        for _ in range(max(1, round(hold_seconds / backend.control_dt))):
            backend.step(targets)
        state = backend.get_state()
        if not state.is_finite().all():
            raise SimulationError(
                f"robot '{spec.name}': the {engine} state turned non-finite while PD control "
                'held the default pose; check the inertias, gains (kp, kd) and armature')
        return EngineReport(
            engine=engine, total_mass=float(sum(masses.values())), link_masses=masses,
            base_height=float(state.base_pos[0, 2]),
            contact_force={name: float(force) for name, force
                           in zip(spec.contact_bodies, state.contact_force[0])})
    finally:
        backend.close()


def _link_masses(backend: SimBackend) -> dict[str, float]:
    """Mass of every robot link [kg] as the backend's engine loaded it."""
    if hasattr(backend, 'nominal_model'):  # the MuJoCo backends
        model = backend.nominal_model
        return {model.body(int(body)).name: float(model.body_mass[body])
                for body in backend.layout.robot_bodies}
    import pybullet
    client, body = backend.clients[0], backend.bodies[0]
    masses = {pybullet.getBodyInfo(body, physicsClientId=client)[0].decode():
              pybullet.getDynamicsInfo(body, -1, physicsClientId=client)[0]}
    for joint in range(pybullet.getNumJoints(body, physicsClientId=client)):
        name = pybullet.getJointInfo(body, joint, physicsClientId=client)[12].decode()
        masses[name] = pybullet.getDynamicsInfo(body, joint, physicsClientId=client)[0]
    return masses


def _warnings(spec: RobotSpec, engines: tuple[EngineReport, ...]) -> list[str]:
    warnings = []
    span = spec.position_upper - spec.position_lower
    near = np.minimum(spec.default_joint_pos - spec.position_lower,
                      spec.position_upper - spec.default_joint_pos) < LIMIT_MARGIN * span
    for index in np.flatnonzero(near):
        warnings.append(
            f'default position of {spec.joint_names[index]} '
            f'({spec.default_joint_pos[index]:.3f}) is within {LIMIT_MARGIN:.0%} of its range '
            f'[{spec.position_lower[index]:.3f}, {spec.position_upper[index]:.3f}] from a limit')
    mujoco_report = engines[0]
    massless = [name for name, mass in mujoco_report.link_masses.items()
                if mass <= 0.0 and (spec.floating_base or name != spec.base_link)]
    if massless:
        warnings.append(f"moving links without mass in MuJoCo: {', '.join(massless)}")
    # PyBullet reports a fixed base as massless: compare the moving links only.
    totals = [report.total_mass - (0.0 if spec.floating_base
                                   else report.link_masses.get(spec.base_link, 0.0))
              for report in engines]
    if max(totals) - min(totals) > MASS_TOLERANCE * max(totals):
        warnings.append('the engines load different masses of the moving links: ' + ', '.join(
            f'{report.engine} {total:.3f} kg' for report, total in zip(engines, totals)))
    if spec.floating_base:
        for report in engines:
            if report.base_height < 0.5 * spec.init_base_height:
                warnings.append(
                    f'{report.engine}: the base sank from {spec.init_base_height:.3f} m to '
                    f'{report.base_height:.3f} m while holding the default pose (too weak '
                    'gains, a default pose that does not stand, or a fall)')
            touching = [name for name, force in report.contact_force.items() if force > 0.0]
            if not touching:
                warnings.append(f'{report.engine}: no contact body touches the ground while '
                                'holding the default pose (contact_bodies, contact_radius)')
    return warnings
