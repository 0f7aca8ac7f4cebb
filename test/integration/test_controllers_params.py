# SPDX-License-Identifier: Apache-2.0
"""The generated ros2_control YAML is read by ROS's own parameter parser (rcl_yaml_param_parser).

``rclpy.init(--params-file FILE)`` parses the file with the same C parser that
controller_manager uses (it refuses, e.g., YAML aliases); nodes named like the controllers then
receive the parameters as overrides, which are compared with the bundle's contract.
"""

from __future__ import annotations

import pytest

from robot_learning.paths import share_dir
from robot_learning.policies.contract import load_contract
from robot_learning.policies.controllers import (ControllerOptions, FORWARD_CONTROLLER,
                                                 HARDWARE_BLOCK, TRAJECTORY_CONTROLLER,
                                                 write_controllers)

pytestmark = pytest.mark.ros

DOMAIN_ID = 89
"""Private ROS domain of this module (the nodes exchange no messages)."""
BUNDLE = share_dir() / 'policies' / 'quadruped_flat'


def _overrides(path, node_names: list[str]) -> dict[str, dict]:
    """Parameters that ROS hands to each node of ``node_names`` from the params file ``path``."""
    import rclpy
    from rclpy.node import Node
    context = rclpy.Context()
    rclpy.init(context=context, domain_id=DOMAIN_ID,
               args=['--ros-args', '--params-file', str(path)])
    try:
        result = {}
        for name in node_names:
            node = Node(name, context=context,
                        automatically_declare_parameters_from_overrides=True)
            result[name] = {key: parameter.value for key, parameter
                            in node.get_parameters_by_prefix('').items()}
            node.destroy_node()
        return result
    finally:
        rclpy.shutdown(context=context)


@pytest.mark.parametrize('interface', ['position', 'effort'])
def test_ros_parameter_parser_reads_the_generated_file(interface, tmp_path):
    contract = load_contract(BUNDLE)
    path = write_controllers(BUNDLE, tmp_path / 'controllers.yaml',
                             ControllerOptions(interface=interface))
    names = ['controller_manager', TRAJECTORY_CONTROLLER, HARDWARE_BLOCK]
    if interface == 'position':
        names.append(FORWARD_CONTROLLER)
    parameters = _overrides(path, names)
    joints = list(contract.joint_names)
    manager = parameters['controller_manager']
    expected_rate = 1.0 / (contract.control_dt if interface == 'position' else contract.sim_dt)
    assert manager['update_rate'] == round(expected_rate)
    assert manager[f'{TRAJECTORY_CONTROLLER}.type'] == (
        'joint_trajectory_controller/JointTrajectoryController')
    trajectory = parameters[TRAJECTORY_CONTROLLER]
    assert list(trajectory['joints']) == joints
    assert list(trajectory['command_interfaces']) == [interface]
    hardware = parameters[HARDWARE_BLOCK]
    assert list(hardware['joints']) == joints
    assert list(hardware['kp']) == list(contract.kp)
    assert list(hardware['kd']) == list(contract.kd)
    if interface == 'position':
        forward = parameters[FORWARD_CONTROLLER]
        assert list(forward['joints']) == joints and forward['interface_name'] == 'position'
    else:
        for name, kp, kd in zip(joints, contract.kp, contract.kd):
            assert trajectory[f'gains.{name}.p'] == kp
            assert trajectory[f'gains.{name}.d'] == kd
