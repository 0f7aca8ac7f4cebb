# SPDX-License-Identifier: Apache-2.0
"""Recorded data -> clips: counts, and the errors for bad input (topic, clip and time named)."""

import dataclasses
import json

import numpy as np
import pytest

from robot_learning.data.bag_io import BagWriter, typestore
from robot_learning.data.trajectory import ARRAY_FIELDS, Trajectory
from robot_learning.delta_action.clips import ClipError, load_clips, load_trajectories
from robot_learning.robots.registry import load_robot

DT = 0.02


@pytest.fixture(scope='module')
def robot():
    return load_robot('quadruped')


def _trajectory(robot, steps: int, joint_names=None, missing=()) -> Trajectory:
    names = tuple(joint_names or robot.joint_names)
    t = np.arange(steps) * DT
    joints = len(names)
    arrays = {
        'time': t, 'joint_pos': np.tile(robot.default_joint_pos[:joints], (steps, 1)),
        'joint_vel': np.zeros((steps, joints)), 'joint_effort': np.zeros((steps, joints)),
        'base_pos': np.tile([0.0, 0.0, 0.3], (steps, 1)),
        'base_quat': np.tile([1.0, 0.0, 0.0, 0.0], (steps, 1)),
        'base_lin_vel': np.zeros((steps, 3)), 'base_ang_vel': np.zeros((steps, 3)),
        'actions': np.tile(robot.default_joint_pos[:joints], (steps, 1)),
        'commands': np.zeros((steps, 3))}
    for name in missing:
        arrays[name] = np.full_like(arrays[name], np.nan)
    return Trajectory(**arrays, robot='quadruped', joint_names=names, control_dt=DT,
                      source='test', missing=tuple(missing))


def test_clip_count_and_recorded_state(robot, tmp_path):
    path = _trajectory(robot, 30).save(tmp_path / 'a.npz')
    clips = load_clips([path, path], robot, horizon=10, control_dt=DT)
    # 30 samples hold 30 - 10 = 20 clips of 10 steps (11 states); two files -> 40.
    assert clips.num_clips == 40
    assert clips.starts[19] == 19 and clips.starts[20] == 30
    assert clips.names[30] == 'a.npz@0.00s'
    # Start times 0.2 s (10 steps) apart, never across the file boundary.
    np.testing.assert_array_equal(clips.spaced_starts(10), [0, 10, 30, 40])
    state = clips.state(np.array([3]))
    np.testing.assert_allclose(state.base_pos, [[0.0, 0.0, 0.3]])


def test_recordings_are_cut_at_a_fall(robot, tmp_path):
    trajectory = _trajectory(robot, 40)
    quat = trajectory.base_quat.copy()
    angle = np.where(np.arange(40) >= 25, 1.0, 0.1)  # tilted 1 rad about x from sample 25
    quat[:, 0], quat[:, 1] = np.cos(angle / 2), np.sin(angle / 2)
    fallen = dataclasses.replace(trajectory, base_quat=quat).save(tmp_path / 'fall.npz')
    clips = load_clips([fallen], robot, horizon=10, control_dt=DT, max_tilt=0.8)
    assert clips.num_clips == 25 - 10  # samples 0..24 kept
    assert load_clips([fallen], robot, horizon=10, control_dt=DT).num_clips == 30
    with pytest.raises(ClipError, match=r'every recording falls \(base tilt > 0\.8 rad\) within '
                                        r'the first 30 steps'):
        load_clips([fallen], robot, horizon=30, control_dt=DT, max_tilt=0.8)


def test_missing_topic_is_named(robot, tmp_path):
    path = _trajectory(robot, 30, missing=('base_pos', 'base_lin_vel')).save(tmp_path / 'b.npz')
    with pytest.raises(ClipError, match=r'b\.npz.*lacks topic\(s\) /odom \(fields base_pos, '
                                        r'base_lin_vel\)'):
        load_clips([path], robot, horizon=10, control_dt=DT)


def test_joint_names_that_do_not_match_the_robot(robot, tmp_path):
    names = list(robot.joint_names)
    names[4] = 'FR_knee'
    path = _trajectory(robot, 30, joint_names=names).save(tmp_path / 'c.npz')
    with pytest.raises(ClipError, match=r'c\.npz.*joint names \(topic /joint_states\) do not '
                                        r"match robot 'quadruped': unknown \['FR_knee'\]; "
                                        r"missing \['FR_thigh_joint'\]"):
        load_clips([path], robot, horizon=10, control_dt=DT)


def test_clip_shorter_than_the_horizon(robot, tmp_path):
    path = _trajectory(robot, 30).save(tmp_path / 'short.npz')
    with pytest.raises(ClipError, match=r'short\.npz.*clip of 30 samples \(0\.58 s, '
                                        r't=0\.00\.\.0\.58 s\) is shorter than the horizon of '
                                        r'50 steps \(1\.00 s\)'):
        load_clips([path], robot, horizon=50, control_dt=DT)


def test_non_finite_samples_name_topic_and_time(robot, tmp_path):
    trajectory = _trajectory(robot, 30)
    arrays = {name: getattr(trajectory, name).copy() for name in ARRAY_FIELDS}
    arrays['joint_vel'][7, 2] = np.nan
    metadata = {'format_version': 1, 'robot': 'quadruped',
                'joint_names': list(robot.joint_names), 'control_dt': DT, 'source': 'x',
                'missing': []}
    path = tmp_path / 'nan.npz'
    np.savez(path, metadata=np.array(json.dumps(metadata)), **arrays)
    with pytest.raises(ClipError, match=r'nan\.npz: non-finite joint_vel \(topic /joint_states\)'
                                        r' at sample 7 \(t=0\.140 s\)'):
        load_clips([path], robot, horizon=10, control_dt=DT)


def _bag(robot, path, stamps_ns, odometry: bool = True):
    """Write a standing robot's joint states, odometry and commands at ``stamps_ns``."""
    types = typestore().types
    with BagWriter(path) as bag:
        bag.add_topic('/joint_states', 'sensor_msgs/msg/JointState')
        bag.add_topic('/joint_commands', 'std_msgs/msg/Float64MultiArray')
        if odometry:
            bag.add_topic('/odom', 'nav_msgs/msg/Odometry')
        for stamp in stamps_ns:
            header = types['std_msgs/msg/Header'](
                stamp=types['builtin_interfaces/msg/Time'](sec=stamp // 10 ** 9,
                                                           nanosec=stamp % 10 ** 9),
                frame_id='')
            bag.write_message('/joint_states', stamp, types['sensor_msgs/msg/JointState'](
                header=header, name=list(robot.joint_names),
                position=robot.default_joint_pos.astype(float),
                velocity=np.zeros(12), effort=np.zeros(12)))
            if odometry:
                vector = types['geometry_msgs/msg/Vector3']
                point = types['geometry_msgs/msg/Point']
                pose = types['geometry_msgs/msg/PoseWithCovariance'](
                    pose=types['geometry_msgs/msg/Pose'](
                        position=point(x=0.0, y=0.0, z=0.3),
                        orientation=types['geometry_msgs/msg/Quaternion'](
                            x=0.0, y=0.0, z=0.0, w=1.0)), covariance=np.zeros(36))
                twist = types['geometry_msgs/msg/TwistWithCovariance'](
                    twist=types['geometry_msgs/msg/Twist'](
                        linear=vector(x=0.0, y=0.0, z=0.0), angular=vector(x=0.0, y=0.0, z=0.0)),
                    covariance=np.zeros(36))
                bag.write_message('/odom', stamp, types['nav_msgs/msg/Odometry'](
                    header=header, child_frame_id='base_link', pose=pose, twist=twist))
            layout = types['std_msgs/msg/MultiArrayLayout'](dim=[], data_offset=0)
            bag.write_message('/joint_commands', stamp + 1000, types[
                'std_msgs/msg/Float64MultiArray'](layout=layout,
                                                  data=robot.default_joint_pos.astype(float)))
    return path


def test_a_bag_without_odometry_is_refused(robot, tmp_path):
    stamps = 10 ** 9 + np.arange(40) * 20_000_000
    path = _bag(robot, tmp_path / 'no_odom', stamps, odometry=False)
    with pytest.raises(ClipError, match=r'no_odom: missing required topic\(s\) /odom .*needs '
                                        r'/joint_states .*The bag has: /joint_commands'):
        load_trajectories([path], robot, control_dt=DT)


def test_a_bag_is_split_at_gaps_and_short_stretches_are_dropped(robot, tmp_path):
    # 6 samples, a 0.1 s gap, then 30 samples: only the second stretch holds a 10-step clip.
    steps = np.concatenate([np.arange(6), np.arange(11, 41)])
    path = _bag(robot, tmp_path / 'gappy', 10 ** 9 + steps * 20_000_000)
    clips = load_clips([path], robot, horizon=10, control_dt=DT)
    assert clips.num_clips == 30 - 10 and len(clips.sources) == 1
    assert 'gappy' in clips.sources[0] and '0.220-0.800 s' in clips.sources[0]
    with pytest.raises(ClipError, match=r'gappy: too few samples for one clip: the longest '
                                        r'stretch .* is 30 samples .* a clip needs 41'):
        load_clips([path], robot, horizon=40, control_dt=DT)


def test_positional_arguments_split_into_recordings_and_overrides(tmp_path, monkeypatch):
    from robot_learning.cli.arguments import split_overrides
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'run=1').mkdir()  # an existing bag folder that reads like an override
    recordings, overrides = split_overrides(
        ['runs/bags/walk1', 'horizon_s=0.5', 'network.actor_hidden_dims=[16]', 'run=1'])
    assert recordings == ['runs/bags/walk1', 'run=1']
    assert overrides == ['horizon_s=0.5', 'network.actor_hidden_dims=[16]']
