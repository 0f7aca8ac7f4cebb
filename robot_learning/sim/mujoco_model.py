# SPDX-License-Identifier: Apache-2.0
"""URDF -> mujoco.MjSpec: floating base, floor, PD actuators, IMU and contact sensors."""

from __future__ import annotations

import dataclasses
import re

import mujoco
import numpy as np

from robot_learning.config import ConfigError
from robot_learning.robots.spec import RobotSpec
from robot_learning.sim.actuation import add_sensor_noise
from robot_learning.sim.base import SimConfig, SimState, SimulationError
from robot_learning.sim.dynamics import DynamicsBatch

# Collision bits: robot geoms touch the floor but not each other (no self collision, as in
# PyBullet's default), which also keeps the contact count and the step cost low.
ROBOT_CONTYPE, ROBOT_CONAFFINITY = 2, 1
FLOOR_CONTYPE, FLOOR_CONAFFINITY = 1, 2
INTEGRATORS = {
    'euler': mujoco.mjtIntegrator.mjINT_EULER,
    'implicitfast': mujoco.mjtIntegrator.mjINT_IMPLICITFAST,
    'rk4': mujoco.mjtIntegrator.mjINT_RK4,
}

CONES = {'pyramidal': mujoco.mjtCone.mjCONE_PYRAMIDAL, 'elliptic': mujoco.mjtCone.mjCONE_ELLIPTIC}


@dataclasses.dataclass(frozen=True)
class ModelLayout:
    """Indices into a compiled model for one RobotSpec (arrays in the spec's joint order)."""

    base_body: int
    robot_bodies: np.ndarray
    """Ids of the robot's bodies (world excluded)."""
    robot_geoms: np.ndarray
    floor_geom: int
    joint_qpos: np.ndarray
    """(J,) qpos address of each actuated joint."""
    joint_dof: np.ndarray
    """(J,) qvel/dof address of each actuated joint."""
    actuators: np.ndarray
    """(J,) actuator id driving each joint."""
    sensor_touch: np.ndarray
    """(C,) sensordata address of each contact body's touch sensor."""
    sensor_contact_pos: np.ndarray
    """(C, 3) sensordata addresses of each contact body's world position."""
    sensor_torque: np.ndarray
    """(J,) sensordata address of each actuator force."""
    sensor_gyro: np.ndarray
    """(3,) sensordata addresses of the base gyroscope [rad/s, base frame]."""
    floating: bool


def build_model_spec(robot: RobotSpec, config: SimConfig) -> mujoco.MjSpec:
    """Build the MjSpec of ``robot`` on a floor with position actuators and sensors.

    Raises:
        SimulationError: MuJoCo rejects the URDF (its message and the file are given).
    """
    try:
        spec = mujoco.MjSpec.from_file(str(robot.urdf_path))
    except Exception as error:  # MuJoCo raises ValueError with the parser's message.
        raise SimulationError(f'MuJoCo cannot load {robot.urdf_path}: {error}') from error
    spec.compiler.fusestatic = False  # keep feet and tool links as bodies for sensing
    spec.compiler.discardvisual = True
    spec.compiler.balanceinertia = robot.balance_inertia
    spec.option.timestep = config.sim_dt
    spec.option.integrator = _choice(INTEGRATORS, config.integrator, 'integrator')
    spec.option.iterations = config.solver_iterations
    spec.option.ls_iterations = config.line_search_iterations
    spec.option.cone = _choice(CONES, config.friction_cone, 'friction cone')
    spec.option.impratio = config.impratio
    # Unstable states come out as NaN so the caller can reset the environment and count it,
    # instead of MuJoCo silently resetting the data to qpos0.
    spec.option.disableflags |= mujoco.mjtDisableBit.mjDSBL_AUTORESET

    base = spec.body(robot.base_link)
    if base is None:
        raise SimulationError(f"{robot.urdf_path}: no body '{robot.base_link}'")
    if robot.floating_base:
        base.add_freejoint(name='base_free')
    base.pos = [0.0, 0.0, robot.init_base_height]  # a fixed base is bolted at this height
    for geom in spec.geoms:
        geom.contype, geom.conaffinity = ROBOT_CONTYPE, ROBOT_CONAFFINITY
    floor = spec.worldbody.add_geom(
        name='floor', type=mujoco.mjtGeom.mjGEOM_PLANE, size=[0, 0, 0.05],
        contype=FLOOR_CONTYPE, conaffinity=FLOOR_CONAFFINITY)
    floor.friction = [1.0, 0.005, 0.0001]
    spec.worldbody.add_light(pos=[0, 0, 3], dir=[0, 0, -1])

    for index, name in enumerate(robot.joint_names):
        joint = spec.joint(name)
        if joint is None:
            raise SimulationError(f"{robot.urdf_path}: no joint '{name}' after loading")
        joint.armature = float(robot.armature[index])
        joint.damping = [0.0, 0.0, 0.0]
        joint.frictionloss = 0.0
        kp, kd = float(robot.kp[index]), float(robot.kd[index])
        effort = float(robot.effort_limit[index])
        actuator = spec.add_actuator(
            name=f'pd_{name}', target=name, trntype=mujoco.mjtTrn.mjTRN_JOINT,
            gaintype=mujoco.mjtGain.mjGAIN_FIXED, biastype=mujoco.mjtBias.mjBIAS_AFFINE)
        actuator.gainprm[0] = kp
        actuator.biasprm[0:3] = [0.0, -kp, -kd]
        if np.isfinite(effort):
            actuator.forcelimited = mujoco.mjtLimited.mjLIMITED_TRUE
            actuator.forcerange = [-effort, effort]
        spec.add_sensor(name=f'torque_{name}', type=mujoco.mjtSensor.mjSENS_ACTUATORFRC,
                        objtype=mujoco.mjtObj.mjOBJ_ACTUATOR, objname=f'pd_{name}')

    imu = base.add_site(name='imu', pos=[0, 0, 0])
    spec.add_sensor(name='imu_gyro', type=mujoco.mjtSensor.mjSENS_GYRO,
                    objtype=mujoco.mjtObj.mjOBJ_SITE, objname=imu.name)
    spec.add_sensor(name='imu_accelerometer', type=mujoco.mjtSensor.mjSENS_ACCELEROMETER,
                    objtype=mujoco.mjtObj.mjOBJ_SITE, objname=imu.name)
    for name in robot.contact_bodies:
        site = spec.body(name).add_site(name=f'contact_{name}', size=[robot.contact_radius] * 3)
        spec.add_sensor(name=f'touch_{name}', type=mujoco.mjtSensor.mjSENS_TOUCH,
                        objtype=mujoco.mjtObj.mjOBJ_SITE, objname=site.name)
        spec.add_sensor(name=f'pos_{name}', type=mujoco.mjtSensor.mjSENS_FRAMEPOS,
                        objtype=mujoco.mjtObj.mjOBJ_SITE, objname=site.name)
    return spec


def _choice(table: dict, key: str, what: str):
    """Look ``key`` up in ``table``; SimulationError names the valid keys otherwise."""
    try:
        return table[key]
    except KeyError:
        raise SimulationError(f"unknown {what} '{key}'; valid: {', '.join(table)}") from None


def compile_model(robot: RobotSpec, config: SimConfig) -> tuple[mujoco.MjModel, ModelLayout]:
    """Compile the nominal model and its index layout."""
    spec = build_model_spec(robot, config)
    try:
        model = spec.compile()
    except Exception as error:
        raise compile_error(robot, error) from error
    return model, _layout(model, robot)


def compile_error(robot: RobotSpec, error: Exception) -> Exception:
    """Turn MuJoCo's compiler message into an error that names the robot, the body and the fix.

    Inertias that break the triangle inequality are a property of the robot's URDF, fixed in its
    YAML (``balance_inertia: true``), so they come back as a ConfigError; anything else as a
    SimulationError with MuJoCo's message.
    """
    message = str(error).strip()
    element = re.search(r"Element name '([^']*)'", message)
    body = f" (body '{element.group(1)}')" if element else ''
    first_line = message.splitlines()[0] if message else type(error).__name__
    if 'balanceinertia' in message and not robot.balance_inertia:
        return ConfigError(
            f"robot '{robot.name}': MuJoCo refuses the inertia of a link{body} of "
            f'{robot.urdf_path}: {first_line.removeprefix("Error: ")}. Add '
            "'balance_inertia: true' to the robot YAML to let MuJoCo repair it")
    if 'mjMINVAL' in message:
        return ConfigError(
            f"robot '{robot.name}': a moving link{body} of {robot.urdf_path} has (near) zero "
            'mass or inertia, which MuJoCo refuses; give it an <inertial> in the URDF, or use '
            'a variant of the URDF whose links all have mass')
    return SimulationError(f"MuJoCo cannot compile robot '{robot.name}' ({robot.urdf_path}): "
                           f'{message}')


def _layout(model: mujoco.MjModel, robot: RobotSpec) -> ModelLayout:
    def sensor_addr(name: str) -> np.ndarray:
        sensor = model.sensor(name)
        return np.arange(sensor.adr[0], sensor.adr[0] + sensor.dim[0])

    joints = [model.joint(name) for name in robot.joint_names]
    floor = model.geom('floor').id
    robot_geoms = np.array([g for g in range(model.ngeom) if g != floor])
    return ModelLayout(
        base_body=model.body(robot.base_link).id,
        robot_bodies=np.arange(1, model.nbody),
        robot_geoms=robot_geoms,
        floor_geom=floor,
        joint_qpos=np.array([joint.qposadr[0] for joint in joints]),
        joint_dof=np.array([joint.dofadr[0] for joint in joints]),
        actuators=np.array([model.actuator(f'pd_{name}').id for name in robot.joint_names]),
        sensor_touch=np.array([sensor_addr(f'touch_{n}')[0] for n in robot.contact_bodies],
                              dtype=np.int64),
        sensor_contact_pos=np.array([sensor_addr(f'pos_{n}') for n in robot.contact_bodies],
                                    dtype=np.int64).reshape(-1, 3),
        sensor_torque=np.array([sensor_addr(f'torque_{n}')[0] for n in robot.joint_names]),
        sensor_gyro=sensor_addr('imu_gyro'),
        floating=robot.floating_base)


def read_state(layout: ModelLayout, model: mujoco.MjModel, qpos: np.ndarray, qvel: np.ndarray,
               sensordata: np.ndarray, dynamics: DynamicsBatch,
               rng: np.random.Generator) -> SimState:
    """Build the measured SimState of N worlds from MuJoCo arrays (float64, copies).

    ``qpos`` (N, nq), ``qvel`` (N, nv) and ``sensordata`` (N, nsensordata) come from either
    MuJoCo backend; sensor noise is applied per world from ``dynamics``. A fixed base reports
    its pose in ``model`` and zero velocities.
    """
    num_envs = qpos.shape[0]
    if layout.floating:
        base_pos, base_quat = qpos[:, 0:3], qpos[:, 3:7]
        base_lin_vel = qvel[:, 0:3]
        base_ang_vel = sensordata[:, layout.sensor_gyro]
    else:
        base_pos = np.tile(model.body_pos[layout.base_body], (num_envs, 1))
        base_quat = np.tile(model.body_quat[layout.base_body], (num_envs, 1))
        base_lin_vel = np.zeros((num_envs, 3))
        base_ang_vel = np.zeros((num_envs, 3))
    joint_pos, joint_vel, base_ang_vel = add_sensor_noise(
        qpos[:, layout.joint_qpos], qvel[:, layout.joint_dof], base_ang_vel, dynamics, rng)
    return SimState(
        base_pos=base_pos.copy(), base_quat=base_quat.copy(),
        base_lin_vel=base_lin_vel.copy(), base_ang_vel=np.array(base_ang_vel),
        joint_pos=np.array(joint_pos), joint_vel=np.array(joint_vel),
        joint_torque=sensordata[:, layout.sensor_torque].copy(),
        contact_force=sensordata[:, layout.sensor_touch].copy(),
        contact_pos=sensordata[:, layout.sensor_contact_pos].copy())
