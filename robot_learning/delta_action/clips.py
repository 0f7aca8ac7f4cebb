# SPDX-License-Identifier: Apache-2.0
"""Recorded real trajectories -> fixed-length clips for delta-action fitting and evaluation.

Sources are rosbag2 folders recorded on the robot (checked and exported at the control rate by
``delta_action/bags.py``) or trajectory ``.npz`` files (``robot-learning bag export``). Row k of
a trajectory holds the state measured at ``time[k]`` and the joint targets sent during step k
(from state k to state k + 1). A clip of horizon H is H + 1 consecutive states and the H
targets between them.

Errors name the file (the clip), the ROS topic a missing or bad field comes from, and the time.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
from typing import Sequence

import numpy as np

from robot_learning.data.bag_export import BagTopics
from robot_learning.data.npz import load_npz
from robot_learning.data.trajectory import Trajectory, TrajectoryError
from robot_learning.delta_action.bags import load_bag, RecordingError
from robot_learning.robots.spec import RobotSpec
from robot_learning.rotations import projected_gravity
from robot_learning.sim.base import SimState

REQUIRED_FIELDS = ('joint_pos', 'joint_vel', 'base_pos', 'base_quat', 'base_lin_vel',
                   'base_ang_vel', 'actions')
"""Trajectory fields a clip needs: the full real state and the targets actually sent."""
FIELD_TOPICS = {
    'joint_pos': '/joint_states', 'joint_vel': '/joint_states', 'joint_effort': '/joint_states',
    'base_pos': '/odom', 'base_lin_vel': '/odom', 'base_quat': '/imu/data (or /odom)',
    'base_ang_vel': '/imu/data (or /odom)', 'actions': '/joint_commands',
    'commands': '/cmd_vel', 'time': '/joint_states',
}
"""The ROS topic each trajectory field is exported from (``data/bag_export.py``)."""


class ClipError(ValueError):
    """Recorded data that cannot be used; the message names file, topic and time."""


@dataclasses.dataclass(frozen=True, eq=False)
class ClipSet:
    """Recorded trajectories of one robot concatenated along time, with clip start rows.

    Arrays have the concatenated row axis R first. ``starts`` are row indices s such that rows
    s .. s + horizon belong to one trajectory.
    """

    joint_pos: np.ndarray
    """(R, J) [rad]"""
    joint_vel: np.ndarray
    """(R, J) [rad/s]"""
    base_pos: np.ndarray
    """(R, 3) [m], world"""
    base_quat: np.ndarray
    """(R, 4) (w, x, y, z)"""
    base_lin_vel: np.ndarray
    """(R, 3) [m/s], world frame"""
    base_ang_vel: np.ndarray
    """(R, 3) [rad/s], base frame"""
    targets: np.ndarray
    """(R, J) joint targets sent during the step that starts at each row [rad]"""
    names: tuple[str, ...]
    """Per row: ``<file>@<time>s`` (for messages and reports)."""
    starts: np.ndarray
    """(K,) start rows of every horizon-long clip (stride one control step)."""
    horizon: int
    """Steps per clip H."""
    control_dt: float
    sources: tuple[str, ...]

    @property
    def num_clips(self) -> int:
        """Number of clips K (every start row)."""
        return int(self.starts.size)

    def spaced_starts(self, stride: int, limit: int = 0) -> np.ndarray:
        """Return start rows at least ``stride`` steps apart (at most ``limit`` when > 0)."""
        chosen, last = [], None
        for start in self.starts:
            if last is None or start - last >= stride or self.names[start].split('@')[0] != \
                    self.names[last].split('@')[0]:
                chosen.append(start)
                last = start
        chosen = np.asarray(chosen, dtype=np.int64)
        if limit and chosen.size > limit:
            chosen = chosen[np.linspace(0, chosen.size - 1, limit).round().astype(np.int64)]
        return chosen

    def state(self, rows: np.ndarray) -> SimState:
        """Return the recorded states of ``rows`` as a SimState (contacts and torques zero)."""
        rows = np.asarray(rows, dtype=np.int64)
        count, joints = rows.size, self.joint_pos.shape[1]
        return SimState(
            base_pos=self.base_pos[rows].copy(), base_quat=self.base_quat[rows].copy(),
            base_lin_vel=self.base_lin_vel[rows].copy(),
            base_ang_vel=self.base_ang_vel[rows].copy(),
            joint_pos=self.joint_pos[rows].copy(), joint_vel=self.joint_vel[rows].copy(),
            joint_torque=np.zeros((count, joints)), contact_force=np.zeros((count, 0)),
            contact_pos=np.zeros((count, 0, 3)))


def load_trajectories(paths: Sequence[str | os.PathLike], robot: RobotSpec,
                      control_dt: float | None = None, min_samples: int = 2,
                      topics: BagTopics = BagTopics()) -> list[Trajectory]:
    """Load ``.npz`` trajectories or export rosbag2 folders / files; check them for clips.

    Bags give their gap-free stretches of at least ``min_samples`` samples, read from
    ``topics`` (``delta_action/bags.py``).

    Raises:
        ClipError: unreadable file or bag, a required topic missing, joint names that do not
            match the robot, stamps that go backwards, too few samples for one clip,
            non-finite samples, or a control period that differs from ``control_dt``.
    """
    trajectories = []
    for path in paths:
        path = pathlib.Path(path)
        if path.suffix == '.npz':
            trajectories.append(_load_npz(path))
        else:
            trajectories.extend(_export_bag(path, robot, control_dt, min_samples, topics))
    if not trajectories:
        raise ClipError('no trajectories given')
    for trajectory in trajectories:
        check_trajectory(trajectory, robot, control_dt)
    return trajectories


def _load_npz(path: pathlib.Path) -> Trajectory:
    if not path.is_file():
        raise ClipError(f'{path}: no such trajectory file')
    try:
        trajectory = Trajectory.load(path)
    except TrajectoryError as error:
        finite_error = _nonfinite_message(path)
        raise ClipError(finite_error or f'{path}: {error}') from error
    origin = f' ({trajectory.source})' if trajectory.source else ''
    return dataclasses.replace(trajectory, source=f'{path}{origin}')


def _nonfinite_message(path: pathlib.Path) -> str:
    """Describe the first non-finite sample of a trajectory file ('' when there is none)."""
    try:
        arrays = load_npz(path)
    except (OSError, ValueError):
        return ''
    time = arrays.get('time')
    for name in REQUIRED_FIELDS:
        values = arrays.get(name)
        if values is None or values.size == 0 or np.all(np.isnan(values)):
            continue
        bad = ~np.isfinite(values.reshape(values.shape[0], -1)).all(axis=1)
        if bad.any():
            row = int(np.argmax(bad))
            when = f't={time[row]:.3f} s' if time is not None and row < time.size else ''
            return (f'{path}: non-finite {name} (topic {FIELD_TOPICS[name]}) at sample {row} '
                    f'({when}); {int(bad.sum())} samples affected')
    return ''


def _export_bag(path: pathlib.Path, robot: RobotSpec, control_dt: float | None,
                min_samples: int, topics: BagTopics) -> list[Trajectory]:
    if not path.exists():
        raise ClipError(f'{path}: no such bag folder or trajectory file')
    if control_dt is None:
        raise ClipError(f'{path}: exporting a bag needs the control period')
    try:
        return load_bag(path, robot.joint_names, control_dt, robot.name, min_samples, topics)
    except RecordingError as error:
        raise ClipError(str(error)) from error


def check_trajectory(trajectory: Trajectory, robot: RobotSpec,
                     control_dt: float | None = None) -> None:
    """Raise ClipError unless ``trajectory`` can be replayed on ``robot``."""
    where = trajectory.source or 'trajectory'
    absent = [name for name in REQUIRED_FIELDS if name in trajectory.missing]
    if absent:
        topics = sorted({FIELD_TOPICS[name] for name in absent})
        raise ClipError(f'{where}: the recording lacks topic(s) {", ".join(topics)} '
                        f'(fields {", ".join(absent)}); delta-action fitting needs the full '
                        'state (with /odom as motion capture) and the joint commands sent')
    if tuple(trajectory.joint_names) != tuple(robot.joint_names):
        extra = [n for n in trajectory.joint_names if n not in robot.joint_names]
        lacking = [n for n in robot.joint_names if n not in trajectory.joint_names]
        detail = (f'unknown {extra}; ' if extra else '') + (
            f'missing {lacking}' if lacking else 'same names in another order')
        raise ClipError(f'{where}: joint names (topic /joint_states) do not match robot '
                        f"'{robot.name}': {detail}")
    if control_dt is not None and abs(trajectory.control_dt - control_dt) > 1e-9:
        raise ClipError(f'{where}: control period {trajectory.control_dt} s differs from the '
                        f"simulator's {control_dt} s")
    for name in REQUIRED_FIELDS:
        values = getattr(trajectory, name)
        bad = ~np.isfinite(values.reshape(values.shape[0], -1)).all(axis=1)
        if bad.any():
            row = int(np.argmax(bad))
            raise ClipError(f'{where}: non-finite {name} (topic {FIELD_TOPICS[name]}) at '
                            f't={trajectory.time[row]:.3f} s (sample {row})')


def make_clip_set(trajectories: Sequence[Trajectory], horizon: int) -> ClipSet:
    """Concatenate trajectories and list every horizon-long clip.

    Raises:
        ClipError: a trajectory shorter than the horizon (names it, its length and the
            horizon), or trajectories of different robots or control periods.
    """
    if horizon < 1:
        raise ClipError(f'horizon must be at least one step, got {horizon}')
    first = trajectories[0]
    fields = {name: [] for name in ('joint_pos', 'joint_vel', 'base_pos', 'base_quat',
                                    'base_lin_vel', 'base_ang_vel', 'actions')}
    names, starts, offset, sources = [], [], 0, []
    for trajectory in trajectories:
        where = trajectory.source or 'trajectory'
        if trajectory.joint_names != first.joint_names or \
                trajectory.control_dt != first.control_dt:
            raise ClipError(f'{where}: joint names or control period differ from '
                            f'{first.source or "the first trajectory"}')
        if len(trajectory) < horizon + 1:
            raise ClipError(
                f'{where}: clip of {len(trajectory)} samples ({trajectory.duration:.2f} s, '
                f't={trajectory.time[0]:.2f}..{trajectory.time[-1]:.2f} s) is shorter than the '
                f'horizon of {horizon} steps ({horizon * trajectory.control_dt:.2f} s) + 1')
        for name in fields:
            fields[name].append(getattr(trajectory, name))
        label = pathlib.Path(where.split(' ')[0]).name or where
        names.extend(f'{label}@{t:.2f}s' for t in trajectory.time)
        starts.extend(range(offset, offset + len(trajectory) - horizon))
        offset += len(trajectory)
        sources.append(where)
    arrays = {name: np.concatenate(values) for name, values in fields.items()}
    return ClipSet(joint_pos=arrays['joint_pos'], joint_vel=arrays['joint_vel'],
                   base_pos=arrays['base_pos'], base_quat=arrays['base_quat'],
                   base_lin_vel=arrays['base_lin_vel'], base_ang_vel=arrays['base_ang_vel'],
                   targets=arrays['actions'], names=tuple(names),
                   starts=np.asarray(starts, dtype=np.int64), horizon=horizon,
                   control_dt=first.control_dt, sources=tuple(sources))


def cut_at_fall(trajectory: Trajectory, max_tilt: float) -> Trajectory:
    """Return the samples before the base first tilts more than ``max_tilt`` [rad].

    After a fall the policy node is in damping and the data no longer shows the policy's
    actions acting on a standing robot. The whole trajectory when it never tilts that far.
    """
    tilt = np.arccos(np.clip(-projected_gravity(trajectory.base_quat)[:, 2], -1.0, 1.0))
    over = np.flatnonzero(tilt > max_tilt)
    return trajectory if over.size == 0 else trajectory.segment(0, int(over[0]))


def load_clips(paths: Sequence[str | os.PathLike], robot: RobotSpec, horizon: int,
               control_dt: float | None = None, max_tilt: float = 0.0,
               topics: BagTopics = BagTopics()) -> ClipSet:
    """Load, check and cut recorded data into clips of ``horizon`` steps.

    With ``max_tilt`` > 0 each trajectory ends before its first fall (``cut_at_fall``); a part
    left shorter than the horizon is dropped (a recording that is too short from the start is
    an error; so is a bag without one gap-free stretch of ``horizon + 1`` samples, while its
    shorter stretches are dropped). Bags are read from ``topics``.
    """
    trajectories = load_trajectories(paths, robot, control_dt, horizon + 1, topics)
    if max_tilt > 0:
        kept = []
        for trajectory in trajectories:
            cut = cut_at_fall(trajectory, max_tilt)
            if len(cut) == len(trajectory) or len(cut) > horizon:
                kept.append(cut)
        if not kept:
            raise ClipError(f'every recording falls (base tilt > {max_tilt} rad) within the '
                            f'first {horizon} steps: no clip left')
        trajectories = kept
    return make_clip_set(trajectories, horizon)
