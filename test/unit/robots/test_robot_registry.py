# SPDX-License-Identifier: Apache-2.0
"""The robot registry: every config/robots YAML resolves against its URDF; errors name the fix."""

from __future__ import annotations

import pathlib

import numpy as np
import pytest
import yaml

from robot_learning.config import ConfigError
from robot_learning.paths import share_dir
from robot_learning.robots import available_robots, load_robot
from robot_learning.robots.spec import per_joint
from robot_learning.robots.urdf_info import read_urdf

ROBOTS = available_robots()
QUADRUPED_JOINTS = ('FL_hip_joint', 'FL_thigh_joint', 'FL_calf_joint',
                    'FR_hip_joint', 'FR_thigh_joint', 'FR_calf_joint',
                    'RL_hip_joint', 'RL_thigh_joint', 'RL_calf_joint',
                    'RR_hip_joint', 'RR_thigh_joint', 'RR_calf_joint')


def _quadruped_yaml(tmp_path: pathlib.Path, **changes: object) -> pathlib.Path:
    """Write a copy of the quadruped YAML with an absolute URDF path and ``changes`` applied."""
    data = yaml.safe_load((share_dir() / 'config' / 'robots' / 'quadruped.yaml').read_text())
    data['urdf'] = str(share_dir() / 'urdf' / 'quadruped.urdf')
    data.update(changes)
    path = tmp_path / 'robot.yaml'
    path.write_text(yaml.safe_dump(data))
    return path


def test_registry_lists_the_project_robots() -> None:
    assert {'quadruped', 'humanoid', 'arm', 'a1', 'kuka_iiwa'} <= set(ROBOTS)


@pytest.mark.parametrize('name', ROBOTS)
def test_every_robot_loads_and_matches_its_urdf(name: str) -> None:
    spec = load_robot(name)
    info = read_urdf(spec.urdf_path)
    assert spec.name == name
    assert spec.num_joints == len(info.movable_joints)
    assert set(spec.joint_names) == {joint.name for joint in info.movable_joints}
    assert spec.base_link in info.links
    assert spec.contact_bodies and set(spec.contact_bodies) <= set(info.links)
    assert spec.total_mass == pytest.approx(info.total_mass)
    for array in (spec.default_joint_pos, spec.kp, spec.kd, spec.action_scale, spec.armature,
                  spec.position_lower, spec.position_upper, spec.velocity_limit,
                  spec.effort_limit):
        assert array.shape == (spec.num_joints,)
        assert np.all(np.isfinite(array))
    assert np.all(spec.kp > 0) and np.all(spec.kd > 0) and np.all(spec.action_scale > 0)
    assert np.all(spec.armature >= 0)
    assert np.all(spec.position_lower < spec.position_upper)
    assert np.all(spec.velocity_limit > 0) and np.all(spec.effort_limit > 0)
    assert np.all((spec.position_lower <= spec.default_joint_pos)
                  & (spec.default_joint_pos <= spec.position_upper))
    assert spec.contact_radius > 0
    if spec.floating_base:
        assert spec.init_base_height > 0
    assert spec.floating_base == (spec.robot_class != 'arm')


def test_robot_sizes() -> None:
    humanoid = load_robot('humanoid')
    assert humanoid.robot_class == 'humanoid'
    assert humanoid.num_joints >= 19
    assert 30.0 <= humanoid.total_mass <= 40.0
    assert humanoid.base_link == 'pelvis'
    assert humanoid.contact_bodies == ('left_foot', 'right_foot')

    quadruped = load_robot('quadruped')
    assert quadruped.num_joints == 12
    assert 12.0 <= quadruped.total_mass <= 15.0

    arm = load_robot('arm')
    assert arm.robot_class == 'arm'
    assert arm.num_joints == 7
    assert arm.joint_names == tuple(f'joint_{i}' for i in range(1, 8))
    assert not arm.floating_base
    assert 20.0 <= arm.total_mass <= 31.0
    assert arm.contact_bodies == ('peg_tip',)

    kuka = load_robot('kuka_iiwa')
    assert kuka.num_joints == 7
    assert not kuka.floating_base
    assert kuka.contact_bodies == ('lbr_iiwa_link_7',)


def test_arm_limits_follow_the_iiwa_data_sheet() -> None:
    arm = load_robot('arm')
    degrees = np.degrees(arm.position_upper)
    np.testing.assert_allclose(degrees, [170, 120, 170, 120, 170, 120, 175], atol=0.01)
    np.testing.assert_allclose(arm.position_lower, -arm.position_upper)
    np.testing.assert_allclose(arm.effort_limit, [320, 320, 176, 176, 110, 40, 40])
    assert np.all((arm.velocity_limit > 1.2) & (arm.velocity_limit < 2.5))
    # Heavier proximal joints get the stiffer gains.
    assert np.all(np.diff(arm.kp) <= 0) and np.all(np.diff(arm.kd) <= 0)


def test_humanoid_is_left_right_symmetric() -> None:
    humanoid = load_robot('humanoid')
    for index, name in enumerate(humanoid.joint_names):
        if not name.startswith('left_'):
            continue
        mirror = humanoid.joint_index('right_' + name[len('left_'):])
        for array in (humanoid.kp, humanoid.kd, humanoid.armature, humanoid.effort_limit,
                      humanoid.velocity_limit):
            assert array[index] == array[mirror]
        if '_roll_' in name or '_yaw_' in name:  # Mirrored about the sagittal plane.
            assert humanoid.default_joint_pos[index] == -humanoid.default_joint_pos[mirror]
            assert humanoid.position_lower[index] == -humanoid.position_upper[mirror]
        else:
            assert humanoid.default_joint_pos[index] == humanoid.default_joint_pos[mirror]
            assert humanoid.position_lower[index] == humanoid.position_lower[mirror]


def test_unknown_robot_lists_registered_robots() -> None:
    with pytest.raises(ConfigError) as error:
        load_robot('no_such_robot')
    message = str(error.value)
    assert 'no_such_robot' in message
    for name in ROBOTS:
        assert name in message


def test_unknown_joint_names_the_valid_joints(tmp_path: pathlib.Path) -> None:
    joints = list(QUADRUPED_JOINTS)
    joints[2] = 'FL_knee_joint'
    path = _quadruped_yaml(tmp_path, joint_names=joints)
    with pytest.raises(ConfigError) as error:
        load_robot(str(path))
    message = str(error.value)
    assert 'FL_knee_joint' in message
    for name in QUADRUPED_JOINTS:
        assert name in message


def test_unknown_contact_body_names_the_links(tmp_path: pathlib.Path) -> None:
    path = _quadruped_yaml(tmp_path, contact_bodies=['FL_toe'])
    with pytest.raises(ConfigError, match="link 'FL_toe'.*FL_foot"):
        load_robot(str(path))


def test_misspelled_key_names_the_valid_keys(tmp_path: pathlib.Path) -> None:
    path = _quadruped_yaml(tmp_path)
    data = yaml.safe_load(path.read_text())
    data['kpp'] = data.pop('kp')
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError) as error:
        load_robot(str(path))
    message = str(error.value)
    assert 'kpp' in message
    assert 'valid keys' in message
    for key in ('kp', 'kd', 'joint_names', 'default_joint_pos', 'contact_bodies'):
        assert key in message


def test_default_pose_outside_the_limits_is_rejected(tmp_path: pathlib.Path) -> None:
    path = _quadruped_yaml(tmp_path, default_joint_pos={'calf': 1.0, '.': 0.0})
    with pytest.raises(ConfigError, match='outside the joint limits.*FL_calf_joint'):
        load_robot(str(path))


def test_absolute_yaml_path_loads(tmp_path: pathlib.Path) -> None:
    spec = load_robot(str(_quadruped_yaml(tmp_path)))
    assert spec.joint_names == QUADRUPED_JOINTS
    assert spec.urdf_path == share_dir() / 'urdf' / 'quadruped.urdf'


def test_regex_mappings_expand_to_hand_values() -> None:
    quadruped = load_robot('quadruped')
    np.testing.assert_array_equal(
        quadruped.default_joint_pos,
        [0.1, 0.8, -1.5, -0.1, 0.8, -1.5, 0.1, 1.0, -1.5, -0.1, 1.0, -1.5])

    humanoid = load_robot('humanoid')
    by_name = dict(zip(humanoid.joint_names, humanoid.kp))
    assert by_name['left_hip_pitch_joint'] == by_name['right_hip_yaw_joint'] == 100.0
    assert by_name['left_knee_joint'] == 150.0
    assert by_name['right_ankle_roll_joint'] == 40.0
    assert by_name['waist_yaw_joint'] == 200.0
    assert by_name['left_elbow_joint'] == by_name['right_shoulder_roll_joint'] == 40.0
    pose = dict(zip(humanoid.joint_names, humanoid.default_joint_pos))
    assert pose['left_hip_pitch_joint'] == -0.1
    assert pose['right_knee_joint'] == 0.3
    assert pose['left_ankle_pitch_joint'] == -0.2
    assert pose['left_shoulder_roll_joint'] == 0.15
    assert pose['right_shoulder_roll_joint'] == -0.15
    assert pose['waist_yaw_joint'] == pose['left_hip_roll_joint'] == 0.0
    armature = dict(zip(humanoid.joint_names, humanoid.armature))
    assert armature['left_knee_joint'] == armature['right_hip_roll_joint'] == 0.025
    assert armature['left_hip_pitch_joint'] == armature['right_elbow_joint'] == 0.01


def test_per_joint_forms() -> None:
    names = ('a_hip', 'a_knee', 'b_hip', 'b_knee')
    np.testing.assert_array_equal(per_joint(2, names, 'kp'), [2.0, 2.0, 2.0, 2.0])
    np.testing.assert_array_equal(per_joint([1, 2, 3, 4], names, 'kp'), [1.0, 2.0, 3.0, 4.0])
    # The first matching pattern wins, so specific patterns go before catch-alls.
    np.testing.assert_array_equal(per_joint({'^a_hip': 5, 'hip': 1, '.': 0}, names, 'kp'),
                                  [5.0, 0.0, 1.0, 0.0])
    np.testing.assert_array_equal(per_joint({'.': 0, '^a_hip': 5}, names, 'kp'), [0.0] * 4)
    with pytest.raises(ConfigError, match="kp: no pattern matches joint 'a_knee'"):
        per_joint({'hip': 1}, names, 'kp')
    with pytest.raises(ConfigError, match='kd: has 3 values but the robot has 4 joints'):
        per_joint([1, 2, 3], names, 'kd')
    with pytest.raises(ConfigError, match='expected a number, a list or a mapping'):
        per_joint('fast', names, 'kd')
    with pytest.raises(ConfigError):
        per_joint(True, names, 'kd')
