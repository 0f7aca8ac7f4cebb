# SPDX-License-Identifier: Apache-2.0
"""Nodes against real drivers: QoS, extra joints, TwistStamped, /diagnostics, the driver bridge.

Node processes (``python -m robot_learning.ros.<node>``) run on the private ROS domain
``DOMAIN_ID`` (loopback only); this process joins it with its own rclpy context and plays a robot
driver: best effort (``SensorDataQoS``), joint states with extra joints in its own order. The
sim-to-sim run of the TwistStamped test uses domain ``SIM_TO_SIM_DOMAIN_ID``. Timing bounds are
what a 50 Hz policy needs, far from what the machine usually does.
"""

from __future__ import annotations

import os

DOMAIN_ID = 80
"""Private ROS domain of this module (node processes and this process)."""
SIM_TO_SIM_DOMAIN_ID = 81
"""Private ROS domain of the sim-to-sim run."""
os.environ['ROS_DOMAIN_ID'] = str(DOMAIN_ID)  # before rclpy; the context below also names it

import pathlib  # noqa: E402, I100 - after the domain is set
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from typing import Callable  # noqa: E402

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus  # noqa: E402
from nav_msgs.msg import Odometry  # noqa: E402
from node_processes import log_tail, stop_node  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from rclpy.node import Node  # noqa: E402
from rclpy.qos import qos_profile_sensor_data, ReliabilityPolicy  # noqa: E402
from sensor_msgs.msg import Imu, JointState  # noqa: E402
from std_msgs.msg import Float64MultiArray, String  # noqa: E402

from robot_learning.data.bag_io import bag_info  # noqa: E402
from robot_learning.data.trajectory import load_trajectory  # noqa: E402
from robot_learning.paths import share_dir  # noqa: E402
from robot_learning.policies.contract import load_contract  # noqa: E402
from robot_learning.ros import conversions  # noqa: E402
from robot_learning.ros.node_main import EXIT_CONFIG, EXIT_OK  # noqa: E402
from robot_learning.ros.sim_to_sim import run_sim_to_sim, SimToSimConfig  # noqa: E402

pytestmark = pytest.mark.ros

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUNDLE = share_dir() / 'policies' / 'quadruped_flat'
CONTRACT = load_contract(BUNDLE)
NAMES = list(CONTRACT.joint_names)
DEFAULT = np.asarray(CONTRACT.default_joint_pos)
POSE = DEFAULT + 0.03 * np.cos(np.arange(len(NAMES)))
"""Measured pose of the fake robot [rad], contract order."""
EXTRA = ['left_gripper_joint', 'arm_joint_1', 'head_pan_joint']
"""Joints the fake driver publishes besides the contract's."""
DRIVER_PERIOD = 0.004
"""[s] the fake driver publishes at 250 Hz."""
START_TIMEOUT = 30.0
"""[s] for a node process to start and reach a state."""
NODES = ('policy_node', 'sim_bridge_node', 'recorder_node', 'excitation_node', 'search_node')


class FakeDriver:
    """A robot driver in this process: best-effort joint states (extra joints), IMU, odometry."""

    def __init__(self, context, prefix: str, names: list[str]) -> None:
        self.node = Node('fake_driver' + prefix.replace('/', '_'), context=context)
        self.executor = SingleThreadedExecutor(context=context)
        self.executor.add_node(self.node)
        self.names = names
        """Published joint names: contract joints (maybe not all) and extra ones, any order."""
        self.joint_pub = self.node.create_publisher(JointState, prefix + '/joint_states',
                                                    qos_profile_sensor_data)
        self.imu_pub = self.node.create_publisher(Imu, prefix + '/imu/data',
                                                  qos_profile_sensor_data)
        self.odom_pub = self.node.create_publisher(Odometry, prefix + '/odom',
                                                   qos_profile_sensor_data)
        self.commands: list[np.ndarray] = []
        self.states: list[str] = []
        self.diagnostics: list[DiagnosticStatus] = []
        self.node.create_subscription(Float64MultiArray, prefix + '/joint_commands',
                                      lambda m: self.commands.append(np.asarray(m.data)), 100)
        self.node.create_subscription(String, prefix + '/policy/safety_state',
                                      lambda m: self.states.append(m.data), 100)
        self.node.create_subscription(DiagnosticArray, prefix + '/diagnostics',
                                      lambda m: self.diagnostics.extend(m.status), 100)
        self.other: JointState | None = None
        """Another driver's JointState published after each of ours (e.g. a gripper)."""
        self.stamp = 0.0
        self._next = 0.0

    def publish(self) -> None:
        """Publish one joint state (values by name from POSE, 0 for extras), IMU and odometry."""
        values = dict(zip(NAMES, POSE))
        position = np.array([values.get(name, 0.0) for name in self.names])
        zeros = np.zeros(len(self.names))
        self.joint_pub.publish(conversions.joint_state_msg(
            self.stamp, self.names, position, zeros, zeros))
        if self.other is not None:
            self.joint_pub.publish(self.other)
        upright = np.array([1.0, 0.0, 0.0, 0.0])
        self.imu_pub.publish(conversions.imu_msg(
            self.stamp, upright, np.zeros(3), np.array([0.0, 0.0, 9.81])))
        self.odom_pub.publish(conversions.odometry_msg(
            self.stamp, np.array([0.0, 0.0, 0.3]), upright, np.zeros(3), np.zeros(3)))

    def run(self, duration: float, until: Callable[[], bool] | None = None) -> bool:
        """Publish at the driver rate and spin; True once ``until()`` holds."""
        deadline = time.monotonic() + duration
        while time.monotonic() < deadline:
            now = time.monotonic()
            if now >= self._next:
                self._next = max(self._next + DRIVER_PERIOD, now - DRIVER_PERIOD)
                self.stamp += DRIVER_PERIOD
                self.publish()
            self.executor.spin_once(timeout_sec=0.001)
            if until is not None and until():
                return True
        return until is None

    def state(self) -> str:
        return self.states[-1] if self.states else ''

    def close(self) -> None:
        self.executor.remove_node(self.node)
        self.node.destroy_node()
        self.executor.shutdown()


def _env() -> dict[str, str]:
    return {**os.environ, 'ROS_DOMAIN_ID': str(DOMAIN_ID),
            'ROS_AUTOMATIC_DISCOVERY_RANGE': 'LOCALHOST', 'PYTHONUNBUFFERED': '1'}


def _start(module: str, log: pathlib.Path, *parameters: str) -> subprocess.Popen:
    command = [sys.executable, '-m', f'robot_learning.ros.{module}', '--ros-args']
    for parameter in parameters:
        command += ['-p', parameter]
    with open(log, 'w', encoding='utf-8') as output:
        return subprocess.Popen(command, cwd=ROOT, env=_env(), stdout=output,
                                stderr=subprocess.STDOUT)


def _policy(log: pathlib.Path, prefix: str) -> subprocess.Popen:
    topics = {'joint_states_topic': '/joint_states', 'imu_topic': '/imu/data',
              'odom_topic': '/odom',
              'command_topic': '/joint_commands', 'state_topic': '/policy/safety_state',
              'diagnostics_topic': '/policy/state', 'ros_diagnostics_topic': '/diagnostics',
              'cmd_vel_topic': '/cmd_vel', 'estop_topic': '/emergency_stop',
              'reset_topic': '/policy/reset', 'reset_service': '/policy/reset',
              'activate_service': '/policy/activate'}
    return _start('policy_node', log, f'bundle:={BUNDLE}', 'soft_start_duration:=1.5',
                  'watchdog_periods:=10.0',
                  *(f'{key}:={prefix}{value}' for key, value in topics.items()))


@pytest.fixture
def driver_factory(context):
    drivers = []

    def make(prefix: str, names: list[str]) -> FakeDriver:
        drivers.append(FakeDriver(context, prefix, names))
        return drivers[-1]

    yield make
    for driver in drivers:
        driver.close()


@pytest.mark.parametrize('module', NODES)
def test_help_prints_the_parameter_table_and_starts_nothing(module):
    import importlib

    parameters = importlib.import_module(f'robot_learning.ros.{module}').PARAMETERS
    result = subprocess.run([sys.executable, '-m', f'robot_learning.ros.{module}', '--help'],
                            env=_env(), capture_output=True, text=True, timeout=60)
    assert result.returncode == EXIT_OK, result.stderr
    for name, (default, _) in parameters.items():
        assert f'  {name} ' in result.stdout and repr(default) in result.stdout, name
    assert 'exit codes: 0 clean stop, 1 runtime fault, 2 configuration error' in result.stdout
    assert 'rmw' not in result.stdout + result.stderr  # ROS never started


def test_configuration_errors_exit_2_with_the_message(tmp_path):
    cases = [
        ('policy_node', [f'bundle:={tmp_path / "no_bundle"}'], 'no_bundle'),
        ('policy_node', [f'bundle:={BUNDLE}', 'joint_states_qos:=fast'], 'joint_states_qos'),
        ('policy_node', [f'bundle:={BUNDLE}', 'cmd_vel_type:=twist_with_covariance'],
         'twist_stamped'),
        ('sim_bridge_node', ['reality:=no_such_reality'], 'no_such_reality'),
        ('sim_bridge_node', ['driver:=true', 'lockstep:=true'], 'choose one mode'),
    ]
    for module, parameters, expected in cases:
        command = [sys.executable, '-m', f'robot_learning.ros.{module}', '--ros-args']
        for parameter in parameters:
            command += ['-p', parameter]
        result = subprocess.run(command, env=_env(), capture_output=True, text=True,
                                timeout=120)
        assert result.returncode == EXIT_CONFIG, (module, parameters, result.stderr)
        assert 'configuration error' in result.stderr and expected in result.stderr, (
            module, parameters, result.stderr)


def test_best_effort_driver_with_extra_joints_drives_the_node_to_running(
        driver_factory, tmp_path):
    prefix = '/be'
    order = list(np.random.default_rng(1).permutation(len(NAMES)))
    names = [EXTRA[0]] + [NAMES[i] for i in order[:6]] + EXTRA[1:] + [NAMES[i] for i in order[6:]]
    driver = driver_factory(prefix, names)
    # Another driver's JointState (no contract joint) on the same topic is ignored.
    driver.other = JointState(name=['gripper_left', 'gripper_right'], position=[0.01, 0.01])
    log = tmp_path / 'policy.log'
    process = _policy(log, prefix)
    try:
        assert driver.run(START_TIMEOUT, lambda: driver.state() == 'running'), (
            f'state {driver.state()!r}:\n{log_tail(log)}')
        # The node subscribed best effort: the publisher's SensorDataQoS connected.
        assert driver.joint_pub.get_subscription_count() == 1
        info = driver.node.get_subscriptions_info_by_topic(prefix + '/joint_states')
        assert info[0].qos_profile.reliability == ReliabilityPolicy.BEST_EFFORT
        driver.run(0.5)
        # Soft-start targets lie on the segment from the measured pose (picked by name out of
        # the driver's order) to the default pose: the same fraction for every joint.
        soft = [command for command in driver.commands
                if not np.allclose(command, DEFAULT, atol=1e-9)][:5]
        assert soft
        for command in soft:
            fraction = (command - POSE) / (DEFAULT - POSE)
            np.testing.assert_allclose(fraction, fraction[0], atol=1e-6)
        assert not np.allclose(driver.commands[-1], DEFAULT, atol=1e-6)  # the policy commands
        # /diagnostics: WARN in soft start, OK running; hardware_id is the robot.
        levels = {status.message: status.level for status in driver.diagnostics}
        assert levels.get('soft_start') == DiagnosticStatus.WARN
        assert driver.run(3.0, lambda: driver.diagnostics[-1].message == 'running')
        status = driver.diagnostics[-1]
        assert status.level == DiagnosticStatus.OK and status.hardware_id == CONTRACT.robot
        text = log.read_text(encoding='utf-8')
        assert 'extra joints ignored' in text and 'name none of the contract joints' in text
        assert stop_node(process) == EXIT_OK, log_tail(log)
    finally:
        stop_node(process)


def test_a_missing_joint_is_refused_by_name(driver_factory, tmp_path):
    prefix = '/missing'
    names = [name for name in NAMES if name != 'RL_calf_joint'] + EXTRA
    driver = driver_factory(prefix, names)
    log = tmp_path / 'policy.log'
    process = _policy(log, prefix)
    try:
        assert driver.run(START_TIMEOUT, lambda: driver.state() == 'refused'), log_tail(log)
        driver.run(1.5)  # /diagnostics at 1 Hz
        assert driver.commands == [] and driver.state() == 'refused'
        status = driver.diagnostics[-1]
        assert status.level == DiagnosticStatus.ERROR
        assert "missing ['RL_calf_joint']" in status.message
        assert "missing ['RL_calf_joint']" in log.read_text(encoding='utf-8')
    finally:
        stop_node(process)


def test_driver_bridge_publishes_at_its_rate_with_extra_joints(context, tmp_path):
    rate = 500.0
    log = tmp_path / 'bridge.log'
    process = _start('sim_bridge_node', log, 'driver:=true', f'driver_rate_hz:={rate}',
                     'joint_states_topic:=/driver/joint_states', 'imu_topic:=/driver/imu/data',
                     'odom_topic:=/driver/odom', 'command_topic:=/driver/joint_commands',
                     'trajectory_topic:=/driver/joint_trajectory')
    node = Node('driver_probe', context=context)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    received: list[tuple[float, JointState]] = []
    imu: list[Imu] = []
    node.create_subscription(JointState, '/driver/joint_states',
                             lambda m: received.append((time.monotonic(), m)),
                             qos_profile_sensor_data)
    node.create_subscription(Imu, '/driver/imu/data', imu.append, qos_profile_sensor_data)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while len(received) < 50 and time.monotonic() < deadline:
            executor.spin_once(timeout_sec=0.01)
        assert len(received) >= 50, log_tail(log)
        publishers = node.get_publishers_info_by_topic('/driver/joint_states')
        assert publishers[0].qos_profile.reliability == ReliabilityPolicy.BEST_EFFORT
        start = len(received)
        wall_start = time.monotonic()
        while time.monotonic() < wall_start + 3.0:
            executor.spin_once(timeout_sec=0.01)
        window = received[start:]
        measured = len(window) / (window[-1][0] - window[0][0])
        # About its rate: far above the 50 Hz a policy needs, never above the set rate.
        assert 0.4 * rate < measured < 1.1 * rate, f'{measured:.0f} Hz\n{log_tail(log)}'
        assert len(imu) > 0.4 * rate * 3.0
        robot_names = list(load_contract(BUNDLE).joint_names)
        message = window[-1][1]
        assert sorted(message.name) == sorted(robot_names + [
            'head_pan_joint', 'head_tilt_joint', 'gripper_finger_joint'])
        assert [name for name in message.name if name in robot_names] != robot_names
        assert all(list(m.name) == list(message.name) for _, m in window)  # a fixed order
        stamps = np.array([conversions.time_seconds(m.header.stamp) for _, m in window])
        assert np.all(np.diff(stamps) > 0.0)
        # Stamps from the bridge's clock (real time): about the publication period apart.
        assert 0.5 / rate < np.median(np.diff(stamps)) < 2.0 / rate
        assert stop_node(process) == EXIT_OK, log_tail(log)
        assert 'messages dropped' in log.read_text(encoding='utf-8')
    finally:
        stop_node(process)
        executor.remove_node(node)
        node.destroy_node()
        executor.shutdown()


def test_twist_stamped_moves_the_robot_in_sim_to_sim(tmp_path):
    output = tmp_path / 'run'
    config = SimToSimConfig(bundle=str(BUNDLE), output=str(output),
                            domain_id=SIM_TO_SIM_DOMAIN_ID, cmd_vel_type='twist_stamped',
                            profile=((3.0, 0.5, 0.0, 0.0), (2.5, 0.8, 0.0, 0.0)),
                            bridge_parameters={'lockstep': True, 'lockstep_timeout': 0.1},
                            policy_parameters={'watchdog_periods': 50.0, 'mode': 'lockstep'})
    report = run_sim_to_sim(config)
    assert report['metrics']['lin_vel_error'] < 0.15
    info = bag_info(output / 'bag')
    assert info.topics['/cmd_vel'].msgtype == 'geometry_msgs/msg/TwistStamped'
    # The base velocity follows the stamped command: 0.8 m/s reached in the second segment.
    trajectory = load_trajectory(output / 'trajectory.npz')
    fast = np.isclose(trajectory.commands[:, 0], 0.8)
    assert fast.sum() > 50
    speed = np.linalg.norm(trajectory.base_lin_vel[fast][-50:, :2], axis=1)
    assert abs(np.mean(speed) - 0.8) < 0.2


def test_the_shell_exits_0_when_done_and_1_on_a_runtime_fault(capsys):
    from robot_learning.ros.node_main import EXIT_FAULT, NodeProgram, run

    def make(fail: bool):
        def create(context) -> Node:
            node = Node('shell_probe', context=context)
            node.ticks = 0

            def tick() -> None:
                node.ticks += 1
                if fail and node.ticks == 3:
                    raise RuntimeError('sensor driver exploded')

            node.create_timer(0.01, tick)
            return node
        return create

    closed = []
    done = NodeProgram(name='shell_probe', summary='probe', parameters={}, create=make(False),
                       finished=lambda node: node.ticks >= 5, close=closed.append)
    assert run(done, ['shell_probe']) == EXIT_OK
    assert len(closed) == 1 and closed[0].ticks == 5
    faulty = NodeProgram(name='shell_probe', summary='probe', parameters={}, create=make(True),
                         close=closed.append)
    assert run(faulty, ['shell_probe']) == EXIT_FAULT
    assert len(closed) == 2  # closed after the fault too
    assert 'sensor driver exploded' in capsys.readouterr().err
