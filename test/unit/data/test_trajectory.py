# SPDX-License-Identifier: Apache-2.0
"""Trajectory: .npz round trip and validation errors that name the field."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from robot_learning.data.trajectory import load_trajectory, Trajectory, TrajectoryError

NAMES = ('hip', 'knee', 'ankle')
DT = 0.02


def _build_trajectory(steps: int = 5, **overrides) -> Trajectory:
    rng = np.random.default_rng(0)
    joints = len(NAMES)
    quat = rng.normal(size=(steps, 4))
    fields = {
        'time': 10.0 + DT * np.arange(steps),
        'joint_pos': rng.normal(size=(steps, joints)),
        'joint_vel': rng.normal(size=(steps, joints)),
        'joint_effort': rng.normal(size=(steps, joints)),
        'base_pos': rng.normal(size=(steps, 3)),
        'base_quat': quat / np.linalg.norm(quat, axis=1, keepdims=True),
        'base_lin_vel': rng.normal(size=(steps, 3)),
        'base_ang_vel': rng.normal(size=(steps, 3)),
        'actions': rng.normal(size=(steps, joints)),
        'commands': rng.normal(size=(steps, 3)),
        'robot': 'quadruped', 'joint_names': NAMES, 'control_dt': DT, 'source': 'unit test',
    }
    fields.update(overrides)
    return Trajectory(**fields)


def test_npz_round_trip_keeps_arrays_and_metadata(tmp_path):
    trajectory = _build_trajectory()
    path = trajectory.save(tmp_path / 'sub' / 'run.npz')
    assert path == tmp_path / 'sub' / 'run.npz'
    assert [p.name for p in path.parent.iterdir()] == ['run.npz']  # no temporary left over
    loaded = load_trajectory(path)
    for field in dataclasses.fields(Trajectory):
        value, expected = getattr(loaded, field.name), getattr(trajectory, field.name)
        if isinstance(expected, np.ndarray):
            np.testing.assert_array_equal(value, expected)
        else:
            assert value == expected, field.name
    assert len(loaded) == 5 and loaded.num_joints == 3
    assert loaded.duration == pytest.approx(4 * DT)


def test_missing_fields_hold_nan_and_survive_a_round_trip(tmp_path):
    trajectory = _build_trajectory(base_pos=np.full((5, 3), np.nan), missing=('base_pos',))
    loaded = Trajectory.load(trajectory.save(tmp_path / 'run.npz'))
    assert loaded.missing == ('base_pos',) and np.isnan(loaded.base_pos).all()


def test_segment_keeps_metadata():
    part = _build_trajectory().segment(1, 3)
    assert len(part) == 2 and part.time[0] == pytest.approx(10.0 + DT)
    assert part.joint_names == NAMES and part.robot == 'quadruped'
    part.validate()


@pytest.mark.parametrize('overrides, message', [
    ({'joint_pos': np.zeros((5, 2))}, r'joint_pos: expected shape \(5, 3\)'),
    ({'actions': np.zeros((4, 3))}, r'actions: expected shape \(5, 3\)'),
    ({'base_quat': np.zeros((5, 3))}, r'base_quat: expected shape \(5, 4\)'),
    ({'time': np.zeros((5, 1))}, r'time: expected shape \(T,\)'),
    ({'joint_vel': np.full((5, 3), np.inf)}, 'joint_vel: 15 non-finite values'),
    ({'commands': np.array([[0, 0, 0]] * 4 + [[np.nan, 0, 0]])},
     'commands: 1 non-finite values, the first at sample 4'),
    ({'time': np.array([0.0, 0.02, 0.02, 0.04, 0.06])}, 'time: not strictly increasing'),
    ({'time': np.array([0.0, 0.02, 0.04, 0.10, 0.12])}, 'time: samples must be control_dt'),
    ({'base_quat': np.tile([1.0, 0.1, 0.0, 0.0], (5, 1))}, 'base_quat: not a unit quaternion'),
    ({'missing': ('time',)}, r"missing: \['time'\] are not optional"),
    ({'missing': ('base_pos',)}, 'base_pos: listed as missing but holds values'),
    ({'joint_names': ('hip', 'hip', 'ankle')}, 'joint_names: duplicates'),
    ({'control_dt': 0.0}, 'control_dt: must be a positive number'),
])
def test_validation_names_the_field(overrides, message):
    with pytest.raises(TrajectoryError, match=message):
        _build_trajectory(**overrides).validate()


def test_save_refuses_an_invalid_trajectory_and_writes_nothing(tmp_path):
    with pytest.raises(TrajectoryError, match='joint_effort'):
        _build_trajectory(joint_effort=np.zeros((5, 4))).save(tmp_path / 'bad.npz')
    assert list(tmp_path.iterdir()) == []


def test_load_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match='nothing.npz'):
        Trajectory.load(tmp_path / 'nothing.npz')
    other = tmp_path / 'other.npz'
    np.savez(other, values=np.zeros(3))
    with pytest.raises(TrajectoryError, match=f'{other}: not a trajectory file'):
        Trajectory.load(other)
    garbage = tmp_path / 'garbage.npz'
    garbage.write_bytes(b'not a zip file')
    with pytest.raises(TrajectoryError, match=str(garbage)):
        Trajectory.load(garbage)
