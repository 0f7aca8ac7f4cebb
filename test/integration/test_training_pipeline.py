# SPDX-License-Identifier: Apache-2.0
"""train -> checkpoint -> resume -> export -> evaluate, through the real CLI, small and short."""

from __future__ import annotations

import json
import pathlib

import numpy as np
import onnxruntime
import pytest
import torch
import yaml

from robot_learning.cli.main import main
from robot_learning.policies.contract import load_contract
from robot_learning.policies.runtime import PolicyRuntime
from robot_learning.rl.runner import atomic_torch_save, latest_checkpoint
from robot_learning.robots import load_robot

SMALL = ['task.num_envs=16', 'ppo.num_steps_per_env=8', 'save_interval=1',
         'network.actor_hidden_dims=[32, 32]', 'network.critic_hidden_dims=[32, 32]']


@pytest.fixture(scope='module')
def trained_run(tmp_path_factory) -> pathlib.Path:
    run_dir = tmp_path_factory.mktemp('run')
    assert main(['train', *SMALL, 'max_iterations=2', f'run_dir={run_dir}']) == 0
    return run_dir


def test_training_writes_checkpoints_config_and_tensorboard(trained_run):
    assert latest_checkpoint(trained_run).name == 'model_1.pt'
    assert (trained_run / 'config.yaml').is_file()
    assert list(trained_run.glob('events.out.tfevents.*'))
    saved = yaml.safe_load((trained_run / 'config.yaml').read_text())
    assert saved['task']['num_envs'] == 16 and saved['max_iterations'] == 2


def test_resume_continues_from_the_newest_checkpoint(trained_run):
    before = torch.load(latest_checkpoint(trained_run), weights_only=False)
    assert main(['train', *SMALL, 'max_iterations=4', f'run_dir={trained_run}',
                 '--resume']) == 0
    newest = latest_checkpoint(trained_run)
    after = torch.load(newest, weights_only=False)
    assert after['iter'] > before['iter'] and newest.name == 'model_3.pt'


def test_resume_without_checkpoint_is_a_clear_error(tmp_path, capsys):
    assert main(['train', *SMALL, f'run_dir={tmp_path}', '--resume']) == 2
    assert 'no checkpoint' in capsys.readouterr().err


def test_export_bundle_onnx_equals_torchscript_with_normalization(trained_run, tmp_path):
    bundle = tmp_path / 'bundle'
    assert main(['export', str(trained_run), '--output', str(bundle)]) == 0
    assert {p.name for p in bundle.iterdir()} == {'policy.onnx', 'policy.pt', 'contract.yaml'}
    contract = load_contract(bundle)
    robot = load_robot('quadruped')
    assert contract.joint_names == robot.joint_names and contract.observation_dim == 48
    assert contract.control_dt == pytest.approx(0.02)
    provenance = contract.provenance
    assert provenance['command'].startswith('robot-learning export')
    assert provenance['training_config']['task']['robot'] == 'quadruped'
    assert provenance['git_revision'] and provenance['onnx_max_abs_error'] <= 1e-5
    # Independent check: ONNX vs TorchScript on observations far from the normalizer's mean.
    scripted = torch.jit.load(str(bundle / 'policy.pt'))
    session = onnxruntime.InferenceSession(str(bundle / 'policy.onnx'))
    observations = np.random.default_rng(0).normal(0, 5, (32, 48)).astype(np.float32)
    onnx_out = np.concatenate([session.run(None, {'obs': row[None]})[0] for row in observations])
    torch_out = scripted(torch.from_numpy(observations)).detach().numpy()
    np.testing.assert_allclose(onnx_out, torch_out, atol=1e-5)
    normalizer = [k for k in scripted.state_dict() if 'obs_normalizer' in k]
    assert normalizer, 'observation normalization must be inside the exported policy'


@pytest.mark.parametrize('backend', ['mujoco', 'pybullet'])
def test_evaluate_writes_a_json_report(trained_run, tmp_path, backend):
    bundle = tmp_path / 'bundle'
    assert main(['export', str(trained_run), '--output', str(bundle)]) == 0
    report = tmp_path / 'eval' / 'report.json'
    assert main(['evaluate', str(bundle), '--backend', backend, '--num-envs', '2',
                 '--episode-length', '1.5', '--output', str(tmp_path / 'eval')]) == 0
    metrics = json.loads(report.read_text())['metrics']
    assert set(metrics) >= {'lin_vel_error', 'survival_rate', 'episodes', 'forward_speed'}
    assert metrics['episodes'] == 2 and 0.0 <= metrics['survival_rate'] <= 1.0
    assert np.isfinite(metrics['lin_vel_error'])


def test_a_bundle_whose_joints_do_not_match_the_robot_is_refused(trained_run, tmp_path):
    bundle = tmp_path / 'bundle'
    assert main(['export', str(trained_run), '--output', str(bundle)]) == 0
    contract = yaml.safe_load((bundle / 'contract.yaml').read_text())
    contract['joint_names'][0], contract['joint_names'][1] = (contract['joint_names'][1],
                                                              contract['joint_names'][0])
    (bundle / 'contract.yaml').write_text(yaml.safe_dump(contract))
    runtime = PolicyRuntime(bundle)
    with pytest.raises(ValueError, match='different order: True'):
        runtime.contract.check_robot(load_robot('quadruped'))


def test_checkpoint_writes_are_atomic(tmp_path):
    path = tmp_path / 'model_5.pt'
    atomic_torch_save({'iter': 5}, path)

    class Unpicklable:
        def __reduce__(self):
            raise RuntimeError('killed mid-write')

    with pytest.raises(RuntimeError, match='killed mid-write'):
        atomic_torch_save({'iter': 6, 'bad': Unpicklable()}, path)
    assert torch.load(path, weights_only=False) == {'iter': 5}
    assert [p.name for p in tmp_path.iterdir()] == ['model_5.pt']


def test_mistyped_training_key_fails_with_the_valid_keys(capsys):
    assert main(['train', 'task.num_env=4']) == 2
    error = capsys.readouterr().err
    assert 'task.num_env' in error and 'num_envs' in error


def test_evaluate_of_a_missing_bundle_names_the_command_and_the_file(capsys, tmp_path):
    assert main(['evaluate', str(tmp_path / 'nothing'), '--command', '0.3', '0', '0']) == 2
    error = capsys.readouterr().err
    assert error.startswith('robot-learning evaluate: error') and 'contract.yaml' in error
