# SPDX-License-Identifier: Apache-2.0
"""The MuJoCo rollout backend on the project quadruped, arm and the third-party A1."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from robot_learning.robots import load_robot
from robot_learning.sim.base import SimConfig, SimulationError
from robot_learning.sim.mujoco_backend import MujocoBackend

G = 9.81


def _hold(backend, steps, targets=None):
    targets = np.tile(backend.robot.default_joint_pos, (backend.num_envs, 1)) \
        if targets is None else targets
    for _ in range(steps):
        backend.step(targets)
    return backend.get_state()


@pytest.mark.parametrize('robot_name', ['quadruped', 'a1'])
def test_quadrupeds_stand_on_their_feet_under_pd(robot_name):
    robot = load_robot(robot_name)
    backend = MujocoBackend(robot, 2)
    state = _hold(backend, 100)  # 2 s
    assert np.all(state.base_pos[:, 2] > 0.2)
    # The four feet carry the whole weight (touch sensors), within 5 %.
    np.testing.assert_allclose(state.contact_force.sum(axis=1), robot.total_mass * G, rtol=0.05)
    # Each foot carries part of the load (Kp 20 lets the legs sag, but all four stay down).
    assert np.all(state.contact_force > 0.1 * robot.total_mass * G / 4)
    assert np.all(state.contact_pos[:, :, 2] < 0.05)


def test_per_environment_dynamics_really_differ():
    robot = load_robot('quadruped')
    backend = MujocoBackend(robot, 4)
    backend.set_dynamics(np.array([1]), {'motor_strength': 0.0})
    backend.set_dynamics(np.array([2]), {'added_base_mass': 2.0})
    backend.set_dynamics(np.array([3]), {'kp_scale': 2.0})
    height = _hold(backend, 100).base_pos[:, 2]
    # No motor torque: the robot collapses onto its belly (half-height 0.057 m).
    assert height[1] < 0.1 < height[0]
    # A payload sags the PD legs; stiffer gains hold the body higher.
    assert height[2] < height[0] - 0.02
    assert height[3] > height[0] + 0.02
    assert backend.models[0] is backend.nominal_model
    assert backend.models[1] is not backend.nominal_model
    backend.set_dynamics(np.array([1]), {'motor_strength': 1.0})
    assert backend.models[1] is backend.nominal_model


def test_action_latency_delays_the_torque_by_whole_physics_steps():
    robot = load_robot('arm')
    config = SimConfig(sim_dt=0.002, decimation=5)
    backend = MujocoBackend(robot, 2, config)
    backend.set_dynamics(np.array([1]), {'action_latency': 0.006})  # 3 physics steps
    _hold(backend, 20)
    target = np.tile(robot.default_joint_pos, (2, 1))
    target[:, 0] += 0.2
    backend.step(target)
    moved = backend.get_state().joint_pos[:, 0] - robot.default_joint_pos[0]
    # Env 0 pushed for 5 physics steps, env 1 for 2: both moved, env 0 clearly further.
    assert moved[0] > 2 * moved[1] > 0.0


def test_reset_to_given_states_round_trips():
    robot = load_robot('quadruped')
    backend = MujocoBackend(robot, 3)
    _hold(backend, 10)
    state = backend.default_state(2)
    state.base_pos[:] = [[1.0, 2.0, 0.5], [-1.0, 0.5, 0.6]]
    state.base_quat[:] = [[np.cos(0.2), 0, 0, np.sin(0.2)], [1, 0, 0, 0]]
    state.base_lin_vel[:] = [[0.3, -0.2, 0.1], [0, 0, 0]]
    state.base_ang_vel[:] = [[0.0, 0.0, 0.5], [0.1, 0, 0]]
    state.joint_pos = state.joint_pos + 0.1
    state.joint_vel[:] = 0.5
    backend.reset(np.array([0, 2]), state)
    # Read-out before stepping: the raw state rows must hold exactly what was given.
    rows = backend.state[[0, 2]]
    qpos = rows[:, backend._qpos]
    qvel = rows[:, backend._qvel]
    np.testing.assert_allclose(qpos[:, :3], state.base_pos)
    np.testing.assert_allclose(qpos[:, 3:7], state.base_quat)
    np.testing.assert_allclose(qvel[:, :6], np.hstack([state.base_lin_vel, state.base_ang_vel]))
    np.testing.assert_allclose(qpos[:, backend.layout.joint_qpos], state.joint_pos)
    np.testing.assert_allclose(qvel[:, backend.layout.joint_dof], state.joint_vel)
    after = backend.get_state()
    np.testing.assert_allclose(after.base_pos[[0, 2]], state.base_pos)


def test_non_finite_state_comes_out_as_nan_not_silently_reset():
    robot = load_robot('quadruped')
    backend = MujocoBackend(robot, 2)
    backend.state[1, backend._qvel.start + 8] = np.nan
    _hold(backend, 1)
    finite = backend.get_state().is_finite()
    assert finite.tolist() == [True, False]


def test_a_urdf_that_mujoco_rejects_names_the_file(tmp_path):
    broken = tmp_path / 'broken.urdf'
    broken.write_text('<robot name="x"><link name="a"><inertial><mass value="1"/></inertial>'
                      '</link><joint name="j" type="revolute"><parent link="a"/>'
                      '<child link="missing"/></joint></robot>')
    robot = dataclasses.replace(load_robot('quadruped'), urdf_path=broken)
    with pytest.raises(SimulationError) as error:
        MujocoBackend(robot, 1)
    assert str(broken) in str(error.value)


def test_a_single_environment_steps_on_the_calling_thread():
    robot = load_robot('quadruped')
    backend = MujocoBackend(robot, 1, SimConfig(num_threads=4))
    state = _hold(backend, 5)
    assert backend.num_threads == 1 and state.is_finite().all()
