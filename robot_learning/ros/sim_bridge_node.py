# SPDX-License-Identifier: Apache-2.0
"""The sim bridge: a reality's simulated robot (``config/reality/``), published like a driver.

Publishes, every control period and all stamped with the same simulation time:

- ``/joint_states`` (sensor_msgs/JointState): the robot's joints in the robot spec's order,
  position [rad], velocity [rad/s] and actuator effort [N·m];
- ``/imu/data`` (sensor_msgs/Imu): base orientation, base-frame gyro [rad/s] and base-frame
  specific force [m/s²] (a finite difference of the world-frame base velocity over the control
  period, ``conversions.specific_force``; +9.81 on z at rest, zero acceleration on the first
  state and after a reset);
- ``/odom`` (nav_msgs/Odometry): ground-truth base pose in the world and base-frame twist, as a
  motion-capture system would give;
- ``/clock`` (rosgraph_msgs/Clock): the simulation time. The bridge is the clock source, so its
  own timers run on the steady wall clock whatever ``use_sim_time`` says.

``/joint_states`` is published last, as it is the lock-step trigger. Time starts at 0 s and
advances by exactly ``control_dt`` (the reality's ``sim_dt * decimation``) per step.

Consumes joint position targets in the ros2_control forward-controller convention:
``/joint_commands`` (std_msgs/Float64MultiArray in robot joint order) and ``/joint_trajectory``
(trajectory_msgs/JointTrajectory, first point, reordered by ``joint_names``). A message with a
non-finite value, the wrong length or missing joints is ignored whole, with a throttled warning.
Until the first command arrives the targets are the robot's default pose (a robot's own
stand-up controller). PD control runs at the physics rate inside the backend.

Modes:

- real time (default): a wall-clock timer with period ``control_dt / real_time_factor`` steps
  the robot with the latest targets and publishes its state;
- lock-step (``lockstep: true``): once ``/joint_states`` has a subscriber (any subscriber: start
  the controller before a recorder), publish state 0; then every valid command message
  advances exactly one control period with its targets and publishes the next state, so N
  commands give N + 1 states, and the same commands give the same states (commands received
  before state 0 are applied in order right after it). With no command for
  ``lockstep_timeout`` seconds (0 waits forever) the bridge steps with the held targets, warns
  and counts it; a controller that misses a state is thereby not deadlocked.

A non-finite simulator state (or an engine failure) is logged as an error and counted; the robot
is reset to its default pose, with default-pose targets. ``duration`` > 0 stops the bridge
cleanly after that much simulation time.
"""

from __future__ import annotations

import collections
import signal
import time
from typing import Any

from nav_msgs.msg import Odometry
import numpy as np
from rcl_interfaces.msg import ParameterDescriptor
import rclpy
from rclpy.clock import Clock, ClockType
from rclpy.duration import Duration
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.logging import get_logger
from rclpy.node import Node
from rclpy.signals import SignalHandlerOptions
from rosgraph_msgs.msg import Clock as ClockMessage
from sensor_msgs.msg import Imu, JointState
from std_msgs.msg import Float64MultiArray
from trajectory_msgs.msg import JointTrajectory

from robot_learning.config import ConfigError
from robot_learning.ros import conversions
from robot_learning.sim.base import SimState, SimulationError
from robot_learning.sim.reality import load_reality, make_reality_backend

NODE_NAME = 'sim_bridge'

PARAMETERS: dict[str, tuple[Any, str]] = {
    'reality': ('quadruped_pybullet_nominal',
                'Reality name (config/reality/<name>.yaml) or the path of a reality YAML file.'),
    'lockstep': (False, 'Step once per received command instead of on a wall-clock timer.'),
    'lockstep_timeout': (1.0, 'Lock-step: step with the held targets after this many seconds '
                              'without a command [s]; 0 waits forever.'),
    'real_time_factor': (1.0, 'Real-time mode: simulated seconds per wall-clock second; the '
                              'timer period is control_dt / real_time_factor.'),
    'duration': (0.0, 'Stop cleanly after this much simulation time [s]; 0 runs forever.'),
    'joint_states_topic': ('/joint_states', 'sensor_msgs/JointState output.'),
    'imu_topic': ('/imu/data', 'sensor_msgs/Imu output.'),
    'odom_topic': ('/odom', 'nav_msgs/Odometry (ground truth) output.'),
    'command_topic': ('/joint_commands', 'std_msgs/Float64MultiArray joint targets input, '
                                         'robot joint order.'),
    'trajectory_topic': ('/joint_trajectory', 'trajectory_msgs/JointTrajectory joint targets '
                                              'input, reordered by joint name.'),
    'imu_frame_id': ('imu_link', 'frame_id of the Imu messages.'),
    'odom_frame_id': ('odom', 'frame_id (world) of the Odometry messages.'),
    'base_frame_id': ('base_link', 'child_frame_id (robot base) of the Odometry messages.'),
}
"""Parameter name -> (default, description); config/nodes/sim_bridge.yaml holds the same
defaults. All are read once at start-up (read-only)."""

QOS_DEPTH = 10
"""History depth of every publisher and subscription (reliable, volatile)."""
WARN_PERIOD = 2.0
"""Smallest interval between two warnings of the same kind [s]."""


class SimBridgeNode(Node):
    """Steps a one-environment reality backend and publishes it like a robot driver."""

    def __init__(self, **kwargs: Any) -> None:
        """Load the reality and create publishers, subscriptions and timers.

        Args:
            **kwargs: passed to ``rclpy.node.Node`` (e.g. ``context``, ``parameter_overrides``).

        Raises:
            ConfigError: unknown reality, invalid reality file or invalid parameter values.
        """
        super().__init__(NODE_NAME, **kwargs)
        try:
            self._setup()
        except BaseException:
            if getattr(self, 'backend', None) is not None:
                self.backend.close()
            self.destroy_node()
            raise

    def _setup(self) -> None:
        """Read the parameters, build the backend, create the ROS entities."""
        for name, (default, description) in PARAMETERS.items():
            self.declare_parameter(name, default, ParameterDescriptor(
                description=description, read_only=True,
                dynamic_typing=isinstance(default, float)))
        self.reality = load_reality(str(self._param('reality')))
        self.lockstep = bool(self._param('lockstep'))
        self.lockstep_timeout = self._number('lockstep_timeout', minimum=0.0)
        self.real_time_factor = self._number('real_time_factor', minimum=0.0, open_min=True)
        self.duration = self._number('duration', minimum=0.0)
        self._command_topic = str(self._param('command_topic'))
        self._trajectory_topic = str(self._param('trajectory_topic'))
        self._imu_frame_id = str(self._param('imu_frame_id'))
        self._odom_frame_id = str(self._param('odom_frame_id'))
        self._base_frame_id = str(self._param('base_frame_id'))

        self.backend = make_reality_backend(self.reality)
        self.robot = self.backend.robot
        self.control_dt = self.backend.control_dt
        """Control period [s]: simulation time between two published states."""
        self.joint_names = list(self.robot.joint_names)
        self._default_targets = np.asarray(self.robot.default_joint_pos, dtype=float).copy()
        self.targets = self._default_targets.copy()
        """Joint position targets held by the PD loop (J,) [rad], robot joint order."""
        self._pending: collections.deque[np.ndarray] = collections.deque()
        self._state: SimState = self.backend.get_state()
        self._previous_velocity: np.ndarray | None = None

        self.step_count = 0
        """Control steps taken; the latest state's time is step_count * control_dt."""
        self.done = False
        """True once ``duration`` of simulation time has been published."""
        self.nonfinite_resets = 0
        """Resets after a non-finite simulator state or an engine failure."""
        self.ignored_commands = 0
        """Command messages ignored (non-finite values, wrong length, missing joints)."""
        self.lockstep_timeouts = 0
        """Lock-step steps taken without a command."""
        self._started = False
        self._wall_start = 0.0
        self._cost_total = 0.0
        self._recent_costs: collections.deque[float] = collections.deque(maxlen=1000)
        """Wall time of the latest step + publish calls [s]."""

        self._clock_publisher = self.create_publisher(ClockMessage, '/clock', QOS_DEPTH)
        self._imu_publisher = self.create_publisher(Imu, self._param('imu_topic'), QOS_DEPTH)
        self._odom_publisher = self.create_publisher(
            Odometry, self._param('odom_topic'), QOS_DEPTH)
        self._joint_publisher = self.create_publisher(
            JointState, self._param('joint_states_topic'), QOS_DEPTH)
        self.create_subscription(Float64MultiArray, self._command_topic,
                                 self._on_joint_commands, QOS_DEPTH)
        self.create_subscription(JointTrajectory, self._trajectory_topic,
                                 self._on_joint_trajectory, QOS_DEPTH)

        if self.get_parameter('use_sim_time').value:
            self.get_logger().warning('use_sim_time is true, but the bridge is the /clock '
                                      'source: its timers keep running on the wall clock')
        # The bridge drives /clock, so its timers must never wait on ROS (sim) time.
        steady = Clock(clock_type=ClockType.STEADY_TIME)
        self._timeout_timer = None
        if self.lockstep:
            self._start_timer = self.create_timer(0.02, self._try_start, clock=steady)
            if self.lockstep_timeout > 0.0:
                self._timeout_timer = self.create_timer(
                    self.lockstep_timeout, self._on_lockstep_timeout, clock=steady,
                    autostart=False)
            mode = (f'lock-step (timeout {self.lockstep_timeout:g} s)'
                    if self.lockstep_timeout > 0.0 else 'lock-step (no timeout)')
        else:
            self._tick_timer = self.create_timer(
                self.control_dt / self.real_time_factor, self._on_tick, clock=steady)
            mode = f'real time x{self.real_time_factor:g}'
        self.get_logger().info(
            f"reality '{self.reality.name}': robot '{self.robot.name}' on "
            f'{self.reality.backend}, control_dt {self.control_dt:g} s, {mode}')

    # -- parameters -------------------------------------------------------------------------

    def _param(self, name: str) -> Any:
        return self.get_parameter(name).value

    def _number(self, name: str, minimum: float, open_min: bool = False) -> float:
        """Return parameter ``name`` as a float; ConfigError if not a number above ``minimum``."""
        value = self._param(name)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f'parameter {name} must be a number, got {value!r}')
        value = float(value)
        if not np.isfinite(value) or value < minimum or (open_min and value == minimum):
            bound = '>' if open_min else '>='
            raise ConfigError(f'parameter {name} must be finite and {bound} {minimum:g}, '
                              f'got {value:g}')
        return value

    # -- simulation -------------------------------------------------------------------------

    @property
    def sim_time(self) -> float:
        """Simulation time of the latest state [s]."""
        return self.step_count * self.control_dt

    def advance(self) -> None:
        """Step one control period toward the held targets and publish the new state.

        A non-finite state or an engine failure resets the robot to its default pose (with
        default-pose targets), logs an error and increments ``nonfinite_resets``.
        """
        start = time.perf_counter()
        self._previous_velocity = self._state.base_lin_vel[0].copy()
        failure = ''
        try:
            self.backend.step(self.targets[None])
            state = self.backend.get_state()
            if not state.is_finite()[0]:
                failure = 'non-finite simulator state'
        except SimulationError as error:
            failure = str(error)
        self.step_count += 1
        if failure:
            self.nonfinite_resets += 1
            self.get_logger().error(
                f'{failure} at t = {self.sim_time:.3f} s; resetting the robot to its default '
                f'pose (reset {self.nonfinite_resets})')
            self.backend.reset(np.arange(1))
            state = self.backend.get_state()
            self.targets = self._default_targets.copy()
            self._previous_velocity = None
        self._state = state
        self._publish_state()
        cost = time.perf_counter() - start
        self._cost_total += cost
        self._recent_costs.append(cost)
        if self.duration > 0.0 and self.sim_time >= self.duration - 1e-9:
            self.done = True

    def _publish_state(self) -> None:
        """Publish /clock, /imu/data, /odom and then /joint_states for the latest state."""
        state, stamp = self._state, self.sim_time
        quat, velocity = state.base_quat[0], state.base_lin_vel[0]
        if self._previous_velocity is None:
            acceleration = np.zeros(3)
        else:
            acceleration = (velocity - self._previous_velocity) / self.control_dt
        self._clock_publisher.publish(conversions.clock_msg(stamp))
        self._imu_publisher.publish(conversions.imu_msg(
            stamp, quat, state.base_ang_vel[0], conversions.specific_force(quat, acceleration),
            frame_id=self._imu_frame_id))
        self._odom_publisher.publish(conversions.odometry_msg(
            stamp, state.base_pos[0], quat, velocity, state.base_ang_vel[0],
            frame_id=self._odom_frame_id, child_frame_id=self._base_frame_id))
        self._joint_publisher.publish(conversions.joint_state_msg(
            stamp, self.joint_names, state.joint_pos[0], state.joint_vel[0],
            state.joint_torque[0]))

    # -- commands ---------------------------------------------------------------------------

    def _on_joint_commands(self, message: Float64MultiArray) -> None:
        topic = self._command_topic
        values = np.asarray(message.data, dtype=float)
        if values.shape != (len(self.joint_names),):
            self._ignore(f'{topic}: expected {len(self.joint_names)} targets in the order '
                         f'{self.joint_names}, got {values.size}')
            return
        self._accept(values, topic)

    def _on_joint_trajectory(self, message: JointTrajectory) -> None:
        topic = self._trajectory_topic
        try:
            values = conversions.trajectory_targets(message, self.joint_names)
        except (KeyError, ValueError, IndexError) as error:
            self._ignore(f'{topic}: {error}')
            return
        self._accept(values, topic)

    def _accept(self, values: np.ndarray, topic: str) -> None:
        if not np.all(np.isfinite(values)):
            self._ignore(f'{topic}: non-finite joint target')
            return
        if not self.lockstep:
            self.targets = values
            return
        self._pending.append(values)
        if self._started:
            self._drain()

    def _ignore(self, reason: str) -> None:
        self.ignored_commands += 1
        self.get_logger().warning(f'{reason}; command ignored ({self.ignored_commands} so far)',
                                  throttle_duration_sec=WARN_PERIOD)

    # -- timers -----------------------------------------------------------------------------

    def _on_tick(self) -> None:
        """Real-time mode: publish state 0 on the first tick, then step on every tick."""
        if self.done:
            return
        if not self._started:
            self._start()
            return
        self.advance()
        cost = self._recent_costs[-1]
        if cost > self.control_dt / self.real_time_factor:
            self.get_logger().warning(
                f'a control step took {cost * 1e3:.2f} ms, more than the timer period: '
                'running slower than the requested real-time factor',
                throttle_duration_sec=WARN_PERIOD)

    def _try_start(self) -> None:
        """Lock-step mode: publish state 0 once /joint_states has a subscriber."""
        if self._joint_publisher.get_subscription_count() == 0:
            self.get_logger().info(
                f'lock-step: waiting for a subscriber on {self._joint_publisher.topic_name}',
                once=True)
            return
        self._start_timer.cancel()
        self._start()
        self._drain()

    def _start(self) -> None:
        self._started = True
        self._wall_start = time.perf_counter()
        self._publish_state()
        if self._timeout_timer is not None:
            self._timeout_timer.reset()

    def _drain(self) -> None:
        """Lock-step: take one control step per queued command, in arrival order."""
        while self._pending and not self.done:
            self.targets = self._pending.popleft()
            self.advance()
            if self._timeout_timer is not None:
                self._timeout_timer.reset()

    def _on_lockstep_timeout(self) -> None:
        if self.done:
            return
        self.lockstep_timeouts += 1
        self.get_logger().warning(
            f'lock-step: no command for {self.lockstep_timeout:g} s at t = '
            f'{self.sim_time:.3f} s; stepping with the held targets '
            f'({self.lockstep_timeouts} timeouts so far)', throttle_duration_sec=WARN_PERIOD)
        self.advance()

    # -- shutdown ---------------------------------------------------------------------------

    def summary(self) -> str:
        """Return one line of run statistics: real-time factor, step cost, resets."""
        wall = time.perf_counter() - self._wall_start if self._started else 0.0
        text = (f'{self.step_count} control steps ({self.sim_time:.3f} s simulated) in '
                f'{wall:.3f} s wall')
        if wall > 0.0:
            text += f', real-time factor {self.sim_time / wall:.2f}'
        if self.step_count:
            mean = self._cost_total / self.step_count
            recent = np.percentile(np.asarray(self._recent_costs), 99)
            text += (f'; step + publish {mean * 1e3:.3f} ms mean, {recent * 1e3:.3f} ms p99 of '
                     f'the last {len(self._recent_costs)} (up to {1.0 / mean:.0f} Hz control)')
        return (text + f'; non-finite resets {self.nonfinite_resets}, ignored commands '
                f'{self.ignored_commands}, lock-step timeouts {self.lockstep_timeouts}')

    def close(self, flush_timeout: float = 1.0) -> None:
        """Log the run statistics, wait for subscribers to acknowledge, release the engine."""
        self.get_logger().info(self.summary())
        if self.context.ok():
            for publisher in (self._clock_publisher, self._imu_publisher, self._odom_publisher,
                              self._joint_publisher):
                publisher.wait_for_all_acked(Duration(seconds=flush_timeout))
        self.backend.close()


def main(args: list[str] | None = None) -> None:
    """Run the sim bridge until Ctrl-C, SIGTERM, shutdown, or ``duration`` of simulation time.

    SIGINT and SIGTERM stop the loop with the ROS context still valid, so the bridge logs its
    statistics and releases the engine before rclpy shuts down.
    """
    try:
        with rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO):
            # Even where the parent ignores SIGINT (background jobs of a non-interactive shell).
            for signal_number in (signal.SIGINT, signal.SIGTERM):
                signal.signal(signal_number, signal.default_int_handler)
            try:
                node = SimBridgeNode()
            except ConfigError as error:
                get_logger(NODE_NAME).fatal(str(error))
                raise SystemExit(1) from None
            executor = SingleThreadedExecutor()
            executor.add_node(node)
            try:
                while rclpy.ok() and not node.done:
                    executor.spin_once(timeout_sec=0.1)
            finally:
                node.close()
                executor.remove_node(node)
                node.destroy_node()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass


if __name__ == '__main__':
    main()
