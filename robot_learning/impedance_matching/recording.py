# SPDX-License-Identifier: Apache-2.0
"""Excitation recordings: commanded and measured joint signals, from simulation or a rosbag.

A :class:`Recording` holds one :class:`JointRecording` per excited joint and trial, sampled
uniformly. Simulation writes them directly (:mod:`robot_learning.impedance_matching.experiment`);
:func:`recording_from_bag` builds them from a bag of the excitation node (``/joint_commands``
std_msgs/Float64MultiArray in robot joint order, ``/joint_states`` sensor_msgs/JointState), read
through :mod:`robot_learning.data.bag_io`. :func:`check_recording` rejects saturated or clipped
signals before any fitting.
"""

from __future__ import annotations

import dataclasses
import json
import pathlib

import numpy as np

from robot_learning.atomic_write import atomic_open
from robot_learning.config import ConfigError
from robot_learning.data.bag_io import read_messages
from robot_learning.data.npz import load_npz, require_arrays
from robot_learning.robots.spec import RobotSpec

MIN_CROSSINGS = 10
"""Crossings of the default position that make a joint's command an excitation."""
PAD = 1.0
"""Rest kept before the first and after the last crossing of an excitation [s]."""
SATURATION_FRACTION = 0.01
"""A signal is saturated or clipped when more than this fraction of samples sits at a limit."""


@dataclasses.dataclass(frozen=True)
class JointRecording:
    """One excitation of one joint; all arrays have shape (T,) at ``rate``."""

    joint: str
    rate: float
    """Sample rate [Hz]."""
    command: np.ndarray
    """Commanded position [rad]."""
    position: np.ndarray
    """Measured position [rad]."""
    torque: np.ndarray | None = None
    """Measured joint torque [N·m] (JointState effort); None when not recorded."""
    trial: int = 0

    @property
    def duration(self) -> float:
        """Length of the recording [s]."""
        return self.command.size / self.rate


@dataclasses.dataclass(frozen=True)
class Recording:
    """The excitations of one experiment on one robot."""

    robot: str
    """Robot registry name (or robot YAML path) the joint names belong to."""
    source: str
    """Where the data came from, e.g. 'sim:quadruped_mujoco_actuator' or a bag path."""
    joints: tuple[JointRecording, ...]

    def save(self, path: str | pathlib.Path) -> pathlib.Path:
        """Write an ``.npz`` (arrays plus a JSON ``meta`` entry) atomically; returns the path.

        ``.npz`` is appended to a name without it.
        """
        path = pathlib.Path(path)
        if path.suffix != '.npz':
            path = path.with_name(path.name + '.npz')
        arrays, meta = {}, []
        for index, item in enumerate(self.joints):
            arrays[f'command_{index}'] = item.command
            arrays[f'position_{index}'] = item.position
            if item.torque is not None:
                arrays[f'torque_{index}'] = item.torque
            meta.append({'joint': item.joint, 'rate': item.rate, 'trial': item.trial})
        info = {'robot': self.robot, 'source': self.source, 'joints': meta}
        with atomic_open(path, 'wb') as stream:
            np.savez_compressed(stream, meta=np.array(json.dumps(info)), **arrays)
        return path

    @classmethod
    def load(cls, path: str | pathlib.Path) -> Recording:
        """Read a recording written by :meth:`save`.

        Raises:
            FileNotFoundError: No such file.
            NpzError: The file is unreadable, or lacks ``meta`` or a joint's arrays.
        """
        what, hint = 'impedance recording', 'write one with `robot-learning impedance excite`'
        data = load_npz(path, ('meta',), what, hint=hint)
        info = json.loads(str(data['meta']))
        require_arrays(data, [f'{name}_{i}' for i in range(len(info['joints']))
                              for name in ('command', 'position')], path, what, hint=hint)
        joints = tuple(
            JointRecording(joint=item['joint'], rate=float(item['rate']),
                           command=data[f'command_{i}'], position=data[f'position_{i}'],
                           torque=data.get(f'torque_{i}'), trial=int(item['trial']))
            for i, item in enumerate(info['joints']))
        return cls(robot=info['robot'], source=info['source'], joints=joints)


def check_recording(item: JointRecording, robot: RobotSpec) -> None:
    """Reject saturated torques and clipped commands or positions.

    Raises:
        ConfigError: which signal of which joint, and how often it sat at its limit.
    """
    joint = robot.joint_index(item.joint)
    where = f'{item.joint} (trial {item.trial})'
    if item.torque is not None and np.isfinite(robot.effort_limit[joint]):
        limit = robot.effort_limit[joint]
        share = np.mean(np.abs(item.torque) >= 0.999 * limit)
        if share > SATURATION_FRACTION:
            raise ConfigError(f'{where}: torque saturated at the effort limit {limit:g} N·m in '
                              f'{share:.1%} of the samples; lower the excitation amplitude')
    for name, values in (('command', item.command), ('position', item.position)):
        share = _clipped_share(values)
        if share > SATURATION_FRACTION:
            raise ConfigError(f'{where}: {name} clipped (flat at its extreme value in '
                              f'{share:.1%} of the samples); the joint hit a limit or a guard')
    lower, upper = robot.position_lower[joint], robot.position_upper[joint]
    share = np.mean((item.position <= lower + 1e-3) | (item.position >= upper - 1e-3))
    if share > SATURATION_FRACTION:
        raise ConfigError(f'{where}: position at its limit [{lower:g}, {upper:g}] rad in '
                          f'{share:.1%} of the samples')


def _clipped_share(values: np.ndarray) -> float:
    """Fraction of samples equal (to 1e-6 of the range) to the minimum or the maximum."""
    span = float(np.ptp(values))
    if span == 0.0:
        return 0.0
    tolerance = 1e-6 * span
    return max(np.mean(values >= values.max() - tolerance),
               np.mean(values <= values.min() + tolerance))


def recording_from_bag(path: str | pathlib.Path, robot: RobotSpec,
                       joints: tuple[str, ...] = (), command_topic: str = '/joint_commands',
                       state_topic: str = '/joint_states', rate: float | None = None
                       ) -> Recording:
    """Cut a bag of the excitation node into one :class:`JointRecording` per excited joint.

    Commands (in ``robot.joint_names`` order) and joint states are put on one uniform grid of
    bag (log) times: commands held (zero-order hold), positions and efforts interpolated. A
    joint is excited when its command crosses its default position at least
    ``MIN_CROSSINGS`` times (the node's ramp to the default pose does not); its recording spans
    the first to the last crossing, with ``PAD`` seconds of rest on either side.

    Args:
        path: bag folder or storage file.
        robot: the robot whose joint order the command topic uses.
        joints: names of the joints to take; empty takes every joint whose command moves.
        command_topic: the excitation node's std_msgs/Float64MultiArray topic.
        state_topic: the sensor_msgs/JointState topic.
        rate: grid rate [Hz]; None uses the median rate of the joint states.

    Raises:
        ConfigError: a topic is missing, a command has the wrong length, a requested joint is
            not in the joint states or was not excited, or nothing was excited.
    """
    command_time, commands, state_time, names, positions, efforts = [], [], [], None, [], []
    for message in read_messages(path, [command_topic, state_topic]):
        if message.topic == command_topic:
            data = np.asarray(message.message.data, dtype=float)
            if data.size != robot.num_joints:
                raise ConfigError(f'{path}: {command_topic} has {data.size} values, but robot '
                                  f"'{robot.name}' has {robot.num_joints} joints")
            command_time.append(message.log_time_ns)
            commands.append(data)
        else:
            state = message.message
            if names is None:
                names = list(state.name)
            state_time.append(message.log_time_ns)
            positions.append(np.asarray(state.position, dtype=float))
            effort = np.asarray(state.effort, dtype=float)
            efforts.append(effort if effort.size == len(names) else None)
    if not commands:
        raise ConfigError(f'{path}: no messages on {command_topic} (the excitation commands)')
    if not positions:
        raise ConfigError(f'{path}: no messages on {state_topic} (the measured joint states)')
    commands = np.asarray(commands)
    command_time = np.asarray(command_time, dtype=np.int64)
    state_time = np.asarray(state_time, dtype=np.int64)
    positions = np.asarray(positions)
    efforts = None if any(e is None for e in efforts) else np.asarray(efforts)

    deviation = commands - robot.default_joint_pos
    sign = np.sign(np.where(np.abs(deviation) > 1e-9, deviation, 0.0))
    crossings = [np.flatnonzero(sign[1:, j] * sign[:-1, j] < 0) for j in range(sign.shape[1])]
    wanted = [robot.joint_index(name) for name in joints] if joints else \
        [j for j, found in enumerate(crossings) if found.size >= MIN_CROSSINGS]
    if not wanted:
        raise ConfigError(f'{path}: no joint command on {command_topic} leaves the default pose; '
                          'nothing was excited')
    if rate is None:
        rate = 1e9 / float(np.median(np.diff(state_time)))
    items = []
    for joint in wanted:
        name = robot.joint_names[joint]
        if name not in names:
            raise ConfigError(f"{path}: {state_topic} has no joint '{name}' (the excited joint); "
                              f"joints in the bag: {', '.join(names)}")
        active = crossings[joint]
        if active.size < MIN_CROSSINGS:
            raise ConfigError(f"{path}: joint '{name}' was not excited (its command crosses "
                              f'the default position {active.size} times)')
        pad = int(PAD * 1e9)
        start = max(command_time[active[0]] - pad, state_time[0])
        end = min(command_time[active[-1]] + pad, state_time[-1])
        grid = np.arange(start, end, 1e9 / rate).astype(np.int64)
        held = np.clip(np.searchsorted(command_time, grid, side='right') - 1, 0, None)
        column = names.index(name)
        torque = None if efforts is None else np.interp(grid, state_time, efforts[:, column])
        items.append(JointRecording(
            joint=name, rate=rate, command=commands[held, joint],
            position=np.interp(grid, state_time, positions[:, column]), torque=torque))
    return Recording(robot=robot.name, source=str(path), joints=tuple(items))
