# SPDX-License-Identifier: Apache-2.0
"""The recorder node as a separate process, fed over real DDS by publishers in this process.

The recorder runs ``python -m robot_learning.ros.recorder_node`` on the private ROS domain
``DOMAIN_ID`` (loopback only); this process publishes the robot_learning interface topics at
50 Hz for about two seconds once the recorder has subscribed, then stops the recorder with
SIGINT or SIGTERM (the bag must be closed properly) or SIGKILL (the bag must be recoverable up
to its last flush).
"""

from __future__ import annotations

import os

DOMAIN_ID = 63
"""Private ROS domain of this module (recorder processes and this process)."""
os.environ['ROS_DOMAIN_ID'] = str(DOMAIN_ID)  # before rclpy; the context below also names it

import pathlib  # noqa: E402, I100 - after the domain is set
import signal  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

from geometry_msgs.msg import Twist  # noqa: E402
from nav_msgs.msg import Odometry  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import rclpy  # noqa: E402
from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from rclpy.node import Node  # noqa: E402
from sensor_msgs.msg import Imu, JointState  # noqa: E402
from std_msgs.msg import Float64MultiArray, String  # noqa: E402

from robot_learning.data import bag_io  # noqa: E402
from robot_learning.ros import conversions  # noqa: E402

pytestmark = pytest.mark.ros

ROOT = pathlib.Path(__file__).resolve().parents[2]
CONFIG = ROOT / 'config' / 'nodes' / 'recorder.yaml'
NAMES = ('FL_hip_joint', 'FL_thigh_joint', 'FL_calf_joint')
PERIOD = 0.02
"""[s] publishing period (50 Hz)."""
DURATION = 2.0
"""[s] of publishing per test."""
FLUSH_PERIOD = 0.25
"""[s] recorder flush period in these tests."""
START_TIMEOUT = 30.0
"""[s] for a recorder process to start and subscribe to every topic."""
SLACK = 3
"""Messages a topic may lack (published while the subscription was still matching)."""


@pytest.fixture
def robot(context):
    robot = FakeRobot(context)
    yield robot
    robot.close()


@pytest.fixture
def start_recorder(tmp_path):
    """Start recorder processes; the finalizer kills any that is still running."""
    processes: list[subprocess.Popen] = []

    def start(output: pathlib.Path, *parameters: str) -> subprocess.Popen:
        command = [sys.executable, '-m', 'robot_learning.ros.recorder_node', '--ros-args',
                   '--params-file', str(CONFIG), '-p', f'output:={output}',
                   '-p', f'flush_period:={FLUSH_PERIOD}']
        for parameter in parameters:
            command += ['-p', parameter]
        env = {**os.environ, 'ROS_DOMAIN_ID': str(DOMAIN_ID),
               'ROS_AUTOMATIC_DISCOVERY_RANGE': 'LOCALHOST', 'PYTHONPATH': str(ROOT),
               'PYTHONUNBUFFERED': '1'}
        log = open(tmp_path / f'{output.name}.log', 'w')
        process = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=log,
                                   stderr=subprocess.STDOUT)
        log.close()
        process.log_path = tmp_path / f'{output.name}.log'
        processes.append(process)
        return process

    yield start
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


class FakeRobot:
    """Publishers of the interface topics in this process."""

    def __init__(self, context: rclpy.Context) -> None:
        self.node = Node('fake_robot_for_recorder', context=context)
        self.executor = SingleThreadedExecutor(context=context)
        self.executor.add_node(self.node)
        node = self.node
        self.publishers = {
            '/joint_states': node.create_publisher(JointState, '/joint_states', 10),
            '/imu/data': node.create_publisher(Imu, '/imu/data', 10),
            '/odom': node.create_publisher(Odometry, '/odom', 10),
            '/cmd_vel': node.create_publisher(Twist, '/cmd_vel', 10),
            '/joint_commands': node.create_publisher(Float64MultiArray, '/joint_commands', 10),
            '/policy/safety_state': node.create_publisher(String, '/policy/safety_state', 10),
        }
        self.counts = dict.fromkeys(self.publishers, 0)
        self.last_stamp = 0.0

    def wait_for_recorder(self, process: subprocess.Popen) -> None:
        """Spin until every publisher has a subscriber (the recorder's)."""
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f'recorder exited with {process.returncode}:\n'
                            f'{process.log_path.read_text()}')
            if all(publisher.get_subscription_count() > 0
                   for publisher in self.publishers.values()):
                return
            self.executor.spin_once(timeout_sec=0.05)
        pytest.fail(f'the recorder did not subscribe within {START_TIMEOUT} s:\n'
                    f'{process.log_path.read_text()}')

    def publish_for(self, duration: float) -> None:
        """Publish every topic at 50 Hz (cmd_vel and the safety state at 5 Hz)."""
        start = time.monotonic()
        step = 0
        while time.monotonic() - start < duration:
            stamp = 1000.0 + step * PERIOD
            position = np.sin(stamp + np.arange(len(NAMES)))
            quat = np.array([1.0, 0.0, 0.0, 0.0])
            self._publish('/joint_states', conversions.joint_state_msg(
                stamp, NAMES, position, -position, 0.1 * position))
            self._publish('/imu/data', conversions.imu_msg(
                stamp, quat, np.zeros(3), np.array([0.0, 0.0, 9.81])))
            self._publish('/odom', conversions.odometry_msg(
                stamp, np.zeros(3), quat, np.zeros(3), np.zeros(3)))
            self._publish('/joint_commands', conversions.command_array_msg(position))
            if step % 10 == 0:
                twist = Twist()
                twist.linear.x = 0.1 * step
                self._publish('/cmd_vel', twist)
                self._publish('/policy/safety_state', String(data='running'))
            self.last_stamp = stamp
            step += 1
            self.executor.spin_once(timeout_sec=0.0)
            time.sleep(max(0.0, start + step * PERIOD - time.monotonic()))

    def _publish(self, topic: str, message) -> None:
        self.publishers[topic].publish(message)
        self.counts[topic] += 1

    def close(self) -> None:
        self.executor.shutdown()
        self.node.destroy_node()


def _assert_counts_match(recorded: dict[str, int], published: dict[str, int]) -> None:
    for topic, count in published.items():
        assert count - SLACK <= recorded.get(topic, 0) <= count, (topic, recorded, published)


def _last_joint_stamp(bag: pathlib.Path) -> float:
    last = 0.0
    for item in bag_io.read_messages(bag, topics=['/joint_states']):
        stamp = item.message.header.stamp
        last = max(last, stamp.sec + stamp.nanosec * 1e-9)
    return last


@pytest.mark.parametrize('storage, stop_signal, stamp_source', [
    ('mcap', signal.SIGINT, 'sent'), ('sqlite3', signal.SIGTERM, 'received')])
def test_stopped_recorder_closes_a_complete_bag(tmp_path, robot, start_recorder, storage,
                                                stop_signal, stamp_source):
    bag = tmp_path / f'bag_{storage}'
    process = start_recorder(bag, f'storage:={storage}', f'stamp_source:={stamp_source}')
    robot.wait_for_recorder(process)
    robot.publish_for(DURATION)
    time.sleep(0.3)  # let the last messages arrive
    process.send_signal(stop_signal)
    assert process.wait(timeout=15) == 0, process.log_path.read_text()

    info = bag_io.bag_info(bag)  # needs metadata.yaml: the bag was closed
    assert info.storage == storage
    assert abs(info.end_ns * 1e-9 - time.time()) < 30.0  # arrival times on the system clock
    recorded = {topic: topic_info.message_count for topic, topic_info in info.topics.items()}
    _assert_counts_match(recorded, robot.counts)
    assert info.topics['/joint_states'].msgtype == 'sensor_msgs/msg/JointState'
    assert info.topics['/policy/safety_state'].msgtype == 'std_msgs/msg/String'
    assert _last_joint_stamp(bag) == pytest.approx(robot.last_stamp, abs=1e-6)
    messages = list(bag_io.read_messages(bag, topics=['/joint_commands']))
    assert len(messages[-1].message.data) == len(NAMES)
    assert 'closed' in process.log_path.read_text()


def test_killed_recorder_bag_is_recovered_up_to_the_last_flush(tmp_path, robot,
                                                               start_recorder):
    bag = tmp_path / 'bag_killed'
    process = start_recorder(bag)
    robot.wait_for_recorder(process)
    robot.publish_for(DURATION)
    time.sleep(4 * FLUSH_PERIOD)  # at least one flush after the last message arrived
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    assert not (bag / 'metadata.yaml').exists()
    with pytest.raises(bag_io.BagError, match='bag repair'):
        bag_io.bag_info(bag)

    result = bag_io.repair_bag(bag)
    assert result.status == 'repaired' and result.message_count > 0
    _assert_counts_match(result.topics, robot.counts)
    assert _last_joint_stamp(bag) == pytest.approx(robot.last_stamp, abs=1e-6)
    assert bag_io.bag_info(bag).message_count == result.message_count
