# SPDX-License-Identifier: Apache-2.0
"""The node rows of the fault matrix (issue 17), one test per row, over real DDS.

A policy node process runs the shipped quadruped bundle on the private ROS domain ``DOMAIN_ID``;
this process plays the robot driver and the operator (a fake driver at 50 Hz whose stamps,
velocity field and publishing can be faulted). A second node uses the ``position_gains``
command interface; the sim bridge's side of that interface runs in this process in lock-step
(exact, whatever the machine load). Timing bounds are what a robot needs (a fault damped within
a fraction of a second), with margins for two shared CPU cores, not the scheduling of one run.
"""

from __future__ import annotations

import os

DOMAIN_ID = 83
"""Private ROS domain of this module (node processes and this process)."""
os.environ['ROS_DOMAIN_ID'] = str(DOMAIN_ID)  # before rclpy; the context below also names it

import math  # noqa: E402, I100 - after the domain is set
import pathlib  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from typing import Callable  # noqa: E402

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus  # noqa: E402
from geometry_msgs.msg import Twist  # noqa: E402
from nav_msgs.msg import Odometry  # noqa: E402
from node_processes import log_tail, stop_node  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from rclpy.node import Node  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402
from sensor_msgs.msg import Imu, JointState  # noqa: E402
from std_msgs.msg import Bool, Float64MultiArray, String  # noqa: E402
from std_srvs.srv import Trigger  # noqa: E402

from robot_learning.paths import share_dir  # noqa: E402
from robot_learning.policies.contract import load_contract  # noqa: E402
from robot_learning.ros import conversions  # noqa: E402
from robot_learning.ros.sim_bridge_node import SimBridgeNode  # noqa: E402

pytestmark = pytest.mark.ros

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUNDLE = share_dir() / 'policies' / 'quadruped_flat'
PERIOD = 0.02
"""[s] the bundle's control period (50 Hz)."""
WATCHDOG_PERIODS = 5
WATCHDOG = WATCHDOG_PERIODS * PERIOD
"""[s] the node's stale-input timeout."""
SETTLE = 0.6
"""[s] settle_duration of the nodes here."""
STALE_HOLD = 0.2
"""[s] stale_hold of the nodes here (the last target is held that long, then it settles)."""
CMD_VEL_TIMEOUT = 0.5
"""[s] the node default."""
START_TIMEOUT = 30.0
"""[s] for a node process to start and reach 'running'."""
REACTION = 1.0
"""[s] generous bound on a reaction that the node owes within one or a few periods."""

CONTRACT = load_contract(BUNDLE)
NAMES = CONTRACT.joint_names
DEFAULT = np.asarray(CONTRACT.default_joint_pos)
POSE = DEFAULT + 0.02 * np.sin(np.arange(len(NAMES)) + 1.0)
"""Measured pose of the fake driver [rad]."""
UPRIGHT = np.array([1.0, 0.0, 0.0, 0.0])


class FakeDriver:
    """A robot driver and operator in this process: publishes the state, records the outputs."""

    def __init__(self, context, prefix: str = '') -> None:
        self.node = Node('fault_driver' + prefix.replace('/', '_'), context=context)
        self.executor = SingleThreadedExecutor(context=context)
        self.executor.add_node(self.node)
        node = self.node
        self.joint_pub = node.create_publisher(JointState, prefix + '/joint_states', 10)
        self.imu_pub = node.create_publisher(Imu, prefix + '/imu/data', 10)
        self.odom_pub = node.create_publisher(Odometry, prefix + '/odom', 10)
        self.cmd_vel_pub = node.create_publisher(Twist, prefix + '/cmd_vel', 10)
        self.estop_pub = node.create_publisher(Bool, prefix + '/emergency_stop', 10)
        self.reset_client = node.create_client(Trigger, prefix + '/policy/reset')
        self.commands: list[np.ndarray] = []
        self.states: list[str] = []
        self.state_times: list[float] = []
        self.diagnostics: list[DiagnosticStatus] = []
        self.velocity_commands: list[np.ndarray] = []
        node.create_subscription(Float64MultiArray, prefix + '/joint_commands',
                                 lambda m: self.commands.append(np.asarray(m.data)), 100)
        node.create_subscription(Float64MultiArray, prefix + '/joint_pd_commands',
                                 lambda m: self.commands.append(np.asarray(m.data)), 100)
        node.create_subscription(String, prefix + '/policy/safety_state', self._on_state, 100)
        node.create_subscription(DiagnosticArray, prefix + '/policy/state',
                                 lambda m: self.diagnostics.extend(m.status), 100)
        node.create_subscription(
            Twist, prefix + '/policy/velocity_command',
            lambda m: self.velocity_commands.append(conversions.twist_command(m)), 100)
        self.pos = POSE.copy()
        self.publishing = True
        self.joints = True
        """Publish joint states (False: only the IMU and odometry go on)."""
        self.advance_stamps = True
        """False: re-publish the same stamp (a frozen driver)."""
        self.velocity_field = True
        """False: JointStates with an empty velocity field."""
        self.stamp = 1000.0  # the driver's clock: unrelated to this machine's
        self._next = 0.0

    def _on_state(self, message: String) -> None:
        self.states.append(message.data)
        self.state_times.append(time.monotonic())

    def publish_state(self) -> None:
        zeros = np.zeros(len(NAMES))
        if self.joints:
            message = conversions.joint_state_msg(self.stamp, NAMES, self.pos, zeros, zeros)
            if not self.velocity_field:
                message.velocity = []
            self.joint_pub.publish(message)
        self.imu_pub.publish(conversions.imu_msg(
            self.stamp, UPRIGHT, np.zeros(3), np.array([0.0, 0.0, 9.81])))
        self.odom_pub.publish(conversions.odometry_msg(
            self.stamp, np.array([0.0, 0.0, 0.3]), UPRIGHT, np.zeros(3), np.zeros(3)))

    def run(self, duration: float, until: Callable[[], bool] | None = None) -> bool:
        """Publish at 50 Hz (while ``publishing``) and spin; True once ``until()`` holds."""
        deadline = time.monotonic() + duration
        while time.monotonic() < deadline:
            now = time.monotonic()
            if self.publishing and now >= self._next:
                self._next = max(self._next + PERIOD, now - PERIOD)
                if self.advance_stamps:
                    self.stamp += PERIOD
                self.publish_state()
            self.executor.spin_once(timeout_sec=0.002)
            if until is not None and until():
                return True
        return until is None

    def state(self) -> str:
        return self.states[-1] if self.states else ''

    def command(self, vx: float, vy: float, yaw: float) -> None:
        twist = Twist()
        twist.linear.x, twist.linear.y, twist.angular.z = vx, vy, yaw
        self.cmd_vel_pub.publish(twist)

    def operate(self, duration: float, command: tuple[float, float, float]) -> None:
        """Publish ``command`` on /cmd_vel at 20 Hz for ``duration`` while driving the robot."""
        end = time.monotonic() + duration
        while time.monotonic() < end:
            self.command(*command)
            self.run(0.05)

    def healthy(self) -> None:
        self.pos, self.publishing, self.joints = POSE.copy(), True, True
        self.advance_stamps, self.velocity_field = True, True

    def reset(self) -> bool:
        assert self.reset_client.wait_for_service(timeout_sec=5.0)
        future = self.reset_client.call_async(Trigger.Request())
        assert self.run(5.0, future.done)
        return future.result().success

    def close(self) -> None:
        self.executor.remove_node(self.node)
        self.node.destroy_node()
        self.executor.shutdown()


def _start_node(log: pathlib.Path, *parameters: str) -> subprocess.Popen:
    command = [sys.executable, '-m', 'robot_learning.ros.policy_node', '--ros-args']
    for parameter in (f'bundle:={BUNDLE}', 'soft_start_duration:=0.3',
                      f'watchdog_periods:={WATCHDOG_PERIODS}', f'settle_duration:={SETTLE}',
                      f'stale_hold:={STALE_HOLD}',
                      *parameters):
        command += ['-p', parameter]
    env = {**os.environ, 'ROS_DOMAIN_ID': str(DOMAIN_ID),
           'ROS_AUTOMATIC_DISCOVERY_RANGE': 'LOCALHOST', 'PYTHONUNBUFFERED': '1'}
    with open(log, 'w', encoding='utf-8') as output:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=output,
                                stderr=subprocess.STDOUT)


def _values(status: DiagnosticStatus) -> dict[str, str]:
    return {pair.key: pair.value for pair in status.values}


def _prefixed(prefix: str) -> list[str]:
    names = {'joint_states_topic': '/joint_states', 'imu_topic': '/imu/data',
             'odom_topic': '/odom', 'cmd_vel_topic': '/cmd_vel',
             'command_topic': '/joint_commands', 'gains_command_topic': '/joint_pd_commands',
             'estop_topic': '/emergency_stop', 'reset_topic': '/policy/reset',
             'reset_service': '/policy/reset', 'activate_service': '/policy/activate',
             'state_topic': '/policy/safety_state', 'diagnostics_topic': '/policy/state',
             'ros_diagnostics_topic': '/diagnostics', 'latency_topic': '/policy/latency',
             'velocity_command_topic': '/policy/velocity_command'}
    return [f'{key}:={prefix}{value}' for key, value in names.items()]


@pytest.fixture(scope='module')
def log_dir(tmp_path_factory) -> pathlib.Path:
    return tmp_path_factory.mktemp('fault_matrix')


@pytest.fixture(scope='module')
def driver(context):
    driver = FakeDriver(context)
    yield driver
    driver.close()


@pytest.fixture(scope='module')
def policy(log_dir, driver):
    """Start the position-interface node (timer mode, 50 Hz, default cmd_vel_timeout)."""
    log = log_dir / 'policy_node.log'
    process = _start_node(log)
    yield process, log
    stop_node(process)


def _ensure_running(driver: FakeDriver, policy) -> None:
    process, log = policy
    driver.healthy()
    if driver.state() == 'damping':
        driver.estop_pub.publish(Bool(data=False))
        driver.run(0.2)
        assert driver.reset()
    assert driver.run(START_TIMEOUT, lambda: driver.state() == 'running'), (
        f'state {driver.state()!r}, process rc {process.poll()}:\n{log_tail(log)}')


def _damped_after(driver: FakeDriver, since: float) -> float:
    """Seconds from ``since`` to the first 'damping' state received after it (inf: none)."""
    for state, at in zip(driver.states, driver.state_times):
        if at >= since and state == 'damping':
            return at - since
    return math.inf


def test_frozen_stamps_damp_within_the_watchdog(driver, policy):
    _ensure_running(driver, policy)
    _, log = policy
    driver.run(0.2)
    driver.advance_stamps = False  # the driver re-publishes its last JointState, IMU, odometry
    frozen_at = time.monotonic()
    assert driver.run(3.0, lambda: driver.state() == 'damping'), log_tail(log)
    # The watchdog (0.1 s) plus a generous scheduling margin; arrivals never stopped.
    assert _damped_after(driver, frozen_at) < WATCHDOG + REACTION
    assert driver.run(2.0, lambda: _values(driver.diagnostics[-1])['reason'] == 'frozen_input')
    assert 'header stamp not advancing' in _values(driver.diagnostics[-1])['detail']
    assert all(np.all(np.isfinite(command)) for command in driver.commands)


def test_non_finite_cmd_vel_is_a_zero_command_without_damping(driver, policy):
    _ensure_running(driver, policy)
    driver.operate(0.5, (0.4, 0.0, 0.0))
    assert driver.run(REACTION, lambda: np.allclose(driver.velocity_commands[-1], (0.4, 0, 0)))
    start = len(driver.commands)
    driver.operate(1.0, (math.inf, 0.0, 0.0))
    assert driver.run(REACTION, lambda: np.array_equal(driver.velocity_commands[-1], np.zeros(3)))
    driver.operate(0.5, (0.0, math.nan, -math.inf))
    assert driver.state() == 'running'
    assert all(np.all(np.isfinite(v)) for v in driver.velocity_commands)
    assert len(driver.commands) - start >= 20  # the policy kept commanding
    assert all(np.all(np.isfinite(command)) for command in driver.commands[start:])
    np.testing.assert_array_equal(driver.velocity_commands[-1], np.zeros(3))


def test_out_of_range_cmd_vel_is_clamped_to_the_contract_ranges(driver, policy):
    _ensure_running(driver, policy)
    driver.operate(1.0, (2.0, -2.0, 3.0))  # ranges: x [-0.5, 1], y [-0.5, 0.5], yaw [-1, 1]
    np.testing.assert_array_equal(driver.velocity_commands[-1], (1.0, -0.5, 1.0))
    assert driver.state() == 'running'


def test_cmd_vel_timeout_falls_back_to_the_zero_command(driver, policy):
    _ensure_running(driver, policy)
    driver.operate(0.5, (0.6, 0.0, 0.2))
    assert np.allclose(driver.velocity_commands[-1], (0.6, 0.0, 0.2))
    silent_at = time.monotonic()
    assert driver.run(CMD_VEL_TIMEOUT + REACTION,
                      lambda: np.array_equal(driver.velocity_commands[-1], np.zeros(3)))
    assert time.monotonic() - silent_at >= CMD_VEL_TIMEOUT - 0.05  # not before the timeout
    assert driver.state() == 'running'


def test_stopped_joint_states_hold_then_settle_never_the_old_measured_pose(driver, policy):
    _ensure_running(driver, policy)
    _, log = policy
    driver.run(0.3)
    start = len(driver.commands)
    driver.joints = False  # the IMU and odometry go on: only the joint states stop
    assert driver.run(3.0, lambda: driver.state() == 'damping'), log_tail(log)
    driver.run(SETTLE + 0.5)
    after = np.asarray(driver.commands[start:])
    held_at = next(i for i in range(1, len(after) - 3)
                   if all(np.array_equal(after[i], after[i + k]) for k in range(1, 4)))
    held, settle = after[held_at], after[held_at:]
    assert np.abs(held - POSE).max() > 1e-3  # the held target is not the measured pose
    direction = DEFAULT - held
    alphas = (settle - held) @ direction / (direction @ direction)
    np.testing.assert_allclose(settle, held + alphas[:, None] * direction, atol=1e-9)
    assert np.all(np.diff(alphas) >= -1e-12) and np.diff(alphas).max() <= 1.5 * PERIOD / SETTLE
    np.testing.assert_allclose(settle[-1], DEFAULT, atol=1e-9)
    assert np.abs(settle - POSE).max(axis=1).min() > 1e-3  # never the old measured pose
    values = _values(driver.diagnostics[-1])
    assert values['reason'] == 'stale_input' and values['degraded_target'] == 'settle'


def test_an_empty_velocity_field_runs_on_differentiated_positions(driver, policy):
    _ensure_running(driver, policy)
    _, log = policy
    driver.velocity_field = False
    start, first_state = len(driver.commands), len(driver.states)
    driver.run(1.5)
    assert driver.state() == 'running', log_tail(log)
    assert len(driver.commands) - start >= 30
    assert all(np.all(np.isfinite(command)) for command in driver.commands[start:])
    assert 'differentiated from the positions' in log.read_text(encoding='utf-8')
    assert 'damping' not in driver.states[first_state:]


def test_gains_interface_sends_true_damping_kp0_kd_positive(context, log_dir):
    prefix = '/gains'
    driver = FakeDriver(context, prefix)
    log = log_dir / 'gains.log'
    process = _start_node(log, 'command_interface:=position_gains', 'damping_kd_scale:=2.0',
                          *_prefixed(prefix))
    count = len(NAMES)
    kp, kd = np.asarray(CONTRACT.kp), np.asarray(CONTRACT.kd)
    try:
        assert driver.run(START_TIMEOUT, lambda: driver.state() == 'running'), log_tail(log)
        driver.run(0.3)
        running = np.asarray(driver.commands)
        assert running.shape[1] == 3 * count
        np.testing.assert_array_equal(running[-1, count:2 * count], kp)
        np.testing.assert_array_equal(running[-1, 2 * count:], kd)
        start = len(driver.commands)
        driver.estop_pub.publish(Bool(data=True))
        assert driver.run(3.0, lambda: driver.state() == 'damping'), log_tail(log)
        driver.run(0.3)
        damping = np.asarray(driver.commands[start:])
        late = next(i for i, command in enumerate(damping) if command[count] == 0.0)
        assert late <= 3  # commands in flight
        for command in damping[late:]:
            np.testing.assert_array_equal(command[count:2 * count], np.zeros(count))
            np.testing.assert_allclose(command[2 * count:], 2.0 * kd)
            assert np.all(np.isfinite(command))
        assert _values(driver.diagnostics[-1])['degraded_target'] == 'kp0_damping'
    finally:
        stop_node(process)
        driver.close()


def test_the_bridge_applies_per_joint_gains_at_its_physics_rate(context):
    """The sim bridge side of position_gains, lock-step: kp 0 sinks, nominal gains stand."""
    bridge = SimBridgeNode(context=context, parameter_overrides=[
        Parameter('reality', value='quadruped_pybullet_nominal'),
        Parameter('lockstep', value=True), Parameter('lockstep_timeout', value=0.0),
        Parameter('fault_topic', value='/bridge_test/fault'),
        Parameter('gains_command_topic', value='/bridge_test/joint_pd_commands'),
        Parameter('command_topic', value='/bridge_test/joint_commands'),
        Parameter('trajectory_topic', value='/bridge_test/joint_trajectory'),
        Parameter('joint_states_topic', value='/bridge_test/joint_states'),
        Parameter('imu_topic', value='/bridge_test/imu/data'),
        Parameter('odom_topic', value='/bridge_test/odom'),
        Parameter('robot_description_topic', value='')])
    try:
        count = len(bridge.joint_names)
        kp, kd = np.full(count, 20.0), np.full(count, 0.5)
        default = np.asarray(bridge.robot.default_joint_pos, dtype=float)

        def gains(scale_p: float, scale_d: float) -> Float64MultiArray:
            return Float64MultiArray(data=np.concatenate(
                [default, scale_p * kp, scale_d * kd]).tolist())

        bridge._start()
        for _ in range(50):  # stand with the nominal gains
            bridge._on_gains_command(gains(1.0, 1.0))
        standing = bridge._state.base_pos[0, 2]
        assert bridge.gain_scales == (1.0, 1.0)
        assert bridge.backend.dynamics['kp_scale'][0] == 1.0
        for _ in range(50):  # true damping: the legs give way, slowly
            bridge._on_gains_command(gains(0.0, 1.0))
        assert bridge.gain_scales == (0.0, 1.0)
        assert bridge.backend.dynamics['kp_scale'][0] == 0.0
        assert bridge._state.base_pos[0, 2] < standing - 0.05
        uneven = np.concatenate([default, kp, kd])
        uneven[count] = 5.0  # one joint with another multiple of the nominal kp
        ignored = bridge.ignored_commands
        bridge._on_gains_command(Float64MultiArray(data=uneven.tolist()))
        assert bridge.ignored_commands == ignored + 1 and bridge.gain_scales == (0.0, 1.0)
        bridge._on_joint_commands(Float64MultiArray(data=default.tolist()))
        assert bridge.gain_scales == (1.0, 1.0)  # a position-only command: nominal gains
    finally:
        bridge.close()
        bridge.destroy_node()
