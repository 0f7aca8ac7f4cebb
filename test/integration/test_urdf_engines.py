# SPDX-License-Identifier: Apache-2.0
"""Every registered robot's URDF loads in MuJoCo and PyBullet, and they agree on its kinematics."""

from __future__ import annotations

from collections.abc import Iterator
import pathlib
import xml.etree.ElementTree as ElementTree

import mujoco
import numpy as np
import pybullet
import pytest

from robot_learning.paths import share_dir
from robot_learning.robots import available_robots, load_robot, RobotSpec
from robot_learning.robots.urdf_info import read_urdf

ROBOTS = available_robots()
# URDFs written by this project (not third-party ones): held to stricter checks.
OWN_ROBOTS = [name for name in ROBOTS
              if load_robot(name).urdf_path.is_relative_to(share_dir() / 'urdf')]


@pytest.fixture(scope='module')
def bullet() -> Iterator[int]:
    """Yield a PyBullet DIRECT-mode client."""
    client = pybullet.connect(pybullet.DIRECT)
    yield client
    pybullet.disconnect(client)


def _mujoco_model(spec: RobotSpec, fuse_static: bool = True) -> mujoco.MjModel:
    """Compile the robot's URDF; floating-base robots get a free joint on the base link."""
    model_spec = mujoco.MjSpec.from_file(str(spec.urdf_path))
    model_spec.compiler.fusestatic = fuse_static
    model_spec.compiler.balanceinertia = spec.balance_inertia
    if spec.floating_base:
        model_spec.body(spec.base_link).add_freejoint()
    return model_spec.compile()


def _default_data(spec: RobotSpec, model: mujoco.MjModel) -> mujoco.MjData:
    """Return MjData at the default pose, base at ``init_base_height``, after mj_forward."""
    data = mujoco.MjData(model)
    if spec.floating_base:
        data.qpos[:7] = [0.0, 0.0, spec.init_base_height, 1.0, 0.0, 0.0, 0.0]
    for name, position in zip(spec.joint_names, spec.default_joint_pos):
        data.qpos[model.jnt_qposadr[model.joint(name).id]] = position
    mujoco.mj_forward(model, data)
    return data


def _geom_z_range(model: mujoco.MjModel, data: mujoco.MjData, geom: int) -> tuple[float, float]:
    """World z extent of a geom's bounding box [m]."""
    center = data.geom_xpos[geom] + data.geom_xmat[geom].reshape(3, 3) @ model.geom_aabb[geom, :3]
    half = np.abs(data.geom_xmat[geom].reshape(3, 3)) @ model.geom_aabb[geom, 3:]
    return center[2] - half[2], center[2] + half[2]


def _urdf_link_mass(path: pathlib.Path, link: str) -> float:
    """Mass of one URDF link [kg] (0 without an inertial)."""
    element = ElementTree.parse(path).getroot().find(f"link[@name='{link}']/inertial/mass")
    return 0.0 if element is None else float(element.get('value'))


def _bullet_load(spec: RobotSpec, client: int) -> int:
    return pybullet.loadURDF(str(spec.urdf_path), useFixedBase=not spec.floating_base,
                             flags=pybullet.URDF_USE_INERTIA_FROM_FILE, physicsClientId=client)


def _bullet_joints(body: int, client: int) -> dict[str, int]:
    """Movable joint name -> joint index."""
    joints = {}
    for index in range(pybullet.getNumJoints(body, physicsClientId=client)):
        info = pybullet.getJointInfo(body, index, physicsClientId=client)
        if info[2] != pybullet.JOINT_FIXED:
            joints[info[1].decode()] = index
    return joints


@pytest.mark.parametrize('name', ROBOTS)
def test_urdf_compiles_in_mujoco(name: str) -> None:
    spec = load_robot(name)
    model = _mujoco_model(spec)
    hinges = {model.joint(j).name for j in range(model.njnt)
              if model.jnt_type[j] == mujoco.mjtJoint.mjJNT_HINGE}
    urdf_joints = read_urdf(spec.urdf_path).movable_joints
    assert hinges == {joint.name for joint in urdf_joints}
    assert set(spec.joint_names) == hinges
    for joint in urdf_joints:
        if joint.joint_type != 'continuous':  # MuJoCo: a continuous joint has no range
            np.testing.assert_allclose(model.joint(joint.name).range, [joint.lower, joint.upper])
    unfused = _mujoco_model(spec, fuse_static=False)
    assert unfused.body_subtreemass[0] == pytest.approx(spec.total_mass)
    for body in (spec.base_link, *spec.contact_bodies):
        assert unfused.body(body).name == body


@pytest.mark.parametrize('name', ROBOTS)
def test_urdf_loads_in_pybullet(name: str, bullet: int) -> None:
    spec = load_robot(name)
    body = _bullet_load(spec, bullet)
    try:
        joints = _bullet_joints(body, bullet)
        assert set(joints) == set(spec.joint_names)
        masses = [pybullet.getDynamicsInfo(body, link, physicsClientId=bullet)[0]
                  for link in range(-1, pybullet.getNumJoints(body, physicsClientId=bullet))]
        if spec.floating_base:
            assert sum(masses) == pytest.approx(spec.total_mass)
        else:  # PyBullet reports a fixed base as massless.
            assert masses[0] == 0.0
            assert sum(masses) == pytest.approx(spec.total_mass - _urdf_link_mass(
                spec.urdf_path, spec.base_link))
    finally:
        pybullet.removeBody(body, physicsClientId=bullet)


@pytest.mark.parametrize('name', OWN_ROBOTS)
def test_engines_agree_on_contact_body_positions(name: str, bullet: int) -> None:
    spec = load_robot(name)
    model = _mujoco_model(spec, fuse_static=False)
    data = _default_data(spec, model)
    body = _bullet_load(spec, bullet)
    try:
        if spec.floating_base:  # PyBullet places the base's centre of mass, not its frame.
            com = pybullet.getDynamicsInfo(body, -1, physicsClientId=bullet)[3]
            pybullet.resetBasePositionAndOrientation(
                body, np.add(com, [0.0, 0.0, spec.init_base_height]), [0.0, 0.0, 0.0, 1.0],
                physicsClientId=bullet)
        joints = _bullet_joints(body, bullet)
        for joint_name, position in zip(spec.joint_names, spec.default_joint_pos):
            pybullet.resetJointState(body, joints[joint_name], position,
                                     physicsClientId=bullet)
        links = {pybullet.getJointInfo(body, index, physicsClientId=bullet)[12].decode(): index
                 for index in range(pybullet.getNumJoints(body, physicsClientId=bullet))}
        for contact_body in spec.contact_bodies:
            state = pybullet.getLinkState(body, links[contact_body], computeForwardKinematics=True,
                                          physicsClientId=bullet)
            np.testing.assert_allclose(state[4], data.xpos[model.body(contact_body).id],
                                       atol=1e-6)
    finally:
        pybullet.removeBody(body, physicsClientId=bullet)


@pytest.mark.parametrize('name', OWN_ROBOTS)
def test_default_pose_has_no_self_contact(name: str) -> None:
    spec = load_robot(name)
    model = _mujoco_model(spec)
    data = _default_data(spec, model)
    pairs = [(model.body(model.geom_bodyid[contact.geom1]).name,
              model.body(model.geom_bodyid[contact.geom2]).name)
             for contact in data.contact[:data.ncon]]
    assert not pairs


def test_humanoid_stands_on_flat_feet_at_init_base_height() -> None:
    spec = load_robot('humanoid')
    model = _mujoco_model(spec)
    data = _default_data(spec, model)
    ranges = {geom: _geom_z_range(model, data, geom) for geom in range(model.ngeom)}
    lowest = min(ranges, key=lambda geom: ranges[geom][0])
    assert model.body(model.geom_bodyid[lowest]).name in spec.contact_bodies
    for foot in spec.contact_bodies:
        foot_id = model.body(foot).id
        bottoms = [low for geom, (low, _) in ranges.items() if model.geom_bodyid[geom] == foot_id]
        assert 0.0 <= min(bottoms) < 0.02, foot
        # Flat: the foot frame's z axis points straight up.
        assert data.xmat[foot_id].reshape(3, 3)[2, 2] > 0.9999, foot
    top = max(high for _, high in ranges.values())
    assert 1.2 <= top <= 1.4
    # The centre of mass is above the support polygon of the feet (x between heels and toes).
    foot_x = [data.xpos[model.body(foot).id][0] for foot in spec.contact_bodies]
    assert min(foot_x) - 0.07 < data.subtree_com[0][0] < max(foot_x) + 0.14


def test_arm_home_pose_points_the_peg_down() -> None:
    spec = load_robot('arm')
    model = _mujoco_model(spec, fuse_static=False)
    data = _default_data(spec, model)
    tip = model.body('peg_tip').id
    np.testing.assert_allclose(data.xmat[tip].reshape(3, 3)[:, 2], [0.0, 0.0, -1.0], atol=2e-3)
    assert 0.4 < data.xpos[tip][0] < 0.8
    assert 0.1 < data.xpos[tip][2] < 0.5
    # Stretched straight up, the flange is 1.306 m and the peg tip 1.406 m above the base.
    data.qpos[:] = 0.0
    mujoco.mj_forward(model, data)
    np.testing.assert_allclose(data.xpos[tip], [0.0, 0.0, 1.406], atol=1e-9)
