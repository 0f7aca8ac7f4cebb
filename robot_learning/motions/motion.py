# SPDX-License-Identifier: Apache-2.0
"""Reference motions: joint and base trajectories of one robot, stored as ``.npz``.

A motion file holds ``fps``, ``joint_names`` (J,), ``joint_pos`` (T, J) [rad], ``base_pos``
(T, 3) [m], ``base_quat`` (T, 4) (w, x, y, z), ``body_names`` (B,) and ``body_pos`` (T, B, 3)
[m], the world positions of the tracked links. Loading checks every shape, that the values are
finite and that the joints are the robot's, in the robot's order.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib

import numpy as np

from robot_learning.atomic_write import atomic_open
from robot_learning.data.npz import load_npz
from robot_learning.paths import share_dir
from robot_learning.robots.spec import RobotSpec

MOTION_DIR = 'motions'
"""Folder (under the share folder) of the shipped motions, one sub-folder per robot."""


class MotionError(ValueError):
    """A motion file that is missing, malformed or made for another robot."""


@dataclasses.dataclass(frozen=True, eq=False)
class Motion:
    """One reference motion sampled at ``fps``; T frames, J joints, B tracked bodies."""

    name: str
    fps: float
    """Frames per second [Hz]."""
    joint_names: tuple[str, ...]
    joint_pos: np.ndarray
    """(T, J) [rad]"""
    base_pos: np.ndarray
    """(T, 3) world position of the base link [m]."""
    base_quat: np.ndarray
    """(T, 4) base orientation (w, x, y, z)."""
    body_names: tuple[str, ...]
    body_pos: np.ndarray
    """(T, B, 3) world positions of the tracked bodies [m]."""

    @property
    def num_frames(self) -> int:
        """Number of frames T."""
        return self.joint_pos.shape[0]

    @property
    def duration(self) -> float:
        """Time from the first to the last frame [s]."""
        return (self.num_frames - 1) / self.fps

    def validate(self, where: str = '') -> None:
        """Raise MotionError naming the field whose shape or values are wrong."""
        where = where or f"motion '{self.name}'"
        if not (np.isfinite(self.fps) and self.fps > 0):
            raise MotionError(f'{where}: fps must be positive, got {self.fps}')
        frames, joints, bodies = (self.joint_pos.shape[0], len(self.joint_names),
                                  len(self.body_names))
        if frames < 2:
            raise MotionError(f'{where}: needs at least 2 frames, got {frames}')
        expected = {'joint_pos': (frames, joints), 'base_pos': (frames, 3),
                    'base_quat': (frames, 4), 'body_pos': (frames, bodies, 3)}
        for key, shape in expected.items():
            value = getattr(self, key)
            if value.shape != shape:
                raise MotionError(f'{where}: {key} has shape {value.shape}, expected {shape} '
                                  f'({frames} frames, {joints} joints, {bodies} bodies)')
            bad = np.flatnonzero(~np.isfinite(value.reshape(frames, -1)).all(axis=1))
            if bad.size:
                raise MotionError(f'{where}: {key} is not finite at frame {bad[0]} '
                                  f'(t = {bad[0] / self.fps:.3f} s)')
        norms = np.linalg.norm(self.base_quat, axis=1)
        if np.any(np.abs(norms - 1.0) > 1e-3):
            frame = int(np.argmax(np.abs(norms - 1.0)))
            raise MotionError(f'{where}: base_quat is not a unit quaternion at frame {frame} '
                              f'(norm {norms[frame]:.4f})')

    def check_robot(self, robot: RobotSpec, where: str = '') -> None:
        """Refuse a motion whose joints are not ``robot``'s joints in the robot's order."""
        self.check_joints(robot.joint_names, robot.position_lower, robot.position_upper,
                          f"robot '{robot.name}'", where)

    def check_joints(self, joint_names: tuple[str, ...], position_lower: np.ndarray,
                     position_upper: np.ndarray, owner: str, where: str = '') -> None:
        """Refuse a motion unless its joints are ``joint_names``, in order, inside the limits.

        ``position_lower``/``position_upper`` are (J,) [rad]; ``owner`` names whose joints they
        are in messages.
        """
        where = where or f"motion '{self.name}'"
        unknown = [name for name in self.joint_names if name not in joint_names]
        if unknown:
            raise MotionError(f"{where}: joint(s) {', '.join(unknown)} are not joints of "
                              f'{owner}')
        missing = [name for name in joint_names if name not in self.joint_names]
        if missing:
            raise MotionError(f"{where}: no trajectory for joint(s) {', '.join(missing)} of "
                              f'{owner}')
        if tuple(self.joint_names) != tuple(joint_names):
            raise MotionError(f'{where}: joints are in another order than those of {owner} '
                              f"({', '.join(joint_names)})")
        lower, upper = np.asarray(position_lower), np.asarray(position_upper)
        outside = (self.joint_pos < lower - 1e-6) | (self.joint_pos > upper + 1e-6)
        if outside.any():
            frame, joint = np.argwhere(outside)[0]
            raise MotionError(f'{where}: {joint_names[joint]} = '
                              f'{self.joint_pos[frame, joint]:.3f} rad at frame {frame} is '
                              'outside its position limits')

    def save(self, path: str | os.PathLike) -> pathlib.Path:
        """Validate, then write an ``.npz`` atomically (a temporary file renamed into place)."""
        self.validate()
        path = pathlib.Path(path)
        with atomic_open(path, 'wb') as stream:
            np.savez(stream, fps=np.float64(self.fps), joint_names=np.array(self.joint_names),
                     joint_pos=self.joint_pos, base_pos=self.base_pos,
                     base_quat=self.base_quat, body_names=np.array(self.body_names),
                     body_pos=self.body_pos)
        return path


def motion_path(robot: str, name: str) -> pathlib.Path:
    """Path of the shipped motion ``name`` of ``robot`` (``motions/<robot>/<name>.npz``)."""
    return share_dir() / MOTION_DIR / robot / f'{name}.npz'


def load_motion(source: str | os.PathLike, robot: RobotSpec) -> Motion:
    """Load a motion from a ``.npz`` path or a shipped motion name and check it against ``robot``.

    Raises:
        MotionError: the file is missing or malformed, or its joints are not ``robot``'s.
    """
    text = str(source)
    path = pathlib.Path(text) if text.endswith('.npz') else motion_path(robot.name, text)
    if not path.is_file():
        shipped = sorted(p.stem for p in (share_dir() / MOTION_DIR / robot.name).glob('*.npz'))
        raise MotionError(f"motion file not found: {path}; shipped motions of '{robot.name}': "
                          f"{', '.join(shipped) or 'none'}")
    motion = read_motion(path)
    motion.check_robot(robot, str(path))
    return motion


def read_motion(path: str | os.PathLike) -> Motion:
    """Read and validate the motion file ``path`` (its name is the file stem).

    Raises:
        MotionError: the file is missing, unreadable or malformed.
    """
    path = pathlib.Path(path)
    arrays = load_npz(path, ('fps', 'joint_names', 'joint_pos', 'base_pos', 'base_quat',
                             'body_names', 'body_pos'), 'motion file', MotionError)
    motion = Motion(
        name=path.stem, fps=float(arrays['fps']),
        joint_names=tuple(str(name) for name in arrays['joint_names']),
        joint_pos=np.asarray(arrays['joint_pos'], dtype=float),
        base_pos=np.asarray(arrays['base_pos'], dtype=float),
        base_quat=np.asarray(arrays['base_quat'], dtype=float),
        body_names=tuple(str(name) for name in arrays['body_names']),
        body_pos=np.asarray(arrays['body_pos'], dtype=float))
    motion.validate(str(path))
    return motion


def frame_blend(motion: Motion, time: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (frame0 (N,), frame1 (N,), blend (N,)) for times [s] clamped to the motion."""
    position = np.clip(np.asarray(time, dtype=float) * motion.fps, 0.0, motion.num_frames - 1)
    frame0 = np.floor(position).astype(np.int64)
    frame1 = np.minimum(frame0 + 1, motion.num_frames - 1)
    return frame0, frame1, position - frame0
