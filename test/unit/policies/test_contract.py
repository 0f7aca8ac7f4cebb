# SPDX-License-Identifier: Apache-2.0
"""Policy contract v2: self-contained, validated, and version 1 upgraded or refused."""

import dataclasses
import math
import pathlib
import shutil

import numpy as np
import pytest
import yaml

from robot_learning.cli.main import main
from robot_learning.config import ConfigError
import robot_learning.delta_action.env  # noqa: F401  (registers the 'delta_action' task)
from robot_learning.evaluation.setup import simulation_robot
from robot_learning.paths import share_dir
from robot_learning.policies.contract import (ContractVersionError, load_contract,
                                              PER_JOINT_FIELDS)
from robot_learning.policies.upgrade import upgrade_bundle
from robot_learning.robots.registry import load_robot

SHIPPED = ('quadruped_flat', 'humanoid_motion')
V2_ONLY = ('task', 'floating_base', 'position_lower', 'position_upper', 'velocity_limit')
"""Keys a version-1 contract did not have."""


def _version1_copy(name: str, folder: pathlib.Path) -> pathlib.Path:
    """Write the shipped bundle ``name`` as the version-1 bundle it was before the upgrade."""
    bundle = shutil.copytree(share_dir() / 'policies' / name, folder / name)
    path = bundle / 'contract.yaml'
    data = yaml.safe_load(path.read_text())
    for key in V2_ONLY:
        data.pop(key)
    data['version'] = 1
    if data.get('motions'):  # version 1 named shipped motions; the files were not in the bundle
        shutil.rmtree(bundle / 'motions')
    data['provenance'].pop('upgraded', None)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return bundle


@pytest.mark.parametrize('name', SHIPPED)
def test_the_shipped_bundles_are_version_2_and_name_their_task(name):
    contract = load_contract(share_dir() / 'policies' / name)
    assert contract.version == 2
    assert contract.task == {'quadruped_flat': 'velocity_tracking',
                             'humanoid_motion': 'motion_tracking'}[name]
    robot = load_robot(contract.robot)
    for key in PER_JOINT_FIELDS:  # the numbers of the robot YAML/URDF, carried by the contract
        np.testing.assert_allclose(getattr(contract, key), getattr(robot, key), err_msg=key)
    assert contract.floating_base is True


def test_a_version_1_bundle_is_refused_with_the_upgrade_command(tmp_path):
    bundle = _version1_copy('quadruped_flat', tmp_path)
    with pytest.raises(ContractVersionError, match='robot-learning bundle upgrade'):
        load_contract(bundle)
    assert main(['evaluate', str(bundle)]) == 2


@pytest.mark.parametrize('name', SHIPPED)
def test_upgrading_a_version_1_bundle_gives_the_shipped_contract(tmp_path, name):
    old = _version1_copy(name, tmp_path)
    assert main(['bundle', 'upgrade', str(old), '--output', str(tmp_path / 'new')]) == 0
    new, shipped = load_contract(tmp_path / 'new'), load_contract(share_dir() / 'policies' / name)
    assert dataclasses.replace(new, provenance={}) == dataclasses.replace(shipped, provenance={})
    assert new.provenance['upgraded']['from_version'] == 1
    for path in new.motion_paths(tmp_path / 'new'):  # the motions now travel with the bundle
        assert path.is_file()
    assert (tmp_path / 'new' / 'policy.onnx').read_bytes() == (old / 'policy.onnx').read_bytes()


def test_upgrading_a_version_2_bundle_is_refused(tmp_path):
    with pytest.raises(ConfigError, match='only version 1'):
        upgrade_bundle(share_dir() / 'policies' / 'quadruped_flat', tmp_path / 'new')
    assert not (tmp_path / 'new').exists()


@pytest.mark.parametrize('key, value, message', [
    ('action_scale', [math.nan] + [0.25] * 11, 'action_scale of FL_hip_joint is not finite'),
    ('action_scale', [0.0] + [0.25] * 11, 'action_scale of FL_hip_joint is 0'),
    ('action_scale', [0.25] * 11, 'action_scale has 11 values for 12 joints'),
    ('clip_actions', 0.0, 'clip_actions must be a positive number'),
    ('clip_actions', math.nan, 'clip_actions must be a positive number'),
    ('control_dt', -0.02, 'control_dt must be a positive number'),
    ('position_upper', [-2.0] * 12, 'position_lower >= position_upper for FL_hip_joint'),
    ('task', 'dancing', "'dancing' is not a registered task"),
    ('task', 'delta_action', 'not a deployable policy task'),
    ('command_ranges', {'lin_vel_x': [1.0, -1.0]}, 'command_ranges.lin_vel_x'),
])
def test_a_bad_contract_value_is_refused_by_name(tmp_path, key, value, message):
    bundle = shutil.copytree(share_dir() / 'policies' / 'quadruped_flat', tmp_path / 'bundle')
    path = bundle / 'contract.yaml'
    data = yaml.safe_load(path.read_text())
    data[key] = value
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(ConfigError, match=message):
        load_contract(bundle)
    assert main(['evaluate', str(bundle)]) == 2


def test_a_missing_motion_file_is_refused(tmp_path):
    bundle = shutil.copytree(share_dir() / 'policies' / 'humanoid_motion', tmp_path / 'bundle')
    (bundle / 'motions' / 'kick.npz').unlink()
    with pytest.raises(ConfigError, match='reference motion kick.npz is missing'):
        load_contract(bundle)


def test_the_simulated_robot_takes_the_contract_interface(tmp_path):
    """Evaluation runs the contract's action mapping and gains, not the robot YAML's."""
    bundle = shutil.copytree(share_dir() / 'policies' / 'quadruped_flat', tmp_path / 'bundle')
    path = bundle / 'contract.yaml'
    data = yaml.safe_load(path.read_text())
    data['action_scale'] = [0.5] * 12
    data['kp'] = [30.0] * 12
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    robot = simulation_robot(load_contract(bundle))
    np.testing.assert_array_equal(robot.action_scale, np.full(12, 0.5))
    np.testing.assert_array_equal(robot.kp, np.full(12, 30.0))
    assert load_robot('quadruped').action_scale[0] == 0.25
