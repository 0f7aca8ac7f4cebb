# SPDX-License-Identifier: Apache-2.0
"""PybulletBackend against real PyBullet worlds of the project quadruped and arm."""

from __future__ import annotations

import dataclasses

import numpy as np
import pybullet
import pytest

from robot_learning.robots import load_robot
from robot_learning.robots.spec import spec_from_dict
from robot_learning.sim.base import SimConfig, SimState, SimulationError
from robot_learning.sim.pybullet_backend import PybulletBackend

GRAVITY = 9.81


@pytest.fixture(scope='module')
def quadruped():
    return load_robot('quadruped')


@pytest.fixture(scope='module')
def arm():
    return load_robot('arm')


@pytest.fixture
def make_backend():
    backends = []

    def make(robot, num_envs=1, **config):
        backend = PybulletBackend(robot, num_envs, SimConfig(**config))
        backends.append(backend)
        return backend

    yield make
    for backend in backends:
        backend.close()


def default_targets(backend):
    return np.tile(backend.robot.default_joint_pos, (backend.num_envs, 1))


def run(backend, seconds, targets=None):
    """Step for ``seconds`` toward ``targets``; return the base heights after each step."""
    targets = default_targets(backend) if targets is None else targets
    heights = []
    for _ in range(int(round(seconds / backend.control_dt))):
        backend.step(targets)
        heights.append(backend.get_state().base_pos[:, 2])
    return np.array(heights)


def zero_gravity(backend):
    for client in backend.clients:
        pybullet.setGravity(0.0, 0.0, 0.0, physicsClientId=client)


def quat_wxyz_from_axis_angle(axis, angle):
    axis = np.asarray(axis, dtype=float) / np.linalg.norm(axis)
    return np.concatenate([[np.cos(angle / 2)], np.sin(angle / 2) * axis])


def rotation_wxyz(q):
    w, x, y, z = q
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])


def test_default_reset_state_is_the_default_pose(quadruped, make_backend):
    backend = make_backend(quadruped, num_envs=2)
    state = backend.get_state()
    expected = backend.default_state(2)
    np.testing.assert_allclose(state.base_pos, expected.base_pos, atol=1e-9)
    np.testing.assert_allclose(state.base_quat, expected.base_quat, atol=1e-9)
    np.testing.assert_allclose(state.joint_pos, expected.joint_pos, atol=1e-9)
    for name in ('base_lin_vel', 'base_ang_vel', 'joint_vel', 'joint_torque', 'contact_force'):
        np.testing.assert_allclose(getattr(state, name), 0.0, atol=1e-9, err_msg=name)
    assert state.contact_pos.shape == (2, 4, 3)
    # Feet of the default pose: below the hips, above the ground at init_base_height.
    assert np.all(state.contact_pos[:, :, 2] > 0.0)
    assert np.all(state.contact_pos[:, :, 2] < quadruped.init_base_height)


def test_floating_quadruped_stands_on_its_feet(quadruped, make_backend):
    backend = make_backend(quadruped)
    heights = run(backend, 1.0)
    feet = backend.get_state().contact_pos[0].copy()
    heights = np.concatenate([heights, run(backend, 1.0)])
    # The soft PD (Kp 20 N·m/rad, Kd 0.5) sags from 0.35 m to about 0.27 m in a lightly
    # damped bounce whose first trough is at 0.24 m; MuJoCo bounces the same way.
    assert heights.min() > 0.22
    assert heights[int(1.0 / backend.control_dt):].min() > 0.25
    state = backend.get_state()
    assert abs(state.base_quat[0, 0]) > np.cos(np.radians(5) / 2)  # upright within 5 degrees
    weight = quadruped.total_mass * GRAVITY
    assert np.all(state.contact_force > 0.1 * weight / 4)
    assert state.contact_force.sum() == pytest.approx(weight, rel=0.15)
    assert np.all(np.abs(state.contact_pos[0, :, 2] - 0.022) < 0.005)  # foot sphere radius
    assert np.abs(state.contact_pos[0, :, :2] - feet[:, :2]).max() < 0.01  # feet do not slide
    assert np.all(np.isfinite(state.joint_torque))


def test_fixed_base_robot_settles_at_a_step_target(arm, make_backend):
    backend = make_backend(arm)
    targets = default_targets(backend)
    targets[0, [1, 3]] += 0.2
    run(backend, 1.5, targets)
    state = backend.get_state()
    np.testing.assert_allclose(state.base_pos, 0.0, atol=1e-9)  # bolted at the URDF origin
    np.testing.assert_allclose(state.base_quat, [[1.0, 0.0, 0.0, 0.0]], atol=1e-9)
    assert np.abs(state.joint_vel).max() < 0.02
    # Within the sag that gravity on the 30 kg arm causes (MuJoCo: 0.108 rad on joint 2).
    assert np.abs(state.joint_pos - targets).max() < 0.15
    expected = arm.kp * (targets - state.joint_pos) - arm.kd * state.joint_vel
    # The torque was computed at the start of the last physics step, from a nearby state.
    np.testing.assert_allclose(state.joint_torque, expected, atol=0.05)

    zero_gravity(backend)
    run(backend, 2.0, targets)
    assert np.abs(backend.get_state().joint_pos - targets).max() < 1e-3


def test_arm_tool_touches_the_ground_but_its_mounting_does_not(arm, make_backend):
    backend = make_backend(arm)
    targets = default_targets(backend)
    targets[0, 1] += 0.6  # lean forward until the peg tip meets the ground
    run(backend, 1.5, targets)
    state = backend.get_state()
    assert state.contact_force[0, 0] > 50.0
    assert abs(state.contact_pos[0, 0, 2]) < 0.01
    client, body = backend.clients[0], backend.bodies[0]
    touching = {point[3] for point in pybullet.getContactPoints(
        bodyA=body, bodyB=backend.planes[0], physicsClientId=client)}
    assert touching == set(backend._contact_links)  # not the base plate resting on z = 0


def test_per_environment_dynamics_differ(quadruped, make_backend):
    backend = make_backend(quadruped, num_envs=2)
    backend.set_dynamics(np.array([1]), {'motor_strength': 0.0})
    heights = run(backend, 1.0)
    assert heights[:, 0].min() > 0.2
    assert heights[-1, 0] > 0.25
    assert heights[-1, 1] < 0.15  # collapsed onto its belly
    np.testing.assert_allclose(backend.get_state().joint_torque[1], 0.0)


@pytest.mark.parametrize('latency_steps', [0, 1, 3, 6])
def test_action_latency_delays_the_torque_by_whole_physics_steps(
        arm, make_backend, latency_steps):
    backend = make_backend(arm)
    zero_gravity(backend)
    backend.set_dynamics(np.array([0]), {'action_latency': latency_steps * backend.config.sim_dt})
    targets = default_targets(backend)
    backend.step(targets)
    np.testing.assert_array_equal(backend.substep_torque, 0.0)  # at rest on target
    targets[0, 1] += 0.2
    torques = []
    for _ in range(3):
        backend.step(targets)
        torques.append(backend.substep_torque[0, :, 1].copy())
        np.testing.assert_array_equal(backend.get_state().joint_torque,
                                      backend.substep_torque[:, -1])
    first_change = np.flatnonzero(np.concatenate(torques))[0]
    assert first_change == latency_steps


def test_reset_to_a_state_round_trips(quadruped, make_backend):
    backend = make_backend(quadruped, num_envs=2)
    # A shifted base COM makes PyBullet's base frame differ from the link frame.
    backend.set_dynamics(np.array([1]), {'base_com_offset_x': 0.04, 'base_com_offset_z': -0.02})
    quats = np.array([quat_wxyz_from_axis_angle([1.0, 2.0, 0.5], 0.7),
                      quat_wxyz_from_axis_angle([-0.3, 0.2, 1.0], -2.1)])
    joint_pos = quadruped.default_joint_pos + np.linspace(-0.1, 0.1, 12)
    state = SimState(
        base_pos=np.array([[0.1, -0.2, 0.6], [1.0, 2.0, 0.8]]), base_quat=quats,
        base_lin_vel=np.array([[0.3, -0.1, 0.2], [-0.5, 0.4, 0.1]]),
        base_ang_vel=np.array([[0.5, -1.0, 2.0], [1.5, 0.2, -0.7]]),
        joint_pos=np.stack([joint_pos, quadruped.default_joint_pos - 0.05]),
        joint_vel=np.array([np.linspace(-1.0, 1.0, 12), np.linspace(2.0, -2.0, 12)]),
        joint_torque=np.zeros((2, 12)), contact_force=np.zeros((2, 4)),
        contact_pos=np.zeros((2, 4, 3)))
    backend.reset(np.array([0, 1]), state)
    measured = backend.get_state()
    for name in ('base_pos', 'base_lin_vel', 'base_ang_vel', 'joint_pos', 'joint_vel'):
        np.testing.assert_allclose(getattr(measured, name), getattr(state, name), atol=1e-9,
                                   err_msg=name)
    signs = np.sign(np.sum(measured.base_quat * state.base_quat, axis=1, keepdims=True))
    np.testing.assert_allclose(measured.base_quat * signs, state.base_quat, atol=1e-9)
    for env in range(2):
        client, body = backend.clients[env], backend.bodies[env]
        _, world_ang_vel = pybullet.getBaseVelocity(body, physicsClientId=client)
        np.testing.assert_allclose(world_ang_vel,
                                   rotation_wxyz(quats[env]) @ state.base_ang_vel[env],
                                   atol=1e-9)
    # The latency buffer starts from the new joint pose.
    np.testing.assert_allclose(backend.latency.history[:, 0], state.joint_pos)


def test_base_com_offset_reloads_the_robot_and_keeps_its_state(quadruped, make_backend):
    backend = make_backend(quadruped, num_envs=2)
    run(backend, 1.0)
    before = backend.get_state()
    backend.set_dynamics(np.array([1]), {'base_com_offset_x': 0.05})
    after = backend.get_state()
    for name in ('base_pos', 'base_quat', 'base_lin_vel', 'base_ang_vel', 'joint_pos',
                 'joint_vel'):
        np.testing.assert_allclose(getattr(after, name), getattr(before, name), atol=1e-9,
                                   err_msg=name)
    info = pybullet.getDynamicsInfo(backend.bodies[1], -1, physicsClientId=backend.clients[1])
    np.testing.assert_allclose(info[3], [0.05, 0.0, 0.0], atol=1e-12)
    run(backend, 1.0)
    force = backend.get_state().contact_force
    front, rear = force[:, :2].sum(axis=1), force[:, 2:].sum(axis=1)
    # A COM shifted forward loads the front feet more.
    assert front[1] / rear[1] > 1.1 * front[0] / rear[0]


def test_mass_friction_and_armature_reach_the_engine(quadruped, make_backend):
    backend = make_backend(quadruped, num_envs=2)
    backend.set_dynamics(np.array([1]), {'link_mass_scale': 1.5, 'added_base_mass': 2.0,
                                         'ground_friction': 0.3, 'armature_scale': 0.0})
    client0, body0 = backend.clients[0], backend.bodies[0]
    client1, body1 = backend.clients[1], backend.bodies[1]
    base0 = pybullet.getDynamicsInfo(body0, -1, physicsClientId=client0)
    base1 = pybullet.getDynamicsInfo(body1, -1, physicsClientId=client1)
    assert base1[0] == pytest.approx(1.5 * base0[0] + 2.0)
    assert base1[1] == pytest.approx(0.3)
    plane = pybullet.getDynamicsInfo(backend.planes[1], -1, physicsClientId=client1)
    assert plane[1] == pytest.approx(1.0)  # pair friction = 1.0 * 0.3
    # The hip link (axis x) carries the armature on its x inertia: 0.01 kg·m² nominal.
    hip = backend._joint_ids[0]
    hip0 = pybullet.getDynamicsInfo(body0, hip, physicsClientId=client0)
    hip1 = pybullet.getDynamicsInfo(body1, hip, physicsClientId=client1)
    assert hip1[0] == pytest.approx(1.5 * hip0[0])
    assert hip0[2][0] - quadruped.armature[0] == pytest.approx(hip1[2][0] / 1.5)


PENDULUM_URDF = """<?xml version="1.0"?>
<robot name="pendulum">
  <link name="base">
    <inertial><mass value="1.0"/><inertia ixx="0.01" iyy="0.01" izz="0.01" ixy="0" ixz="0"
      iyz="0"/></inertial>
  </link>
  <joint name="swing" type="revolute">
    <origin xyz="0 0 1" rpy="0.4 0 0"/>
    <parent link="base"/>
    <child link="arm"/>
    <axis xyz="0 1 0"/>
    <limit lower="-3" upper="3" effort="100" velocity="20"/>
  </joint>
  <link name="arm">
    <!-- Inertial frame turned 90 degrees about z: the joint's y axis is its x axis. -->
    <inertial><origin xyz="0 0 -0.2" rpy="0 0 1.5707963267948966"/><mass value="0.5"/>
      <inertia ixx="0.003" iyy="0.001" izz="0.0035" ixy="0" ixz="0" iyz="0"/></inertial>
  </link>
</robot>
"""


def test_armature_adds_to_the_joint_inertia(tmp_path, make_backend):
    urdf = tmp_path / 'pendulum.urdf'
    urdf.write_text(PENDULUM_URDF)
    armature = 0.02
    robot = spec_from_dict({
        'name': 'pendulum', 'robot_class': 'arm', 'urdf': str(urdf), 'floating_base': False,
        'joint_names': ['swing'], 'default_joint_pos': 0.0, 'kp': 10.0, 'kd': 0.0,
        'armature': armature})
    backend = make_backend(robot, num_envs=3, decimation=1)
    zero_gravity(backend)
    backend.set_dynamics(np.array([1]), {'armature_scale': 0.0})
    backend.set_dynamics(np.array([2]), {'armature_scale': 3.0})
    torque = 10.0 * 0.1
    backend.step(np.full((3, 1), 0.1))  # one physics step of 1 N·m from rest
    inertia = torque * backend.config.sim_dt / backend.get_state().joint_vel[:, 0]
    rigid = 0.003 + 0.5 * 0.2 ** 2  # about the joint axis (the inertial x axis)
    np.testing.assert_allclose(inertia, rigid + armature * np.array([1.0, 0.0, 3.0]),
                               rtol=1e-6)


def test_friction_loss_stops_a_spinning_joint(arm, make_backend):
    backend = make_backend(arm, num_envs=2)
    zero_gravity(backend)
    backend.set_dynamics(np.array([0, 1]), {'kp_scale': 0.0, 'kd_scale': 0.0})
    backend.set_dynamics(np.array([1]), {'friction_loss': 1.0, 'joint_damping': 0.1})
    state = backend.default_state(2)
    state.joint_vel[:, 6] = 2.0  # the wrist roll: about 0.1 kg·m² with its armature
    backend.reset(np.array([0, 1]), state)
    run(backend, 0.4)
    velocity = backend.get_state().joint_vel[:, 6]
    assert velocity[0] > 1.5  # a free joint keeps spinning
    assert abs(velocity[1]) < 1e-3  # dry friction stopped it


def test_pushes_kick_the_base_velocity(quadruped, make_backend):
    backend = make_backend(quadruped, num_envs=2)
    backend.set_dynamics(np.array([1]), {'push_velocity': 1.0,
                                         'push_interval': backend.control_dt})
    backend.step(default_targets(backend))
    speed = np.linalg.norm(backend.get_state().base_lin_vel[:, :2], axis=1)
    assert speed[0] < 0.05
    assert speed[1] > 0.05


def test_sensor_noise_is_applied(quadruped, make_backend):
    backend = make_backend(quadruped, num_envs=2)
    backend.set_dynamics(np.array([1]), {'joint_position_noise': 0.1})
    state = backend.get_state()
    np.testing.assert_allclose(state.joint_pos[0], quadruped.default_joint_pos, atol=1e-12)
    assert np.abs(state.joint_pos[1] - quadruped.default_joint_pos).max() > 1e-3


def test_a_urdf_that_pybullet_rejects_raises_with_the_path(quadruped, tmp_path):
    broken = tmp_path / 'broken.urdf'
    broken.write_text('<robot name="broken"><link name="trunk"><inertial><mass value="1"/>'
                      '</inertial></link><joint name="j" type="revolute">')
    with pytest.raises(SimulationError, match=str(broken)):
        PybulletBackend(dataclasses.replace(quadruped, urdf_path=broken), 1, SimConfig())


def test_an_unknown_joint_lists_the_valid_names(quadruped):
    robot = dataclasses.replace(quadruped, joint_names=('no_such_joint',) * 12)
    with pytest.raises(SimulationError, match='FL_hip_joint'):
        PybulletBackend(robot, 1, SimConfig())


def test_a_non_finite_world_comes_out_as_is_and_reset_rebuilds_it(quadruped, make_backend):
    backend = make_backend(quadruped, num_envs=2)
    backend.set_dynamics(np.array([1]), {'base_com_offset_y': 0.01})
    state = backend.default_state(2)
    state.base_lin_vel[1, 0] = np.nan
    backend.reset(np.array([0, 1]), state)
    backend.step(default_targets(backend))
    np.testing.assert_array_equal(backend.get_state().is_finite(), [True, False])
    backend.reset(np.array([1]))
    assert backend.nonfinite_resets == 1
    heights = run(backend, 1.0)
    np.testing.assert_allclose(heights[-1, 1], heights[-1, 0], atol=0.01)  # on the ground again
    assert backend.get_state().contact_force[1].sum() > 100.0
