# SPDX-License-Identifier: Apache-2.0
"""MuJoCo and PyBullet agree for the same robot and PD targets, within stated tolerances.

Fixed base (arm, KUKA iiwa): both engines integrate the same rigid-body dynamics and PD law;
at 1 ms they are both close to the continuous solution. What is left comes from PyBullet's
armature emulation (rotor inertia added to the child link, which also couples into the parent
joints, where MuJoCo adds it to the joint's diagonal only) and from implicit (MuJoCo) versus
explicit (PyBullet) damping. Measured: 0.016 rad (arm) and 0.027 rad (iiwa) at most over 2 s of
1 Hz, 0.3 rad sine targets; the tolerance is 0.04 rad.

Floating base (quadruped dropped from 0.35 m, held at the default pose for 2 s): contact
models differ. With elliptic friction cones MuJoCo's feet hold like PyBullet's Coulomb
contacts (measured height difference 0.8 cm; tolerance 1.5 cm). With the default pyramidal
cone, MuJoCo's soft contacts let the feet creep outward under the static load and the body
sinks about 1 cm per second (measured 2.8 cm after 2 s; tolerance 3.5 cm).
"""

from __future__ import annotations

import numpy as np
import pytest

from robot_learning.robots import load_robot
from robot_learning.sim.base import SimConfig
from robot_learning.sim.mujoco_backend import MujocoBackend
from robot_learning.sim.pybullet_backend import PybulletBackend

ENGINES = (MujocoBackend, PybulletBackend)


@pytest.mark.parametrize('robot_name', ['arm', 'kuka_iiwa'])
def test_fixed_base_joint_trajectories_agree(robot_name):
    robot = load_robot(robot_name)
    config = SimConfig(sim_dt=0.001, decimation=10)
    trajectories = []
    for engine in ENGINES:
        backend = engine(robot, 1, config)
        joint_pos = []
        for step in range(200):  # 2 s at 100 Hz
            time = step * backend.control_dt
            phase = 2 * np.pi * time + np.arange(robot.num_joints)
            backend.step((robot.default_joint_pos + 0.3 * np.sin(phase))[None])
            joint_pos.append(backend.get_state().joint_pos[0].copy())
        backend.close()
        trajectories.append(np.array(joint_pos))
    mujoco_traj, pybullet_traj = trajectories
    assert np.ptp(mujoco_traj, axis=0).min() > 0.3  # every joint really moved
    np.testing.assert_allclose(mujoco_traj, pybullet_traj, atol=0.04)


@pytest.mark.parametrize('cone, height_tolerance', [('elliptic', 0.015), ('pyramidal', 0.035)])
def test_floating_base_drop_and_stand_agree(cone, height_tolerance):
    robot = load_robot('quadruped')
    config = SimConfig(friction_cone=cone, impratio=10.0 if cone == 'elliptic' else 1.0,
                       line_search_iterations=20)
    heights, final = [], []
    for engine in ENGINES:
        backend = engine(robot, 1, config)
        height = []
        for _ in range(100):  # 2 s at 50 Hz
            backend.step(robot.default_joint_pos[None])
            height.append(backend.get_state().base_pos[0, 2])
        heights.append(np.array(height))
        final.append(backend.get_state())
        backend.close()
    assert heights[0][0] < 0.35 and heights[1][0] < 0.35  # both really dropped
    np.testing.assert_allclose(heights[0], heights[1], atol=height_tolerance)
    weight = robot.total_mass * 9.81
    for state in final:
        np.testing.assert_allclose(state.contact_force.sum(), weight, rtol=0.05)
        gravity_z = 1 - 2 * (state.base_quat[0, 1] ** 2 + state.base_quat[0, 2] ** 2)
        assert gravity_z > np.cos(np.radians(5))  # upright
    if cone == 'elliptic':
        np.testing.assert_allclose(final[0].joint_pos, final[1].joint_pos, atol=0.05)
