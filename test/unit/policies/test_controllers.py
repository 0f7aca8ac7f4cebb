# SPDX-License-Identifier: Apache-2.0
"""``robot-learning bundle controllers``: the ros2_control YAML matches the bundle's contract.

Checked for every shipped bundle: the file parses, names the contract's joints in contract
order in every controller and in the hardware block, carries the trained kp/kd, and its
update rate is the policy rate 1 / control_dt (position) or the training physics rate
1 / sim_dt (effort, where the PD runs in the controller). The real ROS parameter parser reads
the same files in test/integration/test_controllers_params.py.
"""

from __future__ import annotations

import ast
import dataclasses
import pathlib

import pytest
import yaml

from robot_learning.cli.main import main
from robot_learning.paths import share_dir
from robot_learning.policies.contract import load_contract
from robot_learning.policies.controllers import (controller_config, ControllerOptions,
                                                 controllers_yaml, FORWARD_CONTROLLER,
                                                 HARDWARE_BLOCK, IMU_BROADCASTER,
                                                 TRAJECTORY_CONTROLLER)

BUNDLES = sorted(path.parent for path in (share_dir() / 'policies').glob('*/contract.yaml'))


def _write(bundle: pathlib.Path, output: pathlib.Path, *extra: str) -> dict:
    assert main(['bundle', 'controllers', str(bundle), '--output', str(output), *extra]) == 0
    text = output.read_text()
    assert '&id' not in text and '*id' not in text  # ROS's parser reads no YAML aliases
    return yaml.safe_load(text)


def _parameters(config: dict, node: str) -> dict:
    return config[node]['ros__parameters']


def test_there_are_shipped_bundles():
    assert {path.name for path in BUNDLES} >= {'quadruped_flat', 'humanoid_motion'}


@pytest.mark.parametrize('bundle', BUNDLES, ids=lambda path: path.name)
def test_position_interface_forward_controller_in_contract_order(bundle, tmp_path):
    contract = load_contract(bundle)
    config = _write(bundle, tmp_path / 'controllers.yaml')
    joints = list(contract.joint_names)
    manager = _parameters(config, 'controller_manager')
    assert manager['update_rate'] == round(1.0 / contract.control_dt)
    assert isinstance(manager['update_rate'], int)
    assert manager[FORWARD_CONTROLLER]['type'] == (
        'forward_command_controller/ForwardCommandController')
    assert manager['joint_state_broadcaster']['type'] == (
        'joint_state_broadcaster/JointStateBroadcaster')
    forward = _parameters(config, FORWARD_CONTROLLER)
    assert forward == {'joints': joints, 'interface_name': 'position'}
    trajectory = _parameters(config, TRAJECTORY_CONTROLLER)
    assert trajectory['joints'] == joints and trajectory['command_interfaces'] == ['position']
    assert 'gains' not in trajectory  # the PD runs in the hardware
    hardware = _parameters(config, HARDWARE_BLOCK)
    assert hardware['joints'] == joints and hardware['pd_loop'] == 'hardware'
    assert hardware['kp'] == list(contract.kp) and hardware['kd'] == list(contract.kd)
    assert hardware['effort_limit'] == list(contract.effort_limit)
    assert hardware['default_joint_pos'] == list(contract.default_joint_pos)
    assert hardware['control_dt'] == contract.control_dt and hardware['bundle'] == bundle.name


@pytest.mark.parametrize('bundle', BUNDLES, ids=lambda path: path.name)
def test_effort_interface_runs_the_trained_pd_in_the_trajectory_controller(bundle, tmp_path):
    contract = load_contract(bundle)
    config = _write(bundle, tmp_path / 'controllers.yaml', '--interface', 'effort')
    manager = _parameters(config, 'controller_manager')
    assert manager['update_rate'] == round(1.0 / contract.sim_dt)
    assert FORWARD_CONTROLLER not in manager and FORWARD_CONTROLLER not in config
    trajectory = _parameters(config, TRAJECTORY_CONTROLLER)
    assert trajectory['joints'] == list(contract.joint_names)
    assert trajectory['command_interfaces'] == ['effort']
    assert trajectory['state_interfaces'] == ['position', 'velocity']
    assert list(trajectory['gains']) == list(contract.joint_names)
    for name, kp, kd in zip(contract.joint_names, contract.kp, contract.kd):
        assert trajectory['gains'][name] == {'p': kp, 'd': kd, 'i': 0.0,
                                             'ff_velocity_scale': 0.0}
    hardware = _parameters(config, HARDWARE_BLOCK)
    assert hardware['pd_loop'] == TRAJECTORY_CONTROLLER and hardware['kp'] == list(contract.kp)


def test_imu_broadcaster_and_update_rate_options(tmp_path):
    bundle = share_dir() / 'policies' / 'quadruped_flat'
    config = _write(bundle, tmp_path / 'controllers.yaml', '--imu-sensor', 'base_imu',
                    '--update-rate', '500')
    assert _parameters(config, 'controller_manager')['update_rate'] == 500
    imu = _parameters(config, IMU_BROADCASTER)
    assert imu == {'sensor_name': 'base_imu', 'frame_id': 'imu_link'}


def test_update_rate_must_be_a_multiple_of_the_policy_rate():
    contract = load_contract(share_dir() / 'policies' / 'quadruped_flat')  # 50 Hz
    with pytest.raises(ValueError, match='update_rate 75 Hz is not a multiple of the policy '
                                         'rate 50 Hz'):
        controller_config(contract, ControllerOptions(update_rate=75))
    with pytest.raises(ValueError, match='update_rate 25 Hz is not a multiple'):
        controller_config(contract, ControllerOptions(update_rate=25))
    odd = dataclasses.replace(contract, control_dt=0.03)
    with pytest.raises(ValueError, match='control_dt 0.03 s is 33.3333 Hz.*--update-rate'):
        controller_config(odd, ControllerOptions())
    assert controller_config(odd, ControllerOptions(update_rate=100))  # 3 x 33.3 Hz


def test_bad_interface_is_refused_naming_it(tmp_path, capsys):
    contract = load_contract(share_dir() / 'policies' / 'quadruped_flat')
    with pytest.raises(ValueError, match="interface 'velocity' is not one of position, effort"):
        controllers_yaml(contract, ControllerOptions(interface='velocity'))
    bundle = share_dir() / 'policies' / 'quadruped_flat'
    output = tmp_path / 'controllers.yaml'
    assert main(['bundle', 'controllers', str(bundle), '--interface', 'velocity',
                 '--output', str(output)]) == 2
    assert "interface 'velocity' is not one of position, effort" in capsys.readouterr().err
    assert not output.exists()


def test_folder_without_contract_is_refused_with_exit_code_2(tmp_path, capsys):
    output = tmp_path / 'controllers.yaml'
    assert main(['bundle', 'controllers', str(tmp_path), '--output', str(output)]) == 2
    error = capsys.readouterr().err
    assert f'{tmp_path} is not a policy bundle: it has no contract.yaml' in error
    assert not output.exists()


def test_launch_example_matches_the_generated_names_and_node_parameters():
    # launch/robot_control.launch.py is parsed (launch_ros is not installable here).
    tree = ast.parse((share_dir() / 'launch' / 'robot_control.launch.py').read_text())
    defaults = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, 'id', '') == 'DeclareLaunchArgument':
            default = [k.value for k in node.keywords if k.arg == 'default_value']
            if default and isinstance(default[0], ast.Constant):
                defaults[node.args[0].value] = default[0].value
    assert defaults['controller'] == FORWARD_CONTROLLER
    assert defaults['command_type'] == 'array'
    assert defaults['command_topic'] == f'/{FORWARD_CONTROLLER}/commands'
    assert defaults['trajectory_topic'] == f'/{TRAJECTORY_CONTROLLER}/joint_trajectory'
    policy_parameters = yaml.safe_load(
        (share_dir() / 'config' / 'nodes' / 'policy_node.yaml').read_text())
    known = set(policy_parameters['policy_node']['ros__parameters'])
    given = {key.value for node in ast.walk(tree) if isinstance(node, ast.Dict)
             for key in node.keys if isinstance(key, ast.Constant)}
    given.discard('robot_description')  # robot_state_publisher's parameter
    assert given and given <= known, given - known
