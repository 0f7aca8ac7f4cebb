# SPDX-License-Identifier: Apache-2.0
"""Time-aligned robot trajectories at the control rate, saved as ``.npz``.

One :class:`Trajectory` is what the fitting and imitation code consumes, whichever way it was
made: exported from a rosbag (``data/bag_export.py``), rolled out in simulation, or recorded as a
demonstration. Every array has the time axis first, with ``T`` samples spaced ``control_dt``
apart, and per-joint columns in ``joint_names`` order (the policy contract's order).
Quaternions are (w, x, y, z), as everywhere in the toolkit.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib

import numpy as np

from robot_learning.atomic_write import atomic_open
from robot_learning.data.npz import load_npz

FORMAT_VERSION = 1

# Array fields and their trailing shapes; 'J' is the number of joints.
ARRAY_FIELDS: dict[str, tuple[int | str, ...]] = {
    'time': (),
    'joint_pos': ('J',),
    'joint_vel': ('J',),
    'joint_effort': ('J',),
    'base_pos': (3,),
    'base_quat': (4,),
    'base_lin_vel': (3,),
    'base_ang_vel': (3,),
    'actions': ('J',),
    'commands': (3,),
}

# How far sample spacing may stray from control_dt before validation calls it irregular.
SPACING_TOLERANCE = 0.01


class TrajectoryError(ValueError):
    """A trajectory whose arrays are inconsistent; the message names the field."""


@dataclasses.dataclass(frozen=True, eq=False)
class Trajectory:
    """States, actions and commands of one robot, sampled every ``control_dt`` seconds.

    Fields named in ``missing`` had no source (e.g. a recording without ``/odom``) and hold NaN;
    every other array must be finite.
    """

    time: np.ndarray
    """Sample times (T,) [s], strictly increasing, ``control_dt`` apart (source clock)."""
    joint_pos: np.ndarray
    """Joint positions (T, J) [rad]."""
    joint_vel: np.ndarray
    """Joint velocities (T, J) [rad/s]."""
    joint_effort: np.ndarray
    """Measured joint torques (T, J) [N·m]."""
    base_pos: np.ndarray
    """Base position in the world (T, 3) [m]."""
    base_quat: np.ndarray
    """Base orientation (T, 4), unit quaternion (w, x, y, z), base to world."""
    base_lin_vel: np.ndarray
    """Base linear velocity in the WORLD frame (T, 3) [m/s]."""
    base_ang_vel: np.ndarray
    """Base angular velocity in the BASE frame (T, 3) [rad/s]."""
    actions: np.ndarray
    """Joint position targets the policy sent during each step (T, J) [rad]."""
    commands: np.ndarray
    """Velocity command (vx [m/s], vy [m/s], yaw rate [rad/s]) in effect (T, 3)."""
    robot: str
    """Registered robot name (or robot YAML path)."""
    joint_names: tuple[str, ...]
    """Joint order of every per-joint column."""
    control_dt: float
    """Sample period [s]."""
    source: str = ''
    """Where the data came from, e.g. 'bag:/data/run1 (/joint_states 120.00-180.00 s)'."""
    missing: tuple[str, ...] = ()
    """Array fields without a source in the recording; they hold NaN."""

    def __post_init__(self) -> None:
        # Store float64 arrays and a tuple of names whatever the caller passed.
        for name in ARRAY_FIELDS:
            object.__setattr__(self, name, np.asarray(getattr(self, name), dtype=np.float64))
        object.__setattr__(self, 'joint_names', tuple(self.joint_names))
        object.__setattr__(self, 'missing', tuple(self.missing))
        object.__setattr__(self, 'control_dt', float(self.control_dt))

    def __len__(self) -> int:
        """Return the number of samples T."""
        return int(self.time.shape[0])

    @property
    def num_joints(self) -> int:
        """Number of joints J."""
        return len(self.joint_names)

    @property
    def duration(self) -> float:
        """Time from the first to the last sample [s]."""
        return float(self.time[-1] - self.time[0]) if len(self) else 0.0

    def validate(self) -> None:
        """Check shapes, finiteness and timing.

        Raises:
            TrajectoryError: The first problem found; the message names the field.
        """
        if not self.joint_names:
            raise TrajectoryError('joint_names: empty')
        if len(set(self.joint_names)) != len(self.joint_names):
            raise TrajectoryError(f'joint_names: duplicates in {list(self.joint_names)}')
        if not (np.isfinite(self.control_dt) and self.control_dt > 0):
            raise TrajectoryError(f'control_dt: must be a positive number, got {self.control_dt}')
        optional = [name for name in ARRAY_FIELDS if name != 'time']
        unknown = sorted(set(self.missing) - set(optional))
        if unknown:
            raise TrajectoryError(f'missing: {unknown} are not optional array fields; '
                                  f"optional: {', '.join(optional)}")
        length = self.time.shape[0] if self.time.ndim == 1 else None
        if length is None:
            raise TrajectoryError(f'time: expected shape (T,), got {self.time.shape}')
        for name, trailing in ARRAY_FIELDS.items():
            array = getattr(self, name)
            expected = (length, *(self.num_joints if size == 'J' else size for size in trailing))
            if array.shape != expected:
                raise TrajectoryError(
                    f'{name}: expected shape {expected} (T={length}, J={self.num_joints}), '
                    f'got {array.shape}')
            if name in self.missing:
                if not np.all(np.isnan(array)):
                    raise TrajectoryError(f'{name}: listed as missing but holds values')
                continue
            bad = ~np.isfinite(array)
            if bad.any():
                row = int(np.argwhere(bad)[0][0])
                raise TrajectoryError(
                    f'{name}: {int(bad.sum())} non-finite values, the first at sample {row} '
                    f'(t={self.time[row] if np.isfinite(self.time[row]) else "?"})')
        if length > 1:
            steps = np.diff(self.time)
            if np.any(steps <= 0):
                row = int(np.argmax(steps <= 0))
                raise TrajectoryError(
                    f'time: not strictly increasing at sample {row + 1} '
                    f'({self.time[row]} -> {self.time[row + 1]})')
            irregular = np.abs(steps - self.control_dt) > SPACING_TOLERANCE * self.control_dt
            if irregular.any():
                row = int(np.argmax(irregular))
                raise TrajectoryError(
                    f'time: samples must be control_dt={self.control_dt} s apart; step '
                    f'{row + 1} is {steps[row]:.6g} s (a gap? split the trajectory there)')
        if 'base_quat' not in self.missing and length:
            norms = np.linalg.norm(self.base_quat, axis=1)
            if np.any(np.abs(norms - 1.0) > 1e-3):
                row = int(np.argmax(np.abs(norms - 1.0)))
                raise TrajectoryError(
                    f'base_quat: not a unit quaternion at sample {row} (norm {norms[row]:.6g})')

    def segment(self, start: int, stop: int) -> Trajectory:
        """Return samples ``start:stop`` as a new trajectory with the same metadata."""
        arrays = {name: getattr(self, name)[start:stop] for name in ARRAY_FIELDS}
        return dataclasses.replace(self, **arrays)

    def save(self, path: str | os.PathLike) -> pathlib.Path:
        """Validate, then write an ``.npz`` atomically (a temporary file renamed into place).

        Returns:
            The path written.
        """
        self.validate()
        path = pathlib.Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        metadata = {
            'format_version': FORMAT_VERSION,
            'robot': self.robot,
            'joint_names': list(self.joint_names),
            'control_dt': self.control_dt,
            'source': self.source,
            'missing': list(self.missing),
        }
        with atomic_open(path, 'wb') as stream:
            np.savez(stream, metadata=np.array(json.dumps(metadata)),
                     **{name: getattr(self, name) for name in ARRAY_FIELDS})
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> Trajectory:
        """Read and validate an ``.npz`` written by :meth:`save`.

        Raises:
            FileNotFoundError: No such file.
            TrajectoryError: Not a trajectory file, or inconsistent contents (names the file).
        """
        path = pathlib.Path(path)
        contents = load_npz(path, ('metadata', *ARRAY_FIELDS), 'trajectory file',
                            TrajectoryError, hint='write one with `robot-learning bag export`')
        try:
            metadata = json.loads(str(contents.pop('metadata')))
            version = metadata.get('format_version')
            if version != FORMAT_VERSION:
                raise TrajectoryError(f'format_version {version} is not {FORMAT_VERSION}')
            trajectory = cls(
                **{name: contents[name] for name in ARRAY_FIELDS},
                robot=str(metadata['robot']), joint_names=tuple(metadata['joint_names']),
                control_dt=float(metadata['control_dt']), source=str(metadata['source']),
                missing=tuple(metadata.get('missing', ())))
            trajectory.validate()
        except (KeyError, TypeError, json.JSONDecodeError, TrajectoryError) as error:
            raise TrajectoryError(f'{path}: {error}') from error
        return trajectory


def load_trajectory(path: str | os.PathLike) -> Trajectory:
    """Read a trajectory ``.npz`` (see :meth:`Trajectory.load`)."""
    return Trajectory.load(path)
