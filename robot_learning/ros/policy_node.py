# SPDX-License-Identifier: Apache-2.0
"""The policy node: a policy bundle behind the safety layer, as a ROS 2 lifecycle node.

    policy_node --ros-args -p bundle:=policies/quadruped_flat
    policy_node --ros-args --params-file config/nodes/policy_node.yaml -p bundle:=...

Lifecycle (``rclpy.lifecycle.LifecycleNode``, services ``/policy_node/change_state`` etc.):

- configure: load the bundle (its contract carries joints, limits and gains), create the topics,
- activate: commands may be published (the command publisher is a lifecycle publisher, so
  nothing is ever published before activation);
- deactivate: one last hold command (target = measured positions), then the safety layer goes
  IDLE; a DAMPING layer stays DAMPING and still needs a reset;
- cleanup / shutdown: everything is destroyed.

With the parameter ``autostart`` (default true) ``main`` configures and activates the node
itself, as a launch file without a lifecycle manager needs. Inside the active lifecycle state the
safety layer (robot_learning/policies/safety.py) runs IDLE -> SOFT_START -> RUNNING -> DAMPING;
with ``auto_activate`` the soft start begins as soon as every required input is fresh (at start
and after each reset), otherwise on a call of the ``/policy/activate`` service (std_srvs/Trigger).

Topics and services (names are parameters): subscribes ``/joint_states``, ``/imu/data``,
``/odom`` (only when the contract needs the base linear velocity), ``/cmd_vel``
(geometry_msgs/Twist, or TwistStamped with ``cmd_vel_type: twist_stamped``),
``/emergency_stop`` (std_msgs/Bool, true -> DAMPING), ``/policy/reset`` (std_msgs/Empty);
services ``/policy/reset`` and ``/policy/activate`` (std_srvs/Trigger); publishes
``/joint_commands`` (std_msgs/Float64MultiArray, contract joint order) or ``/joint_trajectory``,
``/policy/safety_state`` (std_msgs/String, on change and at 1 Hz), ``/policy/state`` and
``/diagnostics`` (diagnostic_msgs/DiagnosticArray, same times; ``hardware_id`` the robot; level
OK running, WARN idle, soft start or an engaged emergency stop, ERROR damping or refused) and,
with ``publish_latency``, ``/policy/latency`` (std_msgs/Float64: seconds from receiving the
newest input to publishing its command).

QoS (``ros/qos.py``, one parameter per topic): in timer mode the sensor inputs (joint states,
IMU, odometry) subscribe best effort (``sensor_data``), which connects to best-effort
(``SensorDataQoS``, what drivers use) and reliable publishers alike; in lock-step they subscribe
reliable (a lost state would stall the loop; the sim bridge publishes reliable there).
``/cmd_vel`` is best effort; commands, state and diagnostics go out reliable.

Joint states are picked BY NAME: a JointState may carry more joints than the contract (arms,
grippers, heads) in any order. A JointState that names none of the contract's joints is ignored
(another driver on the same topic); if the first one that names some of them lacks others (or
repeats one), the node refuses: it never activates the safety layer, logs the missing joints and
reports the state 'refused'.

Inputs are fresh while their header stamps ADVANCE (``safety.InputFreshness``): a driver that
stops publishing and one that re-publishes its last message both go stale after the watchdog
(``stale_input`` / ``frozen_input``); a message whose stamp does not advance is not used. Stamps
are compared with earlier stamps of the same input only, never with this machine's clock. A
JointState with an empty ``velocity`` field (legal in ROS 2) is accepted: the velocities are
differentiated from the positions over the stamps across one control period
(``policies/joint_velocity.py``).

``/cmd_vel`` (``policies/command_limits.py``): a non-finite command is replaced by the zero
command with a throttled warning (it never reaches the observation); each component is clamped
into the contract's ``command_ranges``; with no valid command for ``cmd_vel_timeout`` (default
0.5 s) the command is zero. The command of each observation is published on
``velocity_command_topic`` (geometry_msgs/Twist).

Command interfaces (``command_interface``): ``position`` publishes joint position targets only
(the driver's own PD gains); in DAMPING the target is the measured pose while the measurements
are live, and on stale measurements the last commanded target held, then a move onto the
contract's default pose (``stale_hold``, ``settle_duration``), never the old measured pose.
Before the watchdog fires, a timer cycle whose inputs are older than ``HOLD_PERIODS`` control
periods holds the last target instead of running the policy open-loop on an observation that no
longer changes (that open-loop stretch is what flipped the robot in the fault matrix).
``position_gains`` publishes std_msgs/Float64MultiArray ``[q (J), kp (J), kd (J)]`` in contract
joint order on ``gains_command_topic`` (what low-level drivers such as Unitree's take per joint:
q, kp, kd): the contract's kp / kd while the policy runs and true damping in DAMPING (kp 0,
kd = ``damping_kd_scale`` times the contract's kd).

Modes: ``timer`` runs one control cycle per period of a steady-clock timer at ``rate_hz``;
``lockstep`` runs one cycle per received JointState (once the IMU and odometry messages of the
same stamp are in) and keeps the timer only as the stale-input watchdog.
"""

from __future__ import annotations

import collections
import pathlib
import time
from typing import Any

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from geometry_msgs.msg import Twist, TwistStamped
from nav_msgs.msg import Odometry
import numpy as np
from rclpy.clock import Clock, ClockType
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from rclpy.qos import QoSProfile
from sensor_msgs.msg import Imu, JointState
from std_msgs.msg import Bool, Empty, Float64, Float64MultiArray, String
from std_srvs.srv import Trigger
from trajectory_msgs.msg import JointTrajectory

from robot_learning.motions.library import motion_inputs, MotionLibrary
from robot_learning.paths import share_dir
from robot_learning.policies.command_limits import CommandLimits
from robot_learning.policies.joint_velocity import JointVelocityEstimator
from robot_learning.policies.runtime import PolicyRuntime
from robot_learning.policies.safety import (ACTIVE_STATES, Fault, InputFreshness, SafetyConfig,
                                            SafetyInputs, SafetyLayer, SafetyState)
from robot_learning.robots.joint_order import pick
from robot_learning.ros import conversions
from robot_learning.ros.node_main import (declare_parameters, NodeConfigError, NodeProgram,
                                          parameter_value, run)
from robot_learning.ros.qos import qos_profile
from robot_learning.tasks.observations import ObservationInputs
from robot_learning.tasks.registry import task_spec

REFUSED = 'refused'
"""State string when the robot's joint states lack contract joints."""
CMD_VEL_TYPES = {'twist': Twist, 'twist_stamped': TwistStamped}
"""``cmd_vel_type`` parameter values -> message type."""
COMMAND_INTERFACES = ('position', 'position_gains')
"""``command_interface`` parameter values."""
HOLD_PERIODS = 2.5
"""Running with an input older than this many control periods (stale only after the watchdog):
the last target is held instead of running the policy on an observation that no longer
changes."""
MAX_NAME_ORDERS = 16
"""Distinct JointState name lists whose joint order is cached."""

_SAFETY = SafetyConfig()
"""Safety defaults: the SafetyConfig field defaults are the parameter defaults."""

PARAMETERS: dict[str, tuple[Any, str]] = {
    'bundle': ('', 'policy bundle folder (contract.yaml + policy.onnx); relative paths are tried '
                   'from the working directory, then from the package share folder'),
    'mode': ('timer', "'timer' (steady-clock timer at rate_hz) or 'lockstep' (one command per "
                      'received joint state)'),
    'rate_hz': (0.0, 'control rate [Hz]; 0: 1 / contract control_dt'),
    'command_type': ('array', "'array' (std_msgs/Float64MultiArray on command_topic) or "
                              "'trajectory' (trajectory_msgs/JointTrajectory on "
                              'trajectory_topic)'),
    'joint_states_topic': ('/joint_states', 'sensor_msgs/JointState input'),
    'imu_topic': ('/imu/data', 'sensor_msgs/Imu input (orientation and gyro)'),
    'odom_topic': ('/odom', 'nav_msgs/Odometry input, used when the contract needs it'),
    'cmd_vel_topic': ('/cmd_vel', 'velocity command input (type: cmd_vel_type)'),
    'cmd_vel_type': ('twist', "'twist' (geometry_msgs/Twist) or 'twist_stamped' "
                              '(geometry_msgs/TwistStamped, what Nav2 publishes by default '
                              'since Jazzy)'),
    'command_topic': ('/joint_commands', 'std_msgs/Float64MultiArray output'),
    'command_interface': ('position', "'position' (joint position targets, the driver's gains) "
                                      "or 'position_gains' ([q, kp, kd] per joint on "
                                      'gains_command_topic; true damping in damping)'),
    'gains_command_topic': ('/joint_pd_commands', 'std_msgs/Float64MultiArray [q (J), kp (J), '
                                                  'kd (J)] output, contract joint order'),
    'damping_kd_scale': (1.0, "position_gains: kd in damping = this times the contract's kd"),
    'velocity_command_topic': ('/policy/velocity_command', 'geometry_msgs/Twist: the command '
                                                           'of each observation (after checks)'),
    'trajectory_topic': ('/joint_trajectory', 'trajectory_msgs/JointTrajectory output'),
    'estop_topic': ('/emergency_stop', 'std_msgs/Bool; true -> damping'),
    'reset_topic': ('/policy/reset', 'std_msgs/Empty; leave damping'),
    'reset_service': ('/policy/reset', 'std_srvs/Trigger; leave damping'),
    'activate_service': ('/policy/activate', 'std_srvs/Trigger; start the soft start from idle'),
    'state_topic': ('/policy/safety_state', 'std_msgs/String safety state output'),
    'diagnostics_topic': ('/policy/state', 'diagnostic_msgs/DiagnosticArray output'),
    'ros_diagnostics_topic': ('/diagnostics', 'the same DiagnosticArray on the standard topic '
                                              'of ROS monitors; empty: not published'),
    'hardware_id': ('', "hardware_id of the diagnostics; empty: the robot's name"),
    'joint_states_qos': ('', 'QoS of the joint states subscription: sensor_data, best_effort '
                             "or reliable, optionally ':<depth>'; empty: sensor_data in timer "
                             'mode, reliable in lock-step (a lost state would stall it)'),
    'imu_qos': ('', 'QoS of the IMU subscription; empty: as joint_states_qos'),
    'odom_qos': ('', 'QoS of the odometry subscription; empty: as joint_states_qos'),
    'cmd_vel_qos': ('best_effort', 'QoS of the velocity command subscription'),
    'command_qos': ('reliable', 'QoS of the joint command (or trajectory) publisher'),
    'latency_topic': ('/policy/latency', 'std_msgs/Float64 per-command latency output [s]'),
    'soft_start_duration': (_SAFETY.soft_start_duration,
                            'move from the measured pose to the default pose in [s]'),
    'watchdog_periods': (_SAFETY.watchdog_periods,
                         'an input older than this many control periods is stale'),
    'position_margin': (_SAFETY.position_margin, 'targets stay this far inside the joint limits, '
                        'measurements may exceed them by as much [rad]'),
    'velocity_factor': (_SAFETY.velocity_factor,
                        'joint speed above factor * velocity limit -> damping'),
    'max_tilt': (_SAFETY.max_tilt,
                 'base tilt above this -> damping, floating-base robots only [rad]'),
    'max_target_rate': (_SAFETY.max_target_rate,
                        'largest target change in soft start and running [rad/s]'),
    'stale_target': (_SAFETY.stale_target, "damping target on stale measurements: 'settle' "
                     "(hold the last target, then settle on the default pose) or 'measured' "
                     '(the old measured pose: the behaviour before, it flips walking robots)'),
    'stale_hold': (_SAFETY.stale_hold, 'damping on stale measurements: hold the last target '
                   'for [s]'),
    'settle_duration': (_SAFETY.settle_duration, 'damping on stale measurements: then move to '
                        'the default pose in [s]'),
    'motion': ('', 'reference motion a motion-tracking policy plays from activation on (one of '
                   "the contract's motions); empty: the first"),
    'cmd_vel_timeout': (0.5, 'command falls back to zero without a valid /cmd_vel for this '
                             'long [s]; 0: hold the last command forever'),
    'auto_activate': (True, 'start the soft start by itself when idle and the inputs are fresh'),
    'autostart': (True, 'configure and activate the lifecycle node at start-up'),
    'publish_latency': (False, 'publish the latency of each command on latency_topic'),
    'latency_buffer': (1000, 'number of latest per-cycle latencies kept'),
}
"""Every parameter: (default, description). config/nodes/policy_node.yaml repeats the defaults."""


def resolve_bundle(path: str) -> pathlib.Path:
    """Return the bundle folder: as given, else relative to the package share folder."""
    if not path:
        raise ValueError("parameter 'bundle' is empty: give the policy bundle folder")
    candidate = pathlib.Path(path).expanduser()
    if candidate.is_absolute() or candidate.exists():
        return candidate
    return share_dir() / candidate


class PolicyNode(LifecycleNode):
    """Run a policy bundle behind the safety layer; see the module docstring."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__('policy_node', **kwargs)
        declare_parameters(self, PARAMETERS)
        self.latencies: collections.deque[float] = collections.deque(
            maxlen=max(1, int(self._param('latency_buffer'))))
        """Latest per-cycle latencies [s]: newest required input received -> command published."""
        self.compute_times: collections.deque[float] = collections.deque(
            maxlen=self.latencies.maxlen)
        """Latest per-cycle compute times [s]: cycle start (inputs read) -> command published."""
        self.period_errors: collections.deque[float] = collections.deque(
            maxlen=self.latencies.maxlen)
        """Timer mode: latest (interval between two control cycles - period) [s]."""
        self.missed_periods = 0
        """Timer mode: control periods without a cycle (an interval over 1.5 periods counts the
        periods it spans beyond the first)."""
        self._last_tick: float | None = None
        self.safety: SafetyLayer | None = None
        self.runtime: PolicyRuntime | None = None
        self.refusal = ''
        """Why the node refuses to run (joint mismatch); empty when it does not."""
        self.configure_error = ''
        """Why the last configure transition failed; empty when it did not."""
        self._entities: list[tuple[Any, Any]] = []
        """(destroy function, entity) of everything made in configure."""
        self._active = False
        self._reset_inputs()

    # Lifecycle transitions.

    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Load the bundle and create the interfaces; FAILURE (stay unconfigured) on errors."""
        self.configure_error = ''
        try:
            self._configure()
        except Exception as error:  # any load error: report it, stay unconfigured
            self.configure_error = str(error)
            self.get_logger().error(f'configure failed: {error}')
            self._destroy_entities()
            return TransitionCallbackReturn.FAILURE
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Allow commands; the safety layer soft-starts when its inputs are in."""
        self._active = True
        result = super().on_activate(state)
        self._publish_status()
        return result

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Send one hold command (measured pose), then stop commanding; DAMPING is kept."""
        if self.safety is not None and self.safety.deactivate():
            self._publish_command(self.safety.damping_target())
            self.get_logger().info('lifecycle deactivation: held the measured pose, idle')
        self._active = False
        self._publish_status()
        return super().on_deactivate(state)

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Destroy the interfaces and forget the bundle."""
        self._destroy_entities()
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Destroy the interfaces."""
        self._active = False
        self._destroy_entities()
        return TransitionCallbackReturn.SUCCESS

    # Public read-outs.

    @property
    def state_name(self) -> str:
        """'refused', 'unconfigured' or the safety state ('idle', 'soft_start', ...)."""
        if self.refusal:
            return REFUSED
        return self.safety.state.value if self.safety is not None else 'unconfigured'

    def period_summary(self) -> dict[str, float]:
        """Timer mode: p50, p99 and max of |period error| [s] (empty dict without any)."""
        return _percentiles(np.abs(np.asarray(self.period_errors)))

    def compute_summary(self) -> dict[str, float]:
        """p50, p99 and max of the per-cycle compute times [s] (empty dict without any)."""
        return _percentiles(np.asarray(self.compute_times))

    def latency_summary(self) -> dict[str, float]:
        """Last, mean, p99 and max of the buffered latencies [s] (empty dict without any)."""
        if not self.latencies:
            return {}
        values = np.asarray(self.latencies)
        return {'last': float(values[-1]), 'mean': float(values.mean()),
                'p99': float(np.percentile(values, 99)), 'max': float(values.max())}

    # Set-up.

    def _param(self, name: str) -> Any:
        return parameter_value(self, PARAMETERS, name)

    def _configure(self) -> None:
        self._reset_inputs()
        self.refusal = ''
        self.runtime = PolicyRuntime(resolve_bundle(self._param('bundle')))
        contract = self.runtime.contract
        self.task = task_spec(contract.task)
        self.mode = self._param('mode')
        if self.mode not in ('timer', 'lockstep'):
            raise ValueError(f"parameter mode is '{self.mode}'; valid: timer, lockstep")
        self.command_type = self._param('command_type')
        if self.command_type not in ('array', 'trajectory'):
            raise ValueError(f"parameter command_type is '{self.command_type}'; valid: array, "
                             'trajectory')
        rate = self._param('rate_hz') or 1.0 / contract.control_dt
        self.period = 1.0 / rate
        if abs(self.period - contract.control_dt) > 1e-9:
            self.get_logger().warning(
                f'rate_hz {rate:g} differs from the policy rate {1.0 / contract.control_dt:g} '
                'Hz it was trained at')
        config = SafetyConfig(
            control_dt=self.period, **{name: self._param(name) for name in (
                'soft_start_duration', 'watchdog_periods', 'position_margin', 'velocity_factor',
                'max_tilt', 'max_target_rate', 'stale_target', 'stale_hold',
                'settle_duration')})
        self.safety = SafetyLayer(
            config, joint_names=contract.joint_names,
            default_joint_pos=np.asarray(contract.default_joint_pos),
            position_lower=np.asarray(contract.position_lower),
            position_upper=np.asarray(contract.position_upper),
            velocity_limit=np.asarray(contract.velocity_limit),
            check_tilt=contract.floating_base)
        self.robot_name = contract.robot
        self.joint_names = contract.joint_names
        self.needs_odometry = contract.needs_odometry
        self.cmd_vel_timeout = self._param('cmd_vel_timeout')
        if not self.cmd_vel_timeout >= 0:
            raise ValueError(f'parameter cmd_vel_timeout must be >= 0 s, got '
                             f'{self.cmd_vel_timeout}')
        self.command_limits = CommandLimits.from_ranges(contract.command_ranges)
        self.command_interface = self._param('command_interface')
        if self.command_interface not in COMMAND_INTERFACES:
            raise ValueError(f"parameter command_interface is '{self.command_interface}'; "
                             f"valid: {', '.join(COMMAND_INTERFACES)}")
        if self.command_interface == 'position_gains' and self.command_type != 'array':
            raise ValueError("command_interface 'position_gains' publishes Float64MultiArray "
                             "[q, kp, kd]; it needs command_type 'array', got "
                             f"'{self.command_type}'")
        damping_kd_scale = self._param('damping_kd_scale')
        if not damping_kd_scale > 0:
            raise ValueError(f'parameter damping_kd_scale must be > 0, got {damping_kd_scale}')
        self._kp = np.asarray(contract.kp, dtype=float)
        self._kd = np.asarray(contract.kd, dtype=float)
        self._damping_kd = damping_kd_scale * self._kd
        self.auto_activate = self._param('auto_activate')
        self.publish_latency = self._param('publish_latency')
        self._last_action = np.zeros(contract.num_joints)
        self._default_pos = np.asarray(contract.default_joint_pos, dtype=float)
        self.motions = None
        if self.task.operator_input == 'reference_motion':
            self.motions = MotionLibrary.read(contract.motion_paths(self.runtime.bundle))
            for motion in self.motions.motions:
                motion.check_joints(contract.joint_names, np.asarray(contract.position_lower),
                                    np.asarray(contract.position_upper), 'the policy contract')
        self.motion_id = (self.motions.index(self._param('motion') or self.motions.names[0])
                          if self.motions is not None else 0)
        self._motion_steps = 0
        """Policy steps since activation: the motion time is this times contract.control_dt."""
        self._create_entities()
        self.get_logger().info(
            f'configured: bundle {self.runtime.bundle} ({contract.task}, trained on '
            f'{contract.robot}), {self.mode} mode at '
            f'{rate:g} Hz, {self.command_type} commands, odometry '
            f"{'needed' if self.needs_odometry else 'not needed'}")

    def _create_entities(self) -> None:
        topic = self._param
        qos = QoSProfile(depth=10)
        cmd_vel_type = self._param('cmd_vel_type')
        if cmd_vel_type not in CMD_VEL_TYPES:
            raise ValueError(f"parameter cmd_vel_type is '{cmd_vel_type}'; valid: "
                             f"{', '.join(CMD_VEL_TYPES)}")
        self._stamped_cmd_vel = cmd_vel_type == 'twist_stamped'
        self.hardware_id = self._param('hardware_id') or self.robot_name
        sensor_default = 'reliable' if self.mode == 'lockstep' else 'sensor_data'
        profiles = {name: qos_profile(self._param(name) or sensor_default, name) for name in (
            'joint_states_qos', 'imu_qos', 'odom_qos', 'cmd_vel_qos', 'command_qos')}
        if self.command_interface == 'position_gains':
            self._command_pub = self.create_lifecycle_publisher(
                Float64MultiArray, topic('gains_command_topic'), profiles['command_qos'])
        elif self.command_type == 'array':
            self._command_pub = self.create_lifecycle_publisher(
                Float64MultiArray, topic('command_topic'), profiles['command_qos'])
        else:
            self._command_pub = self.create_lifecycle_publisher(
                JointTrajectory, topic('trajectory_topic'), profiles['command_qos'])
        self._state_pub = self.create_publisher(String, topic('state_topic'), qos)
        self._diagnostics_pubs = [
            self.create_publisher(DiagnosticArray, name, qos) for name in dict.fromkeys(
                (topic('diagnostics_topic'), topic('ros_diagnostics_topic'))) if name]
        self._latency_pub = self.create_publisher(Float64, topic('latency_topic'), qos)
        self._velocity_command_pub = self.create_publisher(
            Twist, topic('velocity_command_topic'), qos)
        subscriptions = [
            (JointState, 'joint_states_topic', self._on_joint_state, profiles['joint_states_qos']),
            (Imu, 'imu_topic', self._on_imu, profiles['imu_qos']),
            (CMD_VEL_TYPES[cmd_vel_type], 'cmd_vel_topic', self._on_cmd_vel,
             profiles['cmd_vel_qos']),
            (Bool, 'estop_topic', self._on_estop, qos),
            (Empty, 'reset_topic', lambda _: self._reset(), qos),
        ]
        if self.needs_odometry:
            subscriptions.append((Odometry, 'odom_topic', self._on_odom, profiles['odom_qos']))
        steady = Clock(clock_type=ClockType.STEADY_TIME)
        self._entities = [
            (self.destroy_lifecycle_publisher, self._command_pub),
            *((self.destroy_publisher, publisher) for publisher in (
                self._state_pub, *self._diagnostics_pubs, self._latency_pub,
                self._velocity_command_pub)),
            *((self.destroy_subscription, self.create_subscription(
                kind, topic(name), callback, profile))
              for kind, name, callback, profile in subscriptions),
            (self.destroy_service, self.create_service(
                Trigger, topic('reset_service'), self._on_reset_service)),
            (self.destroy_service, self.create_service(
                Trigger, topic('activate_service'), self._on_activate_service)),
            (self.destroy_timer, self.create_timer(self.period, self._on_timer, clock=steady)),
            (self.destroy_timer, self.create_timer(1.0, self._publish_status, clock=steady)),
        ]

    def _destroy_entities(self) -> None:
        for destroy, entity in self._entities:
            destroy(entity)
        self._entities = []
        self.safety = None
        self.runtime = None

    def _reset_inputs(self) -> None:
        self._joint_pos = self._joint_vel = None
        self._imu_quat = self._imu_gyro = None
        self._odom_vel = None
        self._command = np.zeros(3)
        self.velocity_command = np.zeros(3)
        """(3,) command of the latest observation (checked, clamped, timed out)."""
        self._received: dict[str, float] = {}
        """perf_counter time of the last message of each input with an advancing stamp."""
        self._freshness = InputFreshness()
        self._velocity_estimator: JointVelocityEstimator | None = None
        """Differentiates positions once a JointState arrives with an empty velocity field."""
        self._stamps: dict[str, float] = {}
        """Header stamps [s] of the last joint state, IMU and odometry messages."""
        self._names_checked = False
        self._orders: dict[tuple[str, ...], list[int]] = {}
        """JointState name tuple -> index of each contract joint in it (names seen so far)."""
        self._pending_lockstep = False
        self._published_state = ''

    # Subscriptions and services.

    def _on_joint_state(self, message: JointState) -> None:
        received = time.perf_counter()
        if self.refusal or self.safety is None:
            return
        names = tuple(message.name)
        order = self._orders.get(names)
        if order is None:
            order = self._joint_order(names)
            if order is None:
                return
        self._names_checked = True
        stamp = conversions.time_seconds(message.header.stamp)
        if not self._freshness.observe('joint_states', stamp, received):
            self._repeated_stamp('joint_states', stamp)
            return
        count = len(names)
        self._joint_pos = pick(message.position, order, count)
        if len(message.velocity) == count:
            self._joint_vel = pick(message.velocity, order, count)
        else:
            self._joint_vel = self._differentiate(stamp, self._joint_pos)
        self._pending_lockstep = self.mode == 'lockstep'
        self._input_arrived('joint_states', stamp, received)

    def _on_imu(self, message: Imu) -> None:
        stamp = conversions.time_seconds(message.header.stamp)
        if not self._freshness.observe('imu', stamp, time.perf_counter()):
            self._repeated_stamp('imu', stamp)
            return
        self._imu_quat, self._imu_gyro = conversions.imu_arrays(message)
        self._input_arrived('imu', stamp, time.perf_counter())

    def _on_odom(self, message: Odometry) -> None:
        stamp = conversions.time_seconds(message.header.stamp)
        if not self._freshness.observe('odom', stamp, time.perf_counter()):
            self._repeated_stamp('odom', stamp)
            return
        self._odom_vel = conversions.odometry_world_velocity(message)
        self._input_arrived('odom', stamp, time.perf_counter())

    def _input_arrived(self, name: str, stamp: float, received: float) -> None:
        """Record a state input with an advancing stamp; in lock-step, run the cycle when due."""
        self._received[name] = received
        self._stamps[name] = stamp
        if self.mode == 'lockstep':
            self._try_lockstep()

    def _repeated_stamp(self, name: str, stamp: float) -> None:
        self.get_logger().warning(
            f'{name}: header stamp {stamp:.6f} s does not advance (a re-published or frozen '
            'message); not used, the input ages', throttle_duration_sec=1.0)

    def _differentiate(self, stamp: float, joint_pos: np.ndarray) -> np.ndarray:
        if self._velocity_estimator is None:
            self._velocity_estimator = JointVelocityEstimator(self.period)
            self.get_logger().warning(
                'JointState velocity field empty (or of another length): joint velocities are '
                'differentiated from the positions over the header stamps', once=True)
        return self._velocity_estimator.update(stamp, joint_pos)

    def _joint_order(self, names: tuple[str, ...]) -> list[int] | None:
        """Index of each contract joint among ``names``; None (refused or dropped) if any lacks."""
        wanted = set(self.joint_names)
        if not wanted.intersection(names):
            self.get_logger().info(
                f'ignoring JointState messages that name none of the contract joints: '
                f'{list(names)}', once=True)
            return None
        missing = [name for name in self.joint_names if name not in names]
        duplicated = sorted({name for name in names if name in wanted and names.count(name) > 1})
        if missing or duplicated:
            if not self._names_checked:
                self._refuse(list(names), missing, duplicated)
            else:
                self.get_logger().warning(
                    f'dropping a JointState that lacks contract joints {missing} (duplicated '
                    f'{duplicated or "none"}): {list(names)}', throttle_duration_sec=1.0)
            return None
        order = [names.index(name) for name in self.joint_names]
        extra = [name for name in names if name not in wanted]
        if extra:
            self.get_logger().info(f'JointState joints picked by name; extra joints ignored: '
                                   f'{extra}', once=True)
        if len(self._orders) >= MAX_NAME_ORDERS:
            self._orders.clear()
        self._orders[names] = order
        return order

    def _on_cmd_vel(self, message: Twist | TwistStamped) -> None:
        raw = conversions.twist_command(message.twist if self._stamped_cmd_vel else message)
        check = self.command_limits.apply(raw)
        self._command = check.command
        if check.rejected:  # zero at once; the timeout keeps counting from the last valid one
            self.get_logger().warning(f'/cmd_vel {raw.tolist()} is not finite: zero command',
                                      throttle_duration_sec=1.0)
            return
        if check.clamped:
            self.get_logger().warning(
                f'/cmd_vel {raw.tolist()} outside the trained command ranges '
                f'({", ".join(check.clamped)}): clamped to {check.command.tolist()}',
                throttle_duration_sec=1.0)
        self._received['cmd_vel'] = time.perf_counter()

    def _on_estop(self, message: Bool) -> None:
        if self.safety is None:
            return
        previous = self.safety.state
        self.safety.emergency_stop(message.data)
        if self.safety.state != previous:
            self._log_transition(previous)
            self._publish_status()

    def _on_reset_service(self, request: Trigger.Request,
                          response: Trigger.Response) -> Trigger.Response:
        response.success, response.message = self._reset()
        return response

    def _on_activate_service(self, request: Trigger.Request,
                             response: Trigger.Response) -> Trigger.Response:
        response.success, response.message = self._activate()
        return response

    def _reset(self) -> tuple[bool, str]:
        if self.safety is None:
            return False, 'the node is not configured'
        success, message = self.safety.reset()
        if success:  # one severity per call site: rclpy's logger rejects a change
            self._freshness.forget()  # a restarted driver may restart its stamps
            self._log_transition(SafetyState.DAMPING)
        else:
            self.get_logger().warning(f'reset refused: {message}')
        self._publish_status()
        return success, message

    def _activate(self) -> tuple[bool, str]:
        if self.safety is None:
            return False, 'the node is not configured'
        if self.refusal:
            return False, f'refused: {self.refusal}'
        if not self._active:
            return False, 'the lifecycle node is not active'
        if self.safety.state != SafetyState.IDLE:
            return False, f'the state is {self.safety.state.value}, not idle'
        if self.safety.estop_engaged:
            return False, 'the emergency stop is engaged'
        waiting = self._waiting_for(time.perf_counter())
        if waiting:
            return False, f"waiting for fresh {', '.join(waiting)}"
        if not self.safety.activate(self._joint_pos):
            return False, 'the measured joint positions are not finite'
        self._last_action = np.zeros(len(self.joint_names))
        self._motion_steps = 0
        self._log_transition(SafetyState.IDLE)
        self._publish_status()
        return True, 'soft start'

    def _refuse(self, names: list[str], missing: list[str], duplicated: list[str]) -> None:
        extra = [name for name in names if name not in self.joint_names]
        self.refusal = (f"JointState lacks contract joints: missing {missing or 'none'}, "
                        f"duplicated {duplicated or 'none'}; extra {extra or 'none'} (extra "
                        'joints are ignored)')
        self.get_logger().error(f'refusing to activate: {self.refusal}')
        self._publish_status()

    # The control cycle.

    def _on_timer(self) -> None:
        if self.mode == 'timer':
            self._record_period(time.perf_counter())
            self._cycle()
        elif self.safety is not None and self.safety.state in ACTIVE_STATES:
            # Lock-step watchdog: when the inputs stop, nothing else would run a cycle.
            if self.safety.check(self._safety_inputs(time.perf_counter())) is not None:
                self._cycle()

    def _record_period(self, now: float) -> None:
        if self._last_tick is not None:
            interval = now - self._last_tick
            self.period_errors.append(interval - self.period)
            if interval > 1.5 * self.period:
                self.missed_periods += max(1, int(round(interval / self.period)) - 1)
        self._last_tick = now

    def _try_lockstep(self) -> None:
        if not self._pending_lockstep:
            return
        stamp = self._stamps['joint_states']
        required = ('imu', 'odom') if self.needs_odometry else ('imu',)
        if all(self._stamps.get(name, -np.inf) >= stamp for name in required):
            self._pending_lockstep = False
            self._cycle()

    def _waiting_for(self, now: float) -> list[str]:
        """Return the required inputs never received or stale at ``now``."""
        timeout = self.safety.config.watchdog_timeout
        return [name for name in self._required_inputs()
                if not self._freshness.age(name, now) <= timeout]

    def _required_inputs(self) -> tuple[str, ...]:
        return ('joint_states', 'imu', 'odom') if self.needs_odometry else ('joint_states', 'imu')

    def _safety_inputs(self, now: float, extra: dict[str, np.ndarray] | None = None
                       ) -> SafetyInputs:
        count = len(self.joint_names)
        nan = np.full(count, np.nan)
        finite = {'imu_gyro': self._imu_gyro if self._imu_gyro is not None else np.full(3, np.nan)}
        if self.needs_odometry:
            finite['odom_velocity'] = (self._odom_vel if self._odom_vel is not None
                                       else np.full(3, np.nan))
        finite.update(extra or {})
        return SafetyInputs(
            joint_pos=self._joint_pos if self._joint_pos is not None else nan,
            joint_vel=self._joint_vel if self._joint_vel is not None else nan,
            base_quat=self._imu_quat if self._imu_quat is not None else np.full(4, np.nan),
            input_ages=self._freshness.ages(self._required_inputs(), now),
            repeated_stamps=self._freshness.repeats(self._required_inputs()),
            finite=finite)

    def _cycle(self) -> None:
        if not self._active or self.refusal or self.safety is None:
            return
        safety = self.safety
        if safety.state == SafetyState.IDLE:
            if self.auto_activate and not safety.estop_engaged and not self._waiting_for(
                    time.perf_counter()):
                self._activate()
            if safety.state == SafetyState.IDLE:
                self._publish_status_on_change()
                return
        previous = safety.state
        start = time.perf_counter()
        inputs = self._safety_inputs(start)
        policy_target = action = None
        # Infer whenever running on recent inputs; step() below checks the inputs, the
        # observation and the action once, and an inference on faulty inputs is never
        # published. Inputs older than HOLD_PERIODS (not yet stale) hold the last target: the
        # policy is not run open-loop on an observation that no longer changes. In lock-step the
        # cycle runs on the arrival of a complete, new state, so its age is only this
        # process's own delay: no hold (a loaded machine must not freeze a simulation).
        held = self.mode == 'timer' and safety.state == SafetyState.RUNNING and not all(
            age <= HOLD_PERIODS * self.period for age in inputs.input_ages.values())
        if held:
            policy_target = safety.last_target
        elif safety.state == SafetyState.RUNNING and self._has_all_inputs():
            try:
                observation = self.runtime.observe(self._observation_inputs())
                action = self.runtime.act(observation)[0]
                policy_target = self.runtime.targets(action[None])[0]
            except Exception as error:  # any inference error: POLICY_ERROR -> damping
                self.get_logger().error(f'policy inference failed: {error}',
                                        throttle_duration_sec=1.0)
            else:
                inputs = self._safety_inputs(time.perf_counter(), {
                    'observation': observation[0], 'action': action})
        targets = safety.step(inputs, policy_target)
        if action is not None and safety.state == SafetyState.RUNNING:
            self._last_action = action
            self._motion_steps += 1
        if targets is not None:
            self._publish_command(targets)
            self.compute_times.append(time.perf_counter() - start)
        self._log_transition(previous)
        self._publish_status_on_change()

    def _has_all_inputs(self) -> bool:
        return all(value is not None for value in (
            self._joint_pos, self._joint_vel, self._imu_quat, self._imu_gyro,
            self._odom_vel if self.needs_odometry else self._imu_gyro))

    def _log_transition(self, previous: SafetyState) -> None:
        state = self.safety.state
        if state == previous:
            return
        fault = self.safety.last_fault
        if state != SafetyState.DAMPING:
            self.get_logger().info(f'{previous.value} -> {state.value}')
        elif fault.fault == Fault.EMERGENCY_STOP:
            self.get_logger().warning(f'damping: {fault.fault.value}: {fault.detail}')
        else:
            self.get_logger().error(f'damping: {fault.fault.value}: {fault.detail}')

    def _observation_inputs(self) -> ObservationInputs:
        command = self._command
        if self.cmd_vel_timeout > 0 and (time.perf_counter() - self._received.get(
                'cmd_vel', -np.inf)) > self.cmd_vel_timeout:
            command = np.zeros(3)
        self.velocity_command = command
        if self._active:
            twist = Twist()
            twist.linear.x, twist.linear.y, twist.angular.z = (float(v) for v in command)
            self._velocity_command_pub.publish(twist)
        lin_vel = self._odom_vel if self.needs_odometry else np.zeros(3)
        phase = reference = None
        if self.motions is not None:
            phase, reference = motion_inputs(
                self.motions, np.array([self.motion_id]),
                np.array([self._motion_steps * self.runtime.contract.control_dt]))
        return ObservationInputs(
            base_quat=self._imu_quat[None], base_lin_vel=lin_vel[None],
            base_ang_vel=self._imu_gyro[None], joint_pos=self._joint_pos[None],
            joint_vel=self._joint_vel[None], default_joint_pos=self._default_pos,
            command=command[None], last_action=self._last_action[None],
            motion_phase=phase, reference_joint_pos=reference)

    def _publish_command(self, targets: np.ndarray) -> None:
        if self.command_interface == 'position_gains':
            damping = self.safety is not None and self.safety.state == SafetyState.DAMPING
            kp = np.zeros_like(self._kp) if damping else self._kp
            kd = self._damping_kd if damping else self._kd
            message = conversions.command_array_msg(np.concatenate([targets, kp, kd]))
        elif self.command_type == 'array':
            message = conversions.command_array_msg(targets)
        else:  # stamp zero: start now (joint_trajectory_controller convention)
            message = conversions.joint_trajectory_msg(0.0, self.joint_names, targets,
                                                       self.period)
        self._command_pub.publish(message)
        if not self._active:
            return
        # State in = the arrival of the newest of the inputs this command was computed from.
        state_in = max(self._received.get(name, np.nan) for name in self._required_inputs())
        latency = time.perf_counter() - state_in
        self.latencies.append(latency)
        if self.publish_latency:
            self._latency_pub.publish(Float64(data=latency))

    # Status.

    def _publish_status_on_change(self) -> None:
        if self.state_name != self._published_state:
            self._publish_status()

    def _publish_status(self) -> None:
        if self.safety is None:
            return
        name = self.state_name
        self._published_state = name
        self._state_pub.publish(String(data=name))
        diagnostics = self._diagnostics()
        for publisher in self._diagnostics_pubs:
            publisher.publish(diagnostics)

    def _diagnostics(self) -> DiagnosticArray:
        safety = self.safety
        fault = safety.last_fault
        status = DiagnosticStatus(name=f'{self.get_name()}: safety',
                                  hardware_id=self.hardware_id)
        if self.refusal:
            status.level, status.message = DiagnosticStatus.ERROR, f'{REFUSED}: {self.refusal}'
        elif safety.state == SafetyState.DAMPING:
            estop = fault is not None and fault.fault == Fault.EMERGENCY_STOP
            status.level = DiagnosticStatus.WARN if estop else DiagnosticStatus.ERROR
            status.message = f'damping: {fault.fault.value}' if fault else 'damping'
        elif safety.state == SafetyState.RUNNING:
            status.level, status.message = DiagnosticStatus.OK, self.state_name
        else:  # idle or soft start: not (yet) under the policy's control
            status.level, status.message = DiagnosticStatus.WARN, self.state_name
        waiting = self._waiting_for(time.perf_counter())
        values = {
            'state': self.state_name,
            'reason': fault.fault.value if fault else '',
            'detail': self.refusal or (fault.detail if fault else ''),
            'lifecycle_active': str(self._active).lower(),
            'estop_engaged': str(safety.estop_engaged).lower(),
            'waiting_for': ', '.join(waiting),
            'cycle_count': str(safety.cycle),
            'soft_start_progress': f'{safety.soft_start_progress:.3f}',
            'mode': self.mode,
            'rate_hz': f'{1.0 / self.period:g}',
            'command_interface': self.command_interface,
            'degraded_target': self._degraded_target_name(),
            'velocity_command': ' '.join(f'{value:.4f}' for value in self.velocity_command),
        }
        values.update({f'latency_{key}_s': f'{value:.6f}'
                       for key, value in self.latency_summary().items()})
        values.update({f'period_error_{key}_s': f'{value:.6f}'
                       for key, value in self.period_summary().items()})
        values.update({f'compute_{key}_s': f'{value:.6f}'
                       for key, value in self.compute_summary().items()})
        if self.mode == 'timer':
            values['missed_periods'] = str(self.missed_periods)
        status.values = [KeyValue(key=key, value=value) for key, value in values.items()]
        message = DiagnosticArray(status=[status])
        message.header.stamp = self.get_clock().now().to_msg()
        return message

    def _degraded_target_name(self) -> str:
        """Return what DAMPING commands now: '' outside it, else kp0_damping, settle, measured."""
        safety = self.safety
        if safety.state != SafetyState.DAMPING:
            return ''
        if self.command_interface == 'position_gains':
            return 'kp0_damping'
        return 'settle' if safety.settling else 'measured'


def _percentiles(values: np.ndarray) -> dict[str, float]:
    """p50, p99 and max of ``values`` (empty dict when there are none)."""
    if not values.size:
        return {}
    return {'p50': float(np.percentile(values, 50)), 'p99': float(np.percentile(values, 99)),
            'max': float(values.max())}


def _create(context) -> PolicyNode:
    """Build the node; with ``autostart`` configure and activate it (NodeConfigError if not)."""
    node = PolicyNode(context=context)
    if not node.get_parameter('autostart').value:
        return node
    if node.trigger_configure() != TransitionCallbackReturn.SUCCESS:
        error = node.configure_error or 'configure failed'
        node.destroy_node()
        raise NodeConfigError(error)
    if node.trigger_activate() != TransitionCallbackReturn.SUCCESS:
        node.destroy_node()
        raise RuntimeError('the activate transition failed')
    return node


PROGRAM = NodeProgram(name='policy_node', summary=__doc__.split('\n\n')[0],
                      parameters=PARAMETERS, create=_create)
"""How ``robot_learning.ros.node_main`` runs this node."""


def main(args: list[str] | None = None) -> int:
    """Run the policy node until SIGINT, SIGTERM or shutdown; exit codes of ``node_main``."""
    return run(PROGRAM, args)


if __name__ == '__main__':
    raise SystemExit(main())
