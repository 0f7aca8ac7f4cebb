# SPDX-License-Identifier: Apache-2.0
"""The committed quadruped bundle (policies/quadruped_flat) loads, matches its robot and walks."""

from __future__ import annotations

import shutil

import numpy as np
import onnxruntime
import torch
import yaml

from robot_learning.evaluation.bundle import evaluate_bundle
from robot_learning.evaluation.setup import EvaluationConfig
from robot_learning.paths import share_dir
from robot_learning.policies.contract import load_contract
from robot_learning.robots import load_robot

BUNDLE = share_dir() / 'policies' / 'quadruped_flat'


def test_contract_matches_the_robot_and_records_its_provenance():
    contract = load_contract(BUNDLE)
    robot = load_robot(contract.robot)
    contract.check_robot(robot)
    np.testing.assert_allclose(contract.default_joint_pos, robot.default_joint_pos)
    np.testing.assert_allclose(contract.kp, robot.kp)
    assert contract.needs_odometry  # legged_gym observation includes base linear velocity
    provenance = contract.provenance
    assert provenance['command'].startswith('robot-learning export')
    assert provenance['training_config']['task']['num_envs'] == 1024
    assert len(provenance['git_revision']) >= 40


def test_onnx_equals_torchscript_to_1e_5():
    session = onnxruntime.InferenceSession(str(BUNDLE / 'policy.onnx'))
    scripted = torch.jit.load(str(BUNDLE / 'policy.pt'))
    observations = np.random.default_rng(1).normal(0, 2, (64, 48)).astype(np.float32)
    expected = scripted(torch.from_numpy(observations)).detach().numpy()
    actual = np.concatenate([session.run(None, {'obs': row[None]})[0] for row in observations])
    np.testing.assert_allclose(actual, expected, atol=1e-5)


def test_the_shipped_policy_walks_forward_in_mujoco():
    report = evaluate_bundle(BUNDLE, EvaluationConfig(num_envs=2, episode_length_s=4.0))
    metrics = report['metrics']
    assert metrics['survival_rate'] == 1.0
    assert abs(metrics['forward_speed'] - 0.5) < 0.15
    assert metrics['lin_vel_error'] < 0.2


def test_evaluation_runs_the_contracts_action_mapping(tmp_path):
    """A contract with the wrong action scale evaluates as wrong (the robot YAML's is right)."""
    bundle = shutil.copytree(BUNDLE, tmp_path / 'bundle')
    contract = yaml.safe_load((bundle / 'contract.yaml').read_text())
    contract['action_scale'] = [1.0] * len(contract['joint_names'])
    (bundle / 'contract.yaml').write_text(yaml.safe_dump(contract, sort_keys=False))
    config = EvaluationConfig(num_envs=2, episode_length_s=4.0)
    right = evaluate_bundle(BUNDLE, config)['metrics']
    wrong = evaluate_bundle(bundle, config)['metrics']
    # Four times the trained action scale: the gait breaks (falls, or big tracking error and
    # violent targets).
    assert right['survival_rate'] == 1.0
    assert wrong['survival_rate'] < 1.0 or (
        wrong['lin_vel_error'] > 2 * right['lin_vel_error']
        and wrong['target_change_mean'] > 2 * right['target_change_mean'])
