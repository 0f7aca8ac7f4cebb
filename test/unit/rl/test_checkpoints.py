# SPDX-License-Identifier: Apache-2.0
"""Checkpoint files: no code runs when one is opened, atomic writes, resume fallback."""

from __future__ import annotations

import logging
import pathlib

import pytest
import torch

from robot_learning.rl.runner import (atomic_torch_save, CheckpointError, checkpoints,
                                      CorruptCheckpointError, latest_checkpoint,
                                      read_checkpoint, remove_stale_temporaries,
                                      UnsafeCheckpointError)
from robot_learning.rl.training import resume_checkpoint


class FileCreator:
    """Unpickling this creates ``path`` (what a crafted checkpoint does to run code)."""

    def __init__(self, path: pathlib.Path) -> None:
        self.path = str(path)

    def __reduce__(self):
        return open, (self.path, 'w')


def checkpoint_dict(iteration: int) -> dict:
    """Return a dict shaped like TrainingRunner.save's, with tiny tensors."""
    return {'actor_state_dict': {'weight': torch.full((2, 3), float(iteration))},
            'critic_state_dict': {'weight': torch.zeros(1, 3)},
            'optimizer_state_dict': {'state': {}, 'param_groups': [{'lr': 1e-3}]},
            'iter': iteration, 'infos': None}


def test_a_checkpoint_round_trips_with_weights_only(tmp_path):
    atomic_torch_save(checkpoint_dict(7), tmp_path / 'model_7.pt')
    loaded = read_checkpoint(tmp_path / 'model_7.pt')
    assert loaded['iter'] == 7
    assert torch.equal(loaded['actor_state_dict']['weight'], torch.full((2, 3), 7.0))


def test_a_checkpoint_that_would_create_a_file_is_refused_and_creates_nothing(tmp_path):
    created = tmp_path / 'created_by_unpickling'
    torch.save({**checkpoint_dict(3), 'payload': FileCreator(created)}, tmp_path / 'model_3.pt')
    with pytest.raises(UnsafeCheckpointError, match=r'refused to load.*open'):
        read_checkpoint(tmp_path / 'model_3.pt')
    assert not created.exists()


@pytest.mark.parametrize('damage', ['truncated', 'empty', 'text'])
def test_a_damaged_checkpoint_is_a_corrupt_checkpoint_error(tmp_path, damage):
    path = tmp_path / 'model_2.pt'
    atomic_torch_save(checkpoint_dict(2), path)
    data = path.read_bytes()
    path.write_bytes({'truncated': data[:len(data) // 2], 'empty': b'',
                      'text': b'not a checkpoint\n'}[damage])
    with pytest.raises(CorruptCheckpointError, match='model_2.pt'):
        read_checkpoint(path)


def test_a_torch_file_that_is_not_a_training_checkpoint_names_what_is_missing(tmp_path):
    torch.save({'weights': torch.zeros(2)}, tmp_path / 'model_1.pt')
    with pytest.raises(CheckpointError, match='not a training checkpoint.*actor_state_dict'):
        read_checkpoint(tmp_path / 'model_1.pt')


def test_checkpoints_are_ordered_by_iteration_not_by_name(tmp_path):
    for iteration in (2, 10, 9):
        atomic_torch_save(checkpoint_dict(iteration), tmp_path / f'model_{iteration}.pt')
    (tmp_path / 'model_best.pt').write_bytes(b'')
    assert [p.name for p in checkpoints(tmp_path)] == ['model_10.pt', 'model_9.pt',
                                                       'model_2.pt']
    assert latest_checkpoint(tmp_path).name == 'model_10.pt'


def test_stale_temporaries_of_a_killed_save_are_removed_and_nothing_else(tmp_path):
    atomic_torch_save(checkpoint_dict(4), tmp_path / 'model_4.pt')
    assert [p.name for p in tmp_path.iterdir()] == ['model_4.pt']  # no temporary left
    stale = [tmp_path / '.model_6.pt.k2j3h4.tmp', tmp_path / '.model_8.pt.q7w8e9.tmp.pt']
    for path in stale:
        path.write_bytes(b'half a checkpoint')
    (tmp_path / 'notes.tmp').write_text('keep')
    assert remove_stale_temporaries(tmp_path) == stale
    assert sorted(p.name for p in tmp_path.iterdir()) == ['model_4.pt', 'notes.tmp']


def test_resume_skips_a_truncated_newest_checkpoint_with_a_warning(tmp_path, caplog):
    for iteration in (0, 2, 4):
        atomic_torch_save(checkpoint_dict(iteration), tmp_path / f'model_{iteration}.pt')
    newest = tmp_path / 'model_4.pt'
    newest.write_bytes(newest.read_bytes()[:100])
    with caplog.at_level(logging.WARNING):
        path, iteration = resume_checkpoint(tmp_path)
    assert (path.name, iteration) == ('model_2.pt', 2)
    assert 'model_4.pt' in caplog.text and 'falling back' in caplog.text


def test_resume_refuses_an_unsafe_newest_checkpoint_instead_of_falling_back(tmp_path):
    created = tmp_path / 'created_by_unpickling'
    atomic_torch_save(checkpoint_dict(0), tmp_path / 'model_0.pt')
    torch.save({**checkpoint_dict(1), 'payload': FileCreator(created)}, tmp_path / 'model_1.pt')
    with pytest.raises(UnsafeCheckpointError):
        resume_checkpoint(tmp_path)
    assert not created.exists()


def test_resume_without_a_readable_checkpoint_names_the_unreadable_ones(tmp_path):
    (tmp_path / 'model_0.pt').write_bytes(b'')
    with pytest.raises(FileNotFoundError, match=r'unreadable: model_0.pt'):
        resume_checkpoint(tmp_path)
