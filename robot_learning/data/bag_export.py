# SPDX-License-Identifier: Apache-2.0
"""Bag -> :class:`Trajectory`: resample recorded topics onto the control-rate grid, gap-aware.

What is read (topic names are configurable, see :class:`BagTopics`):

- ``/joint_states`` (sensor_msgs/JointState): the reference. Joints are picked BY NAME into the
  contract's order; the time grid starts at its first stamp and runs every ``control_dt``.
- ``/imu/data`` (sensor_msgs/Imu): base orientation and base-frame angular velocity.
- ``/odom`` (nav_msgs/Odometry): base position; the twist (child frame, ROS convention) is
  rotated into the world frame. Orientation and angular velocity come from here when there is
  no IMU.
- ``/joint_commands`` (std_msgs/Float64MultiArray, contract order) or ``/joint_trajectory``
  (trajectory_msgs/JointTrajectory, reordered by name): the targets the policy sent.
- ``/cmd_vel`` (geometry_msgs/Twist or TwistStamped): the velocity command (vx, vy, yaw rate).

Time stamps: ``header.stamp`` when a topic's messages carry stamps (not all zero; the sensor's
own clock, typically sim time); otherwise (Float64MultiArray and Twist have no header) a message
is placed by BAG ORDER onto the reference clock: it gets the stamp of the last ``/joint_states``
message logged before it, i.e. "sent in response to that state". This stays right whatever
clock the recorder used. (The bag time is the publisher's send time with the recorder node's
default ``stamp_source: sent``, which keeps this causal order even when the recorder is slow;
``ros2 bag record`` logs receive times.) If ``/joint_states`` itself has no stamps, every topic
uses its bag time.

Resampling: states (joint states, IMU, odometry) are interpolated linearly (quaternions:
normalized linear interpolation) between the two samples bracketing a grid time, but ONLY when
those samples are at most ``1.5 * control_dt`` apart; a grid time inside a larger gap has no
value. Joint targets are held: step k takes the last command stamped before ``t[k+1]``, valid if
it is at most ``1.5 * control_dt`` older than ``t[k+1]``. The velocity command is held without
an age limit (operators publish it sparsely) and is zero before its first message (and
throughout when ``/cmd_vel`` was not recorded, as the policy node assumes).

Every topic's gaps (a stamp step > 1.5 control periods), out-of-order stamps (in bag order)
and duplicates go into the report; grid steps without valid data cut the trajectory into
gap-free segments. ``on_gap='error'`` (the default) refuses a bag with gaps; ``'split'``
returns the segments.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
from typing import Any, Sequence

import numpy as np

from robot_learning.data import bag_io
from robot_learning.data.trajectory import Trajectory
from robot_learning.robots.joint_order import joint_order, pick
from robot_learning.rotations import quat_rotate

GAP_FACTOR = 1.5
"""A stamp step longer than this many control periods is a gap."""
SNAP_NS = 1000
"""Grid times this close to a sample [ns] take the sample itself (clock rounding)."""
ON_GAP = ('error', 'split')


class BagExportError(ValueError):
    """A bag that cannot be exported; ``report`` holds the per-topic findings."""

    def __init__(self, message: str, report: dict | None = None) -> None:
        super().__init__(message)
        self.report = report or {}


@dataclasses.dataclass(frozen=True)
class BagTopics:
    """Topic names read by the export (defaults: the robot_learning ROS interface)."""

    joint_states: str = '/joint_states'
    imu: str = '/imu/data'
    odom: str = '/odom'
    cmd_vel: str = '/cmd_vel'
    joint_commands: str = '/joint_commands'
    """std_msgs/Float64MultiArray in contract joint order."""
    joint_trajectory: str = '/joint_trajectory'
    """Used when ``joint_commands`` has no messages."""


@dataclasses.dataclass
class _Stream:
    """One topic's samples, sorted by stamp [ns], with one array per extracted quantity."""

    role: str
    topic: str
    stamps: np.ndarray
    values: dict[str, np.ndarray]
    report: dict


def export_bag(bag: str | os.PathLike, joint_names: Sequence[str], control_dt: float,
               robot: str = '', topics: BagTopics = BagTopics(), on_gap: str = 'error',
               min_steps: int = 2, hold_targets: bool = False,
               max_gap: float | None = None) -> tuple[list[Trajectory], dict]:
    """Export a bag into control-rate trajectories in ``joint_names`` order.

    Args:
        bag: Bag folder (or bare ``.mcap`` / ``.db3`` file).
        joint_names: Joint order of the output (the policy contract's).
        control_dt: Grid period [s] (the contract's ``control_dt``).
        robot: Robot name stored in the trajectories.
        topics: Topic names to read.
        on_gap: 'error' refuses a bag with gaps (BagExportError with the report); 'split'
            returns one trajectory per gap-free segment.
        min_steps: Segments shorter than this are dropped (and counted in the report).
        hold_targets: Hold the last joint target without an age limit, as a ros2_control
            forward controller does when a command is late (timer-mode policies under load);
            gaps in the command topic are still reported but no longer cut the data.
        max_gap: Longest stamp step [s] that is not a gap (interpolated over, a command held
            across it); None: ``GAP_FACTOR * control_dt``. Must exceed ``control_dt``.

    Returns:
        (trajectories, report): the segments in time order, and a JSON-serializable report:
        ``bag``, ``control_dt``, ``gap_threshold_s``, ``joint_names``, ``hold_targets``,
        ``t0_s`` (first reference stamp), ``topics`` (per topic: ``role``, ``type``,
        ``messages``, ``used``, ``stamps`` ('header', 'bag order' (placed on the reference
        clock) or 'bag time'), ``out_of_order``, ``duplicates``, ``skipped`` {reason:
        count}, ``gaps`` [{start_s, end_s, length_s} after t0], ``max_step_s``, ``rate_hz``),
        ``missing_topics``, ``missing_fields``, ``grid_steps``, ``segments`` [{start_s, end_s,
        steps}], ``exported_steps``, ``dropped_steps``, ``ok`` (one segment, no gaps in the
        topics that are not held), ``notes``.

    Raises:
        FileNotFoundError: No such bag.
        bag_io.BagError: The bag cannot be read.
        BagExportError: No usable ``/joint_states``, joints missing, or gaps with
            ``on_gap='error'``.
    """
    if on_gap not in ON_GAP:
        raise ValueError(f"on_gap '{on_gap}' is not one of {', '.join(ON_GAP)}")
    if not control_dt > 0:
        raise ValueError(f'control_dt must be positive, got {control_dt}')
    if max_gap is not None and not max_gap > control_dt:
        raise ValueError(f'max_gap ({max_gap} s) must exceed the control period ({control_dt} s)')
    bag = pathlib.Path(bag)
    joint_names = tuple(joint_names)
    dt_ns = int(round(control_dt * 1e9))
    max_step = int(round(GAP_FACTOR * dt_ns if max_gap is None else max_gap * 1e9))
    roles = {topics.joint_states: 'joint_states', topics.imu: 'imu', topics.odom: 'odom',
             topics.cmd_vel: 'cmd_vel', topics.joint_commands: 'joint_commands',
             topics.joint_trajectory: 'joint_trajectory'}
    recorded = {topic: _Recorded() for topic in roles}
    types: dict[str, str] = {}
    for item in bag_io.read_messages(bag, topics=list(roles)):
        # Extract right away: only arrays are kept, not the (large) message objects.
        recorded[item.topic].add(item.log_time_ns, item.message, roles[item.topic],
                                 joint_names)
        types[item.topic] = item.msgtype

    report: dict[str, Any] = {
        'bag': str(bag), 'control_dt': control_dt, 'gap_threshold_s': max_step * 1e-9,
        'joint_names': list(joint_names), 'hold_targets': hold_targets, 'topics': {},
        'notes': [],
    }
    if not recorded[topics.joint_states].log:
        raise BagExportError(f'{bag}: no messages on {topics.joint_states}; found '
                             f'{sorted(topic for topic in types)}', report)
    if recorded[topics.joint_commands].log and recorded[topics.joint_trajectory].log:
        report['notes'].append(f'both {topics.joint_commands} and {topics.joint_trajectory} '
                               f'hold targets; using {topics.joint_commands}')
        recorded[topics.joint_trajectory] = _Recorded()

    reference_clock = _reference_clock(recorded[topics.joint_states])
    streams: dict[str, _Stream] = {}
    for topic, role in roles.items():
        if not recorded[topic].log:
            continue
        stream = _build_stream(role, topic, types[topic], recorded[topic], reference_clock,
                               joint_names, max_step)
        if stream.stamps.size:
            streams[role] = stream
        report['topics'][topic] = stream.report
    has_commands = 'joint_commands' in streams or 'joint_trajectory' in streams
    report['missing_topics'] = [
        topic for topic, role in roles.items() if role not in streams
        and not (role in ('joint_commands', 'joint_trajectory') and has_commands)]

    origin = int(streams['joint_states'].stamps[0])
    report['t0_s'] = origin * 1e-9
    for topic_report in report['topics'].values():
        topic_report['gaps'] = [
            {'start_s': (start - origin) * 1e-9, 'end_s': (end - origin) * 1e-9,
             'length_s': (end - start) * 1e-9}
            for start, end in topic_report.pop('_gaps', [])]
    last = int(streams['joint_states'].stamps[-1])
    grid = origin + np.arange((last - origin) // dt_ns + 1, dtype=np.int64) * dt_ns
    fields, valid, missing = _sample(streams, grid, dt_ns, max_step, len(joint_names),
                                     hold_targets)
    report['missing_fields'] = list(missing)
    report['grid_steps'] = int(grid.size)

    segments = _segments(valid, min_steps)
    report['segments'] = [
        {'start_s': (grid[start] - origin) * 1e-9, 'end_s': (grid[stop - 1] - origin) * 1e-9,
         'steps': int(stop - start)} for start, stop in segments]
    kept = sum(stop - start for start, stop in segments)
    report['exported_steps'] = int(kept)
    report['dropped_steps'] = int(grid.size - kept)
    held = ('cmd_vel', 'joint_commands', 'joint_trajectory') if hold_targets else ('cmd_vel',)
    gap_topics = [topic for topic, topic_report in report['topics'].items()
                  if topic_report['gaps'] and topic_report['role'] not in held]
    report['ok'] = len(segments) == 1 and not gap_topics
    if not segments:
        raise BagExportError(f'{bag}: no {min_steps} consecutive control steps with data on '
                             f'every recorded topic', report)
    if on_gap == 'error' and not report['ok']:
        where = ', '.join(f"{topic} ({len(report['topics'][topic]['gaps'])})"
                          for topic in gap_topics) or 'the combined topics'
        longest = (f'{GAP_FACTOR} control periods' if max_gap is None
                   else f'{max_gap} s (max_gap)')
        raise BagExportError(
            f'{bag}: gaps longer than {longest} in {where}: the data splits '
            f'into {len(segments)} segment(s); export them with on_gap=split (--allow-gaps)',
            report)

    trajectories = []
    for start, stop in segments:
        time = grid[start:stop] * 1e-9
        trajectory = Trajectory(
            time=time, **{name: values[start:stop] for name, values in fields.items()},
            robot=robot, joint_names=joint_names, control_dt=control_dt,
            source=(f'bag:{bag} ({topics.joint_states} {(grid[start] - origin) * 1e-9:.3f}-'
                    f'{(grid[stop - 1] - origin) * 1e-9:.3f} s after t0={origin * 1e-9:.9f})'),
            missing=missing)
        trajectory.validate()
        trajectories.append(trajectory)
    return trajectories, report


def export_bag_for_contract(bag: str | os.PathLike, contract, **options) -> tuple[
        list[Trajectory], dict]:
    """Export with the joint order, control period and robot of a ``PolicyContract``."""
    return export_bag(bag, contract.joint_names, contract.control_dt, contract.robot,
                      **options)


# --------------------------------------------------------------------------------------------
# Stamps


def _header_ns(message: Any) -> int | None:
    header = getattr(message, 'header', None)
    if header is None:
        return None
    return int(header.stamp.sec) * 1_000_000_000 + int(header.stamp.nanosec)


@dataclasses.dataclass
class _Recorded:
    """One topic as read: bag times, header stamps, and extracted rows (or skip reasons)."""

    log: list[int] = dataclasses.field(default_factory=list)
    header: list[int | None] = dataclasses.field(default_factory=list)
    rows: list[dict[str, np.ndarray] | str] = dataclasses.field(default_factory=list)

    def add(self, log_ns: int, message: Any, role: str, joint_names: tuple[str, ...]) -> None:
        """Append one message: its stamps and its quantities (or why it cannot be used)."""
        self.log.append(log_ns)
        self.header.append(_header_ns(message))
        try:
            self.rows.append(_extract(role, message, joint_names))
        except (KeyError, ValueError) as error:
            self.rows.append(str(error).strip("'\""))


@dataclasses.dataclass(frozen=True)
class _ReferenceClock:
    """Maps bag times onto the reference topic's stamps."""

    log_ns: np.ndarray
    """Reference bag times, sorted."""
    stamp_ns: np.ndarray
    """Reference stamps in the same (bag) order."""
    stamped: bool
    """True if the reference carries header stamps (else everything uses bag times)."""

    def stamp_of(self, log_ns: np.ndarray) -> np.ndarray:
        """Stamp of the last reference message logged at or before each time (-1: none)."""
        index = np.searchsorted(self.log_ns, log_ns, side='right') - 1
        return np.where(index >= 0, self.stamp_ns[np.clip(index, 0, None)], -1)


def _has_stamps(headers: list[int | None]) -> bool:
    """Tell whether a topic carries header stamps: a header, and not all stamps zero.

    A zero stamp means "unset" in ROS (e.g. JointTrajectory: start now), but one zero among
    real stamps is the legitimate first message of a simulation starting at t = 0.
    """
    return bool(headers) and None not in headers and any(headers)


def _reference_clock(reference: _Recorded) -> _ReferenceClock:
    log = np.array(reference.log, dtype=np.int64)
    stamped = _has_stamps(reference.header)
    stamp = np.array(reference.header, dtype=np.int64) if stamped else log
    order = np.argsort(log, kind='stable')
    return _ReferenceClock(log[order], stamp[order], stamped)


def _stamps(recorded: _Recorded, reference: _ReferenceClock) -> tuple[np.ndarray, str]:
    log = np.array(recorded.log, dtype=np.int64)
    if reference.stamped and _has_stamps(recorded.header):
        return np.array(recorded.header, dtype=np.int64), 'header'
    if not reference.stamped:
        return log, 'bag time'
    return reference.stamp_of(log), 'bag order'


# --------------------------------------------------------------------------------------------
# Extraction


def _extract(role: str, message: Any, joint_names: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Quantities of one message; raises KeyError/ValueError for a message to skip."""
    count = len(joint_names)
    if role == 'joint_states':
        order = joint_order(message.name, joint_names)
        source_count = len(message.name)
        return {'joint_pos': pick(message.position, order, source_count),
                'joint_vel': pick(message.velocity, order, source_count),
                'joint_effort': pick(message.effort, order, source_count)}
    if role == 'imu':
        orientation, gyro = message.orientation, message.angular_velocity
        return {'base_quat': _quaternion(orientation),
                'base_ang_vel': np.array([gyro.x, gyro.y, gyro.z])}
    if role == 'odom':
        pose, twist = message.pose.pose, message.twist.twist
        quat = _quaternion(pose.orientation)
        body = np.array([twist.linear.x, twist.linear.y, twist.linear.z])
        return {'base_pos': np.array([pose.position.x, pose.position.y, pose.position.z]),
                'base_quat': quat,
                'base_lin_vel': quat_rotate(quat[None], body[None])[0],
                'base_ang_vel': np.array([twist.angular.x, twist.angular.y, twist.angular.z])}
    if role == 'cmd_vel':
        twist = getattr(message, 'twist', message)  # TwistStamped carries a Twist
        return {'commands': np.array([twist.linear.x, twist.linear.y, twist.angular.z])}
    if role == 'joint_commands':
        data = np.asarray(message.data, dtype=np.float64)
        if data.size != count:
            raise ValueError(f'{data.size} values for {count} joints')
        return {'actions': data}
    if role == 'joint_trajectory':
        if not len(message.points):
            raise ValueError('no points')
        order = joint_order(message.joint_names, joint_names)
        positions = np.asarray(message.points[0].positions, dtype=np.float64)
        return {'actions': positions[order]}
    raise AssertionError(role)


def _quaternion(orientation: Any) -> np.ndarray:
    """(w, x, y, z), normalized, from a ROS (x, y, z, w) quaternion."""
    quat = np.array([orientation.w, orientation.x, orientation.y, orientation.z], dtype=float)
    norm = np.linalg.norm(quat)
    return quat / norm if norm > 0 else np.full(4, np.nan)


def _build_stream(role: str, topic: str, msgtype: str, recorded: _Recorded,
                  reference: _ReferenceClock, joint_names: tuple[str, ...],
                  max_step: int) -> _Stream:
    stamps, source = _stamps(recorded, reference)
    report: dict[str, Any] = {'role': role, 'type': msgtype, 'messages': len(recorded.log),
                              'stamps': source}
    skipped: dict[str, int] = {}
    keep: list[int] = []
    rows: list[dict[str, np.ndarray]] = []
    for i, row in enumerate(recorded.rows):
        reason = 'before the first reference message' if stamps[i] < 0 else row
        if isinstance(reason, str):
            skipped[reason] = skipped.get(reason, 0) + 1
            continue
        keep.append(i)
        rows.append(row)
    if role == 'joint_states' and not rows:
        raise BagExportError(f'{topic}: no usable message ({skipped}); the output joints are '
                             f'{list(joint_names)}', {'topics': {topic: report}})
    kept = stamps[keep]
    report['out_of_order'] = int(np.sum(np.diff(kept) < 0)) if kept.size > 1 else 0
    order = np.argsort(kept, kind='stable')
    kept = kept[order]
    # Equal stamps: the later message (in bag order) wins.
    last_of_run = np.append(kept[1:] != kept[:-1], True) if kept.size else np.zeros(0, bool)
    report['duplicates'] = int(kept.size - last_of_run.sum())
    selected = order[last_of_run]
    values = {name: np.stack([rows[i][name] for i in selected])
              for name in (rows[0] if rows else {})}
    stamps = kept[last_of_run]
    steps = np.diff(stamps)
    gaps = np.flatnonzero(steps > max_step)
    report['_gaps'] = [(int(stamps[i]), int(stamps[i + 1])) for i in gaps]
    report['used'] = int(stamps.size)
    report['skipped'] = skipped
    report['max_step_s'] = float(steps.max() * 1e-9) if steps.size else 0.0
    span = (stamps[-1] - stamps[0]) * 1e-9 if stamps.size > 1 else 0.0
    report['rate_hz'] = float((stamps.size - 1) / span) if span > 0 else 0.0
    return _Stream(role, topic, stamps, values, report)


# --------------------------------------------------------------------------------------------
# Resampling


def _interpolate(stamps: np.ndarray, values: np.ndarray, grid: np.ndarray, max_step: int,
                 quaternion: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Linear interpolation at ``grid`` without bridging steps > ``max_step``; (values, valid)."""
    count = stamps.size
    right = np.searchsorted(stamps, grid, side='left')
    left = np.clip(right - 1, 0, count - 1)
    right_clipped = np.clip(right, 0, count - 1)
    nearest = np.where(np.abs(stamps[right_clipped] - grid) <= np.abs(stamps[left] - grid),
                       right_clipped, left)
    exact = np.abs(stamps[nearest] - grid) <= SNAP_NS
    inside = (right > 0) & (right < count)
    step = stamps[right_clipped] - stamps[left]
    valid = exact | (inside & (step <= max_step))
    weight = np.where(inside & (step > 0), (grid - stamps[left]) / np.maximum(step, 1), 0.0)
    low, high = values[left], values[right_clipped]
    if quaternion:
        high = np.where(np.sum(low * high, axis=1, keepdims=True) < 0, -high, high)
    result = low + weight[:, None] * (high - low)
    result[exact] = values[nearest[exact]]
    if quaternion:
        result /= np.linalg.norm(result, axis=1, keepdims=True)
    result[~valid] = np.nan
    return result, valid


def _hold(stamps: np.ndarray, values: np.ndarray, grid: np.ndarray, dt_ns: int,
          max_age: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Last sample stamped before the next grid time; (values, valid). No age limit if None."""
    horizon = grid + dt_ns - SNAP_NS
    index = np.searchsorted(stamps, horizon, side='left') - 1
    valid = index >= 0
    if max_age is not None:
        valid &= (horizon + SNAP_NS - stamps[np.clip(index, 0, None)]) <= max_age + SNAP_NS
    result = values[np.clip(index, 0, None)].astype(np.float64)
    result[~valid] = np.nan
    return result, valid


def _sample(streams: dict[str, _Stream], grid: np.ndarray, dt_ns: int, max_step: int,
            num_joints: int, hold_targets: bool = False,
            ) -> tuple[dict[str, np.ndarray], np.ndarray, tuple[str, ...]]:
    """Sample every stream on the grid; returns (fields, valid mask, missing field names)."""
    size = grid.size
    valid = np.ones(size, dtype=bool)
    fields: dict[str, np.ndarray] = {}

    def interpolated(role: str, name: str, quaternion: bool = False) -> np.ndarray:
        nonlocal valid
        stream = streams[role]
        values, ok = _interpolate(stream.stamps, stream.values[name], grid, max_step,
                                  quaternion)
        if name == 'joint_vel' or name == 'joint_effort':
            # Drivers that never fill velocity/effort leave NaN: a missing field, not a gap.
            return values
        valid &= ok
        return values

    states = streams['joint_states']
    for name in ('joint_pos', 'joint_vel', 'joint_effort'):
        fields[name] = interpolated('joint_states', name)
    attitude = 'imu' if 'imu' in streams else 'odom' if 'odom' in streams else None
    if attitude:
        fields['base_quat'] = interpolated(attitude, 'base_quat', quaternion=True)
        fields['base_ang_vel'] = interpolated(attitude, 'base_ang_vel')
    if 'odom' in streams:
        fields['base_pos'] = interpolated('odom', 'base_pos')
        fields['base_lin_vel'] = interpolated('odom', 'base_lin_vel')
    command_role = ('joint_commands' if 'joint_commands' in streams
                    else 'joint_trajectory' if 'joint_trajectory' in streams else None)
    if command_role:
        stream = streams[command_role]
        fields['actions'], ok = _hold(stream.stamps, stream.values['actions'], grid, dt_ns,
                                      None if hold_targets else max_step)
        valid &= ok
    if 'cmd_vel' in streams:
        stream = streams['cmd_vel']
        commands, ok = _hold(stream.stamps, stream.values['commands'], grid, dt_ns, None)
        commands[~ok] = 0.0
        fields['commands'] = commands
    else:
        fields['commands'] = np.zeros((size, 3))

    # Joint velocity/effort that the driver did not send at all are missing fields; partially
    # missing ones make those steps invalid.
    for name in ('joint_vel', 'joint_effort'):
        recorded = np.isfinite(states.values[name]).all(axis=1)
        if recorded.any():
            valid &= np.isfinite(fields[name]).all(axis=1)
    shapes = {'joint_pos': num_joints, 'joint_vel': num_joints, 'joint_effort': num_joints,
              'base_pos': 3, 'base_quat': 4, 'base_lin_vel': 3, 'base_ang_vel': 3,
              'actions': num_joints, 'commands': 3}
    missing = []
    for name, width in shapes.items():
        if name not in fields or np.isnan(fields[name]).all() and size:
            fields[name] = np.full((size, width), np.nan)
            missing.append(name)
    return fields, valid, tuple(missing)


def _segments(valid: np.ndarray, min_steps: int) -> list[tuple[int, int]]:
    """(start, stop) index pairs of the runs of True at least ``min_steps`` long."""
    edges = np.diff(np.concatenate([[0], valid.astype(np.int8), [0]]))
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return [(int(start), int(stop)) for start, stop in zip(starts, stops)
            if stop - start >= max(1, min_steps)]


# --------------------------------------------------------------------------------------------
# Bag timing


def topic_timing(bag: str | os.PathLike, period: float | None = None) -> dict[str, dict]:
    """Per-topic timing of a bag: rate, steps, gaps and out-of-order stamps.

    Header stamps are used when a topic's type has a header and not every stamp is zero, else
    bag (log) times.

    Args:
        bag: Bag folder (or bare storage file).
        period: Expected period [s]; a step longer than ``1.5 * period`` is a gap. None uses
            each topic's own median step.

    Returns:
        {topic: {'stamps': 'header' | 'bag time', 'messages', 'rate_hz', 'median_step_s',
        'max_step_s', 'gaps', 'out_of_order'}}.
    """
    result = {}
    for topic, stamps in bag_io.topic_stamps(bag).items():
        header = stamps.header_ns
        use_header = header is not None and bool(np.any(header != 0))
        values = header if use_header else stamps.log_ns
        steps = np.diff(values)
        ordered = np.diff(np.sort(values))
        median = float(np.median(ordered)) if ordered.size else 0.0
        reference = period * 1e9 if period else median
        span = (values.max() - values.min()) * 1e-9 if values.size > 1 else 0.0
        result[topic] = {
            'stamps': 'header' if use_header else 'bag time',
            'messages': int(values.size),
            'rate_hz': float((values.size - 1) / span) if span > 0 else 0.0,
            'median_step_s': median * 1e-9,
            'max_step_s': float(ordered.max()) * 1e-9 if ordered.size else 0.0,
            'gaps': int(np.sum(ordered > GAP_FACTOR * reference)) if reference > 0 else 0,
            'out_of_order': int(np.sum(steps < 0)),
        }
    return result
