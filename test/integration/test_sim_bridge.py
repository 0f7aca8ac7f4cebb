# SPDX-License-Identifier: Apache-2.0
"""The sim bridge as a separate process, observed from this process over real DDS (loopback).

Every bridge runs ``python -m robot_learning.ros.sim_bridge_node`` on the private ROS domain
``DOMAIN_ID``; this process joins the same domain with its own rclpy context. Most tests use
lock-step mode (no timeout), so they are exact and fast whatever the machine load.
"""

from __future__ import annotations

import os
import pathlib
import signal
import subprocess
import sys
import tempfile
import time
from typing import Callable

from nav_msgs.msg import Odometry
import numpy as np
import pytest
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.parameter import Parameter
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import Imu, JointState
from std_msgs.msg import Float64MultiArray
from trajectory_msgs.msg import JointTrajectory
import yaml

from robot_learning.config import ConfigError
from robot_learning.robots.registry import load_robot
from robot_learning.ros import conversions
from robot_learning.ros.sim_bridge_node import PARAMETERS, SimBridgeNode
from robot_learning.sim.base import SimState
from robot_learning.sim.reality import available_realities

pytestmark = pytest.mark.ros

DOMAIN_ID = 62
"""Private ROS domain of this module (bridges and this process)."""
REALITY = 'quadruped_pybullet_nominal'
CONTROL_DT = 0.02
"""[s] the reality's control period."""
ROOT = pathlib.Path(__file__).resolve().parents[2]
START_TIMEOUT = 30.0
"""[s] for a bridge process to start and publish its first state."""
TOPICS = {'/joint_states': JointState, '/imu/data': Imu, '/odom': Odometry, '/clock': Clock}


@pytest.fixture(scope='module')
def robot():
    return load_robot('quadruped')


@pytest.fixture(scope='module')
def context():
    # The domain is given explicitly: os.environ is shared with every other test module.
    saved = os.environ.get('ROS_DOMAIN_ID')
    os.environ['ROS_DOMAIN_ID'] = str(DOMAIN_ID)
    context = rclpy.Context()
    rclpy.init(context=context, domain_id=DOMAIN_ID)
    yield context
    rclpy.shutdown(context=context)
    if saved is None:
        os.environ.pop('ROS_DOMAIN_ID', None)
    else:
        os.environ['ROS_DOMAIN_ID'] = saved


class Probe:
    """Records the bridge's outputs and publishes commands, in this test process."""

    def __init__(self, context: rclpy.Context) -> None:
        self.node = Node('sim_bridge_probe', context=context)
        self.executor = SingleThreadedExecutor(context=context)
        self.executor.add_node(self.node)
        self.messages: dict[str, list] = {topic: [] for topic in TOPICS}
        for topic, message_type in TOPICS.items():
            self.node.create_subscription(message_type, topic, self.messages[topic].append, 100)
        self.commands = self.node.create_publisher(Float64MultiArray, '/joint_commands', 10)
        self.trajectories = self.node.create_publisher(JointTrajectory, '/joint_trajectory', 10)

    @property
    def states(self) -> list[JointState]:
        return self.messages['/joint_states']

    def spin_until(self, predicate: Callable[[], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not predicate() and time.monotonic() < deadline:
            self.executor.spin_once(timeout_sec=0.01)
        return predicate()

    def spin_for(self, seconds: float) -> None:
        self.spin_until(lambda: False, seconds)

    def wait_for_bridge(self) -> None:
        """Wait for state 0 and for the bridge to subscribe to both command topics."""
        assert self.spin_until(lambda: len(self.states) >= 1 and all(
            publisher.get_subscription_count() > 0
            for publisher in (self.commands, self.trajectories)), START_TIMEOUT)

    def step(self, targets: np.ndarray | None = None, message=None) -> JointState:
        """Lock-step: send one command (targets or a message), return the next state."""
        count = len(self.states)
        if message is None:
            self.commands.publish(conversions.command_array_msg(targets))
        elif isinstance(message, JointTrajectory):
            self.trajectories.publish(message)
        else:
            self.commands.publish(message)
        assert self.spin_until(lambda: len(self.states) > count, 10.0), 'no state came back'
        assert len(self.states) == count + 1
        return self.states[-1]

    def close(self) -> None:
        self.executor.shutdown()
        self.node.destroy_node()


@pytest.fixture
def probe(context):
    probe = Probe(context)
    yield probe
    probe.close()


@pytest.fixture
def start_bridge():
    """Start bridge processes with ``-p name:=value`` parameters; stop them with SIGINT."""
    processes = []

    def start(**parameters) -> subprocess.Popen:
        command = [sys.executable, '-m', 'robot_learning.ros.sim_bridge_node', '--ros-args',
                   '-p', f'reality:={REALITY}']
        for name, value in parameters.items():
            command += ['-p', f'{name}:={yaml.safe_dump(value).splitlines()[0]}']
        log = tempfile.TemporaryFile()
        env = dict(os.environ, ROS_DOMAIN_ID=str(DOMAIN_ID),
                   ROS_AUTOMATIC_DISCOVERY_RANGE='LOCALHOST', PYTHONUNBUFFERED='1')
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log,
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


def _stamp(message) -> float:
    return conversions.time_seconds(message.header.stamp)


def _tilt(quaternion) -> float:
    """Angle between the base z axis and the world z axis [rad] of a ROS quaternion."""
    x, y = quaternion.x, quaternion.y
    return float(np.arccos(np.clip(1.0 - 2.0 * (x * x + y * y), -1.0, 1.0)))


def test_lockstep_gives_one_state_per_command_all_stamped_alike(start_bridge, probe, robot):
    start_bridge(lockstep=True, lockstep_timeout=0.0)
    probe.wait_for_bridge()
    first = probe.states[0]
    assert list(first.name) == list(robot.joint_names)
    np.testing.assert_allclose(first.position, robot.default_joint_pos, atol=1e-9)
    np.testing.assert_allclose(first.velocity, 0.0, atol=1e-9)
    assert _stamp(first) == 0.0

    num_commands = 5
    for _ in range(num_commands):
        probe.step(robot.default_joint_pos)
    probe.spin_for(0.5)  # nothing more may come: the bridge waits for the next command
    for topic, messages in probe.messages.items():
        assert len(messages) == num_commands + 1, topic
    expected = np.arange(num_commands + 1) * CONTROL_DT
    for topic in ('/joint_states', '/imu/data', '/odom'):
        stamps = [_stamp(message) for message in probe.messages[topic]]
        np.testing.assert_allclose(stamps, expected, atol=1e-9, err_msg=topic)
    clock = [conversions.time_seconds(message.clock) for message in probe.messages['/clock']]
    np.testing.assert_allclose(clock, expected, atol=1e-9)
    assert probe.messages['/imu/data'][0].header.frame_id == 'imu_link'
    odom = probe.messages['/odom'][0]
    assert (odom.header.frame_id, odom.child_frame_id) == ('odom', 'base_link')


def test_standing_robot_reads_upright_and_at_rest(start_bridge, probe, robot):
    start_bridge(lockstep=True, lockstep_timeout=0.0)
    probe.wait_for_bridge()
    for _ in range(150):  # 3 s: the robot drops onto its feet and settles
        state = probe.step(robot.default_joint_pos)
    probe.spin_for(0.1)
    assert _stamp(state) == pytest.approx(3.0)
    # The soft legged_gym gains (kp 20) let the knees sag under the robot's weight.
    np.testing.assert_allclose(state.position, robot.default_joint_pos, atol=0.4)
    np.testing.assert_allclose(state.velocity, 0.0, atol=0.2)
    imu = probe.messages['/imu/data'][-1]
    assert _tilt(imu.orientation) < 0.05
    acceleration = imu.linear_acceleration
    assert acceleration.z == pytest.approx(conversions.GRAVITY, abs=0.3)
    assert abs(acceleration.x) < 0.5 and abs(acceleration.y) < 0.5
    gyro = imu.angular_velocity
    assert np.linalg.norm([gyro.x, gyro.y, gyro.z]) < 0.1
    odom = probe.messages['/odom'][-1]
    position = odom.pose.pose.position
    # Dropped from the reset height onto its feet: a little lower, roughly where it started.
    assert 0.7 * robot.init_base_height < position.z < robot.init_base_height
    assert np.hypot(position.x, position.y) < 0.15
    assert _tilt(odom.pose.pose.orientation) < 0.05
    linear = odom.twist.twist.linear
    assert np.linalg.norm([linear.x, linear.y, linear.z]) < 0.1
    assert conversions.time_seconds(probe.messages['/clock'][-1].clock) == pytest.approx(3.0)


def test_invalid_commands_are_ignored_whole(start_bridge, probe, robot):
    start_bridge(lockstep=True, lockstep_timeout=0.0)
    probe.wait_for_bridge()
    names = list(robot.joint_names)
    with_nan = robot.default_joint_pos.copy()
    with_nan[4] = np.nan
    invalid = [conversions.command_array_msg(with_nan),
               conversions.command_array_msg(robot.default_joint_pos[:-1]),
               conversions.joint_trajectory_msg(0.0, names, with_nan, CONTROL_DT),
               conversions.joint_trajectory_msg(0.0, names[:-1], robot.default_joint_pos[:-1],
                                                CONTROL_DT)]
    for message in invalid:
        (probe.trajectories if isinstance(message, JointTrajectory) else probe.commands
         ).publish(message)
    probe.spin_for(0.5)
    assert len(probe.states) == 1, 'an invalid command stepped the bridge'
    # Valid commands interleaved with NaN ones: one step per valid command, robot standing.
    for _ in range(100):
        probe.commands.publish(conversions.command_array_msg(with_nan))
        probe.step(robot.default_joint_pos)
    probe.spin_for(0.3)
    assert len(probe.states) == 101
    odom = probe.messages['/odom'][-1]
    assert odom.pose.pose.position.z > 0.6 * robot.init_base_height  # a fallen trunk lies lower
    assert _tilt(odom.pose.pose.orientation) < 0.1


def test_trajectory_with_shuffled_joint_names_is_applied_by_name(start_bridge, probe, robot):
    start_bridge(lockstep=True, lockstep_timeout=0.0)
    probe.wait_for_bridge()
    names = list(robot.joint_names)
    bent = names.index('FL_calf_joint')
    targets = robot.default_joint_pos.copy()
    targets[bent] += 0.4
    order = np.random.default_rng(0).permutation(len(names))
    message = conversions.joint_trajectory_msg(0.0, [names[i] for i in order], targets[order],
                                               CONTROL_DT)
    for _ in range(50):
        state = probe.step(message=message)
    # Under the robot's weight the soft PD lets every knee sag below its target; the bent one
    # ends far above its mirror image, which kept the default target.
    position = np.asarray(state.position)
    mirror = names.index('FR_calf_joint')
    assert position[bent] > robot.default_joint_pos[bent] + 0.1
    assert position[bent] - position[mirror] > 0.3
    calves = [index for index, name in enumerate(names) if 'calf' in name and index != bent]
    assert np.all(position[calves] < robot.default_joint_pos[calves])


def test_lockstep_timeout_steps_with_the_held_targets(start_bridge, probe, robot):
    start_bridge(lockstep=True, lockstep_timeout=0.1)
    assert probe.spin_until(lambda: len(probe.states) >= 5, START_TIMEOUT)
    # A command steps at once; then the timeout goes on stepping.
    probe.wait_for_bridge()
    probe.commands.publish(conversions.command_array_msg(robot.default_joint_pos))
    count = len(probe.states)
    assert probe.spin_until(lambda: len(probe.states) >= count + 5, 10.0)
    stamps = [_stamp(state) for state in probe.states]
    np.testing.assert_allclose(stamps, np.arange(len(stamps)) * CONTROL_DT, atol=1e-9)


def test_lockstep_is_deterministic(start_bridge, context, robot):
    # A gait-like excitation of every thigh joint, twice, in two bridge processes.
    phases = np.arange(40)[:, None] * CONTROL_DT * 2.0 * np.pi * 2.0
    commands = robot.default_joint_pos + 0.3 * np.sin(phases) * (np.arange(12) % 3 == 1)
    runs = []
    for _ in range(2):
        process = start_bridge(lockstep=True, lockstep_timeout=0.0)
        probe = Probe(context)
        try:
            probe.wait_for_bridge()
            states = [probe.states[0]] + [probe.step(targets) for targets in commands]
        finally:
            probe.close()
        runs.append([(tuple(state.position), tuple(state.velocity), tuple(state.effort))
                     for state in states])
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
    assert runs[0] == runs[1]


def test_real_time_mode_follows_the_wall_clock(start_bridge, probe):
    process = start_bridge()
    clocks = probe.messages['/clock']
    assert probe.spin_until(lambda: len(clocks) >= 1, START_TIMEOUT)
    wall_start, sim_start = time.monotonic(), conversions.time_seconds(clocks[-1].clock)
    probe.spin_for(2.0)
    wall = time.monotonic() - wall_start
    sim = conversions.time_seconds(clocks[-1].clock) - sim_start
    assert 0.6 < sim / wall < 1.2, f'{sim:.2f} s simulated in {wall:.2f} s wall'
    # Consecutive control periods (a message lost on a loaded machine skips whole periods).
    periods = np.diff([conversions.time_seconds(message.clock) for message in clocks])
    np.testing.assert_allclose(periods / CONTROL_DT, np.round(periods / CONTROL_DT), atol=1e-6)
    assert np.all(periods > 0.0) and np.mean(np.isclose(periods, CONTROL_DT)) > 0.9
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=10) == 0


def test_duration_stops_the_bridge_cleanly(start_bridge, probe, robot):
    process = start_bridge(lockstep=True, lockstep_timeout=0.0, duration=5 * CONTROL_DT)
    probe.wait_for_bridge()
    for _ in range(5):
        probe.step(robot.default_joint_pos)
    assert process.wait(timeout=10) == 0, 'the bridge did not stop by itself'
    probe.spin_for(0.2)
    assert len(probe.states) == 6
    assert _stamp(probe.states[-1]) == pytest.approx(5 * CONTROL_DT)


# -- in-process checks (no second process) ----------------------------------------------------

def _make_node(context, **parameters) -> SimBridgeNode:
    overrides = [Parameter('reality', value=REALITY), Parameter('lockstep', value=True),
                 Parameter('lockstep_timeout', value=0.0)]
    overrides += [Parameter(name, value=value) for name, value in parameters.items()]
    return SimBridgeNode(context=context, parameter_overrides=overrides)


def test_non_finite_state_resets_the_robot_to_the_default_pose(context, robot, monkeypatch):
    node = _make_node(context)
    try:
        real_get_state = node.backend.get_state

        def broken_state() -> SimState:
            state = real_get_state()
            state.base_pos[:] = np.nan
            return state

        monkeypatch.setattr(node.backend, 'get_state', broken_state)
        node.targets = robot.default_joint_pos + 0.3
        node.advance()
        monkeypatch.setattr(node.backend, 'get_state', real_get_state)
        assert node.nonfinite_resets == 1
        assert node.step_count == 1
        np.testing.assert_array_equal(node.targets, robot.default_joint_pos)
        state = node.backend.get_state()
        np.testing.assert_allclose(state.joint_pos[0], robot.default_joint_pos)
        assert state.base_pos[0, 2] == pytest.approx(robot.init_base_height)
        node.advance()
        assert node.nonfinite_resets == 1
        assert 'non-finite resets 1' in node.summary()
    finally:
        node.close(flush_timeout=0.0)
        node.destroy_node()


@pytest.mark.parametrize('reality', available_realities())
def test_every_reality_runs_in_the_bridge(context, reality):
    node = _make_node(context, reality=reality)
    try:
        for _ in range(3):
            node.advance()
        assert node.sim_time == pytest.approx(3 * node.reality.control_dt)
        assert node.nonfinite_resets == 0
    finally:
        node.close(flush_timeout=0.0)
        node.destroy_node()


def test_bad_parameters_are_config_errors(context):
    with pytest.raises(ConfigError, match='quadruped_pybullet_nominal'):
        _make_node(context, reality='no_such_reality')
    with pytest.raises(ConfigError, match='real_time_factor'):
        _make_node(context, real_time_factor=0.0)


def test_params_file_holds_the_declared_defaults():
    data = yaml.safe_load((ROOT / 'config' / 'nodes' / 'sim_bridge.yaml').read_text())
    parameters = data['sim_bridge']['ros__parameters']
    assert parameters == {name: default for name, (default, _) in PARAMETERS.items()}
