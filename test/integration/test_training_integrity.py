# SPDX-License-Identifier: Apache-2.0
"""Training and resume integrity through the real CLI: kills, bad files, failed starts."""

from __future__ import annotations

import hashlib
import logging
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest
import torch
import yaml

from robot_learning.cli.main import main
from robot_learning.delta_action.finetune import finetune
from robot_learning.rl.runner import checkpoints, read_checkpoint

ROOT = pathlib.Path(__file__).resolve().parents[2]
TINY = ['task.num_envs=8', 'ppo.num_steps_per_env=4', 'ppo.num_mini_batches=2',
        'network.actor_hidden_dims=[16]', 'network.critic_hidden_dims=[16]', 'torch_threads=1']
"""A config whose PPO iteration takes a fraction of a second."""


class FileCreator:
    """Unpickling this creates ``path`` (what a crafted checkpoint does to run code)."""

    def __init__(self, path: pathlib.Path) -> None:
        self.path = str(path)

    def __reduce__(self):
        return open, (self.path, 'w')


def digests(folder: pathlib.Path) -> dict[str, str]:
    """SHA-256 of every file in ``folder`` (not recursive)."""
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.iterdir()) if path.is_file()}


def iterations(folder: pathlib.Path) -> list[int]:
    """Return the iterations of the checkpoints in ``folder``, ascending, each read back safely."""
    found = []
    for path in checkpoints(folder):
        saved = read_checkpoint(path)['iter']
        assert path.name == f'model_{saved}.pt'
        found.append(saved)
    return sorted(found)


@pytest.fixture(scope='module')
def trained_run(tmp_path_factory) -> pathlib.Path:
    """Train a finished run of 3 iterations with a checkpoint after each (model_0 .. model_2)."""
    run_dir = tmp_path_factory.mktemp('trained') / 'run'
    assert main(['train', *TINY, 'save_interval=1', 'max_iterations=3',
                 f'run_dir={run_dir}']) == 0
    return run_dir


@pytest.fixture
def run_copy(trained_run, tmp_path) -> pathlib.Path:
    """Copy ``trained_run`` privately, for a test that may damage it."""
    return pathlib.Path(shutil.copytree(trained_run, tmp_path / 'run'))


def resume(run_dir: pathlib.Path, max_iterations: int, *extra: str) -> int:
    """``robot-learning train --resume`` of ``run_dir``; return the exit code."""
    return main(['train', *TINY, 'save_interval=1', f'max_iterations={max_iterations}',
                 *extra, f'run_dir={run_dir}', '--resume'])


def test_training_saves_one_checkpoint_per_interval_ending_at_max_iterations(trained_run):
    assert iterations(trained_run) == [0, 1, 2]
    assert (trained_run / 'config.yaml').is_file()
    assert (trained_run / 'provenance.yaml').is_file()


def test_resume_starts_after_the_checkpoint_and_never_overwrites_it(run_copy):
    stale = run_copy / '.model_7.pt.x1y2z3.tmp.pt'  # what a save killed before its rename leaves
    stale.write_bytes(b'half a checkpoint')
    before = digests(run_copy)
    assert resume(run_copy, 5) == 0
    assert iterations(run_copy) == [0, 1, 2, 3, 4]
    after = digests(run_copy)
    for name in ('model_0.pt', 'model_1.pt', 'model_2.pt', 'provenance.yaml'):
        assert after[name] == before[name], f'{name} was rewritten by the resume'
    assert not stale.exists()
    assert yaml.safe_load((run_copy / 'config.yaml').read_text())['max_iterations'] == 5


def test_resume_of_a_finished_run_trains_nothing_and_says_so(run_copy, caplog):
    before = digests(run_copy)
    with caplog.at_level(logging.WARNING):
        assert resume(run_copy, 3) == 0
    assert digests(run_copy) == before
    assert 'nothing to train' in caplog.text and 'completed 3 of max_iterations=3' in caplog.text


def test_a_failed_resume_leaves_the_run_as_it_was_and_exportable(run_copy, tmp_path, capsys):
    before = digests(run_copy)
    assert resume(run_copy, 5, 'network.actor_hidden_dims=[24]') == 2
    error = capsys.readouterr().err
    assert "does not fit this run's networks" in error and 'model_2.pt' in error
    assert digests(run_copy) == before
    assert main(['export', str(run_copy), '--output', str(tmp_path / 'bundle')]) == 0


def test_a_truncated_newest_checkpoint_falls_back_to_the_previous_one(run_copy, caplog):
    newest = run_copy / 'model_2.pt'
    newest.write_bytes(newest.read_bytes()[:200])
    model_1 = digests(run_copy)['model_1.pt']
    with caplog.at_level(logging.WARNING):
        assert resume(run_copy, 4) == 0
    assert 'model_2.pt: truncated or corrupt checkpoint' in caplog.text
    assert 'falling back' in caplog.text
    assert iterations(run_copy) == [0, 1, 2, 3]  # iteration 2 retrained, its file readable
    assert digests(run_copy)['model_1.pt'] == model_1


def test_a_checkpoint_that_would_run_code_is_refused_by_export_and_resume(
        run_copy, tmp_path, capsys):
    created = tmp_path / 'created_by_unpickling'
    saved = read_checkpoint(run_copy / 'model_2.pt')
    torch.save({**saved, 'iter': 3, 'payload': FileCreator(created)}, run_copy / 'model_3.pt')
    bundle = tmp_path / 'bundle'
    assert main(['export', str(run_copy), '--output', str(bundle)]) == 2
    assert 'refused to load' in capsys.readouterr().err
    assert resume(run_copy, 6) == 2
    assert 'refused to load' in capsys.readouterr().err
    assert not created.exists() and not bundle.exists()
    assert sorted(p.name for p in checkpoints(run_copy)) == [
        'model_0.pt', 'model_1.pt', 'model_2.pt', 'model_3.pt']


def test_export_of_a_truncated_checkpoint_is_a_clear_error(run_copy, tmp_path, capsys):
    damaged = run_copy / 'model_1.pt'
    damaged.write_bytes(damaged.read_bytes()[:300])
    assert main(['export', str(run_copy), '--checkpoint', str(damaged), '--output',
                 str(tmp_path / 'bundle')]) == 2
    error = capsys.readouterr().err
    assert error.startswith('robot-learning export: error:')
    assert 'model_1.pt: truncated or corrupt checkpoint' in error


@pytest.mark.parametrize('override', ['task.robot=no_such_robot', 'network.activation=bogus'])
def test_a_failed_train_writes_no_config_and_no_provenance(tmp_path, override):
    run_dir = tmp_path / 'run'
    assert main(['train', *TINY, 'max_iterations=2', override, f'run_dir={run_dir}']) == 2
    assert not (run_dir / 'config.yaml').exists()
    assert not (run_dir / 'provenance.yaml').exists()


def test_a_new_train_in_a_run_folder_with_checkpoints_is_refused(run_copy, capsys):
    before = digests(run_copy)
    assert main(['train', *TINY, 'max_iterations=2', f'run_dir={run_copy}']) == 2
    assert 'already holds checkpoints' in capsys.readouterr().err
    assert digests(run_copy) == before


def test_a_corrupt_onnx_file_is_a_clear_error_for_evaluate(tmp_path, capsys):
    bundle = pathlib.Path(shutil.copytree(ROOT / 'policies' / 'quadruped_flat',
                                          tmp_path / 'bundle'))
    onnx = bundle / 'policy.onnx'
    onnx.write_bytes(onnx.read_bytes()[:1000])
    assert main(['evaluate', str(bundle), '--num-envs', '1', '--episode-length', '0.1']) == 2
    error = capsys.readouterr().err
    assert 'policy.onnx: not a loadable ONNX model' in error


def test_finetune_continues_after_the_pretrained_checkpoint(trained_run, tmp_path):
    output = tmp_path / 'finetuned'
    finetune(trained_run, output, iterations=2, dynamics={'ground_friction': 0.8},
             num_envs=8)
    assert iterations(output) == [2, 3, 4]
    assert digests(output)['model_2.pt'] == digests(trained_run)['model_2.pt']
    config = yaml.safe_load((output / 'config.yaml').read_text())
    assert config['max_iterations'] == 5 and config['task']['dynamics'] == {
        'ground_friction': 0.8}


def test_sigkill_during_training_then_resume_loses_at_most_one_save_interval(tmp_path):
    run_dir = tmp_path / 'run'
    command = [sys.executable, '-m', 'robot_learning.cli.main', 'train', *TINY,
               'save_interval=2', 'max_iterations=100000', f'run_dir={run_dir}']
    log = tmp_path / 'train.log'
    with open(log, 'w', encoding='utf-8') as stream:
        process = subprocess.Popen(command, cwd=ROOT, stdout=stream, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 180
            while not (run_dir / 'model_20.pt').exists():
                assert process.poll() is None, 'training stopped on its own'
                assert time.monotonic() < deadline, 'no checkpoint model_20.pt after 180 s'
                time.sleep(0.02)
            time.sleep(0.25)  # somewhere in a later interval, possibly inside a save
        finally:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
    saved = iterations(run_dir)  # every checkpoint left behind reads back
    newest = saved[-1]
    assert saved == list(range(0, newest + 1, 2)), f'a save interval is missing: {saved}'
    # The progress line 'iteration <n>/<total>' is printed once iteration n - 1 is done.
    reported = [int(match.group(1)) - 1
                for match in re.finditer(r'^iteration (\d+)/', log.read_text(), re.MULTILINE)]
    assert reported and newest >= reported[-1] - 2, (saved, reported, log.read_text()[-2000:])
    before = digests(run_dir)
    assert main(['train', *TINY, 'save_interval=2', f'max_iterations={newest + 4}',
                 f'run_dir={run_dir}', '--resume']) == 0
    after = digests(run_dir)
    for iteration in saved:
        name = f'model_{iteration}.pt'
        assert after[name] == before[name], f'the resume rewrote {name}'
    assert iterations(run_dir) == [*saved, newest + 2, newest + 3], (saved, sorted(after))
    assert not list(run_dir.glob('.*.tmp*'))
    assert main(['export', str(run_dir), '--output', str(tmp_path / 'bundle')]) == 0


def test_ctrl_c_stops_training_with_a_resume_hint_and_whole_checkpoints(tmp_path):
    run_dir = tmp_path / 'run'
    command = [sys.executable, '-m', 'robot_learning.cli.main', 'train', *TINY,
               'save_interval=1', 'max_iterations=100000', f'run_dir={run_dir}']
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 180
        while not (run_dir / 'model_3.pt').exists():
            assert process.poll() is None, 'training stopped on its own'
            assert time.monotonic() < deadline, 'no checkpoint model_3.pt after 180 s'
            time.sleep(0.02)
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
    assert process.returncode == 130, output[-2000:]
    assert 'interrupted: continue with the same command and --resume' in output
    saved = iterations(run_dir)
    assert saved == list(range(saved[-1] + 1))
