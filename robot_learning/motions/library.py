# SPDX-License-Identifier: Apache-2.0
"""A set of reference motions queried at per-environment (motion, time) pairs."""

from __future__ import annotations

import dataclasses
import pathlib

import numpy as np

from robot_learning.motions.motion import (frame_blend, load_motion, Motion, MotionError,
                                           read_motion)
from robot_learning.robots.spec import RobotSpec
from robot_learning.rotations import quat_conjugate, quat_multiply


@dataclasses.dataclass
class ReferenceState:
    """The reference of N environments at their current motion times."""

    joint_pos: np.ndarray
    """(N, J) [rad]"""
    joint_vel: np.ndarray
    """(N, J) [rad/s]"""
    base_pos: np.ndarray
    """(N, 3) [m]"""
    base_quat: np.ndarray
    """(N, 4) (w, x, y, z)"""
    base_lin_vel: np.ndarray
    """(N, 3) world frame [m/s]"""
    base_ang_vel: np.ndarray
    """(N, 3) base frame [rad/s]"""
    body_pos: np.ndarray
    """(N, B, 3) world positions of the tracked bodies [m]"""


class MotionLibrary:
    """Motions of one robot, each with finite-difference velocities, sampled by linear blend."""

    def __init__(self, motions: list[Motion]) -> None:
        if not motions:
            raise MotionError('a motion library needs at least one motion')
        body_names = motions[0].body_names
        for motion in motions[1:]:
            if motion.body_names != body_names or motion.fps != motions[0].fps:
                raise MotionError(f"motion '{motion.name}' tracks other bodies or has another "
                                  f"fps than '{motions[0].name}'")
        self.motions = list(motions)
        self.names = tuple(motion.name for motion in motions)
        self.body_names = body_names
        self.fps = motions[0].fps
        self.durations = np.array([motion.duration for motion in motions])
        """(M,) [s]"""
        self._frames = [_with_velocities(motion) for motion in motions]

    @classmethod
    def load(cls, sources: tuple[str, ...], robot: RobotSpec) -> MotionLibrary:
        """Load shipped motion names or ``.npz`` paths for ``robot``."""
        return cls([load_motion(source, robot) for source in sources])

    @classmethod
    def read(cls, paths: tuple[str | pathlib.Path, ...]) -> MotionLibrary:
        """Load motion files as they are (no robot check; the caller checks the joints)."""
        return cls([read_motion(path) for path in paths])

    def index(self, name: str) -> int:
        """Index of the motion called ``name`` (or loaded from the ``.npz`` path ``name``)."""
        if name.endswith('.npz'):
            name = pathlib.Path(name).stem
        if name not in self.names:
            raise MotionError(f"unknown motion '{name}'; this library holds "
                              f"{', '.join(self.names)}")
        return self.names.index(name)

    def reference(self, motion_ids: np.ndarray, time: np.ndarray) -> ReferenceState:
        """Return the reference of motions ``motion_ids`` (N,) at ``time`` (N,) [s] (clamped)."""
        motion_ids = np.asarray(motion_ids, dtype=np.int64)
        time = np.asarray(time, dtype=float)
        order = np.empty(motion_ids.size, dtype=np.int64)
        parts: dict[str, list[np.ndarray]] = {f.name: [] for f in dataclasses.fields(
            ReferenceState)}
        start = 0
        for motion_id in np.unique(motion_ids):
            rows = np.flatnonzero(motion_ids == motion_id)
            order[rows] = np.arange(start, start + rows.size)
            start += rows.size
            frames = self._frames[motion_id]
            frame0, frame1, blend = frame_blend(self.motions[motion_id], time[rows])
            for key, values in frames.items():
                weight = blend.reshape((-1,) + (1,) * (values.ndim - 1))
                parts[key].append(values[frame0] * (1 - weight) + values[frame1] * weight)
        result = {key: np.concatenate(values)[order] for key, values in parts.items()}
        quat = result['base_quat']
        result['base_quat'] = quat / np.linalg.norm(quat, axis=1, keepdims=True)
        return ReferenceState(**result)


def _with_velocities(motion: Motion) -> dict[str, np.ndarray]:
    """Frames of ``motion`` plus central-difference velocities (the fields of ReferenceState)."""
    dt = 1.0 / motion.fps
    quat = motion.base_quat.copy()
    for frame in range(1, len(quat)):  # one hemisphere, so that blends do not flip
        if np.dot(quat[frame], quat[frame - 1]) < 0:
            quat[frame] = -quat[frame]
    quat_rate = np.gradient(quat, dt, axis=0)
    base_ang_vel = 2.0 * quat_multiply(quat_conjugate(quat), quat_rate)[:, 1:]
    return {
        'joint_pos': motion.joint_pos, 'joint_vel': np.gradient(motion.joint_pos, dt, axis=0),
        'base_pos': motion.base_pos, 'base_quat': quat,
        'base_lin_vel': np.gradient(motion.base_pos, dt, axis=0),
        'base_ang_vel': base_ang_vel, 'body_pos': motion.body_pos}


def motion_phase(time: np.ndarray, duration: np.ndarray) -> np.ndarray:
    """Phase ``clip(time / duration, 0, 1)`` of (N,) motion times [s], as an (N, 1) array."""
    return np.clip(np.asarray(time, dtype=float) / np.asarray(duration, dtype=float),
                   0.0, 1.0)[:, None]


def motion_inputs(library: MotionLibrary, motion_ids: np.ndarray,
                  time: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the motion observation inputs: phase (N, 1) and reference joints (N, J) [rad].

    The training environment and the ROS 2 policy node both call this with each
    environment's (robot's) motion and the time since its motion started.
    """
    motion_ids = np.asarray(motion_ids, dtype=np.int64)
    phase = motion_phase(time, library.durations[motion_ids])
    return phase, library.reference(motion_ids, time).joint_pos
