# SPDX-License-Identifier: Apache-2.0
"""rosbag2 round trips through ``rosbags``: write, read, export to a trajectory, recover.

The synthetic recording is what the sim bridge and the policy node publish at 50 Hz: header
stamps on the sim clock (starting at 100 s), receive times on a wall clock, commands received
3 ms after their state, /joint_states names in a shuffled order, a sparse /cmd_vel, a 5-step gap
on every topic and one pair of IMU messages received in swapped order.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import pathlib
import signal
import subprocess
import sys

import numpy as np
import pytest

from robot_learning.cli import bag_commands
from robot_learning.cli.bag_commands import add_bag_parser
from robot_learning.data import bag_io
from robot_learning.data.bag_export import BagExportError, BagTopics, export_bag
from robot_learning.data.trajectory import Trajectory
from robot_learning.policies.contract import PolicyContract, save_contract
from robot_learning.rotations import quat_rotate_inverse, yaw_quat
from robot_learning.tasks.observations import ObservationTerm

JOINTS = ('FL_hip_joint', 'FL_thigh_joint', 'FL_calf_joint', 'FR_hip_joint', 'FR_thigh_joint',
          'FR_calf_joint')
"""Contract joint order."""
PUBLISHED_ORDER = [JOINTS[i] for i in (3, 0, 5, 1, 4, 2)]
"""Joint order of the recorded /joint_states messages."""
DT = 0.02
DT_NS = 20_000_000
STEPS = 150
GAP = range(61, 66)
"""Steps missing on every topic (a /cmd_vel message at step 60 is still held after it)."""
SWAPPED_IMU = (100, 101)
"""IMU messages received in swapped order."""
SIM_START_NS = 100 * 10**9
WALL_START_NS = 1_750_000_000 * 10**9
CMD_VEL_EVERY = 10

TYPES = bag_io.typestore().types
ROOT = pathlib.Path(__file__).resolve().parents[2]


def _time(ns: int):
    return TYPES['builtin_interfaces/msg/Time'](sec=ns // 10**9, nanosec=ns % 10**9)


def _header(ns: int, frame: str = ''):
    return TYPES['std_msgs/msg/Header'](stamp=_time(ns), frame_id=frame)


def _vector(values):
    return TYPES['geometry_msgs/msg/Vector3'](x=float(values[0]), y=float(values[1]),
                                              z=float(values[2]))


def _quaternion(wxyz):
    w, x, y, z = (float(value) for value in wxyz)
    return TYPES['geometry_msgs/msg/Quaternion'](x=x, y=y, z=z, w=w)


def _truth() -> dict[str, np.ndarray]:
    """Return the recorded quantities per step, in contract joint order."""
    k = np.arange(STEPS)
    t = k * DT
    phase = np.arange(len(JOINTS))
    quat = yaw_quat(0.3 * np.sin(0.5 * t))
    return {
        'time': (SIM_START_NS + k * DT_NS) * 1e-9,
        'joint_pos': np.sin(t[:, None] + phase),
        'joint_vel': np.cos(t[:, None] + phase),
        'joint_effort': 0.5 * np.sin(2 * t[:, None] + phase),
        'base_pos': np.stack([0.4 * t, 0.1 * np.sin(t), 0.3 + 0.01 * np.cos(t)], axis=1),
        'base_quat': quat,
        'base_lin_vel': np.stack([0.4 + 0 * t, 0.1 * np.cos(t), -0.01 * np.sin(t)], axis=1),
        'base_ang_vel': np.stack([0.01 * t, -0.02 * t, 0.15 * np.cos(0.5 * t)], axis=1),
        'actions': 0.8 * np.sin(t[:, None] + phase + 0.1),
        'commands': np.stack([0.1 * (k // CMD_VEL_EVERY), 0 * t, -0.05 * (k // CMD_VEL_EVERY)],
                             axis=1),
    }


def _write_recording(path: pathlib.Path, storage: str = 'mcap', trajectory_topic: bool = False,
                     flush_every: int = 0, late_command: int | None = None) -> dict[str, int]:
    """Write the synthetic recording; return the message count per topic."""
    truth = _truth()
    position = {name: JOINTS.index(name) for name in PUBLISHED_ORDER}
    order = [position[name] for name in PUBLISHED_ORDER]
    body_velocity = quat_rotate_inverse(truth['base_quat'], truth['base_lin_vel'])
    events: list[tuple[int, str, object]] = []
    for k in range(STEPS):
        if k in GAP:
            continue
        stamp = SIM_START_NS + k * DT_NS
        wall = WALL_START_NS + k * DT_NS + 17_000 * (k % 3)  # receive-time jitter
        events.append((wall, '/joint_states', TYPES['sensor_msgs/msg/JointState'](
            header=_header(stamp), name=PUBLISHED_ORDER,
            position=truth['joint_pos'][k, order], velocity=truth['joint_vel'][k, order],
            effort=truth['joint_effort'][k, order])))
        imu_wall = wall + 100_000
        if k in SWAPPED_IMU:
            imu_wall = WALL_START_NS + SWAPPED_IMU[1 - SWAPPED_IMU.index(k)] * DT_NS + 100_000
        events.append((imu_wall, '/imu/data', TYPES['sensor_msgs/msg/Imu'](
            header=_header(stamp, 'imu_link'), orientation=_quaternion(truth['base_quat'][k]),
            orientation_covariance=np.zeros(9), angular_velocity=_vector(truth['base_ang_vel'][k]),
            angular_velocity_covariance=np.zeros(9),
            linear_acceleration=_vector((0.0, 0.0, 9.81)),
            linear_acceleration_covariance=np.zeros(9))))
        pose = TYPES['geometry_msgs/msg/Pose'](
            position=TYPES['geometry_msgs/msg/Point'](*map(float, truth['base_pos'][k])),
            orientation=_quaternion(truth['base_quat'][k]))
        twist = TYPES['geometry_msgs/msg/Twist'](linear=_vector(body_velocity[k]),
                                                 angular=_vector(truth['base_ang_vel'][k]))
        pose = TYPES['geometry_msgs/msg/PoseWithCovariance'](pose=pose, covariance=np.zeros(36))
        twist = TYPES['geometry_msgs/msg/TwistWithCovariance'](twist=twist,
                                                               covariance=np.zeros(36))
        events.append((wall + 200_000, '/odom', TYPES['nav_msgs/msg/Odometry'](
            header=_header(stamp, 'odom'), child_frame_id='base_link', pose=pose, twist=twist)))
        if k % CMD_VEL_EVERY == 0:
            command = truth['commands'][k]
            events.append((wall + 1_000_000, '/cmd_vel', TYPES['geometry_msgs/msg/Twist'](
                linear=_vector((command[0], command[1], 0.0)),
                angular=_vector((0.0, 0.0, command[2])))))
        if k == late_command:
            continue  # the policy's command for this step was never received
        if trajectory_topic:
            point = TYPES['trajectory_msgs/msg/JointTrajectoryPoint'](
                positions=truth['actions'][k, order], velocities=np.zeros(0),
                accelerations=np.zeros(0), effort=np.zeros(0),
                time_from_start=TYPES['builtin_interfaces/msg/Duration'](sec=0, nanosec=DT_NS))
            events.append((wall + 3_000_000, '/joint_trajectory',
                           TYPES['trajectory_msgs/msg/JointTrajectory'](
                               header=_header(0), joint_names=PUBLISHED_ORDER, points=[point])))
        else:
            layout = TYPES['std_msgs/msg/MultiArrayLayout'](dim=[], data_offset=0)
            events.append((wall + 3_000_000, '/joint_commands',
                           TYPES['std_msgs/msg/Float64MultiArray'](
                               layout=layout, data=truth['actions'][k])))
    events.sort(key=lambda event: event[0])
    msgtypes = {'/joint_states': 'sensor_msgs/msg/JointState', '/imu/data': 'sensor_msgs/msg/Imu',
                '/odom': 'nav_msgs/msg/Odometry', '/cmd_vel': 'geometry_msgs/msg/Twist',
                '/joint_commands': 'std_msgs/msg/Float64MultiArray',
                '/joint_trajectory': 'trajectory_msgs/msg/JointTrajectory'}
    with bag_io.BagWriter(path, storage=storage) as bag:
        for topic in sorted({topic for _, topic, _ in events}):
            bag.add_topic(topic, msgtypes[topic])
        for index, (wall, topic, message) in enumerate(events):
            bag.write_message(topic, wall, message)
            if flush_every and index % flush_every == flush_every - 1:
                bag.flush()
        counts = bag.counts
    return counts


def _assert_matches_truth(segment: Trajectory, truth: dict[str, np.ndarray]) -> None:
    steps = np.rint((segment.time - truth['time'][0]) / DT).astype(int)
    np.testing.assert_allclose(segment.time, truth['time'][steps], rtol=0, atol=1e-6)
    for name in ('joint_pos', 'joint_vel', 'joint_effort', 'base_pos', 'base_quat',
                 'base_ang_vel', 'actions', 'commands'):
        np.testing.assert_allclose(getattr(segment, name), truth[name][steps], rtol=0,
                                   atol=1e-12, err_msg=name)
    np.testing.assert_allclose(segment.base_lin_vel, truth['base_lin_vel'][steps], atol=1e-12)


@pytest.mark.parametrize('storage', ['mcap', 'sqlite3'])
def test_written_bag_reads_back_and_exports_in_contract_order(tmp_path, storage):
    counts = _write_recording(tmp_path / 'run', storage)
    info = bag_io.bag_info(tmp_path / 'run')
    assert info.storage == storage
    assert {name: topic.message_count for name, topic in info.topics.items()} == counts
    assert info.topics['/imu/data'].msgtype == 'sensor_msgs/msg/Imu'
    assert info.message_count == sum(counts.values())
    assert info.duration == pytest.approx((STEPS - 1) * DT, abs=0.01)
    stamps = bag_io.topic_stamps(tmp_path / 'run')
    assert stamps['/joint_commands'].header_ns is None
    assert stamps['/odom'].header_ns[0] == SIM_START_NS
    assert np.sum(np.diff(stamps['/imu/data'].header_ns) < 0) == 1  # the swapped pair

    segments, report = export_bag(tmp_path / 'run', JOINTS, DT, robot='quadruped',
                                  on_gap='split')
    truth = _truth()
    assert [len(segment) for segment in segments] == [GAP.start, STEPS - GAP.stop]
    for segment in segments:
        assert segment.joint_names == JOINTS and segment.missing == ()
        _assert_matches_truth(segment, truth)
    topics = report['topics']
    for topic in ('/joint_states', '/imu/data', '/odom', '/joint_commands'):
        assert len(topics[topic]['gaps']) == 1, topic
        gap = topics[topic]['gaps'][0]
        assert gap['start_s'] == pytest.approx((GAP.start - 1) * DT)
        assert gap['end_s'] == pytest.approx(GAP.stop * DT)
    assert topics['/imu/data']['out_of_order'] == 1
    assert topics['/joint_states']['out_of_order'] == 0
    assert topics['/joint_states']['stamps'] == 'header'
    assert topics['/joint_commands']['stamps'] == 'bag order'
    assert [segment['steps'] for segment in report['segments']] == [GAP.start, STEPS - GAP.stop]
    assert report['dropped_steps'] == len(GAP) and not report['ok']

    saved = segments[1].save(tmp_path / 'segment.npz')
    _assert_matches_truth(Trajectory.load(saved), truth)


def test_export_refuses_gaps_by_default_and_names_the_topics(tmp_path):
    _write_recording(tmp_path / 'run')
    with pytest.raises(BagExportError, match='gaps longer than 1.5 control periods in '
                       '/joint_states') as caught:
        export_bag(tmp_path / 'run', JOINTS, DT)
    assert len(caught.value.report['segments']) == 2


def test_joint_trajectory_targets_are_reordered_by_name(tmp_path):
    _write_recording(tmp_path / 'run', trajectory_topic=True)
    segments, report = export_bag(tmp_path / 'run', JOINTS, DT, on_gap='split')
    truth = _truth()
    for segment in segments:
        _assert_matches_truth(segment, truth)
    assert '/joint_commands' not in report['missing_topics']


def test_a_late_command_cuts_the_data_unless_targets_are_held(tmp_path):
    _write_recording(tmp_path / 'run', late_command=30)
    segments, report = export_bag(tmp_path / 'run', JOINTS, DT, on_gap='split')
    assert [len(segment) for segment in segments] == [30, GAP.start - 31, STEPS - GAP.stop]
    assert len(report['topics']['/joint_commands']['gaps']) == 2

    segments, report = export_bag(tmp_path / 'run', JOINTS, DT, on_gap='split',
                                  hold_targets=True)
    assert [len(segment) for segment in segments] == [GAP.start, STEPS - GAP.stop]
    truth = _truth()
    np.testing.assert_array_equal(segments[0].actions[30], truth['actions'][29])
    np.testing.assert_array_equal(segments[0].actions[31:], truth['actions'][31:GAP.start])


def test_missing_topics_become_missing_fields(tmp_path):
    _write_recording(tmp_path / 'run')
    topics = BagTopics(odom='/not_recorded', cmd_vel='/not_recorded_either')
    segments, report = export_bag(tmp_path / 'run', JOINTS, DT, topics=topics, on_gap='split')
    assert set(segments[0].missing) == {'base_pos', 'base_lin_vel'}
    assert np.all(np.isnan(segments[0].base_pos))
    assert np.all(segments[0].commands == 0.0)
    assert report['missing_topics'] == ['/not_recorded', '/not_recorded_either']


def test_export_names_missing_joints(tmp_path):
    _write_recording(tmp_path / 'run')
    with pytest.raises(BagExportError, match='RR_calf_joint'):
        export_bag(tmp_path / 'run', (*JOINTS, 'RR_calf_joint'), DT)


def test_corrupt_storage_file_is_a_clear_error_naming_the_file(tmp_path):
    _write_recording(tmp_path / 'run')
    storage_file = tmp_path / 'run' / 'run.mcap'
    storage_file.write_bytes(b'not an mcap file' * 64)
    with pytest.raises(bag_io.BagError, match=str(storage_file)):
        bag_io.bag_info(tmp_path / 'run')
    with pytest.raises(bag_io.BagError, match=str(storage_file)):
        bag_io.repair_bag(tmp_path / 'run')
    with pytest.raises(FileNotFoundError, match='nowhere'):
        bag_io.bag_info(tmp_path / 'nowhere')


def test_truncated_mcap_is_recovered_up_to_the_last_complete_chunk(tmp_path):
    counts = _write_recording(tmp_path / 'run', flush_every=50)
    total = sum(counts.values())
    storage_file = tmp_path / 'run' / 'run.mcap'
    data = storage_file.read_bytes()
    killed = tmp_path / 'killed'
    killed.mkdir()
    (killed / 'killed.mcap').write_bytes(data[:len(data) // 2])  # no footer, no metadata.yaml
    with pytest.raises(bag_io.BagError, match='bag repair'):
        bag_io.bag_info(killed)

    result = bag_io.repair_bag(killed)
    assert result.status == 'repaired' and result.dropped_bytes > 0
    assert total // 3 < result.message_count < total
    assert result.original == killed / 'killed.mcap.truncated'
    info = bag_io.bag_info(killed)
    assert info.message_count == result.message_count
    assert len(list(bag_io.read_messages(killed))) == result.message_count
    segments, _ = export_bag(killed, JOINTS, DT, on_gap='split')
    _assert_matches_truth(segments[0], _truth())
    assert bag_io.repair_bag(killed).status == 'intact'


KILLED_SQLITE_WRITER = """
import os, signal, sys
import numpy as np
from robot_learning.cli import bag_commands
from robot_learning.cli.bag_commands import add_bag_parser
from robot_learning.data import bag_io
types = bag_io.typestore().types
bag = bag_io.BagWriter(sys.argv[1], storage='sqlite3').open()
bag.add_topic('/cmd_vel', 'geometry_msgs/msg/Twist')
vector = types['geometry_msgs/msg/Vector3']
for k in range(300):
    bag.write_message('/cmd_vel', 10**9 + k, types['geometry_msgs/msg/Twist'](
        linear=vector(x=float(k), y=0.0, z=0.0), angular=vector(x=0.0, y=0.0, z=0.0)))
    if k == 199:
        bag.flush()
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_killed_sqlite3_writer_keeps_the_flushed_messages(tmp_path):
    process = subprocess.run([sys.executable, '-c', KILLED_SQLITE_WRITER, str(tmp_path / 'bag')],
                             capture_output=True, text=True, timeout=60,
                             env={**os.environ, 'PYTHONPATH': str(ROOT)})
    assert process.returncode == -signal.SIGKILL, process.stderr
    assert not (tmp_path / 'bag' / 'metadata.yaml').exists()
    result = bag_io.repair_bag(tmp_path / 'bag')
    assert result.message_count == 200 and result.topics == {'/cmd_vel': 200}
    messages = list(bag_io.read_messages(tmp_path / 'bag'))
    assert [message.message.linear.x for message in messages] == list(map(float, range(200)))


def _run_cli(argv: list[str]) -> int:
    """Parse ``argv`` with the ``bag`` subcommands and run the handler, as ``main`` does."""
    parser = argparse.ArgumentParser()
    add_bag_parser(parser.add_subparsers(dest='command', required=True))
    args = parser.parse_args(argv)
    module_name, function_name = args.handler.split(':')
    return getattr(importlib.import_module(module_name), function_name)(args)


def _save_contract(folder: pathlib.Path) -> pathlib.Path:
    terms = (ObservationTerm('joint_pos_rel'), ObservationTerm('joint_vel'))
    count = len(JOINTS)
    contract = PolicyContract(
        task='velocity_tracking', robot='quadruped', robot_class='quadruped',
        floating_base=True, joint_names=JOINTS, observations=terms,
        observation_dim=2 * count, clip_observations=100.0, action_scale=(0.25,) * count,
        default_joint_pos=(0.0,) * count, position_lower=(-3.0,) * count,
        position_upper=(3.0,) * count, velocity_limit=(20.0,) * count, clip_actions=100.0,
        kp=(20.0,) * count, kd=(0.5,) * count, effort_limit=(30.0,) * count, control_dt=DT,
        sim_dt=0.005)
    folder.mkdir()
    return save_contract(contract, folder)


def test_bag_commands_info_export_and_repair(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(bag_commands.CONSOLE, 'width', 200)  # no wrapped table cells
    _write_recording(tmp_path / 'run', flush_every=50)
    bundle = tmp_path / 'bundle'
    _save_contract(bundle)
    assert _run_cli(['bag', 'info', str(tmp_path / 'run'), '--period', str(DT)]) == 0
    out = capsys.readouterr().out
    assert '/joint_states' in out and 'sensor_msgs/msg/JointState' in out

    with pytest.raises(BagExportError, match='allow-gaps'):
        _run_cli(['bag', 'export', str(tmp_path / 'run'), '--contract', str(bundle),
                  '--output', str(tmp_path / 'out.npz')])
    assert not list(tmp_path.glob('out*.npz'))
    refused = json.loads((tmp_path / 'out.report.json').read_text())  # why it was refused
    assert 'outputs' not in refused and refused['topics']['/imu/data']['out_of_order'] == 1
    assert _run_cli(['bag', 'export', str(tmp_path / 'run'), '--contract', str(bundle),
                     '--output', str(tmp_path / 'out.npz'), '--allow-gaps']) == 0
    written = sorted(tmp_path.glob('out_seg*.npz'))
    assert [path.name for path in written] == ['out_seg00.npz', 'out_seg01.npz']
    for path in written:
        _assert_matches_truth(Trajectory.load(path), _truth())
    report = json.loads((tmp_path / 'out.report.json').read_text())
    assert report['outputs'] == [str(path) for path in written]
    assert report['topics']['/imu/data']['out_of_order'] == 1

    storage_file = tmp_path / 'run' / 'run.mcap'
    killed = tmp_path / 'killed'
    killed.mkdir()
    (killed / 'killed.mcap').write_bytes(storage_file.read_bytes()[:-5000])
    assert _run_cli(['bag', 'repair', str(killed), '--discard-original']) == 0
    assert 'recovered' in capsys.readouterr().out
    assert sorted(path.name for path in killed.iterdir()) == ['killed.mcap', 'metadata.yaml']
