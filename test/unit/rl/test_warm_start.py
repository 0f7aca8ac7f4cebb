# SPDX-License-Identifier: Apache-2.0
"""init_policy: a run starts from the actor of an exported bundle, or says why it cannot."""

from __future__ import annotations

import dataclasses
import pathlib
import shutil

import numpy as np
import pytest
from tensordict import TensorDict
import torch

from robot_learning.config import load_config
from robot_learning.paths import share_dir
from robot_learning.rl.train_config import TrainConfig
from robot_learning.rl.training import make_runner
from robot_learning.rl.warm_start import load_actor, WarmStartError

BUNDLE = share_dir() / 'policies/quadruped_flat'
HUMANOID_BUNDLE = share_dir() / 'policies/humanoid_motion'


@pytest.fixture(scope='module')
def runner():
    """Return a 2-environment quadruped runner with the deploy config's networks."""
    config = load_config(TrainConfig, share_dir() / 'config/train/quadruped_deploy.yaml')
    config = dataclasses.replace(config, task=dataclasses.replace(config.task, num_envs=2))
    return make_runner(config, log_dir=None)


def test_the_warm_started_actor_acts_as_the_exported_policy(runner):
    joints = runner.env.env.robot.joint_names
    fresh = load_actor(runner.alg.actor, BUNDLE, joints)
    assert fresh == ['distribution.std_param']  # the action noise starts at init_noise_std
    exported = torch.jit.load(str(BUNDLE / 'policy.pt'))
    observations = torch.from_numpy(
        np.random.default_rng(5).normal(0.0, 1.0, (7, 48)).astype(np.float32))
    actor = runner.alg.get_policy()
    actor.eval()
    with torch.inference_mode():
        ours = actor(TensorDict({'policy': observations}, batch_size=[7]))
        theirs = exported(observations)
    torch.testing.assert_close(ours, theirs, atol=1e-6, rtol=0.0)
    std = runner.alg.actor.state_dict()['distribution.std_param']
    torch.testing.assert_close(std, torch.full((12,), 0.5))  # quadruped_deploy.yaml's 0.5


def test_another_joint_order_is_refused_with_both_orders(runner):
    joints = list(runner.env.env.robot.joint_names)
    with pytest.raises(WarmStartError, match=r"acts on joints \['FL_hip_joint'.*the task on "
                                             r"\['FR_hip_joint'"):
        load_actor(runner.alg.actor, BUNDLE, [joints[3]] + joints[:3] + joints[4:])


def test_a_bundle_of_another_observation_layout_is_refused_by_shape(runner, tmp_path):
    bundle = tmp_path / 'humanoid'
    shutil.copytree(HUMANOID_BUNDLE, bundle)
    (bundle / 'contract.yaml').unlink()  # only the network's shapes can tell now
    with pytest.raises(WarmStartError, match=r'obs_normalizer._mean has shape \(1, \d+\), this '
                                             r'actor \(1, 48\)'):
        load_actor(runner.alg.actor, bundle, runner.env.env.robot.joint_names)


def test_a_missing_or_broken_policy_file_is_named(runner, tmp_path: pathlib.Path):
    with pytest.raises(WarmStartError, match='nowhere/policy.pt not found'):
        load_actor(runner.alg.actor, tmp_path / 'nowhere', ())
    (tmp_path / 'policy.pt').write_bytes(b'not torchscript')
    with pytest.raises(WarmStartError, match='is not a TorchScript policy'):
        load_actor(runner.alg.actor, tmp_path, ())
