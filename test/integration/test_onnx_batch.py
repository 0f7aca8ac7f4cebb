# SPDX-License-Identifier: Apache-2.0
"""Exported ONNX policies take any batch size and match the torch policy for batch 1 and N."""

from __future__ import annotations

import dataclasses
import pathlib
import shutil

import numpy as np
import onnx
import onnxruntime
import pytest
from tensordict import TensorDict
import torch

from robot_learning.ccil.behaviour_cloning import train_bc
from robot_learning.ccil.bundle import export_bc_bundle
from robot_learning.ccil.config import BCConfig
from robot_learning.cli.main import main
from robot_learning.config import load_config
from robot_learning.paths import share_dir
from robot_learning.policies.contract import load_contract
from robot_learning.policies.export import check_onnx_output, ExportError
from robot_learning.policies.runtime import PolicyRuntime
from robot_learning.rl.runner import latest_checkpoint
from robot_learning.rl.train_config import TrainConfig
from robot_learning.rl.training import CONFIG_FILE, make_runner

SMALL = ['task.num_envs=8', 'ppo.num_steps_per_env=8', 'torch_threads=1',
         'task.sim.num_threads=1', 'network.actor_hidden_dims=[32, 32]',
         'network.critic_hidden_dims=[32, 32]']
BATCH = 7


def _batch_dim(path: pathlib.Path) -> tuple:
    """Return the first dimension of the graph's input and output (a name when dynamic)."""
    graph = onnx.load(str(path)).graph

    def first(value) -> str | int:
        dim = value.type.tensor_type.shape.dim[0]
        return dim.dim_param or dim.dim_value
    return first(graph.input[0]), first(graph.output[0])


@pytest.fixture(scope='module')
def ppo_bundle(tmp_path_factory) -> tuple[pathlib.Path, pathlib.Path]:
    """Train one PPO iteration, export it; return (run folder, bundle folder)."""
    run_dir = tmp_path_factory.mktemp('run')
    assert main(['train', *SMALL, 'max_iterations=1', f'run_dir={run_dir}']) == 0
    bundle = tmp_path_factory.mktemp('bundles') / 'ppo'
    assert main(['export', str(run_dir), '--output', str(bundle)]) == 0
    return run_dir, bundle


def _torch_actor(run_dir: pathlib.Path) -> torch.nn.Module:
    """Rebuild the run's actor from its newest checkpoint, as export does."""
    config = load_config(TrainConfig, run_dir / CONFIG_FILE)
    config = dataclasses.replace(config, task=dataclasses.replace(config.task, num_envs=1))
    runner = make_runner(config, log_dir=None)
    runner.load(str(latest_checkpoint(run_dir)), map_location='cpu')
    actor = runner.alg.get_policy()
    actor.eval()
    return actor


def test_ppo_onnx_matches_the_torch_actor_for_batch_1_and_n(ppo_bundle):
    run_dir, bundle = ppo_bundle
    assert all(isinstance(dim, str) and dim for dim in _batch_dim(bundle / 'policy.onnx'))
    actor = _torch_actor(run_dir)
    width = load_contract(bundle).observation_dim
    observations = np.random.default_rng(3).normal(0.0, 2.0, (BATCH, width)).astype(np.float32)
    with torch.inference_mode():
        expected = actor(TensorDict({'policy': torch.from_numpy(observations)},
                                    batch_size=[BATCH])).numpy()
    session = onnxruntime.InferenceSession(str(bundle / 'policy.onnx'))
    batch = session.run(None, {'obs': observations})[0]
    single = session.run(None, {'obs': observations[:1]})[0]
    assert batch.shape == (BATCH, expected.shape[1]) and single.shape == (1, expected.shape[1])
    np.testing.assert_allclose(batch, expected, atol=1e-5)
    np.testing.assert_allclose(single, expected[:1], atol=1e-5)
    assert np.ptp(expected, axis=0).max() > 1e-3  # different observations, different actions
    # The runtime (row by row) gives the same actions from the new graph.
    np.testing.assert_allclose(PolicyRuntime(bundle).act(observations), expected, atol=1e-5)


def test_bc_onnx_matches_the_torch_policy_for_batch_1_and_n(tmp_path):
    contract = load_contract(share_dir() / 'policies' / 'quadruped_flat')
    rng = np.random.default_rng(1)
    observations = rng.normal(size=(200, contract.observation_dim))
    policy, _ = train_bc(observations, np.tanh(observations[:, :contract.num_joints]),
                         BCConfig(hidden=(16,), epochs=1))
    bundle = export_bc_bundle(policy, contract, tmp_path / 'clone')
    assert all(isinstance(dim, str) and dim for dim in _batch_dim(bundle / 'policy.onnx'))
    probe = rng.normal(size=(BATCH, contract.observation_dim)).astype(np.float32)
    session = onnxruntime.InferenceSession(str(bundle / 'policy.onnx'))
    np.testing.assert_allclose(session.run(None, {'obs': probe})[0], policy.act(probe),
                               atol=1e-5)
    np.testing.assert_allclose(session.run(None, {'obs': probe[:1]})[0], policy.act(probe[:1]),
                               atol=1e-5)


def test_check_onnx_output_refuses_a_fixed_batch_graph(tmp_path):
    """A batch-1 graph (how bundles were exported before) fails the batched check."""
    layer = torch.nn.Linear(3, 2).eval()
    path = tmp_path / 'fixed.onnx'
    torch.onnx.export(layer, (torch.zeros(1, 3),), str(path), input_names=['obs'],
                      output_names=['actions'], dynamo=False)
    observations = np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32)
    with torch.no_grad():
        expected = layer(torch.from_numpy(observations)).numpy()
    with pytest.raises(ExportError, match='refuses a batch of 4'):
        check_onnx_output(path, observations, expected)
    # Row by row, as the runtime runs it, the old graph still gives the actions.
    session = onnxruntime.InferenceSession(str(path))
    rows = np.concatenate([session.run(None, {'obs': row[None]})[0] for row in observations])
    np.testing.assert_allclose(rows, expected, atol=1e-6)


def test_the_runtime_runs_a_batch_1_bundle(tmp_path):
    """Bundles exported before the dynamic batch (graph fixed to batch 1) still run."""
    bundle = tmp_path / 'old'
    shutil.copytree(share_dir() / 'policies' / 'quadruped_flat', bundle)
    model = onnx.load(str(bundle / 'policy.onnx'))
    for value in (model.graph.input[0], model.graph.output[0]):
        value.type.tensor_type.shape.dim[0].dim_value = 1  # clears a dim_param
    onnx.save_model(model, str(bundle / 'policy.onnx'))
    assert _batch_dim(bundle / 'policy.onnx') == (1, 1)
    runtime = PolicyRuntime(bundle)
    observations = np.random.default_rng(0).normal(
        size=(3, runtime.contract.observation_dim)).astype(np.float32)
    actions = runtime.act(observations)
    assert actions.shape == (3, runtime.contract.num_joints) and np.all(np.isfinite(actions))
    shipped = PolicyRuntime(share_dir() / 'policies' / 'quadruped_flat').act(observations)
    np.testing.assert_allclose(actions, shipped, atol=1e-6)
