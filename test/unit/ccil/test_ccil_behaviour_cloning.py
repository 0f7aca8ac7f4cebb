# SPDX-License-Identifier: Apache-2.0
"""CCIL behaviour cloning: fitting, NoiseBC, and the exported bundle through the runtime."""

import numpy as np
import pytest
import torch

from robot_learning.ccil.behaviour_cloning import train_bc
from robot_learning.ccil.bundle import export_bc_bundle
from robot_learning.ccil.config import BCConfig
from robot_learning.config import ConfigError
from robot_learning.paths import share_dir
from robot_learning.policies.contract import load_contract
from robot_learning.policies.runtime import PolicyRuntime


def _data(count: int = 1000, width: int = 4):
    rng = np.random.default_rng(0)
    observations = rng.normal(size=(count, width)) * [1.0, 10.0, 0.1, 1.0][:width]
    actions = np.stack([np.tanh(observations[:, 0]) * 2.0 + 1.0,
                        0.05 * observations[:, 1] - 3.0], axis=1)
    return observations, actions


def test_bc_fits_a_smooth_expert():
    observations, actions = _data()
    policy, report = train_bc(observations, actions, BCConfig(hidden=(64, 64), epochs=60,
                                                              batch_size=128))
    test_obs, test_act = _data(200)
    error = np.abs(policy.act(test_obs * 0.9) - _expert(test_obs * 0.9))
    ranges = actions.max(axis=0) - actions.min(axis=0)
    assert report['train_mse'] < 0.01
    assert (error.mean(axis=0) < 0.05 * ranges).all()


def _expert(observations):
    return np.stack([np.tanh(observations[:, 0]) * 2.0 + 1.0,
                     0.05 * observations[:, 1] - 3.0], axis=1)


def test_noise_bc_trains_a_different_policy_from_the_same_data():
    observations, actions = _data(400)
    config = BCConfig(hidden=(32,), epochs=10, batch_size=128)
    plain, _ = train_bc(observations, actions, config)
    noisy, _ = train_bc(observations, actions, BCConfig(hidden=(32,), epochs=10,
                                                        batch_size=128, noise_bc=1.0))
    assert np.abs(plain.act(observations) - noisy.act(observations)).max() > 1e-3


def test_bc_refuses_mismatched_or_non_finite_data():
    observations, actions = _data(10)
    with pytest.raises(ValueError, match=r'\(N, S\) observations and \(N, A\) actions'):
        train_bc(observations, actions[:9])
    observations[3, 1] = np.inf
    with pytest.raises(ValueError, match='non-finite'):
        train_bc(observations, actions)


def test_the_exported_bundle_runs_through_the_policy_runtime(tmp_path):
    contract = load_contract(share_dir() / 'policies' / 'quadruped_flat')
    rng = np.random.default_rng(1)
    observations = rng.normal(size=(300, contract.observation_dim))
    actions = np.tanh(observations[:, :contract.num_joints])
    policy, _ = train_bc(observations, actions, BCConfig(hidden=(32, 32), epochs=2))
    bundle = export_bc_bundle(policy, contract, tmp_path / 'clone',
                              {'command': 'test', 'method': 'ccil'})
    runtime = PolicyRuntime(bundle)
    assert runtime.contract.joint_names == contract.joint_names
    assert runtime.contract.provenance['method'] == 'ccil'
    probe = rng.normal(size=(20, contract.observation_dim)).astype(np.float32)
    np.testing.assert_allclose(runtime.act(probe), policy.act(probe), atol=1e-5)
    scripted = torch.jit.load(str(bundle / 'policy.pt'))
    with torch.no_grad():
        np.testing.assert_allclose(scripted(torch.as_tensor(probe)).numpy(), policy.act(probe),
                                   atol=1e-6)
    assert not list(tmp_path.glob('.clone.*'))  # no staging folder left behind


def test_a_policy_of_the_wrong_size_is_not_exported(tmp_path):
    contract = load_contract(share_dir() / 'policies' / 'quadruped_flat')
    observations, actions = _data(50)
    policy, _ = train_bc(observations, actions, BCConfig(hidden=(8,), epochs=1))
    with pytest.raises(ConfigError, match='policy maps 4 observations to 2 actions.*48 -> 12'):
        export_bc_bundle(policy, contract, tmp_path / 'clone')
    assert not (tmp_path / 'clone').exists()


def test_the_std_floor_bounds_how_much_sensor_noise_moves_the_policy_input():
    observations, actions = _data(400)
    observations[:, 2] = 0.5 + 1e-4 * np.random.default_rng(2).normal(size=400)  # barely varies
    config = BCConfig(hidden=(8,), epochs=1)
    plain, _ = train_bc(observations, actions, config)
    floor = np.array([0.0, 0.0, 0.05, 0.0])
    floored, _ = train_bc(observations, actions, config, observation_std_floor=floor)
    std = observations.std(axis=0)
    np.testing.assert_allclose(plain.observation_std.numpy(), std, rtol=1e-6)
    # Only the quiet dimension changes: its scale becomes the floor (0.05), not ~1e-4.
    np.testing.assert_allclose(floored.observation_std.numpy(), [*std[:2], 0.05, std[3]],
                               rtol=1e-6)
    noise = torch.zeros(1, 4)
    noise[0, 2] = 0.05  # one noise level on the quiet dimension
    shift = floored.normalise(noise) - floored.normalise(torch.zeros(1, 4))
    assert float(shift[0, 2]) == pytest.approx(1.0)
    assert float((plain.normalise(noise) - plain.normalise(torch.zeros(1, 4)))[0, 2]) > 100
