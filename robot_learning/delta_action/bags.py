# SPDX-License-Identifier: Apache-2.0
"""Robot bags -> control-rate trajectories for delta-action fitting, checked topic by topic.

A bag is a rosbag2 folder (MCAP or sqlite3) written on the robot by the recorder node
(``launch/record.launch.py``) or by ``ros2 bag record``. Delta-action fitting replays the
robot's full state with the commands it was sent, so the bag must hold

- the joint states (sensor_msgs/JointState, default ``/joint_states``) naming every joint of the
  policy, with positions and velocities (more joints, in any order, are fine: they are picked
  by name);
- the base pose and twist (nav_msgs/Odometry, ``/odom``: motion capture or a state estimator);
  orientation and angular velocity come from ``/imu/data`` (sensor_msgs/Imu) when it is
  recorded;
- the joint targets the policy sent (std_msgs/Float64MultiArray on ``/joint_commands`` in
  contract order, or trajectory_msgs/JointTrajectory on ``/joint_trajectory``).

Checks, in order, each a :class:`RecordingError` naming the bag and the topic, joint or stamp:
the bag reads (a truncated or corrupt bag gives ``bag_io``'s message, with the repair command
when it applies); every required topic is there, of the right type, with messages; the first
joint-state message names every joint of the policy; header stamps never go backwards in a
required topic (a clock reset or a restarted driver); the export (``data/bag_export.py``, at the
control period, split at gaps, late commands held as the robot's controller held them) leaves
at least one gap-free stretch long enough for one clip. Stretches shorter than a clip are
dropped.
"""

from __future__ import annotations

import logging
import os
import pathlib
from typing import Sequence

import numpy as np

from robot_learning.data import bag_io
from robot_learning.data.bag_export import BagExportError, BagTopics, export_bag
from robot_learning.data.trajectory import Trajectory

LOGGER = logging.getLogger(__name__)

TYPES = {
    'joint_states': ('sensor_msgs/msg/JointState',),
    'odom': ('nav_msgs/msg/Odometry',),
    'imu': ('sensor_msgs/msg/Imu',),
    'joint_commands': ('std_msgs/msg/Float64MultiArray',),
    'joint_trajectory': ('trajectory_msgs/msg/JointTrajectory',),
}
"""Message types the export reads for each role (``BagTopics`` field names)."""
REQUIRED_FIELDS = {
    'joint_pos': 'joint_states', 'joint_vel': 'joint_states', 'base_pos': 'odom',
    'base_lin_vel': 'odom', 'base_quat': 'odom', 'base_ang_vel': 'odom',
    'actions': 'joint_commands',
}
"""Trajectory fields a clip needs -> the role of the topic that provides them."""


class RecordingError(ValueError):
    """A bag that cannot give clips; the message names the bag and the topic, joint or stamp."""


def required_topics(topics: BagTopics = BagTopics()) -> str:
    """Describe the topics a bag needs (for error messages and help texts)."""
    return (f"{topics.joint_states} ({TYPES['joint_states'][0]}: every joint of the policy, "
            f"positions and velocities), {topics.odom} ({TYPES['odom'][0]}: base pose and twist, "
            f'e.g. motion capture; orientation and angular velocity from {topics.imu} '
            f"({TYPES['imu'][0]}) when recorded) and the commands the policy sent on "
            f"{topics.joint_commands} ({TYPES['joint_commands'][0]}) or "
            f"{topics.joint_trajectory} ({TYPES['joint_trajectory'][0]})")


def load_bag(path: str | os.PathLike, joint_names: Sequence[str], control_dt: float,
             robot: str = '', min_samples: int = 2, topics: BagTopics = BagTopics()
             ) -> list[Trajectory]:
    """Check a robot bag and export its gap-free stretches of at least ``min_samples`` samples.

    Args:
        path: Bag folder (or a bare ``.mcap`` / ``.db3`` file).
        joint_names: The policy's joints, in the order of the output columns.
        control_dt: Control period of the output grid [s] (the policy contract's).
        robot: Robot name stored in the trajectories.
        min_samples: Samples of the shortest useful stretch (clip horizon + 1).
        topics: Topic names on the robot.

    Returns:
        The stretches in time order (each named after the bag in ``source``).

    Raises:
        RecordingError: See the module docstring; the message names the bag and what is wrong.
    """
    path = pathlib.Path(path)
    if not path.exists():
        raise RecordingError(f'{path}: no such bag folder')
    try:
        info = bag_io.bag_info(path)
    except (bag_io.BagError, FileNotFoundError) as error:
        raise RecordingError(_named(path, error)) from error
    present = {name: topic for name, topic in info.topics.items() if topic.message_count}
    roles = _check_topics(path, info, present, topics)
    _check_joints(path, topics.joint_states, joint_names)
    _check_stamps(path, [getattr(topics, role) for role in roles])
    try:
        trajectories, report = export_bag(path, joint_names, control_dt, robot, topics=topics,
                                          on_gap='split', hold_targets=True)
    except (BagExportError, bag_io.BagError) as error:
        raise RecordingError(_named(path, error)) from error
    _check_usable(path, report, topics)
    kept = [trajectory for trajectory in trajectories if len(trajectory) >= min_samples]
    gaps = ', '.join(f"{topic} ({len(entry['gaps'])})" for topic, entry in
                     report['topics'].items() if entry['gaps']) or 'none'
    if not kept:
        longest = max((len(trajectory) for trajectory in trajectories), default=0)
        raise RecordingError(
            f'{path}: too few samples for one clip: the longest stretch with data on every '
            f'topic is {longest} samples ({longest * control_dt:.2f} s at {control_dt} s), a '
            f'clip needs {min_samples} (its horizon + 1); {report["grid_steps"]} control steps in '
            f'all, gaps in {gaps}')
    dropped = len(trajectories) - len(kept)
    LOGGER.info('%s: %d stretch(es), %d samples at %g s%s; gaps in %s', path, len(kept),
                sum(len(trajectory) for trajectory in kept), control_dt,
                f' ({dropped} shorter than a clip dropped)' if dropped else '', gaps)
    return kept


def _named(path: pathlib.Path, error: Exception) -> str:
    """Return the error's message, prefixed with the bag unless it names it already."""
    message = str(error).strip("'\"")
    return message if str(path) in message else f'{path}: {message}'


def _check_topics(path: pathlib.Path, info: bag_io.BagInfo, present: dict,
                  topics: BagTopics) -> list[str]:
    """Refuse a bag without a required topic or with one of another type; return the roles."""
    command = ('joint_commands' if topics.joint_commands in present
               else 'joint_trajectory')
    roles = ['joint_states', 'odom', command]
    missing = [getattr(topics, role) for role in roles if getattr(topics, role) not in present]
    if getattr(topics, command) not in present:
        missing[-1] = f'{topics.joint_commands} (or {topics.joint_trajectory})'
    if missing:
        found = ', '.join(f'{name} ({topic.msgtype}, {topic.message_count})'
                          for name, topic in sorted(info.topics.items())) or 'no topics'
        raise RecordingError(
            f'{path}: missing required topic(s) {", ".join(missing)} (or no messages on them). '
            f'Delta-action fitting needs {required_topics(topics)}. The bag has: {found}. '
            'Other topic names: --topic ROLE=TOPIC')
    if topics.imu in present:
        roles.append('imu')
    for role in roles:
        topic = getattr(topics, role)
        if present[topic].msgtype not in TYPES[role]:
            raise RecordingError(f'{path}: topic {topic} is {present[topic].msgtype}; the '
                                 f'{role} role needs {" or ".join(TYPES[role])}')
    return roles


def _check_joints(path: pathlib.Path, topic: str, joint_names: Sequence[str]) -> None:
    """Refuse a bag whose first joint-state message lacks a joint of the policy."""
    try:
        first = next(iter(bag_io.read_messages(path, [topic])))
    except bag_io.BagError as error:
        raise RecordingError(_named(path, error)) from error
    names = list(first.message.name)
    missing = [name for name in joint_names if name not in names]
    if missing:
        raise RecordingError(
            f'{path}: joint(s) {missing} of the policy are not in {topic} (its messages name '
            f'{names}); the policy needs {list(joint_names)}')
    for field in ('position', 'velocity'):
        if len(getattr(first.message, field)) != len(names):
            raise RecordingError(
                f'{path}: {topic} carries {len(getattr(first.message, field))} {field} values '
                f'for {len(names)} joints; the state needs the {field} of every joint')


def _check_stamps(path: pathlib.Path, names: list[str]) -> None:
    """Refuse header stamps that go backwards (in bag order) on a required topic."""
    try:
        stamps = bag_io.topic_stamps(path, names)
    except bag_io.BagError as error:
        raise RecordingError(_named(path, error)) from error
    for topic in names:
        header = stamps[topic].header_ns
        if header is None or not header.any():
            continue  # no header: placed by bag order on the joint states' clock
        back = np.flatnonzero(np.diff(header) < 0)
        if back.size:
            index = int(back[0])
            before, after = header[index] * 1e-9, header[index + 1] * 1e-9
            start = header[0] * 1e-9
            raise RecordingError(
                f'{path}: {topic} header stamps go backwards at message {index + 2} of '
                f'{header.size} (counting from 1): {before:.6f} s -> {after:.6f} s '
                f'({before - start:.3f} s after its first stamp; {back.size} time(s) in all). '
                'A clock reset or a restarted driver: record one bag per driver session')


def _check_usable(path: pathlib.Path, report: dict, topics: BagTopics) -> None:
    """Refuse an export that left a required field without data (every message skipped)."""
    for field, role in REQUIRED_FIELDS.items():
        if field not in report['missing_fields']:
            continue
        if role == 'joint_commands':
            candidates = (topics.joint_commands, topics.joint_trajectory)
        elif role == 'odom' and field in ('base_quat', 'base_ang_vel'):
            candidates = (topics.odom, topics.imu)
        else:
            candidates = (getattr(topics, role),)
        reasons = {topic: report['topics'][topic].get('skipped')
                   for topic in candidates if topic in report['topics']}
        raise RecordingError(f'{path}: no usable {field} from {" / ".join(candidates)} '
                             f'(messages skipped: {reasons or "none recorded"})')
