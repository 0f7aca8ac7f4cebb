# SPDX-License-Identifier: Apache-2.0
"""The sim bridge's /robot_description over real DDS, and the Foxglove layout of the demo's bag.

The bridge runs as ``python -m robot_learning.ros.sim_bridge_node`` on the private ROS domain
``DOMAIN_ID``; this process joins late, after the bridge has published its description, with
transient-local subscriptions (as RViz, Foxglove and robot_state_publisher's consumers do).
"""

from __future__ import annotations

import json
import os
import pathlib
import signal
import subprocess
import sys
import tempfile
import time
from typing import Callable

import pytest
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import JointState
from std_msgs.msg import String
import yaml

from robot_learning.robots.description import robot_description
from robot_learning.robots.registry import load_robot
from robot_learning.ros.recorder_node import INTERFACE_TYPES
from robot_learning.ros.sim_bridge_node import SimBridgeNode

pytestmark = pytest.mark.ros

DOMAIN_ID = 86
"""Private ROS domain of this module (bridges and this process)."""
ROOT = pathlib.Path(__file__).resolve().parents[2]
START_TIMEOUT = 30.0
"""[s] for a bridge process to start and publish."""
LAYOUT = ROOT / 'config' / 'foxglove' / 'demo_layout.json'
LATCHED = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                     durability=DurabilityPolicy.TRANSIENT_LOCAL)


@pytest.fixture
def start_bridge(tmp_path):
    """Start a bridge process with ``-p name:=value`` parameters; stop it with SIGINT."""
    processes = []

    def start(**parameters) -> subprocess.Popen:
        command = [sys.executable, '-m', 'robot_learning.ros.sim_bridge_node', '--ros-args']
        for name, value in parameters.items():
            command += ['-p', f'{name}:={yaml.safe_dump(value).splitlines()[0]}']
        log = tempfile.TemporaryFile()
        env = dict(os.environ, ROS_DOMAIN_ID=str(DOMAIN_ID),
                   ROS_AUTOMATIC_DISCOVERY_RANGE='LOCALHOST', PYTHONUNBUFFERED='1')
        process = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=log,
                                   stderr=subprocess.STDOUT)
        processes.append((process, log))
        return process

    yield start
    for process, log in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.seek(0)
        print(f'--- bridge output (exit code {process.returncode}) ---')
        print(log.read().decode(errors='replace'))
        log.close()


class Listener:
    """A node of this process that subscribes when asked."""

    def __init__(self, context) -> None:
        self.node = Node('robot_description_probe', context=context)
        self.executor = SingleThreadedExecutor(context=context)
        self.executor.add_node(self.node)

    def spin_until(self, predicate: Callable[[], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not predicate() and time.monotonic() < deadline:
            self.executor.spin_once(timeout_sec=0.01)
        return predicate()

    def close(self) -> None:
        self.executor.shutdown()
        self.node.destroy_node()


@pytest.fixture
def listener(context):
    listener = Listener(context)
    yield listener
    listener.close()


def _wait_for_states(listener: Listener, count: int) -> None:
    states: list[JointState] = []
    subscription = listener.node.create_subscription(
        JointState, '/joint_states', states.append, 10)
    assert listener.spin_until(lambda: len(states) >= count, START_TIMEOUT), \
        'the bridge published no joint states'
    listener.node.destroy_subscription(subscription)


def test_late_transient_local_subscriber_gets_the_urdf(start_bridge, listener, tmp_path):
    reality = tmp_path / 'laikago_pybullet.yaml'
    reality.write_text(yaml.safe_dump({
        'name': 'laikago_pybullet', 'description': 'pybullet_data robot in the bridge',
        'robot': 'laikago', 'backend': 'pybullet',
        'sim': {'sim_dt': 0.005, 'decimation': 4}, 'dynamics': {}}))
    start_bridge(reality=str(reality))
    _wait_for_states(listener, 5)  # the description went out at start-up, before this
    late: list[String] = []
    volatile: list[String] = []
    listener.node.create_subscription(String, '/robot_description', late.append, LATCHED)
    listener.node.create_subscription(String, '/robot_description', volatile.append, 1)
    assert listener.spin_until(lambda: late, 10.0), 'no /robot_description for a late joiner'
    listener.spin_until(lambda: False, 0.5)
    assert len(late) == 1 and not volatile  # published once, kept for late joiners only
    robot = load_robot('laikago')
    assert late[0].data == robot_description(robot.urdf_path)
    assert 'pybullet_data' in str(robot.urdf_path)
    assert f'filename="{robot.urdf_path.parent.as_uri()}/' in late[0].data  # meshes


def test_empty_topic_turns_the_description_off(context):
    overrides = [Parameter('reality', value='quadruped_pybullet_nominal'),
                 Parameter('lockstep', value=True), Parameter('lockstep_timeout', value=0.0),
                 Parameter('robot_description_topic', value='')]
    node = SimBridgeNode(context=context, parameter_overrides=overrides)
    try:
        assert node._description_publisher is None
        assert '/robot_description' not in dict(node.get_topic_names_and_types())
    finally:
        node.close(flush_timeout=0.0)
        node.destroy_node()


def test_demo_layout_matches_the_demo_bag(context):
    """Check the layout's panels, topics and joint indices against the demo.

    Every panel is placed, every plotted topic is recorded by the demo's recorder, and the
    joint plot's /joint_states indices name the same joints as its /joint_commands indices in
    the bridge's driver mode (the demo's default: extra joints, shuffled order).
    """
    layout = json.loads(LAYOUT.read_text())
    panels = layout['configById']

    def leaves(node) -> list[str]:
        return [node] if isinstance(node, str) else leaves(node['first']) + leaves(
            node['second'])

    assert sorted(leaves(layout['layout'])) == sorted(panels)
    paths = [entry['value'] for key, panel in panels.items() if key.startswith('Plot!')
             for entry in panel['paths']]
    topics = {path.split('.')[0] for path in paths}
    topics |= set(panels['3D!robot']['topics']) - {'/tf'}
    topics.add(panels['DiagnosticSummary!diagnostics']['topicToRender'])
    assert topics <= set(INTERFACE_TYPES), topics - set(INTERFACE_TYPES)
    assert {'/cmd_vel', '/odom', '/joint_states', '/joint_commands', '/diagnostics',
            '/robot_description'} <= topics

    overrides = [Parameter('reality', value='quadruped_pybullet_nominal'),
                 Parameter('driver', value=True)]
    node = SimBridgeNode(context=context, parameter_overrides=overrides)
    try:
        published, robot_order = node.published_names, node.joint_names
    finally:
        node.close(flush_timeout=0.0)
        node.destroy_node()
    joints = panels['Plot!joints']['paths']
    pairs = [(joints[i], joints[i + 1]) for i in range(0, len(joints), 2)]
    for command, state in pairs:
        name = command['label'].split()[0]
        assert command['value'] == f'/joint_commands.data[{robot_order.index(name)}]'
        assert state['value'] == f'/joint_states.position[{published.index(name)}]'
        assert state['label'].split()[0] == name
