# SPDX-License-Identifier: Apache-2.0
"""Atomic writes leave the old file (or folder) intact on failure and no temporary behind."""

from __future__ import annotations

import os

import numpy as np
import pytest

from robot_learning.atomic_write import (atomic_folder, atomic_open, atomic_path,
                                         atomic_write_bytes, atomic_write_text)


def test_text_and_bytes_replace_the_file_and_create_the_folder(tmp_path):
    path = tmp_path / 'new' / 'report.json'
    assert atomic_write_text(path, '{"a": 1}') == path
    assert path.read_text(encoding='utf-8') == '{"a": 1}'
    atomic_write_bytes(path, b'\x00\x01')
    assert path.read_bytes() == b'\x00\x01'
    assert os.listdir(path.parent) == ['report.json']


def test_result_has_ordinary_permissions(tmp_path):
    mask = os.umask(0o022)
    try:
        path = atomic_write_text(tmp_path / 'a.txt', 'x')
    finally:
        os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o644  # not tempfile's 0o600


def test_an_exception_keeps_the_old_file_and_removes_the_temporary(tmp_path):
    path = atomic_write_text(tmp_path / 'model.yaml', 'old')
    with pytest.raises(RuntimeError):
        with atomic_open(path) as stream:
            stream.write('half of the new')
            raise RuntimeError('killed')
    assert path.read_text(encoding='utf-8') == 'old'
    assert os.listdir(tmp_path) == ['model.yaml']


def test_atomic_path_keeps_the_suffix_for_writers_that_use_it(tmp_path):
    path = tmp_path / 'data.npz'
    with atomic_path(path) as temporary:
        assert temporary.parent == tmp_path and temporary.name.endswith('.npz')
        np.savez(temporary, a=np.arange(3))  # would append .npz to any other name
    np.testing.assert_array_equal(np.load(path)['a'], [0, 1, 2])
    assert os.listdir(tmp_path) == ['data.npz']


def test_atomic_folder_replaces_a_whole_folder_or_nothing(tmp_path):
    output = tmp_path / 'bundle'
    with atomic_folder(output) as staging:
        (staging / 'a').write_text('1')
    with pytest.raises(ValueError):
        with atomic_folder(output) as staging:
            (staging / 'b').write_text('2')
            raise ValueError('export failed')
    assert sorted(os.listdir(output)) == ['a'] and os.listdir(tmp_path) == ['bundle']
    with atomic_folder(output) as staging:
        (staging / 'b').write_text('2')
    assert sorted(os.listdir(output)) == ['b']
