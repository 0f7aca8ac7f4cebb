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

Once at start-up, ``/robot_description`` (std_msgs/String, reliable, transient local: a
subscriber that joins later still gets it, as from robot_state_publisher): the robot's URDF
text (``robots/description.py``: the resolved file of a ``pybullet_data:`` or xacro robot,
relative mesh file names made absolute ``file://`` URIs). An empty
``robot_description_topic`` turns it off (when robot_state_publisher runs beside the bridge).

``/joint_states`` is published last, as it is the lock-step trigger. Time starts at 0 s and
advances by exactly ``control_dt`` (the reality's ``sim_dt * decimation``) per step.

Consumes joint position targets in the ros2_control forward-controller convention:
``/joint_commands`` (std_msgs/Float64MultiArray in robot joint order) and ``/joint_trajectory``
(trajectory_msgs/JointTrajectory, first point, reordered by ``joint_names``). A message with a
non-finite value, the wrong length or missing joints is ignored whole, with a throttled warning.
Until the first command arrives the targets are the robot's default pose (a robot's own
stand-up controller). PD control runs at the physics rate inside the backend.

Per-joint gains, as low-level quadruped drivers take them (Unitree's LowCmd: q, dq, kp, kd, tau
per motor): ``/joint_pd_commands`` (std_msgs/Float64MultiArray ``[q (J), kp (J), kd (J)]``,
robot joint order) sets the targets and the PD gains of the physics-rate loop; kp 0 with kd > 0
is true damping. The simulated motors have one kp scale and one kd scale per robot (the
backends' ``kp_scale`` / ``kd_scale``, on top of the reality's), so the gains must be the same
multiple of the robot's nominal kp (and kd) for every joint, else the message is ignored with a
warning. A position-only command (``/joint_commands``, ``/joint_trajectory``) restores the
nominal gains.

Fault injection (tests and ``benchmarks/fault_matrix.py``): a std_msgs/String on
``fault_topic`` switches what the bridge publishes, the physics running on:
``joint_states_stopped`` (no JointState), ``paused`` (no JointState, IMU or odometry: a hung
driver), ``joint_renamed`` (the first robot joint published as ``<name>_renamed``),
``frozen_stamps`` (the JointState at the switch re-published unchanged, stamp included: a driver
re-publishing its last message), ``none`` or empty (healthy), ``reset`` (healthy, and the robot
put back on its default pose with default-pose targets and nominal gains, for repeated runs).
``ground_truth_topic`` (default empty: off) publishes the base odometry at most every 20 ms of
bridge clock whatever the fault, for fall detection.
``joint_velocity: false`` publishes JointStates with an empty velocity field (legal in ROS 2).

Modes:

- real time (default): a wall-clock timer with period ``control_dt / real_time_factor`` steps
  the robot with the latest targets and publishes its state;
- driver (``driver: true``; the default of ``robot-learning demo`` and ``run_sim_to_sim``): the
  bridge behaves like a robot's driver. The physics steps on the wall clock (times
  ``real_time_factor``) at the reality's own ``sim_dt`` (one physics step per backend step;
  targets apply at the next physics step); ``/joint_states``, ``/imu/data`` and ``/odom`` are
  published at ``driver_rate_hz`` (default 500 Hz) with the latest physics state, each late by
  a random 0..``driver_jitter`` s and each dropped with probability ``driver_drop_rate``
  (``driver_seed`` seeds both), best effort (``SensorDataQoS``), stamped with the bridge's
  clock at publication (also published on ``/clock`` every tick). The JointState carries
  ``driver_extra_joints`` (position 0) besides the robot's joints, all in a shuffled order
  (``driver_shuffle``) that is fixed for the run: a consumer must pick joints by name;
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

QoS: ``state_qos`` for the joint state, IMU and odometry publishers (default: ``sensor_data``
in driver mode, ``reliable`` otherwise), ``command_qos`` for the command subscriptions
(default ``reliable``, as ros2_control's forward controllers); see ``ros/qos.py``.
"""

from __future__ import annotations

import collections
import dataclasses
import time
from typing import Any

from nav_msgs.msg import Odometry
import numpy as np
from rclpy.clock import Clock, ClockType
from rclpy.duration import Duration
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from rosgraph_msgs.msg import Clock as ClockMessage
from sensor_msgs.msg import Imu, JointState
from std_msgs.msg import Float64MultiArray, String
from trajectory_msgs.msg import JointTrajectory

from robot_learning.config import ConfigError
from robot_learning.robots.description import robot_description
from robot_learning.ros import conversions
from robot_learning.ros.node_main import declare_parameters, NodeProgram, run
from robot_learning.ros.qos import qos_profile
from robot_learning.sim.base import SimState, SimulationError
from robot_learning.sim.reality import load_reality, make_reality_backend

NODE_NAME = 'sim_bridge'

PARAMETERS: dict[str, tuple[Any, str]] = {
    'reality': ('quadruped_pybullet_nominal',
                'Reality name (config/reality/<name>.yaml) or the path of a reality YAML file.'),
    'lockstep': (False, 'Step once per received command instead of on a wall-clock timer.'),
    'driver': (False, 'Driver mode: physics on the wall clock at sim_dt, state published at '
                      'driver_rate_hz with jitter, drops, extra joints, best effort.'),
    'driver_rate_hz': (500.0, 'Driver mode: state publication rate [Hz].'),
    'driver_jitter': (0.0003, 'Driver mode: each publication is late by a uniform random '
                              '0..driver_jitter [s].'),
    'driver_drop_rate': (0.01, 'Driver mode: probability that a state message (each topic on '
                               'its own) is not published.'),
    'driver_extra_joints': (['head_pan_joint', 'head_tilt_joint', 'gripper_finger_joint'],
                            'Driver mode: joints published besides the robot joints, at '
                            'position 0.'),
    'driver_shuffle': (True, 'Driver mode: publish the joints in a shuffled order (fixed for '
                             'the run).'),
    'driver_seed': (0, 'Driver mode: seed of the jitter, the drops and the shuffle.'),
    'state_qos': ('', 'QoS of the state publishers: sensor_data, best_effort or reliable '
                      "(':<depth>'); empty: sensor_data in driver mode, else reliable."),
    'command_qos': ('reliable', 'QoS of the command subscriptions.'),
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
    'gains_command_topic': ('/joint_pd_commands', 'std_msgs/Float64MultiArray [q (J), kp (J), '
                                                  'kd (J)] input, robot joint order.'),
    'fault_topic': ('/sim_bridge/fault', 'std_msgs/String fault injection input (see the '
                                         'module docstring).'),
    'ground_truth_topic': ('', 'nav_msgs/Odometry ground truth output, never faulted; empty: '
                               'not published.'),
    'joint_velocity': (True, 'Fill the JointState velocity field (false: leave it empty).'),
    'imu_frame_id': ('imu_link', 'frame_id of the Imu messages.'),
    'odom_frame_id': ('odom', 'frame_id (world) of the Odometry messages.'),
    'base_frame_id': ('base_link', 'child_frame_id (robot base) of the Odometry messages.'),
    'robot_description_topic': ('/robot_description',
                                'std_msgs/String output (transient local, once): the URDF '
                                'text; empty: not published.'),
}
"""Parameter name -> (default, description); config/nodes/sim_bridge.yaml holds the same
defaults. All are read once at start-up (read-only)."""

QOS_DEPTH = 10
"""History depth of /clock (reliable, volatile)."""
DESCRIPTION_QOS = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                             durability=DurabilityPolicy.TRANSIENT_LOCAL)
"""/robot_description: latched, as robot_state_publisher publishes it."""
FAULTS = ('none', 'joint_states_stopped', 'paused', 'joint_renamed', 'frozen_stamps')
"""Values of the fault injection topic ('' means 'none')."""
GROUND_TRUTH_PERIOD = 0.02
"""Smallest bridge-clock interval between two ground-truth messages [s]."""
WARN_PERIOD = 2.0
"""Smallest interval between two warnings of the same kind [s]."""
MAX_CATCH_UP = 0.1
"""Driver mode: when the physics lags the wall clock by more than this [s], the lag is given
up (the simulation slows down) instead of stepping it all at once."""


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
        declare_parameters(self, PARAMETERS, read_only=True)
        self.reality = load_reality(str(self._param('reality')))
        self.lockstep = bool(self._param('lockstep'))
        self.driver = bool(self._param('driver'))
        if self.driver and self.lockstep:
            raise ConfigError('parameters driver and lockstep are both true; choose one mode')
        self.driver_rate = self._number('driver_rate_hz', minimum=0.0, open_min=True)
        self.driver_jitter = self._number('driver_jitter', minimum=0.0)
        self.driver_drop_rate = self._number('driver_drop_rate', minimum=0.0)
        if self.driver_drop_rate >= 1.0:
            raise ConfigError(f'parameter driver_drop_rate must be below 1, got '
                              f'{self.driver_drop_rate:g}')
        self._rng = np.random.default_rng(int(self._param('driver_seed')))
        state_qos = str(self._param('state_qos')) or ('sensor_data' if self.driver
                                                      else 'reliable')
        try:
            state_profile = qos_profile(state_qos, 'state_qos')
            command_profile = qos_profile(str(self._param('command_qos')), 'command_qos')
        except ValueError as error:
            raise ConfigError(str(error)) from None
        self.lockstep_timeout = self._number('lockstep_timeout', minimum=0.0)
        self.real_time_factor = self._number('real_time_factor', minimum=0.0, open_min=True)
        self.duration = self._number('duration', minimum=0.0)
        self._command_topic = str(self._param('command_topic'))
        self._trajectory_topic = str(self._param('trajectory_topic'))
        self._imu_frame_id = str(self._param('imu_frame_id'))
        self._odom_frame_id = str(self._param('odom_frame_id'))
        self._base_frame_id = str(self._param('base_frame_id'))

        reality = self.reality
        if self.driver:  # one physics step per backend step
            reality = dataclasses.replace(reality, sim=dataclasses.replace(reality.sim,
                                                                           decimation=1))
        self.backend = make_reality_backend(reality)
        self.robot = self.backend.robot
        self.control_dt = self.backend.control_dt
        """Simulation time of one backend step [s]: the control period (between two published
        states), or in driver mode the physics step."""
        self.joint_names = list(self.robot.joint_names)
        extra = [str(name) for name in self._param('driver_extra_joints') if name]
        clash = sorted(set(extra) & set(self.joint_names))
        if self.driver and clash:
            raise ConfigError(f'driver_extra_joints {clash} are joints of the robot')
        names = self.joint_names + (extra if self.driver else [])
        order = (self._rng.permutation(len(names)) if self.driver and bool(
            self._param('driver_shuffle')) else np.arange(len(names)))
        self.published_names = [names[i] for i in order]
        """Joint names of the published JointState (driver mode: extra joints, shuffled)."""
        self._published_order = order
        self._extra_zeros = np.zeros(len(names) - len(self.joint_names))
        self._default_targets = np.asarray(self.robot.default_joint_pos, dtype=float).copy()
        self.targets = self._default_targets.copy()
        """Joint position targets held by the PD loop (J,) [rad], robot joint order."""
        self._pending: collections.deque[tuple[np.ndarray, tuple[float, float]]] = (
            collections.deque())
        """Lock-step: queued (targets, (kp scale, kd scale)) commands."""
        count = len(self.joint_names)
        self._nominal_kp = np.broadcast_to(np.asarray(self.robot.kp, dtype=float), (count,))
        self._nominal_kd = np.broadcast_to(np.asarray(self.robot.kd, dtype=float), (count,))
        self._reality_gain_scales = (float(self.backend.dynamics['kp_scale'][0]),
                                     float(self.backend.dynamics['kd_scale'][0]))
        self.gain_scales = (1.0, 1.0)
        """(kp, kd) multiple of the robot's nominal gains commanded last (1, 1: nominal)."""
        self.fault = 'none'
        """Injected fault (see the module docstring)."""
        self._frozen_joint_state: JointState | None = None
        self._ground_truth_time = -np.inf
        self._joint_velocity = bool(self._param('joint_velocity'))
        self._state: SimState = self.backend.get_state()
        self._acceleration = np.zeros(3)
        """World-frame base acceleration over the latest step [m/s²] (zero after a reset)."""

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
        self.publications = 0
        """Driver mode: publication ticks so far."""
        self.dropped = 0
        """Driver mode: state messages dropped on purpose."""
        self.lag_given_up = 0.0
        """Driver mode: simulation time given up because the physics lagged [s]."""
        self._publish_time = 0.0
        """Bridge clock of the latest publication [s] (driver mode: wall clock x factor)."""
        self._started = False
        self._wall_start = 0.0
        self._cost_total = 0.0
        self._recent_costs: collections.deque[float] = collections.deque(maxlen=1000)
        """Wall time of the latest step + publish calls [s]."""

        self._clock_publisher = self.create_publisher(ClockMessage, '/clock', QOS_DEPTH)
        self._imu_publisher = self.create_publisher(Imu, self._param('imu_topic'),
                                                    state_profile)
        self._odom_publisher = self.create_publisher(
            Odometry, self._param('odom_topic'), state_profile)
        self._joint_publisher = self.create_publisher(
            JointState, self._param('joint_states_topic'), state_profile)
        self._description_publisher = None
        if self._param('robot_description_topic'):
            self._description_publisher = self.create_publisher(
                String, self._param('robot_description_topic'), DESCRIPTION_QOS)
            self._description_publisher.publish(String(data=robot_description(
                self.robot.urdf_path)))
        self.create_subscription(Float64MultiArray, self._command_topic,
                                 self._on_joint_commands, command_profile)
        self.create_subscription(JointTrajectory, self._trajectory_topic,
                                 self._on_joint_trajectory, command_profile)
        self._gains_topic = str(self._param('gains_command_topic'))
        self.create_subscription(Float64MultiArray, self._gains_topic,
                                 self._on_gains_command, command_profile)
        self.create_subscription(String, str(self._param('fault_topic')), self._on_fault,
                                 QOS_DEPTH)
        ground_truth = str(self._param('ground_truth_topic'))
        self._ground_truth_publisher = (self.create_publisher(Odometry, ground_truth, QOS_DEPTH)
                                        if ground_truth else None)

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
        elif self.driver:
            self._tick_timer = self.create_timer(1.0 / self.driver_rate, self._on_driver_tick,
                                                 clock=steady)
            mode = (f'driver at {self.driver_rate:g} Hz (jitter {self.driver_jitter * 1e3:g} '
                    f'ms, drop rate {self.driver_drop_rate:g}, {state_qos}, joints '
                    f'{self.published_names}), physics on the wall clock x'
                    f'{self.real_time_factor:g}')
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
        self._step()
        self._publish_time = self.sim_time
        self._publish_state()
        cost = time.perf_counter() - start
        self._cost_total += cost
        self._recent_costs.append(cost)

    def _step(self) -> None:
        """One backend step with the held targets (reset on failure); sets ``done``."""
        previous_velocity = self._state.base_lin_vel[0].copy()
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
        self._acceleration = (np.zeros(3) if failure else
                              (state.base_lin_vel[0] - previous_velocity) / self.control_dt)
        self._state = state
        if self.duration > 0.0 and self.sim_time >= self.duration - 1e-9:
            self.done = True

    def _publish_state(self) -> None:
        """Publish /clock, /imu/data, /odom and then /joint_states for the latest state.

        Stamped ``_publish_time``; in driver mode each state message may be dropped.
        """
        state, stamp = self._state, self._publish_time
        quat, velocity = state.base_quat[0], state.base_lin_vel[0]
        drop = (self._rng.random(3) < self.driver_drop_rate if self.driver
                else np.zeros(3, dtype=bool))
        self.dropped += int(drop.sum())
        self._clock_publisher.publish(conversions.clock_msg(stamp))
        if (self._ground_truth_publisher is not None
                and stamp >= self._ground_truth_time + GROUND_TRUTH_PERIOD - 1e-9):
            self._ground_truth_time = stamp
            self._ground_truth_publisher.publish(conversions.odometry_msg(
                stamp, state.base_pos[0], quat, velocity, state.base_ang_vel[0],
                frame_id=self._odom_frame_id, child_frame_id=self._base_frame_id))
        if self.fault == 'paused':
            return
        if self.fault == 'frozen_stamps' and self._frozen_joint_state is not None:
            self._joint_publisher.publish(self._frozen_joint_state)
            drop[2] = True  # the live JointState is not published
        elif self.fault == 'joint_states_stopped':
            drop[2] = True
        if not drop[0]:
            self._imu_publisher.publish(conversions.imu_msg(
                stamp, quat, state.base_ang_vel[0],
                conversions.specific_force(quat, self._acceleration),
                frame_id=self._imu_frame_id))
        if not drop[1]:
            self._odom_publisher.publish(conversions.odometry_msg(
                stamp, state.base_pos[0], quat, velocity, state.base_ang_vel[0],
                frame_id=self._odom_frame_id, child_frame_id=self._base_frame_id))
        if drop[2]:
            return
        if not self.driver:
            message = conversions.joint_state_msg(
                stamp, self.joint_names, state.joint_pos[0], state.joint_vel[0],
                state.joint_torque[0])
        else:
            order, zeros = self._published_order, self._extra_zeros
            message = conversions.joint_state_msg(
                stamp, self.published_names,
                *(np.concatenate([values[0], zeros])[order] for values in (
                    state.joint_pos, state.joint_vel, state.joint_torque)))
        if not self._joint_velocity:
            message.velocity = []
        if self.fault == 'joint_renamed':
            renamed = self.joint_names[0]
            message.name = [name + '_renamed' if name == renamed else name
                            for name in message.name]
        if self.fault == 'frozen_stamps':
            self._frozen_joint_state = message
        self._joint_publisher.publish(message)

    # -- commands ---------------------------------------------------------------------------

    def _on_joint_commands(self, message: Float64MultiArray) -> None:
        topic = self._command_topic
        values = np.asarray(message.data, dtype=float)
        if values.shape != (len(self.joint_names),):
            self._ignore(f'{topic}: expected {len(self.joint_names)} targets in the order '
                         f'{self.joint_names}, got {values.size}')
            return
        self._accept(values, topic, (1.0, 1.0))

    def _on_joint_trajectory(self, message: JointTrajectory) -> None:
        topic = self._trajectory_topic
        try:
            values = conversions.trajectory_targets(message, self.joint_names)
        except (KeyError, ValueError, IndexError) as error:
            self._ignore(f'{topic}: {error}')
            return
        self._accept(values, topic, (1.0, 1.0))

    def _on_gains_command(self, message: Float64MultiArray) -> None:
        topic, count = self._gains_topic, len(self.joint_names)
        values = np.asarray(message.data, dtype=float)
        if values.shape != (3 * count,):
            self._ignore(f'{topic}: expected {3 * count} values [q, kp, kd] for the joints '
                         f'{self.joint_names}, got {values.size}')
            return
        targets, kp, kd = values[:count], values[count:2 * count], values[2 * count:]
        if not np.all(np.isfinite(values)) or np.any(kp < 0) or np.any(kd < 0):
            self._ignore(f'{topic}: non-finite value or negative gain')
            return
        scales = []
        for gains, nominal, name in ((kp, self._nominal_kp, 'kp'), (kd, self._nominal_kd, 'kd')):
            ratio = gains / nominal
            if not np.allclose(ratio, ratio[0], rtol=1e-6, atol=1e-9):
                self._ignore(f'{topic}: {name} {gains.tolist()} is not one multiple of the '
                             f"robot's {name} {nominal.tolist()} (the simulated motors take "
                             'one gain scale)')
                return
            scales.append(float(ratio[0]))
        self._accept(targets, topic, (scales[0], scales[1]))

    def _on_fault(self, message: String) -> None:
        fault = message.data or 'none'
        if fault == 'reset':
            self.backend.reset(np.arange(1))
            self._state = self.backend.get_state()
            self._acceleration = np.zeros(3)
            self.targets = self._default_targets.copy()
            self._set_gains((1.0, 1.0))
            fault = 'none'
        elif fault not in FAULTS:
            self.get_logger().warning(f"unknown fault '{fault}'; valid: reset, "
                                      f"{', '.join(FAULTS)}")
            return
        self.fault = fault
        self._frozen_joint_state = None
        self.get_logger().warning(f'fault injection: {fault} at t = {self.sim_time:.3f} s')

    def _accept(self, values: np.ndarray, topic: str, gain_scales: tuple[float, float]) -> None:
        if not np.all(np.isfinite(values)):
            self._ignore(f'{topic}: non-finite joint target')
            return
        if not self.lockstep:
            self.targets = values
            self._set_gains(gain_scales)
            return
        self._pending.append((values, gain_scales))
        if self._started:
            self._drain()

    def _set_gains(self, scales: tuple[float, float]) -> None:
        """Apply (kp, kd) multiples of the nominal gains, on top of the reality's scales."""
        if scales == self.gain_scales:
            return
        self.gain_scales = scales
        kp_scale, kd_scale = self._reality_gain_scales
        try:
            self.backend.set_dynamics(np.arange(1), {'kp_scale': kp_scale * scales[0],
                                                     'kd_scale': kd_scale * scales[1]})
        except ConfigError as error:
            self._ignore(f'{self._gains_topic}: gains out of the simulated range: {error}')

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

    def _on_driver_tick(self) -> None:
        """Driver mode: step the physics up to the bridge clock, then publish (jitter, drops)."""
        if self.done:
            return
        now = time.perf_counter()
        if not self._started:
            self._start()
            return
        start = now
        clock = (now - self._wall_start) * self.real_time_factor - self.lag_given_up
        lag = clock - self.sim_time
        if lag > MAX_CATCH_UP:
            self.lag_given_up += lag - self.control_dt
            clock -= lag - self.control_dt
            self.get_logger().warning(
                f'driver: the physics lagged the wall clock by {lag * 1e3:.0f} ms; giving it '
                f'up ({self.lag_given_up:.3f} s so far)', throttle_duration_sec=WARN_PERIOD)
        steps = 0
        while self.sim_time + self.control_dt <= clock + 1e-9 and not self.done:
            self._step()
            steps += 1
        if self.driver_jitter > 0.0:
            time.sleep(self._rng.uniform(0.0, self.driver_jitter))
        self._publish_time = max(clock, self._publish_time)
        self._publish_state()
        self.publications += 1
        if steps:
            cost = time.perf_counter() - start
            self._cost_total += cost
            self._recent_costs.append(cost)

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
            self.targets, gain_scales = self._pending.popleft()
            self._set_gains(gain_scales)
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
        driver = ''
        if self.driver and wall > 0.0:
            driver = (f'; driver: {self.publications} publications ({self.publications / wall:.0f}'
                      f' Hz), {self.dropped} messages dropped, {self.lag_given_up:.3f} s of lag '
                      'given up')
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
                f'{self.ignored_commands}, lock-step timeouts {self.lockstep_timeouts}' + driver)

    def close(self, flush_timeout: float = 1.0) -> None:
        """Log the run statistics, wait for subscribers to acknowledge, release the engine."""
        self.get_logger().info(self.summary())
        if self.context.ok():
            for publisher in (self._clock_publisher, self._imu_publisher, self._odom_publisher,
                              self._joint_publisher):
                publisher.wait_for_all_acked(Duration(seconds=flush_timeout))
        self.backend.close()


PROGRAM = NodeProgram(
    name=NODE_NAME, summary=__doc__.split('\n\n')[0], parameters=PARAMETERS,
    create=lambda context: SimBridgeNode(context=context),
    finished=lambda node: node.done, close=lambda node: node.close())
"""How ``robot_learning.ros.node_main`` runs this node: until a signal, a shutdown or
``duration``; ``close`` logs the statistics and releases the engine, context still valid."""


def main(args: list[str] | None = None) -> int:
    """Run the sim bridge; exit codes of ``robot_learning.ros.node_main``."""
    return run(PROGRAM, args)


if __name__ == '__main__':
    raise SystemExit(main())
