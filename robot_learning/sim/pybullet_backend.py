# SPDX-License-Identifier: Apache-2.0
"""The PyBullet backend: the second engine, for sim-to-sim "reality" and cross-engine evaluation.

Model
    Every environment is its own PyBullet physics server in DIRECT mode (one client id per
    environment), so environments never interact and each can carry its own dynamics. A world
    holds the robot, loaded from its URDF with ``URDF_USE_INERTIA_FROM_FILE`` and without self
    collision (as the MuJoCo backend), gravity -9.81 m/s² along -z, and a ground plane at
    z = 0, for every robot like MuJoCo's floor. A fixed base (arm) is bolted to the world with
    its root link at the origin, as in the MuJoCo backend; the plane does not collide with the
    links welded to the world (the root and its fixed-joint children), as MuJoCo filters
    contacts between bodies welded together, so an arm's tool can touch the ground but its
    mounting plate does not. The physics step is ``SimConfig.sim_dt``
    with ``SimConfig.solver_iterations`` solver iterations; ``integrator`` and ``num_threads``
    do not apply to this engine. PyBullet's default body damping (0.04) is switched off so that
    free motion matches MuJoCo.

    PyBullet's default joint velocity motors are disabled; at every physics step the backend
    reads the joint state, computes ``actuation.pd_torque`` (``kp * kp_scale``,
    ``kd * kd_scale``, ``motor_strength``, clipped to the effort limits) toward the per-sub-step
    targets of ``actuation.LatencyBuffer`` and applies it with ``TORQUE_CONTROL`` (Python per
    sub-step). ``SimState.joint_torque`` is that PD (actuator) torque of the last physics step;
    it excludes the passive joint damping and friction below, as MuJoCo's actuator force does.

Dynamics parameters (``robot_learning.sim.dynamics``) and how they are realised
    link_mass_scale, added_base_mass
        ``changeDynamics`` mass and ``localInertiaDiagonal`` of every link including the base,
        from the values cached at load; the base inertia is scaled by its total/nominal mass
        ratio like the MuJoCo backend does. A base mass is kept above 1 g (PyBullet treats a
        zero-mass base as static). Fixed bases keep PyBullet's static base.
    base_com_offset_x/y/z [m, base frame]
        Exact: PyBullet cannot move a centre of mass after load, so an environment whose offset
        changes gets its robot reloaded from a temporary copy of the URDF whose base
        ``<inertial><origin>`` is shifted by the offset (MuJoCo's ``body_ipos``); the base pose,
        velocities and joint states are carried over. This costs one URDF load (milliseconds)
        per change, so set it at reset time, not every step. Only floating bases are affected.
        The reported base pose and velocity are always those of the base *link frame*:
        PyBullet's base pose is its inertial frame, and the backend converts both ways.
    ground_friction
        PyBullet multiplies the two friction coefficients of a contact, so the plane has
        lateral friction 1.0 and every robot link gets the value: the pair friction equals it.
    joint_damping [N·m·s/rad]
        Added to the applied torque as ``-joint_damping * q_dot`` with the joint velocity read
        at the start of the physics step (explicit; MuJoCo's is implicit). Explicit damping is
        stable while ``(kd + damping) * sim_dt`` stays below about twice the joint's effective
        inertia; very large values on light distal joints can diverge.
    armature_scale
        PyBullet has no rotor armature. It is approximated by adding
        ``armature * armature_scale`` to the child link's inertia about the joint axis
        (``localInertiaDiagonal`` components weighted by the squared axis components in the
        link's inertial frame). For an axis along a principal axis of the link inertia this
        raises the joint's mass-matrix diagonal by exactly the armature, as MuJoCo does, but
        unlike a rotor it also adds that inertia to the link's motion about the joint as seen
        by the parent joints and the base (an over-estimate of their inertia, which also
        leaves modes in which aligned joints counter-rotate without the armature's help). The
        explicit PD is less damped-stable than with a true armature: for the project arm in a
        bent pose, max eig(M⁻¹ Kd) · dt is 2.8 at sim_dt = 5 ms (1.1 with MuJoCo's diagonal
        armature; explicit needs < 2), and its z-axis joints oscillate; 2.5 ms is stable.
        Prismatic joints get no armature. The added inertia can break the triangle inequality
        of a light link's principal moments; the forward dynamics do not mind, but PyBullet's
        inverse-dynamics helpers (``calculateMassMatrix``, ``calculateInverseDynamics``) then
        refuse the body.
    friction_loss [N·m]
        Coulomb friction realised by PyBullet's velocity motor of each actuated joint with
        target velocity 0 and maximum force ``friction_loss``: a constraint that is solved
        implicitly (no chatter at rest), alongside the PD torque.
    kp_scale, kd_scale, motor_strength
        In the PD law above.
    action_latency [s]
        ``LatencyBuffer`` with ``latency_substeps`` (whole physics steps).
    joint_position_noise, joint_velocity_noise, imu_noise
        ``add_sensor_noise`` in ``get_state``.
    push_velocity, push_interval
        ``PushSchedule`` once per control step before the physics steps (floating bases only):
        the xy kick is added to the base linear velocity with ``resetBaseVelocity``.

Units are SI (m, kg, s, rad, N, N·m). Quaternions in ``SimState`` are (w, x, y, z); PyBullet's
are (x, y, z, w). ``SimState.base_ang_vel`` is in the base frame; PyBullet's is in the world
frame. Contact forces are the summed normal forces of a contact body's contacts with the
plane; they are zero right after a reset or a COM-offset reload, until the next step; contact
positions are the world positions of the contact bodies' link frames.

Non-finite states come out of ``get_state`` as they are. Bullet removes a body whose bounds
become non-finite from collision detection for good, so ``reset`` rebuilds the robot of an
environment whose engine state is non-finite (counted in ``nonfinite_resets``).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import pathlib
import re
import sys
import tempfile
from typing import Iterator
import xml.etree.ElementTree as ElementTree

import numpy as np
import pybullet

from robot_learning.robots.spec import RobotSpec
from robot_learning.sim.actuation import (add_sensor_noise, LatencyBuffer, max_latency_steps,
                                          pd_torque, PushSchedule)
from robot_learning.sim.base import SimBackend, SimConfig, SimState, SimulationError
from robot_learning.sim.dynamics import latency_substeps

GRAVITY = -9.81
"""[m/s²] along world z."""
PLANE_FRICTION = 1.0
"""Lateral friction of the ground plane; robot links carry ``ground_friction``."""
MIN_BASE_MASS = 1e-3
"""[kg] lower bound of a floating base's mass (added_base_mass can be negative)."""
_MOVABLE_JOINTS = (pybullet.JOINT_REVOLUTE, pybullet.JOINT_PRISMATIC)


class PybulletBackend(SimBackend):
    """``num_envs`` PyBullet DIRECT-mode worlds of one robot, stepped one after the other."""

    def __init__(self, robot: RobotSpec, num_envs: int, config: SimConfig | None = None) -> None:
        super().__init__(robot, num_envs, config or SimConfig())
        self.clients: list[int] = []
        """PyBullet client (physics server) id of each environment."""
        self.bodies: list[int] = []
        """Robot body id in each environment's world."""
        self.planes: list[int] = []
        """Ground plane body id in each world."""
        self._urdf_tree: ElementTree.ElementTree | None = None
        try:
            for _ in range(num_envs):
                client = pybullet.connect(pybullet.DIRECT)
                if client < 0:
                    raise SimulationError('pybullet cannot open another DIRECT client')
                self.clients.append(client)
                self.planes.append(self._make_world(client))
                self.bodies.append(self._load_robot(client, robot.urdf_path))
            self._read_layout()
            for env in range(num_envs):
                self._configure_body(env)
        except BaseException:
            self.close()
            raise

        decimation = self.config.decimation
        joints = robot.num_joints
        self._com_offset = np.zeros((num_envs, 3))
        """Base COM offset [m] of the robot currently loaded in each world."""
        self._base_inertial_pos = np.tile(self._nominal_inertial_pos, (num_envs, 1))
        self._base_inertial_quat = np.tile(self._nominal_inertial_quat, (num_envs, 1))
        self.latency = LatencyBuffer(num_envs, joints, decimation,
                                     max_latency_steps(self.config.sim_dt))
        self.pushes = PushSchedule(num_envs)
        self.substep_torque = np.zeros((num_envs, decimation, joints))
        """(N, decimation, J) PD torque of each physics step of the last control step [N·m]."""
        self._contact_stale = np.ones(num_envs, dtype=bool)
        self.nonfinite_resets = 0
        """Environments found with a non-finite state (and rebuilt) by ``reset``."""
        all_envs = np.arange(num_envs)
        self._apply_dynamics(all_envs)
        self.reset(all_envs)

    # -- worlds and bodies ------------------------------------------------------------------

    def _make_world(self, client: int) -> int:
        """Gravity, time step and the ground plane; return the plane's id."""
        pybullet.setGravity(0.0, 0.0, GRAVITY, physicsClientId=client)
        pybullet.setPhysicsEngineParameter(
            fixedTimeStep=self.config.sim_dt, numSolverIterations=self.config.solver_iterations,
            numSubSteps=0, deterministicOverlappingPairs=1, physicsClientId=client)
        shape = pybullet.createCollisionShape(pybullet.GEOM_PLANE, physicsClientId=client)
        plane = pybullet.createMultiBody(baseMass=0.0, baseCollisionShapeIndex=shape,
                                         physicsClientId=client)
        pybullet.changeDynamics(plane, -1, lateralFriction=PLANE_FRICTION, restitution=0.0,
                                physicsClientId=client)
        return plane

    def _load_robot(self, client: int, path: pathlib.Path, source: pathlib.Path | None = None
                    ) -> int:
        """Load the URDF at ``path`` (a temporary copy of ``source`` when given)."""
        source = source or path
        position = [0.0, 0.0, self.robot.init_base_height]  # a fixed base is bolted there
        failure = None
        with _native_output() as output:
            try:
                body = pybullet.loadURDF(
                    str(path), basePosition=position, useFixedBase=not self.robot.floating_base,
                    flags=pybullet.URDF_USE_INERTIA_FROM_FILE, physicsClientId=client)
            except pybullet.error as error:
                failure = error
        if failure is not None:
            details = _parser_messages(output[0])
            raise SimulationError(f'pybullet cannot load {source}: {failure}'
                                  + (f' ({details})' if details else '')) from failure
        return body

    def _read_layout(self) -> None:
        """Map the spec's joints and links to PyBullet indices; cache the nominal inertias."""
        robot, client, body = self.robot, self.clients[0], self.bodies[0]
        base_name = pybullet.getBodyInfo(body, physicsClientId=client)[0].decode()
        if robot.base_link != base_name:
            raise SimulationError(
                f"{robot.urdf_path}: base link '{robot.base_link}' is not the URDF root "
                f"'{base_name}'; PyBullet's base is always the root link")
        joints: dict[str, tuple[int, int, np.ndarray]] = {}
        links = {base_name: -1}
        welded = {-1} if not robot.floating_base else set()
        for index in range(pybullet.getNumJoints(body, physicsClientId=client)):
            info = pybullet.getJointInfo(body, index, physicsClientId=client)
            joints[info[1].decode()] = (index, info[2], np.asarray(info[13], dtype=float))
            links[info[12].decode()] = index
            if info[2] == pybullet.JOINT_FIXED and info[16] in welded:  # parents come first
                welded.add(index)
        self._welded = sorted(welded)
        """Links rigidly attached to a fixed base: they never touch the plane."""
        self._links = list(links.values())
        """Every link index, the base (-1) first."""
        self._movable = [index for index, kind, _ in joints.values() if kind in _MOVABLE_JOINTS]
        """Every revolute or prismatic joint, actuated or not."""

        self._joint_ids: list[int] = []
        armature_inertia = {link: np.zeros(3) for link in self._links}
        for position, name in enumerate(robot.joint_names):
            if name not in joints:
                movable = [key for key, value in joints.items() if value[1] in _MOVABLE_JOINTS]
                raise SimulationError(f"{robot.urdf_path}: no joint '{name}' in PyBullet; "
                                      f"movable joints: {', '.join(movable)}")
            index, kind, axis = joints[name]
            if kind not in _MOVABLE_JOINTS:
                raise SimulationError(f"{robot.urdf_path}: joint '{name}' is not revolute or "
                                      'prismatic')
            self._joint_ids.append(index)
            if kind == pybullet.JOINT_REVOLUTE:
                # PyBullet gives the axis in the child link's inertial frame (checked).
                unit = axis / max(np.linalg.norm(axis), 1e-12)
                armature_inertia[index] += robot.armature[position] * unit ** 2
        self._armature_inertia = armature_inertia
        """Link index -> (3,) inertia added at armature_scale 1 [kg·m²]."""
        contact_links = []
        for name in robot.contact_bodies:
            if name not in links:
                raise SimulationError(f"{robot.urdf_path}: no link '{name}' in PyBullet; "
                                      f"links: {', '.join(links)}")
            contact_links.append(links[name])
        self._contact_links = contact_links
        self._contact_column = {link: column for column, link in enumerate(contact_links)}

        self._nominal_mass: dict[int, float] = {}
        self._nominal_inertia: dict[int, np.ndarray] = {}
        for link in self._links:
            info = pybullet.getDynamicsInfo(body, link, physicsClientId=client)
            self._nominal_mass[link] = float(info[0])
            self._nominal_inertia[link] = np.asarray(info[2], dtype=float)
            if link == -1:
                self._nominal_inertial_pos = np.asarray(info[3], dtype=float)
                self._nominal_inertial_quat = np.asarray(info[4], dtype=float)

    def _configure_body(self, env: int) -> None:
        """Engine settings of a freshly loaded robot that dynamics parameters do not touch."""
        client, body = self.clients[env], self.bodies[env]
        pybullet.changeDynamics(body, -1, linearDamping=0.0, angularDamping=0.0,
                                physicsClientId=client)
        for link in self._welded:
            pybullet.setCollisionFilterPair(self.planes[env], body, -1, link, 0,
                                            physicsClientId=client)
        for joint in self._movable:
            pybullet.changeDynamics(body, joint, jointDamping=0.0, physicsClientId=client)
        if self._movable:
            # Free every joint: the default velocity motors would hold them in place.
            pybullet.setJointMotorControlArray(
                body, self._movable, pybullet.VELOCITY_CONTROL,
                targetVelocities=[0.0] * len(self._movable), forces=[0.0] * len(self._movable),
                physicsClientId=client)

    def _reload(self, env: int, offset: np.ndarray) -> None:
        """Reload the robot of ``env`` with its base COM shifted by ``offset``; keep its state."""
        client, body = self.clients[env], self.bodies[env]
        base = self._read_base([env])
        joint_states = pybullet.getJointStates(body, self._movable, physicsClientId=client)
        self._replace_body(env, offset)
        body = self.bodies[env]
        for joint, state in zip(self._movable, joint_states):
            pybullet.resetJointState(body, joint, state[0], state[1], physicsClientId=client)
        self._write_base(env, base['pos'][0], base['quat_xyzw'][0], base['lin_vel'][0],
                         base['ang_vel_world'][0])

    def _replace_body(self, env: int, offset: np.ndarray) -> None:
        """Remove the robot of ``env`` and load it again with base COM offset ``offset`` [m].

        The new robot gets the engine settings and the environment's dynamics parameters; its
        state is the load pose.
        """
        client = self.clients[env]
        if np.any(offset != 0.0):
            if self._urdf_tree is None:
                self._urdf_tree = _parse_urdf(self.robot.urdf_path)
            text = _shifted_urdf(self._urdf_tree, self.robot.base_link, offset,
                                 self.robot.urdf_path)
            handle, name = tempfile.mkstemp(suffix='.urdf', prefix='pybullet_com_')
            try:
                with os.fdopen(handle, 'w') as file:
                    file.write(text)
                body = self._load_robot(client, pathlib.Path(name), self.robot.urdf_path)
            finally:
                os.unlink(name)
        else:
            body = self._load_robot(client, self.robot.urdf_path)
        pybullet.removeBody(self.bodies[env], physicsClientId=client)
        self.bodies[env] = body
        info = pybullet.getDynamicsInfo(body, -1, physicsClientId=client)
        self._base_inertial_pos[env] = info[3]
        self._base_inertial_quat[env] = info[4]
        self._com_offset[env] = offset
        self._configure_body(env)
        self._set_body_dynamics(env)
        self._contact_stale[env] = True

    def _is_finite(self, env: int) -> bool:
        """Whether the engine state of ``env`` (base and every joint) is finite."""
        client, body = self.clients[env], self.bodies[env]
        pos, quat = pybullet.getBasePositionAndOrientation(body, physicsClientId=client)
        lin_vel, ang_vel = pybullet.getBaseVelocity(body, physicsClientId=client)
        values = [*pos, *quat, *lin_vel, *ang_vel]
        for joint_state in pybullet.getJointStates(body, self._movable, physicsClientId=client):
            values.extend(joint_state[:2])
        return bool(np.all(np.isfinite(values)))

    # -- base frame conversions -------------------------------------------------------------

    def _read_base(self, env_ids: list[int] | np.ndarray) -> dict[str, np.ndarray]:
        """Return the base link frame pose and velocities (world frame) of ``env_ids``."""
        count = len(env_ids)
        com_pos = np.empty((count, 3))
        com_quat = np.empty((count, 4))
        com_vel = np.zeros((count, 3))
        ang_vel = np.zeros((count, 3))
        for row, env in enumerate(env_ids):
            client, body = self.clients[env], self.bodies[env]
            com_pos[row], com_quat[row] = pybullet.getBasePositionAndOrientation(
                body, physicsClientId=client)
            if self.robot.floating_base:
                com_vel[row], ang_vel[row] = pybullet.getBaseVelocity(
                    body, physicsClientId=client)
        inertial_pos = self._base_inertial_pos[env_ids]
        inertial_quat = self._base_inertial_quat[env_ids]
        # Link frame = inertial frame * inverse(local inertial frame).
        quat = _quat_multiply(com_quat, _quat_conjugate(inertial_quat))
        rotation = _quat_matrix(quat)
        to_com = np.einsum('nij,nj->ni', rotation, inertial_pos)
        return {
            'pos': com_pos - to_com,
            'quat_xyzw': quat,
            'rotation': rotation,
            'lin_vel': com_vel - np.cross(ang_vel, to_com),
            'ang_vel_world': ang_vel,
        }

    def _write_base(self, env: int, pos: np.ndarray, quat_xyzw: np.ndarray,
                    lin_vel: np.ndarray, ang_vel_world: np.ndarray) -> None:
        """Set the base link frame pose and velocities (world frame) of ``env``."""
        client, body = self.clients[env], self.bodies[env]
        quat_xyzw = np.asarray(quat_xyzw, dtype=float)
        quat_xyzw = quat_xyzw / np.linalg.norm(quat_xyzw)
        rotation = _quat_matrix(quat_xyzw[None])[0]
        to_com = rotation @ self._base_inertial_pos[env]
        com_quat = _quat_multiply(quat_xyzw[None], self._base_inertial_quat[env][None])[0]
        pybullet.resetBasePositionAndOrientation(
            body, (np.asarray(pos) + to_com).tolist(), com_quat.tolist(), physicsClientId=client)
        pybullet.resetBaseVelocity(
            body, (np.asarray(lin_vel) + np.cross(ang_vel_world, to_com)).tolist(),
            np.asarray(ang_vel_world, dtype=float).tolist(), physicsClientId=client)

    # -- dynamics ---------------------------------------------------------------------------

    def _apply_dynamics(self, env_ids: np.ndarray) -> None:
        dynamics = self.dynamics
        for env in np.asarray(env_ids, dtype=np.int64):
            env = int(env)
            offset = np.array([dynamics['base_com_offset_x'][env],
                               dynamics['base_com_offset_y'][env],
                               dynamics['base_com_offset_z'][env]])
            if self.robot.floating_base and not np.array_equal(offset, self._com_offset[env]):
                self._reload(env, offset)  # sets the other parameters too
            else:
                self._set_body_dynamics(env)

    def _set_body_dynamics(self, env: int) -> None:
        client, body = self.clients[env], self.bodies[env]
        values = {name: float(value[env]) for name, value in self.dynamics.items()}
        scale = values['link_mass_scale']
        friction = values['ground_friction']
        armature_scale = values['armature_scale']
        for link in self._links:
            mass = self._nominal_mass[link] * scale
            inertia = self._nominal_inertia[link] * scale
            if link == -1:
                if not self.robot.floating_base:
                    pybullet.changeDynamics(body, -1, lateralFriction=friction,
                                            physicsClientId=client)
                    continue
                total = max(mass + values['added_base_mass'], MIN_BASE_MASS)
                if mass > 0.0:
                    inertia = inertia * total / mass
                mass = total
            inertia = inertia + armature_scale * self._armature_inertia[link]
            pybullet.changeDynamics(body, link, mass=mass, localInertiaDiagonal=inertia.tolist(),
                                    lateralFriction=friction, physicsClientId=client)
        count = len(self._joint_ids)
        if count:
            pybullet.setJointMotorControlArray(
                body, self._joint_ids, pybullet.VELOCITY_CONTROL,
                targetVelocities=[0.0] * count, forces=[values['friction_loss']] * count,
                physicsClientId=client)

    # -- reset and step ---------------------------------------------------------------------

    def _reset(self, env_ids: np.ndarray, state: SimState) -> None:
        joint_pos = np.asarray(state.joint_pos, dtype=float)
        joint_vel = np.asarray(state.joint_vel, dtype=float)
        actuated = dict(zip(self._joint_ids, range(len(self._joint_ids))))
        for row, env in enumerate(env_ids):
            env = int(env)
            if not self._is_finite(env):
                # Bullet drops bodies with non-finite bounds from collision detection for
                # good; only a fresh body collides again.
                self._replace_body(env, self._com_offset[env].copy())
                self.nonfinite_resets += 1
            client, body = self.clients[env], self.bodies[env]
            for joint in self._movable:
                column = actuated.get(joint)
                position = 0.0 if column is None else float(joint_pos[row, column])
                velocity = 0.0 if column is None else float(joint_vel[row, column])
                pybullet.resetJointState(body, joint, position, velocity,
                                         physicsClientId=client)
            if self.robot.floating_base:
                w, x, y, z = np.asarray(state.base_quat[row], dtype=float)
                quat = np.array([x, y, z, w])
                rotation = _quat_matrix(quat[None] / np.linalg.norm(quat))[0]
                ang_vel_world = rotation @ np.asarray(state.base_ang_vel[row], dtype=float)
                self._write_base(env, state.base_pos[row], quat, state.base_lin_vel[row],
                                 ang_vel_world)
        self.latency.reset(env_ids, joint_pos)
        self.pushes.reset(env_ids)
        self.substep_torque[env_ids] = 0.0
        self._contact_stale[env_ids] = True

    def step(self, joint_targets: np.ndarray) -> None:
        targets = np.asarray(joint_targets, dtype=float)
        expected = (self.num_envs, self.num_joints)
        if targets.shape != expected:
            raise ValueError(f'joint_targets has shape {targets.shape}, expected {expected}')
        robot, dynamics = self.robot, self.dynamics
        latency = latency_substeps(dynamics['action_latency'], self.config.sim_dt)
        substep_targets = self.latency.push(targets, latency)
        if robot.floating_base:
            pushed, kicks = self.pushes.due(dynamics, self.control_dt, self.rng)
            for env, kick in zip(pushed, kicks):
                client, body = self.clients[env], self.bodies[env]
                lin_vel, ang_vel = pybullet.getBaseVelocity(body, physicsClientId=client)
                pybullet.resetBaseVelocity(
                    body, [lin_vel[0] + kick[0], lin_vel[1] + kick[1], lin_vel[2]], ang_vel,
                    physicsClientId=client)
        kp = robot.kp * dynamics['kp_scale'][:, None]
        kd = robot.kd * dynamics['kd_scale'][:, None]
        strength = dynamics['motor_strength'][:, None]
        damping = dynamics['joint_damping'][:, None]
        joint_pos = np.empty((self.num_envs, self.num_joints))
        joint_vel = np.empty((self.num_envs, self.num_joints))
        joint_ids = self._joint_ids
        try:
            for substep in range(self.config.decimation):
                for env, (client, body) in enumerate(zip(self.clients, self.bodies)):
                    states = pybullet.getJointStates(body, joint_ids, physicsClientId=client)
                    joint_pos[env] = [joint_state[0] for joint_state in states]
                    joint_vel[env] = [joint_state[1] for joint_state in states]
                torque = pd_torque(substep_targets[:, substep], joint_pos, joint_vel, kp, kd,
                                   strength, robot.effort_limit)
                self.substep_torque[:, substep] = torque
                applied = torque - damping * joint_vel
                for env, (client, body) in enumerate(zip(self.clients, self.bodies)):
                    pybullet.setJointMotorControlArray(
                        body, joint_ids, pybullet.TORQUE_CONTROL, forces=applied[env].tolist(),
                        physicsClientId=client)
                    pybullet.stepSimulation(physicsClientId=client)
        except pybullet.error as error:
            raise SimulationError(f'pybullet failed to step {robot.name}: {error}') from error
        self._contact_stale[:] = False

    # -- state --------------------------------------------------------------------------------

    def get_state(self) -> SimState:
        num_envs, robot = self.num_envs, self.robot
        env_ids = np.arange(num_envs)
        base = self._read_base(env_ids)
        joint_pos = np.empty((num_envs, self.num_joints))
        joint_vel = np.empty((num_envs, self.num_joints))
        num_contacts = len(self._contact_links)
        contact_force = np.zeros((num_envs, num_contacts))
        contact_pos = np.zeros((num_envs, num_contacts, 3))
        link_columns = [(column, link) for column, link in enumerate(self._contact_links)
                        if link >= 0]
        base_columns = [column for column, link in enumerate(self._contact_links) if link < 0]
        for env, (client, body) in enumerate(zip(self.clients, self.bodies)):
            states = pybullet.getJointStates(body, self._joint_ids, physicsClientId=client)
            joint_pos[env] = [joint_state[0] for joint_state in states]
            joint_vel[env] = [joint_state[1] for joint_state in states]
            if link_columns:
                link_states = pybullet.getLinkStates(
                    body, [link for _, link in link_columns], computeForwardKinematics=1,
                    physicsClientId=client)
                for (column, _), link_state in zip(link_columns, link_states):
                    contact_pos[env, column] = link_state[4]
            contact_pos[env, base_columns] = base['pos'][env]
            plane = self.planes[env]
            if self._contact_stale[env] or not num_contacts:
                continue
            for point in pybullet.getContactPoints(bodyA=body, bodyB=plane,
                                                   physicsClientId=client):
                column = self._contact_column.get(point[3])
                if column is not None:
                    contact_force[env, column] += point[9]
        if robot.floating_base:
            rotation = base['rotation']
            base_ang_vel = np.einsum('nji,nj->ni', rotation, base['ang_vel_world'])
        else:
            base_ang_vel = np.zeros((num_envs, 3))
        joint_pos, joint_vel, base_ang_vel = add_sensor_noise(
            joint_pos, joint_vel, base_ang_vel, self.dynamics, self.rng)
        quat = base['quat_xyzw']
        return SimState(
            base_pos=base['pos'], base_quat=np.concatenate([quat[:, 3:], quat[:, :3]], axis=1),
            base_lin_vel=base['lin_vel'], base_ang_vel=np.array(base_ang_vel),
            joint_pos=np.array(joint_pos), joint_vel=np.array(joint_vel),
            joint_torque=self.substep_torque[:, -1].copy(),
            contact_force=contact_force, contact_pos=contact_pos)

    def close(self) -> None:
        """Disconnect every PyBullet client (safe to call twice)."""
        for client in self.clients:
            with contextlib.suppress(pybullet.error):
                pybullet.disconnect(physicsClientId=client)
        self.clients = []
        self.bodies = []
        self.planes = []


# -- helpers ------------------------------------------------------------------------------------

def _quat_multiply(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamilton product of (x, y, z, w) quaternions, shape (..., 4)."""
    ax, ay, az, aw = np.moveaxis(a, -1, 0)
    bx, by, bz, bw = np.moveaxis(b, -1, 0)
    return np.stack([aw * bx + ax * bw + ay * bz - az * by,
                     aw * by - ax * bz + ay * bw + az * bx,
                     aw * bz + ax * by - ay * bx + az * bw,
                     aw * bw - ax * bx - ay * by - az * bz], axis=-1)


def _quat_conjugate(q: np.ndarray) -> np.ndarray:
    """Inverse of unit (x, y, z, w) quaternions."""
    return q * np.array([-1.0, -1.0, -1.0, 1.0])


def _quat_matrix(q: np.ndarray) -> np.ndarray:
    """(N, 4) unit (x, y, z, w) quaternions -> (N, 3, 3) rotation matrices (body to world)."""
    x, y, z, w = np.moveaxis(q, -1, 0)
    return np.stack([
        np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)], axis=-1),
        np.stack([2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)], axis=-1),
        np.stack([2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], axis=-1),
    ], axis=-2)


@contextlib.contextmanager
def _native_output() -> Iterator[list[str]]:
    """Capture what native code prints to stdout/stderr (PyBullet's parser messages).

    Yields a list that holds the captured text once the block has ended.
    """
    captured: list[str] = ['']
    try:
        libc = ctypes.CDLL(None)
        saved = [os.dup(1), os.dup(2)]
    except (OSError, AttributeError):  # no C library handle or no standard descriptors
        yield captured
        return
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    with tempfile.TemporaryFile(mode='w+b') as sink:
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        try:
            yield captured
        finally:
            libc.fflush(None)
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for descriptor in saved:
                os.close(descriptor)
            sink.seek(0)
            captured[0] = sink.read().decode(errors='replace')


def _parser_messages(text: str) -> str:
    """Join PyBullet's ``b3Error[...]:`` / ``b3Warning[...]:`` messages into one line."""
    text = re.sub(r'b3(?:Error|Warning|Printf)\[[^\]]*\]:\s*', '\n', text)
    lines = [line.strip() for line in text.splitlines()]
    return '; '.join(line for line in lines if line and not line.startswith('pybullet build'))


def _parse_urdf(path: pathlib.Path) -> ElementTree.ElementTree:
    """Parse a URDF and make its relative mesh paths absolute (for temporary copies)."""
    try:
        tree = ElementTree.parse(path)
    except (ElementTree.ParseError, OSError) as error:
        raise SimulationError(f'cannot parse {path}: {error}') from error
    folder = path.resolve().parent
    for mesh in tree.iter('mesh'):
        filename = mesh.get('filename', '')
        if filename.startswith('package://'):
            candidate = folder / filename[len('package://'):]
            if candidate.exists():
                mesh.set('filename', str(candidate))
        elif filename and '://' not in filename and not os.path.isabs(filename):
            mesh.set('filename', str(folder / filename))
    return tree


def _shifted_urdf(tree: ElementTree.ElementTree, base_link: str, offset: np.ndarray,
                  source: pathlib.Path) -> str:
    """Return the URDF text with the inertial origin of ``base_link`` moved by ``offset`` [m]."""
    root = tree.getroot()
    link = next((element for element in root.iter('link')
                 if element.get('name') == base_link), None)
    inertial = None if link is None else link.find('inertial')
    if inertial is None:
        raise SimulationError(f"{source}: base link '{base_link}' has no <inertial> element; "
                              'cannot offset its centre of mass')
    origin = inertial.find('origin')
    created = origin is None
    if created:
        origin = ElementTree.SubElement(inertial, 'origin')
    nominal = origin.get('xyz')
    nominal_xyz = np.zeros(3) if nominal is None else np.array(nominal.split(), dtype=float)
    origin.set('xyz', ' '.join(repr(float(value)) for value in nominal_xyz + offset))
    try:
        return ElementTree.tostring(root, encoding='unicode')
    finally:  # leave the cached tree nominal
        if created:
            inertial.remove(origin)
        elif nominal is None:
            del origin.attrib['xyz']
        else:
            origin.set('xyz', nominal)
