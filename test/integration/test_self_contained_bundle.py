# SPDX-License-Identifier: Apache-2.0
"""Each shipped bundle, copied out of the repository, runs in the policy node on its own.

The policy node process sees the copied bundle and nothing else of the project's data:
``ROBOT_LEARNING_SHARE`` points at an empty folder, so config/, urdf/ and motions/ cannot be
read (checked first). The sim bridge (the "robot") runs with the repository's data, as a robot's
driver has its own description. The node must reach ``running``: the contract alone carries the
joints, limits, gains and, for the motion-tracking bundle, the reference motions.
"""

import os
import pathlib
import shutil
import subprocess
import sys
import time

import pytest
import rclpy
from rclpy.executors import SingleThreadedExecutor
from std_msgs.msg import String

from robot_learning.paths import share_dir
from robot_learning.ros.motion_clips import LOCKSTEP_TIMEOUT_S, SOFT_START_S
from robot_learning.ros.sim_to_sim import ros_environment, start_node, stop_process

pytestmark = pytest.mark.ros

DOMAIN_ID = 79
STARTUP_TIMEOUT_S = 90.0
"""Wall-clock bound for the node to reach running: start-up of two processes, DDS discovery,
soft start; generous because two CPU cores are shared with the simulator."""
LOCKSTEP = {'lockstep': True, 'lockstep_timeout': LOCKSTEP_TIMEOUT_S}
"""The bridge steps once per command, so how two CPU cores are shared changes nothing."""
SHIPPED = {
    'quadruped_flat': ({'reality': 'quadruped_mujoco_actuator', **LOCKSTEP}, {}),
    # The humanoid does not stand on its PD drives alone: the soft start is one period, as when
    # motion clips are recorded.
    'humanoid_motion': ({'reality': 'humanoid_mujoco_actuator', **LOCKSTEP},
                        {'soft_start_duration': SOFT_START_S}),
}
"""Shipped bundle -> (sim-bridge parameters, extra policy-node parameters)."""


def _hidden_environment(empty: pathlib.Path) -> dict[str, str]:
    env = ros_environment(DOMAIN_ID)
    env['ROBOT_LEARNING_SHARE'] = str(empty)
    return env


def test_the_hidden_environment_cannot_load_a_robot(tmp_path):
    """The premise of the test below: the project's robot YAMLs are out of reach."""
    empty = tmp_path / 'empty'
    empty.mkdir()
    probe = subprocess.run(
        [sys.executable, '-c', 'from robot_learning.robots import load_robot; '
                               "load_robot('quadruped')"],
        env=_hidden_environment(empty), capture_output=True, text=True, timeout=120)
    assert probe.returncode != 0
    assert 'quadruped' in probe.stderr


@pytest.mark.parametrize('bundle_name', sorted(SHIPPED))
def test_a_copied_bundle_runs_in_the_node_without_the_repository(tmp_path, bundle_name):
    empty = tmp_path / 'empty'
    empty.mkdir()
    bundle = shutil.copytree(share_dir() / 'policies' / bundle_name, tmp_path / 'bundle')
    assert not any(str(share_dir()) in line
                   for line in (bundle / 'contract.yaml').read_text().splitlines()
                   if not line.lstrip().startswith(('command:', 'checkpoint:')))
    bridge_parameters, node_parameters = SHIPPED[bundle_name]
    bridge = start_node('robot_learning.ros.sim_bridge_node', bridge_parameters,
                        ros_environment(DOMAIN_ID), tmp_path / 'sim_bridge.log')
    node = start_node('robot_learning.ros.policy_node',
                      {'bundle': str(bundle), 'auto_activate': True, 'watchdog_periods': 15.0,
                       **node_parameters},
                      _hidden_environment(empty), tmp_path / 'policy_node.log')
    states: list[str] = []
    saved = os.environ.get('ROS_DOMAIN_ID')
    os.environ['ROS_DOMAIN_ID'] = str(DOMAIN_ID)
    context = rclpy.Context()
    rclpy.init(context=context, domain_id=DOMAIN_ID)
    try:
        listener = rclpy.create_node('bundle_listener', context=context)
        listener.create_subscription(String, '/policy/safety_state',
                                     lambda message: states.append(message.data), 10)
        executor = SingleThreadedExecutor(context=context)
        executor.add_node(listener)
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while 'running' not in states and time.monotonic() < deadline:
            executor.spin_once(timeout_sec=0.1)
            assert node.poll() is None, (tmp_path / 'policy_node.log').read_text()[-3000:]
            assert bridge.poll() is None, (tmp_path / 'sim_bridge.log').read_text()[-3000:]
        listener.destroy_node()
    finally:
        rclpy.shutdown(context=context)
        if saved is None:
            os.environ.pop('ROS_DOMAIN_ID', None)
        else:
            os.environ['ROS_DOMAIN_ID'] = saved
        stop_process(node)
        stop_process(bridge)
    log = (tmp_path / 'policy_node.log').read_text()
    assert 'running' in states, f'states {states[-5:]}; node log:\n{log[-3000:]}'
    assert 'refused' not in states
