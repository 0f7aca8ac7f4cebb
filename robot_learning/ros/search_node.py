# SPDX-License-Identifier: Apache-2.0
"""The search node: a learned peg-in-hole search on an arm, behind the safety layer.

    search_node --ros-args -p model:=search_model.json -p hole_position:=[0.55,0.0,0.2]

At start-up it loads the search model (``robot-learning search fit``), plans the search
(``method``: ergodic, sampling, spiral or random) and builds the robot's MuJoCo model for the
kinematics and dynamics of the Cartesian impedance controller (``ergodic_search.executor``).
Each control period (``timer`` mode at ``rate_hz``, or ``lockstep``: one per received joint
state) it reads /joint_states and steps the safety layer of the policy node
(``policies/safety.py``): IDLE -> SOFT_START (to the start pose, the peg tip above the nominal
hole) -> RUNNING (the search) -> DAMPING on faults. Every command goes through the layer as an
equivalent position target t = q + (tau + kd q_dot) / kp, so that clamping, rate limiting and
damping apply as in the policy node; it is published as

- ``command_type: effort``: tau' = kp (t' - q) - kd q_dot (+ gravity outside RUNNING, so a
  torque-controlled arm holds itself while soft-starting or damping) on /effort_commands;
- ``command_type: position``: t' on /joint_commands (for a position-PD drive with gains kp, kd
  of the robot config, which then applies tau).

Outputs: /search/state (std_msgs/String: idle, soft_start, searching, inserting, succeeded,
timeout, damping; on change and at 1 Hz), /search/result (std_msgs/String 'success' or
'timeout', once, transient local), /search/elapsed (std_msgs/Float64: search time at the
result [s]), /search/pose and /search/wrench (geometry_msgs PoseStamped / WrenchStamped of the
tip and the commanded wrench each period: the topics of a demonstration, so a run can be
learned from). Inputs besides the joint states: /emergency_stop (std_msgs/Bool) and the
/search/reset service (std_srvs/Trigger: leave damping; the search starts over).
"""

from __future__ import annotations

import time
from typing import Any

from geometry_msgs.msg import PoseStamped, WrenchStamped
import numpy as np
from rclpy.clock import Clock, ClockType
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile
from sensor_msgs.msg import JointState
from std_msgs.msg import Bool, Float64, Float64MultiArray, String
from std_srvs.srv import Trigger

from robot_learning.ergodic_search.executor import DONE, SearchExecutor
from robot_learning.ergodic_search.learning import SearchModel
from robot_learning.ergodic_search.peg_in_hole import PegInHoleConfig
from robot_learning.ergodic_search.plan import PlannerConfig
from robot_learning.ergodic_search.planners import make_plan
from robot_learning.policies.safety import SafetyConfig, SafetyInputs, SafetyLayer, SafetyState
from robot_learning.ros import conversions
from robot_learning.ros.node_main import (declare_parameters, NodeProgram, parameter_value,
                                          run)
from robot_learning.ros.qos import qos_profile

_SAFETY = SafetyConfig()
_PLANNER = PlannerConfig()
_TASK = PegInHoleConfig()

PARAMETERS: dict[str, tuple[Any, str]] = {
    'model': ('', 'search model JSON (robot-learning search fit); required'),
    'method': ('ergodic', 'ergodic, sampling, spiral or random'),
    'robot': (_TASK.robot, "'arm' or 'kuka_iiwa'"),
    'variant': (_TASK.variant, "'peg' (x, y search) or 'socket' (x, y, yaw)"),
    'hole_position': (list(_TASK.hole_position), 'nominal hole centre on the surface, base '
                                                 'frame [m]'),
    'duration': (_PLANNER.duration, 'time budget of the search [s]'),
    'speed': (_PLANNER.speed, 'search speed [m/s]'),
    'seed': (_PLANNER.seed, 'seed of the sampling and random planners'),
    'success_depth': (_TASK.success_depth, 'insertion depth that counts as success [m]'),
    'detect_depth': (_TASK.detect_depth, 'tip drop that pauses the search [m]'),
    'mode': ('timer', "'timer' (steady clock at rate_hz) or 'lockstep' (one per joint state)"),
    'rate_hz': (250.0, 'control rate [Hz]'),
    'command_type': ('effort', "'effort' (torques) or 'position' (PD targets)"),
    'joint_states_topic': ('/joint_states', 'sensor_msgs/JointState input'),
    'joint_states_qos': ('sensor_data', 'QoS of the joint states subscription (ros/qos.py)'),
    'command_qos': ('reliable', 'QoS of the command (effort or position) publisher'),
    'effort_topic': ('/effort_commands', 'std_msgs/Float64MultiArray torque output [N·m]'),
    'command_topic': ('/joint_commands', 'std_msgs/Float64MultiArray position output [rad]'),
    'estop_topic': ('/emergency_stop', 'std_msgs/Bool; true -> damping'),
    'reset_service': ('/search/reset', 'std_srvs/Trigger; leave damping, search again'),
    'state_topic': ('/search/state', 'std_msgs/String search state'),
    'result_topic': ('/search/result', "std_msgs/String 'success' or 'timeout'"),
    'elapsed_topic': ('/search/elapsed', 'std_msgs/Float64 search time at the result [s]'),
    'pose_topic': ('/search/pose', 'geometry_msgs/PoseStamped tip pose'),
    'wrench_topic': ('/search/wrench', 'geometry_msgs/WrenchStamped commanded wrench'),
    'frame_id': ('world', 'frame of the hole position and the published pose / wrench'),
    'soft_start_duration': (_SAFETY.soft_start_duration, 'move to the start pose in [s]'),
    'watchdog_periods': (_SAFETY.watchdog_periods, 'stale input after this many periods'),
    'position_margin': (_SAFETY.position_margin, 'targets stay this far inside the limits '
                                                 '[rad]'),
    'velocity_factor': (_SAFETY.velocity_factor, 'speed above factor * limit -> damping'),
    'max_target_rate': (_SAFETY.max_target_rate, 'largest target change [rad/s]'),
}
"""Every parameter: (default, description). config/nodes/search_node.yaml repeats them."""


class SearchNode(Node):
    """Run a learned search behind the safety layer; see the module docstring."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__('search_node', **kwargs)
        declare_parameters(self, PARAMETERS)
        param = self._param
        if not param('model'):
            raise ValueError("parameter 'model' is empty: give the search model JSON")
        model = SearchModel.load(param('model'))
        task = PegInHoleConfig(
            robot=param('robot'), variant=param('variant'),
            hole_position=tuple(float(v) for v in param('hole_position')),
            success_depth=param('success_depth'), detect_depth=param('detect_depth'))
        planner = PlannerConfig(duration=param('duration'), speed=param('speed'),
                                seed=int(param('seed')))
        plan = make_plan(param('method'), model.distribution, planner)
        self.search = SearchExecutor(plan, model.force_model, task)
        robot = self.search.robot
        self.joint_names = robot.joint_names
        self.kp, self.kd = robot.kp, robot.kd
        self.period = 1.0 / param('rate_hz')
        self.mode = param('mode')
        if self.mode not in ('timer', 'lockstep'):
            raise ValueError(f"parameter mode is '{self.mode}'; valid: timer, lockstep")
        self.command_type = param('command_type')
        if self.command_type not in ('effort', 'position'):
            raise ValueError(f"parameter command_type is '{self.command_type}'; valid: effort, "
                             'position')
        self.safety = SafetyLayer(
            SafetyConfig(control_dt=self.period, **{name: param(name) for name in (
                'soft_start_duration', 'watchdog_periods', 'position_margin',
                'velocity_factor', 'max_target_rate')}),
            joint_names=robot.joint_names, default_joint_pos=self.search.start_pose,
            position_lower=robot.position_lower, position_upper=robot.position_upper,
            velocity_limit=robot.velocity_limit, check_tilt=False)
        self.frame_id = param('frame_id')
        qos = QoSProfile(depth=10)
        latched = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL)
        output = 'effort_topic' if self.command_type == 'effort' else 'command_topic'
        self._command_pub = self.create_publisher(
            Float64MultiArray, param(output), qos_profile(param('command_qos'), 'command_qos'))
        self._state_pub = self.create_publisher(String, param('state_topic'), qos)
        self._result_pub = self.create_publisher(String, param('result_topic'), latched)
        self._elapsed_pub = self.create_publisher(Float64, param('elapsed_topic'), latched)
        self._pose_pub = self.create_publisher(PoseStamped, param('pose_topic'), qos)
        self._wrench_pub = self.create_publisher(WrenchStamped, param('wrench_topic'), qos)
        self.create_subscription(
            JointState, param('joint_states_topic'), self._on_joint_state,
            qos_profile(param('joint_states_qos'), 'joint_states_qos'))
        self.create_subscription(Bool, param('estop_topic'), self._on_estop, qos)
        self.create_service(Trigger, param('reset_service'), self._on_reset)
        steady = Clock(clock_type=ClockType.STEADY_TIME)
        self.create_timer(self.period, self._on_timer, clock=steady)
        self.create_timer(1.0, self._publish_state, clock=steady)
        self._joint_pos = self._joint_vel = None
        self._received = -np.inf
        self._published_state = ''
        self._reported = False
        self.get_logger().info(
            f'{param("method")} search of {plan.duration:g} s planned in '
            f'{plan.plan_seconds:.3f} s (ergodic metric {plan.metric[-1]:.3g}); {robot.name}, '
            f'{self.mode} mode at {1.0 / self.period:g} Hz, {self.command_type} commands')

    def _param(self, name: str) -> Any:
        return parameter_value(self, PARAMETERS, name)

    @property
    def state_name(self) -> str:
        """Safety state, or the search status while RUNNING."""
        if self.safety.state == SafetyState.RUNNING:
            return self.search.status.value
        return self.safety.state.value

    # Inputs.

    def _on_joint_state(self, message: JointState) -> None:
        try:
            position, velocity, _ = conversions.joint_arrays(message, self.joint_names)
        except KeyError as error:
            self.get_logger().error(f'dropping a JointState: {error}', throttle_duration_sec=1.0)
            return
        self._joint_pos, self._joint_vel = position, velocity
        self._received = time.perf_counter()
        if self.mode == 'lockstep':
            self._cycle()

    def _on_estop(self, message: Bool) -> None:
        self.safety.emergency_stop(message.data)
        self._publish_state_on_change()

    def _on_reset(self, request: Trigger.Request, response: Trigger.Response
                  ) -> Trigger.Response:
        response.success, response.message = self.safety.reset()
        if response.success:
            self.search.reset()
            self._reported = False
        self._publish_state()
        return response

    # The control cycle.

    def _on_timer(self) -> None:
        if self.mode == 'timer':
            self._cycle()
        elif self.safety.state in (SafetyState.SOFT_START, SafetyState.RUNNING):
            inputs = self._inputs()
            if inputs is not None and self.safety.check(inputs) is not None:
                self._cycle()  # lock-step watchdog: no joint states are coming

    def _inputs(self) -> SafetyInputs | None:
        if self._joint_pos is None:
            return None
        return SafetyInputs(joint_pos=self._joint_pos, joint_vel=self._joint_vel,
                            input_ages={'joint_states': time.perf_counter() - self._received})

    def _cycle(self) -> None:
        inputs = self._inputs()
        if inputs is None:
            return
        safety = self.safety
        if safety.state == SafetyState.IDLE and not safety.estop_engaged:
            if inputs.input_ages['joint_states'] <= safety.config.watchdog_timeout:
                safety.activate(inputs.joint_pos)
        q, qd = inputs.joint_pos, inputs.joint_vel
        search_target = None
        if safety.state == SafetyState.RUNNING and np.all(np.isfinite(q)) and np.all(
                np.isfinite(qd)):
            torque = self.search.step(q, qd, self.period)
            search_target = q + (torque + self.kd * qd) / self.kp
            self._publish_tip()
        target = safety.step(inputs, search_target)
        if target is not None:
            if self.command_type == 'effort':
                torque = self.kp * (target - q) - self.kd * qd
                if safety.state != SafetyState.RUNNING and np.all(np.isfinite(q)):
                    torque = torque + self.search.gravity(q)
                self._command_pub.publish(conversions.command_array_msg(
                    np.nan_to_num(torque)))
            else:
                self._command_pub.publish(conversions.command_array_msg(target))
        self._report()
        self._publish_state_on_change()

    def _report(self) -> None:
        status = self.search.status
        if self._reported or status not in DONE or self.safety.state != SafetyState.RUNNING:
            return
        self._reported = True
        result = 'success' if status.value == 'succeeded' else 'timeout'
        self._result_pub.publish(String(data=result))
        self._elapsed_pub.publish(Float64(data=self.search.search_time))
        log = self.get_logger().info if result == 'success' else self.get_logger().warning
        log(f'search {result} after {self.search.search_time:.3f} s (depth '
            f'{self.search.depth * 1000:.1f} mm)')

    def _publish_tip(self) -> None:
        stamp = self.get_clock().now().to_msg()
        pose = PoseStamped()
        pose.header.stamp, pose.header.frame_id = stamp, self.frame_id
        tip, quat = self.search.tip(), self.search.tip_quat()
        pose.pose.position.x, pose.pose.position.y, pose.pose.position.z = (float(v) for v in tip)
        (pose.pose.orientation.w, pose.pose.orientation.x, pose.pose.orientation.y,
         pose.pose.orientation.z) = (float(v) for v in quat)
        self._pose_pub.publish(pose)
        wrench = WrenchStamped()
        wrench.header = pose.header
        force = self.search.controller.last_wrench
        wrench.wrench.force.x, wrench.wrench.force.y, wrench.wrench.force.z = (
            float(v) for v in force[:3])
        wrench.wrench.torque.x, wrench.wrench.torque.y, wrench.wrench.torque.z = (
            float(v) for v in force[3:])
        self._wrench_pub.publish(wrench)

    def _publish_state_on_change(self) -> None:
        if self.state_name != self._published_state:
            self._publish_state()

    def _publish_state(self) -> None:
        self._published_state = self.state_name
        self._state_pub.publish(String(data=self._published_state))


PROGRAM = NodeProgram(name='search_node', summary=__doc__.split('\n\n')[0],
                      parameters=PARAMETERS, create=lambda context: SearchNode(context=context))
"""How ``robot_learning.ros.node_main`` runs this node."""


def main(args: list[str] | None = None) -> int:
    """Run the search node until SIGINT, SIGTERM or shutdown; ``node_main`` exit codes."""
    return run(PROGRAM, args)


if __name__ == '__main__':
    raise SystemExit(main())
