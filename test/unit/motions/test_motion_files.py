# SPDX-License-Identifier: Apache-2.0
"""Reference motions: loader errors, the shipped files, keyframes and the motion library."""

from __future__ import annotations

import numpy as np
import pytest

from robot_learning.motions.kinematics import BodyKinematics
from robot_learning.motions.library import motion_inputs, motion_phase, MotionLibrary
from robot_learning.motions.motion import load_motion, Motion, MotionError
from robot_learning.motions.motions import (FEET, joint_trajectory, keyframe_offsets, KEYFRAMES,
                                            make_motion)
from robot_learning.robots.registry import load_robot

ROBOT = load_robot('humanoid')
SHIPPED = ('squat', 'arm_swing', 'step_in_place', 'kick')


def _motion(frames: int = 5, fps: float = 10.0, **changes) -> Motion:
    """Return a small valid motion of the humanoid: joints ramp by 0.01 rad per frame."""
    joints = ROBOT.default_joint_pos + 0.01 * np.arange(frames)[:, None]
    fields = {'name': 'ramp', 'fps': fps, 'joint_names': ROBOT.joint_names,
              'joint_pos': joints, 'base_pos': np.tile([0.0, 0.0, 0.768], (frames, 1)),
              'base_quat': np.tile([1.0, 0.0, 0.0, 0.0], (frames, 1)),
              'body_names': ('pelvis',), 'body_pos': np.zeros((frames, 1, 3))}
    fields.update(changes)
    return Motion(**fields)


def test_a_saved_motion_loads_back_identical(tmp_path):
    motion = _motion()
    path = motion.save(tmp_path / 'ramp.npz')
    loaded = load_motion(path, ROBOT)
    assert loaded.name == 'ramp' and loaded.fps == 10.0 and loaded.num_frames == 5
    assert loaded.duration == pytest.approx(0.4)
    np.testing.assert_array_equal(loaded.joint_pos, motion.joint_pos)
    assert loaded.joint_names == ROBOT.joint_names


def test_an_unknown_joint_is_named_with_the_file(tmp_path):
    names = ('left_hip_pitch', *ROBOT.joint_names[1:])
    path = tmp_path / 'bad.npz'
    _motion(joint_names=names).save(path)
    with pytest.raises(MotionError, match=r'bad\.npz: joint\(s\) left_hip_pitch are not joints '
                                          r"of robot 'humanoid'"):
        load_motion(path, ROBOT)


def test_joints_in_another_order_are_refused(tmp_path):
    names = (ROBOT.joint_names[1], ROBOT.joint_names[0], *ROBOT.joint_names[2:])
    _motion(joint_names=names).save(tmp_path / 'swapped.npz')
    with pytest.raises(MotionError, match='another order'):
        load_motion(tmp_path / 'swapped.npz', ROBOT)


def test_bad_shapes_name_the_field_and_the_expected_shape():
    with pytest.raises(MotionError, match=r'joint_pos has shape \(5, 20\), expected \(5, 21\)'):
        _motion(joint_pos=np.zeros((5, 20))).validate()
    with pytest.raises(MotionError, match=r'base_quat has shape \(5, 3\), expected \(5, 4\)'):
        _motion(base_quat=np.zeros((5, 3))).validate()
    with pytest.raises(MotionError, match=r'body_pos has shape \(5, 2, 3\)'):
        _motion(body_pos=np.zeros((5, 2, 3))).validate()


def test_non_finite_frames_and_bad_quaternions_are_located():
    joints = _motion().joint_pos.copy()
    joints[3, 2] = np.nan
    with pytest.raises(MotionError, match=r'joint_pos is not finite at frame 3 \(t = 0\.300 s\)'):
        _motion(joint_pos=joints).validate()
    with pytest.raises(MotionError, match='not a unit quaternion at frame 0'):
        _motion(base_quat=np.tile([2.0, 0.0, 0.0, 0.0], (5, 1))).validate()


def test_missing_files_fields_and_limits_are_clear_errors(tmp_path):
    with pytest.raises(MotionError, match="shipped motions of 'humanoid': arm_swing, kick"):
        load_motion('moonwalk', ROBOT)
    np.savez(tmp_path / 'partial.npz', fps=50.0, joint_pos=np.zeros((3, 21)))
    with pytest.raises(MotionError, match=r'partial\.npz: not a motion file; it lacks '
                                          r"\['joint_names', 'base_pos'"):
        load_motion(tmp_path / 'partial.npz', ROBOT)
    joints = _motion().joint_pos.copy()
    joints[1, 3] = 5.0  # left knee, beyond its 2.88 rad limit
    _motion(joint_pos=joints).save(tmp_path / 'far.npz')
    with pytest.raises(MotionError, match='left_knee_joint = 5.000 rad at frame 1'):
        load_motion(tmp_path / 'far.npz', ROBOT)


@pytest.mark.parametrize('name', SHIPPED)
def test_shipped_motions_keep_a_sole_on_the_ground(name):
    motion = load_motion(name, ROBOT)
    assert motion.fps == 50.0 and 3.0 <= motion.duration <= 5.0
    feet = [motion.body_names.index(foot) for foot in FEET]
    foot_height = motion.body_pos[:, feet, 2]
    # The lower foot origin sits at the sole height of the default pose at every frame.
    sole = foot_height[0].min()
    np.testing.assert_allclose(foot_height.min(axis=1), sole, atol=1e-9)
    # Stored body positions are the forward kinematics of the stored joints and base.
    kinematics = BodyKinematics(ROBOT, motion.body_names)
    np.testing.assert_allclose(
        kinematics.positions(motion.base_pos, motion.base_quat, motion.joint_pos),
        motion.body_pos, atol=1e-9)
    # Every motion starts and ends at rest in the default pose.
    np.testing.assert_allclose(motion.joint_pos[[0, -1]], ROBOT.default_joint_pos[None].repeat(
        2, 0), atol=1e-9)


def test_squat_keeps_both_feet_in_place():
    motion = load_motion('squat', ROBOT)
    feet = [motion.body_names.index(foot) for foot in FEET]
    drift = motion.body_pos[:, feet] - motion.body_pos[:1, feet]
    assert np.max(np.abs(drift)) < 1e-3
    assert motion.base_pos[:, 2].min() < motion.base_pos[0, 2] - 0.05  # it does squat


def test_keyframes_go_through_their_poses_and_patterns_must_match():
    offsets = keyframe_offsets(ROBOT, {'knee': 0.2, 'left_knee': 0.1})
    assert offsets[ROBOT.joint_index('left_knee_joint')] == pytest.approx(0.3)
    assert offsets[ROBOT.joint_index('right_knee_joint')] == pytest.approx(0.2)
    with pytest.raises(ValueError, match="'wrist' matches no joint"):
        keyframe_offsets(ROBOT, {'wrist': 0.1})
    keyframes = [(0.0, {}), (1.0, {'knee': 0.4}), (2.0, {})]
    joints = joint_trajectory(ROBOT, keyframes, fps=10.0)
    assert joints.shape == (21, 21)
    knee = ROBOT.joint_index('left_knee_joint')
    assert joints[10, knee] == pytest.approx(ROBOT.default_joint_pos[knee] + 0.4)
    assert set(KEYFRAMES) == set(SHIPPED)
    motion = make_motion(ROBOT, 'bend', keyframes, fps=10.0)
    assert motion.num_frames == 21 and motion.body_pos.shape == (21, 12, 3)


def test_library_blends_frames_and_differentiates():
    library = MotionLibrary([_motion(frames=5, fps=10.0)])
    reference = library.reference(np.array([0, 0]), np.array([0.05, 10.0]))
    # Frame 0 -> 1 halfway: +0.005 rad; beyond the end: the last frame (+0.04 rad).
    np.testing.assert_allclose(reference.joint_pos[0], ROBOT.default_joint_pos + 0.005)
    np.testing.assert_allclose(reference.joint_pos[1], ROBOT.default_joint_pos + 0.04)
    np.testing.assert_allclose(reference.joint_vel, 0.1)  # 0.01 rad per 0.1 s frame
    np.testing.assert_allclose(reference.base_ang_vel, 0.0, atol=1e-12)
    with pytest.raises(MotionError, match="unknown motion 'kick'; this library holds ramp"):
        library.index('kick')


def test_phase_is_time_over_duration_clipped_to_one():
    np.testing.assert_allclose(motion_phase(np.array([0.0, 1.0, 5.0]), np.array([4.0, 4.0, 4.0])),
                               [[0.0], [0.25], [1.0]])
    library = MotionLibrary([_motion(frames=5, fps=10.0)])
    phase, joints = motion_inputs(library, np.array([0]), np.array([0.1]))
    assert phase[0, 0] == pytest.approx(0.25)  # 0.1 s of a 0.4 s motion
    np.testing.assert_allclose(joints[0], ROBOT.default_joint_pos + 0.01)
