# SPDX-License-Identifier: Apache-2.0
"""The checked .npz reader refuses missing, truncated and corrupt files and missing arrays."""

from __future__ import annotations

import numpy as np
import pytest

from robot_learning.data.npz import load_npz, NpzError, require_arrays
from robot_learning.data.trajectory import load_trajectory, TrajectoryError


def _archive(tmp_path, name='data.npz', **arrays):
    path = tmp_path / name
    np.savez(path, **(arrays or {'a': np.arange(1000.0), 'b': np.ones((3, 2))}))
    return path


def test_reads_every_array(tmp_path):
    arrays = load_npz(_archive(tmp_path), ('a', 'b'), 'test file')
    assert sorted(arrays) == ['a', 'b']
    np.testing.assert_array_equal(arrays['a'], np.arange(1000.0))


def test_missing_key_names_the_file_the_key_and_what_is_there(tmp_path):
    path = _archive(tmp_path)
    with pytest.raises(NpzError, match=r"data\.npz: not a test file; it lacks \['c'\] "
                                       r"\(it holds \['a', 'b'\]\); run the maker"):
        load_npz(path, ('a', 'c'), 'test file', hint='run the maker')
    with pytest.raises(ValueError, match=r"lacks \['d'\]"):  # NpzError is a ValueError
        require_arrays(load_npz(path), ('d',), path)


def test_truncated_file_is_refused_with_its_name(tmp_path):
    path = _archive(tmp_path)
    data = path.read_bytes()
    for size in (len(data) // 2, 10, 0):
        cut = tmp_path / f'cut_{size}.npz'
        cut.write_bytes(data[:size])
        with pytest.raises(NpzError, match=rf'cut_{size}\.npz: not a readable test file'):
            load_npz(cut, (), 'test file')


def test_corrupt_array_inside_a_valid_archive_is_refused(tmp_path):
    # The archive's directory survives, the data of one member is garbage: the check reads
    # every array, so the error comes now, not on first use of 'a'.
    path = _archive(tmp_path)
    data = bytearray(path.read_bytes())
    start = data.index(b'\x93NUMPY') + 200
    data[start:start + 400] = b'\xff' * 400
    path.write_bytes(bytes(data))
    with pytest.raises(NpzError, match=r'data\.npz: not a readable'):
        load_npz(path)


def test_missing_file_pickles_and_plain_npy_are_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match=r'test file not found: .*nothing\.npz'):
        load_npz(tmp_path / 'nothing.npz', (), 'test file')
    pickled = tmp_path / 'objects.npz'
    np.savez(pickled, a=np.array([{'x': 1}], dtype=object))
    with pytest.raises(NpzError, match='objects.npz: not a readable'):
        load_npz(pickled)
    single = tmp_path / 'single.npy'
    np.save(single, np.zeros(3))
    with pytest.raises(NpzError, match='not an .npz archive'):
        load_npz(single)


def test_callers_get_their_own_error_type(tmp_path):
    path = _archive(tmp_path, 'short.npz', time=np.zeros(2))
    with pytest.raises(TrajectoryError, match=r'short\.npz: not a trajectory file; it lacks '
                                              r"\['metadata'"):
        load_trajectory(path)
    with pytest.raises(KeyError):  # error=... chooses the class raised
        load_npz(path, ('x',), error=KeyError)
