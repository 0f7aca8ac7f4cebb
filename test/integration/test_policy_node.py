# SPDX-License-Identifier: Apache-2.0
"""The policy node as a separate process, driven by a fake robot in this process over real DDS.

Each node runs ``python -m robot_learning.ros.policy_node`` on the private ROS domain
``DOMAIN_ID`` (loopback only); this process joins the same domain with its own rclpy context and
plays the robot driver: /joint_states (names in reverse contract order, so the node must reorder
them), /imu/data and /odom at 50 Hz. The main node runs in timer mode; the refusal and lock-step
nodes use their own topic names so that the three can share the domain.
"""

from __future__ import annotations

import os

DOMAIN_ID = 61
"""Private ROS domain of this module (node processes and this process)."""
os.environ['ROS_DOMAIN_ID'] = str(DOMAIN_ID)  # before rclpy; the context below also names it

import math  # noqa: E402, I100 - after the domain is set
import pathlib  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from typing import Callable  # noqa: E402

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus  # noqa: E402
from lifecycle_msgs.msg import Transition  # noqa: E402
from lifecycle_msgs.srv import ChangeState  # noqa: E402
from nav_msgs.msg import Odometry  # noqa: E402
from node_processes import log_tail, stop_node  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import rclpy  # noqa: E402
from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from rclpy.node import Node  # noqa: E402
from sensor_msgs.msg import Imu, JointState  # noqa: E402
from std_msgs.msg import Bool, Empty, Float64, Float64MultiArray, String  # noqa: E402
from std_srvs.srv import Trigger  # noqa: E402
from trajectory_msgs.msg import JointTrajectory  # noqa: E402
import yaml  # noqa: E402

from robot_learning.paths import share_dir  # noqa: E402
from robot_learning.policies.contract import load_contract  # noqa: E402
from robot_learning.robots import load_robot  # noqa: E402
from robot_learning.ros import conversions  # noqa: E402

pytestmark = pytest.mark.ros

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUNDLE = share_dir() / 'policies' / 'quadruped_flat'
PERIOD = 0.02
"""[s] the bundle's control period (50 Hz)."""
MARGIN = 0.1
"""[rad] position_margin (the default)."""
WATCHDOG_PERIODS = 5
SOFT_START = 0.3
"""[s] soft_start_duration for these tests."""
SETTLE = 0.6
"""[s] settle_duration of the main node (stale inputs: held target -> default pose)."""
START_TIMEOUT = 30.0
"""[s] for a node process to start and report its first state."""

CONTRACT = load_contract(BUNDLE)
ROBOT = load_robot(CONTRACT.robot)
NAMES = CONTRACT.joint_names
POSE = np.asarray(CONTRACT.default_joint_pos) + 0.02 * np.sin(np.arange(len(NAMES)) + 1.0)
"""Measured pose of the fake robot: near the default pose, but not equal to it [rad]."""
DEFAULT = np.asarray(CONTRACT.default_joint_pos)
UPRIGHT = np.array([1.0, 0.0, 0.0, 0.0])


class FakeRobot:
    """A robot driver and operator in this process: publishes the state, records the outputs."""

    def __init__(self, context: rclpy.Context, prefix: str = '') -> None:
        self.node = Node('fake_robot' + prefix.replace('/', '_'), context=context)
        self.executor = SingleThreadedExecutor(context=context)
        self.executor.add_node(self.node)
        node = self.node
        self.joint_pub = node.create_publisher(JointState, prefix + '/joint_states', 10)
        self.imu_pub = node.create_publisher(Imu, prefix + '/imu/data', 10)
        self.odom_pub = node.create_publisher(Odometry, prefix + '/odom', 10)
        self.estop_pub = node.create_publisher(Bool, prefix + '/emergency_stop', 10)
        self.reset_pub = node.create_publisher(Empty, prefix + '/policy/reset', 10)
        self.reset_client = node.create_client(Trigger, prefix + '/policy/reset')
        self.activate_client = node.create_client(Trigger, prefix + '/policy/activate')
        self.lifecycle_client = node.create_client(ChangeState, '/policy_node/change_state')
        self.commands: list[np.ndarray] = []
        self.trajectories: list[JointTrajectory] = []
        self.states: list[str] = []
        self.diagnostics: list[DiagnosticStatus] = []
        self.latencies: list[float] = []
        node.create_subscription(Float64MultiArray, prefix + '/joint_commands',
                                 lambda m: self.commands.append(np.asarray(m.data)), 100)
        node.create_subscription(JointTrajectory, prefix + '/joint_trajectory',
                                 self._on_trajectory, 100)
        node.create_subscription(String, prefix + '/policy/safety_state',
                                 lambda m: self.states.append(m.data), 100)
        node.create_subscription(DiagnosticArray, prefix + '/policy/state',
                                 lambda m: self.diagnostics.extend(m.status), 100)
        node.create_subscription(Float64, prefix + '/policy/latency',
                                 lambda m: self.latencies.append(m.data), 100)
        self.order = list(reversed(range(len(NAMES))))
        """Contract index of each JointState entry (the driver's order is not the contract's)."""
        self.names = [NAMES[i] for i in self.order]
        """JointState names (one may be renamed)."""
        self.pos = POSE.copy()
        """(J,) measured positions in contract order [rad]."""
        self.quat = UPRIGHT.copy()
        self.publishing = True
        self.stamp = 0.0
        self._next = 0.0

    def _on_trajectory(self, message: JointTrajectory) -> None:
        self.trajectories.append(message)
        self.commands.append(np.asarray(message.points[0].positions))

    def publish_state(self, joints: bool = True,
                      imu: bool = True, odom: bool = True) -> None:
        """Publish one joint state (in ``self.names`` order), IMU and odometry message."""
        zeros = np.zeros(len(NAMES))
        if joints:
            self.joint_pub.publish(conversions.joint_state_msg(
                self.stamp, self.names, self.pos[self.order], zeros, zeros))
        if imu:
            self.imu_pub.publish(conversions.imu_msg(
                self.stamp, self.quat, np.zeros(3), np.array([0.0, 0.0, 9.81])))
        if odom:
            self.odom_pub.publish(conversions.odometry_msg(
                self.stamp, np.array([0.0, 0.0, 0.3]), self.quat, np.zeros(3), np.zeros(3)))

    def run(self, duration: float, until: Callable[[], bool] | None = None) -> bool:
        """Publish at 50 Hz (while ``publishing``) and spin; True once ``until()`` holds."""
        deadline = time.monotonic() + duration
        while time.monotonic() < deadline:
            now = time.monotonic()
            if self.publishing and now >= self._next:
                self._next = max(self._next + PERIOD, now - PERIOD)
                self.stamp += PERIOD
                self.publish_state()
            self.executor.spin_once(timeout_sec=0.002)
            if until is not None and until():
                return True
        return until is None

    def state(self) -> str:
        """Return the latest safety state received ('' before any)."""
        return self.states[-1] if self.states else ''

    def call(self, client, request):
        """Call a service (spinning and publishing meanwhile); return the response."""
        assert client.wait_for_service(timeout_sec=5.0)
        future = client.call_async(request)
        assert self.run(5.0, future.done)
        return future.result()

    def reset(self) -> Trigger.Response:
        """Call the reset service."""
        return self.call(self.reset_client, Trigger.Request())

    def close(self) -> None:
        """Destroy the node."""
        self.executor.remove_node(self.node)
        self.node.destroy_node()
        self.executor.shutdown()


def _start_node(log: pathlib.Path, *parameters: str, params_file: bool = True
                ) -> subprocess.Popen:
    command = [sys.executable, '-m', 'robot_learning.ros.policy_node', '--ros-args']
    if params_file:
        command += ['--params-file', str(ROOT / 'config' / 'nodes' / 'policy_node.yaml')]
    for parameter in (f'bundle:={BUNDLE}', f'soft_start_duration:={SOFT_START}',
                      f'watchdog_periods:={WATCHDOG_PERIODS}', *parameters):
        command += ['-p', parameter]
    env = {**os.environ, 'ROS_DOMAIN_ID': str(DOMAIN_ID),
           'ROS_AUTOMATIC_DISCOVERY_RANGE': 'LOCALHOST', 'PYTHONUNBUFFERED': '1'}
    with open(log, 'w', encoding='utf-8') as output:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=output,
                                stderr=subprocess.STDOUT)


@pytest.fixture(scope='module')
def log_dir(tmp_path_factory) -> pathlib.Path:
    return tmp_path_factory.mktemp('policy_node')


@pytest.fixture(scope='module')
def robot(context):
    robot = FakeRobot(context)
    yield robot
    robot.close()


@pytest.fixture(scope='module')
def policy(log_dir, robot):
    """Start the main node (timer mode, 50 Hz, latency published); yield it and its log."""
    log = log_dir / 'policy_node.log'
    process = _start_node(log, 'publish_latency:=true', f'settle_duration:={SETTLE}',
                          'stale_hold:=0.2')
    yield process, log
    stop_node(process)


def _prefixed(prefix: str) -> list[str]:
    """Return parameters that move every topic and service of a node under ``prefix``."""
    names = {'joint_states_topic': '/joint_states', 'imu_topic': '/imu/data',
             'odom_topic': '/odom', 'command_topic': '/joint_commands',
             'trajectory_topic': '/joint_trajectory', 'estop_topic': '/emergency_stop',
             'reset_topic': '/policy/reset', 'reset_service': '/policy/reset',
             'activate_service': '/policy/activate', 'state_topic': '/policy/safety_state',
             'diagnostics_topic': '/policy/state', 'latency_topic': '/policy/latency'}
    return [f'{key}:={prefix}{value}' for key, value in names.items()]


def _values(status: DiagnosticStatus) -> dict[str, str]:
    return {pair.key: pair.value for pair in status.values}


def _transitions(states: list[str]) -> list[str]:
    """Drop the 1 Hz repetitions: the sequence of distinct consecutive states."""
    return [state for i, state in enumerate(states) if i == 0 or states[i - 1] != state]


def _within_limits(commands: list[np.ndarray]) -> bool:
    stacked = np.asarray(commands)
    return bool(np.all(stacked >= ROBOT.position_lower + MARGIN - 1e-12)
                and np.all(stacked <= ROBOT.position_upper - MARGIN + 1e-12))


def _ensure_running(robot: FakeRobot, policy) -> None:
    """Bring the node back to RUNNING with a healthy robot."""
    process, log = policy
    robot.pos, robot.quat, robot.publishing = POSE.copy(), UPRIGHT.copy(), True
    if robot.state() == 'damping':
        robot.estop_pub.publish(Bool(data=False))
        robot.run(0.1)  # healthy inputs in before the reset (it soft-starts at once)
        assert robot.reset().success
    assert robot.run(START_TIMEOUT, lambda: robot.state() == 'running'), (
        f'state {robot.state()!r}, process rc {process.poll()}:\n{log_tail(log)}')


def _inject(robot: FakeRobot, policy, fault: Callable[[], None], expected: np.ndarray,
            reason: str, max_late: int = 2) -> None:
    """Apply ``fault``, publish the state at once, wait for DAMPING with targets ``expected``.

    At most ``max_late`` commands may arrive between the fault and the first damping target
    (those in flight, and the one of a timer tick served before the message).
    """
    _, log = policy
    start = len(robot.commands)
    fault()
    if robot.publishing:
        robot.stamp += PERIOD
        robot.publish_state()

    def damped() -> bool:
        return any(np.allclose(command, expected, rtol=0.0, atol=1e-9)
                   for command in robot.commands[start:])

    assert robot.run(3.0, lambda: damped() and robot.state() == 'damping'), (
        f'no damping ({robot.state()}):\n{log_tail(log)}')
    late = next(i for i, command in enumerate(robot.commands[start:])
                if np.allclose(command, expected, rtol=0.0, atol=1e-9))
    assert late <= max_late, f'{late} commands after the fault before damping'
    robot.run(0.1)  # later damping commands keep tracking the measured pose
    for command in robot.commands[start + late:]:
        np.testing.assert_allclose(command, expected, rtol=0.0, atol=1e-9)
    assert robot.run(2.0, lambda: _values(robot.diagnostics[-1])['reason'] == reason)
    status = robot.diagnostics[-1]
    assert status.level == (DiagnosticStatus.WARN if reason == 'emergency_stop'
                            else DiagnosticStatus.ERROR)
    assert status.message == f'damping: {reason}'
    assert _within_limits(robot.commands)


def test_the_parameter_file_repeats_every_node_default():
    from robot_learning.ros.policy_node import PARAMETERS

    path = ROOT / 'config' / 'nodes' / 'policy_node.yaml'
    values = yaml.safe_load(path.read_text(encoding='utf-8'))['policy_node']['ros__parameters']
    assert set(values) == set(PARAMETERS)
    for name, (default, _) in PARAMETERS.items():
        assert values[name] == default and type(values[name]) is type(default), name


def test_soft_start_reaches_running_and_publishes_the_policy(robot, policy):
    process, log = policy
    assert robot.run(START_TIMEOUT, lambda: robot.state() == 'running'), (
        f'state {robot.state()!r}, process rc {process.poll()}:\n{log_tail(log)}')
    robot.run(0.5)
    commands = np.asarray(robot.commands)
    reached = next(i for i, command in enumerate(commands)
                   if np.allclose(command, DEFAULT, rtol=0.0, atol=1e-9))
    # Soft start: from the measured pose (reordered from the JointState) to the default pose in
    # SOFT_START / PERIOD equal steps; the first commands may be lost to DDS discovery.
    steps = round(SOFT_START / PERIOD)
    assert 1 <= reached <= steps - 1
    for k, command in enumerate(commands[:reached]):
        alpha = (steps - reached + k) / steps
        np.testing.assert_allclose(command, POSE + alpha * (DEFAULT - POSE), atol=1e-9)
    running = commands[reached + 1:]
    assert len(running) >= 15  # 50 Hz for 0.5 s, less scheduling hiccups
    assert not np.allclose(running[-1], DEFAULT, atol=1e-6)  # the policy commands
    assert np.abs(np.diff(commands, axis=0)).max() <= 25.0 * PERIOD + 1e-9  # 25 rad/s
    assert _within_limits(robot.commands)
    assert _transitions(robot.states)[-2:] == ['soft_start', 'running']
    assert robot.latencies and 0.0 < min(robot.latencies) and max(robot.latencies) < 0.5
    values = _values(robot.diagnostics[-1])
    assert values['state'] == 'running' and float(values['latency_mean_s']) > 0.0


def test_emergency_stop_damps_and_blocks_the_reset(robot, policy):
    _ensure_running(robot, policy)
    _inject(robot, policy, lambda: robot.estop_pub.publish(Bool(data=True)), robot.pos,
            'emergency_stop')
    response = robot.reset()
    assert not response.success and 'emergency stop' in response.message
    robot.estop_pub.publish(Bool(data=False))
    robot.run(0.1)
    assert robot.reset().success
    assert robot.run(5.0, lambda: robot.state() == 'running')
    assert _transitions(robot.states)[-4:] == ['damping', 'idle', 'soft_start', 'running']


def test_stale_input_holds_the_last_target_then_settles_never_the_old_measured_pose(
        robot, policy):
    _ensure_running(robot, policy)
    _, log = policy
    robot.run(0.3)
    start = len(robot.commands)
    robot.publishing = False
    assert robot.run(3.0, lambda: robot.state() == 'damping'), log_tail(log)
    robot.run(SETTLE + 0.5)  # hold, settle, then the settled pose
    after = np.asarray(robot.commands[start:])
    # The hold: the last target, repeated for stale_hold (0.2 s: 10 periods; some may be late).
    runs = [i for i in range(1, len(after) - 3)
            if all(np.array_equal(after[i], after[i + k]) for k in range(1, 4))]
    assert runs, 'no held target'
    held_at = runs[0]
    held = after[held_at]
    settle = after[held_at:]
    np.testing.assert_allclose(settle[-1], DEFAULT, atol=1e-9)
    # Every damping target lies on the segment held -> default pose, advancing slowly; none is
    # the old measured pose.
    direction = DEFAULT - held
    alphas = (settle - held) @ direction / (direction @ direction)
    np.testing.assert_allclose(settle, held + alphas[:, None] * direction, atol=1e-9)
    assert np.all(np.diff(alphas) >= -1e-12)
    assert np.diff(alphas).max() <= PERIOD / SETTLE * 1.5 + 1e-9
    assert np.abs(settle - robot.pos).max(axis=1).min() > 1e-3
    values = _values(robot.diagnostics[-1])
    assert values['reason'] == 'stale_input' and values['degraded_target'] == 'settle'
    robot.publishing = True
    robot.run(0.2)
    assert robot.state() == 'damping'  # fresh inputs alone do not leave damping
    robot.reset_pub.publish(Empty())  # the topic form of the reset
    assert robot.run(5.0, lambda: robot.state() == 'running')


def test_non_finite_joint_position_damps(robot, policy):
    _ensure_running(robot, policy)
    held = robot.pos.copy()  # the NaN joint holds its last finite value

    def corrupt() -> None:
        robot.pos[4] = math.nan

    _inject(robot, policy, corrupt, held, 'non_finite')


def test_joint_beyond_its_limit_damps_with_clamped_targets(robot, policy):
    _ensure_running(robot, policy)
    calf = NAMES.index('FL_calf_joint')
    beyond = ROBOT.position_upper[calf] + MARGIN + 0.1
    expected = robot.pos.copy()
    expected[calf] = ROBOT.position_upper[calf] - MARGIN  # damping targets are clamped

    def overextend() -> None:
        robot.pos[calf] = beyond

    _inject(robot, policy, overextend, expected, 'position_limit')


def test_tilt_damps(robot, policy):
    _ensure_running(robot, policy)

    def roll() -> None:
        robot.quat = np.array([math.cos(0.6), math.sin(0.6), 0.0, 0.0])  # 1.2 rad

    _inject(robot, policy, roll, robot.pos, 'tilt')


def test_reset_leaves_damping_and_every_target_stayed_inside_the_limits(robot, policy):
    _ensure_running(robot, policy)
    assert _within_limits(robot.commands)
    assert all(np.all(np.isfinite(command)) for command in robot.commands)


def test_lifecycle_deactivation_holds_the_pose_then_commands_nothing(robot, policy):
    _ensure_running(robot, policy)
    deactivate = ChangeState.Request(transition=Transition(id=Transition.TRANSITION_DEACTIVATE))
    assert robot.call(robot.lifecycle_client, deactivate).success
    start = len(robot.commands)
    robot.run(0.5)
    assert robot.state() == 'idle'
    # At most one command was in flight; the last one holds the measured pose.
    assert len(robot.commands) - start <= 1
    np.testing.assert_allclose(robot.commands[-1], robot.pos, rtol=0.0, atol=1e-9)
    assert _values(robot.diagnostics[-1])['lifecycle_active'] == 'false'
    activate = ChangeState.Request(transition=Transition(id=Transition.TRANSITION_ACTIVATE))
    assert robot.call(robot.lifecycle_client, activate).success
    assert robot.run(5.0, lambda: robot.state() == 'running')
    assert _transitions(robot.states)[-3:] == ['idle', 'soft_start', 'running']


def test_a_renamed_joint_makes_the_node_refuse(context, log_dir):
    prefix = '/refusal'
    robot = FakeRobot(context, prefix)
    robot.names[robot.names.index('FL_hip_joint')] = 'FL_hip_joint_renamed'
    log = log_dir / 'refusal.log'
    process = _start_node(log, *_prefixed(prefix), params_file=False)
    try:
        assert robot.run(START_TIMEOUT, lambda: robot.state() == 'refused'), log_tail(log)
        robot.names = [NAMES[i] for i in robot.order]  # later, correct messages change nothing
        robot.run(1.5)
        assert robot.commands == []
        assert set(robot.states) <= {'idle', 'refused'} and robot.state() == 'refused'
        status = robot.diagnostics[-1]
        assert status.level == DiagnosticStatus.ERROR
        assert status.message.startswith('refused: ')
        assert "missing ['FL_hip_joint']" in status.message
        assert "extra ['FL_hip_joint_renamed']" in status.message
        assert 'refusing to activate' in log.read_text(encoding='utf-8')
        assert stop_node(process) == 0, log_tail(log)
    finally:
        stop_node(process)
        robot.close()


def test_lockstep_publishes_one_trajectory_per_joint_state(context, log_dir):
    prefix = '/lockstep'
    robot = FakeRobot(context, prefix)
    robot.publishing = False  # lock-step: this test publishes each state itself
    log = log_dir / 'lockstep.log'
    process = _start_node(log, 'mode:=lockstep', 'command_type:=trajectory',
                          'auto_activate:=false', 'watchdog_periods:=50', *_prefixed(prefix),
                          params_file=False)
    try:
        assert robot.run(START_TIMEOUT, lambda: robot.state() == 'idle'), log_tail(log)
        robot.stamp += PERIOD
        robot.publish_state()
        robot.run(0.2)
        assert robot.commands == []  # without auto_activate, idle until /policy/activate
        response = robot.call(robot.activate_client, Trigger.Request())
        assert response.success, response.message
        assert robot.state() == 'soft_start'
        # The driver publishes the joint state first: no command before the odometry of the
        # same stamp is in.
        robot.stamp += PERIOD
        robot.publish_state(odom=False)
        robot.run(0.3)
        assert robot.commands == []
        robot.publish_state(joints=False, imu=False)
        assert robot.run(2.0, lambda: len(robot.commands) == 1), log_tail(log)
        for step in range(2, 31):
            robot.stamp += PERIOD
            robot.publish_state()
            assert robot.run(2.0, lambda: len(robot.commands) >= step), log_tail(log)
        robot.run(0.2)
        assert len(robot.trajectories) == 30  # one per joint state, no more
        assert robot.state() == 'running'
        message = robot.trajectories[-1]
        assert tuple(message.joint_names) == NAMES
        period = message.points[0].time_from_start
        assert period.sec == 0 and period.nanosec == round(PERIOD * 1e9)
        soft_start = round(SOFT_START / PERIOD)
        np.testing.assert_allclose(robot.commands[0], POSE + (DEFAULT - POSE) / soft_start)
        np.testing.assert_allclose(robot.commands[soft_start - 1], DEFAULT)
        assert not np.allclose(robot.commands[-1], DEFAULT, atol=1e-6)  # the policy
        assert _within_limits(robot.commands)
    finally:
        stop_node(process)
        robot.close()


def test_the_node_exits_cleanly_on_sigterm(policy):
    process, log = policy
    assert process.poll() is None, log_tail(log)
    assert stop_node(process) == 0, log_tail(log)
    text = log.read_text(encoding='utf-8')
    assert 'configured: bundle' in text and 'Traceback' not in text
    for reason in ('emergency_stop', 'stale_input', 'non_finite', 'position_limit', 'tilt'):
        assert f'damping: {reason}: ' in text
