# SPDX-License-Identifier: Apache-2.0
"""The excitation node: chirp or stepped-sine joint targets for actuator identification.

Publishes std_msgs/Float64MultiArray joint targets in the robot's joint order (the
ros2_control forward-command convention that the sim bridge and robot drivers consume) at
``rate`` Hz: first a ramp from the measured pose to the default pose, then for each joint in
``joints`` one after another the excitation of :mod:`robot_learning.impedance_matching.excitation`
(rest, sweep, rest) with the other joints held at their default positions. Record
``/joint_commands`` and ``/joint_states`` with the recorder node and fit the bag with
``robot-learning impedance fit BAG --robot NAME``.

Guards: the amplitude is checked against the joint limits before anything is published (the
node exits with status 2, a configuration error, and says which joint); while running, a
measured position of an excited joint closer than ``limit_margin / 2`` to a limit, or no joint
state for ``state_timeout`` seconds, stops the excitation and holds the default pose. The
robot's base is expected to be fixed or hung (Guan et al. 2024: body on a stand).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from rclpy.node import Node
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64MultiArray

from robot_learning.impedance_matching.excitation import (excitation_schedule,
                                                          ExcitationConfig)
from robot_learning.robots.registry import load_robot
from robot_learning.ros.node_main import (declare_parameters, NodeProgram, parameter_value,
                                          run)
from robot_learning.ros.qos import qos_profile

PARAMETERS: dict[str, tuple[Any, str]] = {
    'robot': ('quadruped', 'robot name or robot YAML path (joint order, default pose, limits)'),
    'joints': (['.*'], 'regular expressions of the joints to excite, in this order'),
    'kind': ('log_chirp', 'log_chirp or stepped_sine'),
    'amplitude': (0.1, 'peak deviation from the default position [rad]'),
    'f_start': (0.5, 'lowest frequency [Hz]'),
    'f_end': (20.0, 'highest frequency [Hz]'),
    'duration': (30.0, 'sweep length per joint [s]'),
    'rest': (2.0, 'time at the default pose before and after each sweep [s]'),
    'limit_margin': (0.05, 'distance the peak command keeps from a position limit [rad]'),
    'rate': (200.0, 'command rate [Hz]'),
    'ramp': (2.0, 'time to move from the measured pose to the default pose [s]'),
    'wait_for_state': (True, 'wait for the first joint state before starting'),
    'state_timeout': (0.5, 'stop when no joint state arrives for this long [s]; 0 disables'),
    'command_topic': ('/joint_commands', 'std_msgs/Float64MultiArray targets output'),
    'joint_states_topic': ('/joint_states', 'sensor_msgs/JointState input'),
    'joint_states_qos': ('sensor_data', 'QoS of the joint states subscription (ros/qos.py)'),
    'command_qos': ('reliable', 'QoS of the command publisher'),
    'exit_when_done': (True, 'shut down after the last sweep'),
}
"""Parameter name -> (default, description)."""


class ExcitationNode(Node):
    """Publish the excitation schedule; see the module docstring."""

    def __init__(self, **kwargs) -> None:
        super().__init__('excitation_node', **kwargs)
        declare_parameters(self, PARAMETERS)
        value = self._param
        self.robot = load_robot(str(value('robot')))
        patterns = [str(pattern) for pattern in value('joints')]
        order = [index for pattern in patterns for index in self.robot.joint_indices(pattern)]
        self.joints = np.array(list(dict.fromkeys(order)), dtype=int)
        config = ExcitationConfig(
            kind=str(value('kind')), amplitude=float(value('amplitude')),
            f_start=float(value('f_start')), f_end=float(value('f_end')),
            duration=float(value('duration')), rest=float(value('rest')),
            limit_margin=float(value('limit_margin')))
        self.rate = float(value('rate'))
        self.schedule = excitation_schedule(self.robot, self.joints, config, self.rate)
        self.limit_margin = config.limit_margin
        self.ramp_steps = int(round(float(value('ramp')) * self.rate))
        self.state_timeout = float(value('state_timeout'))
        self.wait_for_state = bool(value('wait_for_state'))
        self.exit_when_done = bool(value('exit_when_done'))
        self.measured: np.ndarray | None = None
        self.last_state_ns: int | None = None
        self.start_pose: np.ndarray | None = None
        self.tick = 0
        self.stopped = False
        self.done = False
        self.publisher = self.create_publisher(
            Float64MultiArray, value('command_topic'),
            qos_profile(value('command_qos'), 'command_qos'))
        self.create_subscription(JointState, value('joint_states_topic'), self._on_state,
                                 qos_profile(value('joint_states_qos'), 'joint_states_qos'))
        self.create_timer(1.0 / self.rate, self._on_timer)
        names = ', '.join(self.robot.joint_names[j] for j in self.joints)
        self.get_logger().info(
            f'exciting {names}: {config.kind} {config.f_start:g}-{config.f_end:g} Hz, '
            f'{config.amplitude:g} rad, {self.schedule.shape[0] / self.rate:.1f} s in all')

    def _param(self, name: str) -> Any:
        return parameter_value(self, PARAMETERS, name)

    def _on_state(self, message: JointState) -> None:
        positions = dict(zip(message.name, message.position))
        missing = [n for n in self.robot.joint_names if n not in positions]
        if missing:
            self._stop(f"joint states lack {', '.join(missing)}")
            return
        self.measured = np.array([positions[n] for n in self.robot.joint_names])
        self.last_state_ns = self.get_clock().now().nanoseconds
        excited = self.joints
        low = self.robot.position_lower[excited] + 0.5 * self.limit_margin
        high = self.robot.position_upper[excited] - 0.5 * self.limit_margin
        outside = (self.measured[excited] < low) | (self.measured[excited] > high)
        if outside.any() and not self.stopped:
            names = ', '.join(self.robot.joint_names[j] for j in excited[outside])
            self._stop(f'{names} within {0.5 * self.limit_margin:g} rad of a position limit')

    def _stop(self, reason: str) -> None:
        if not self.stopped:
            self.get_logger().error(f'excitation stopped, holding the default pose: {reason}')
        self.stopped = True

    def _publish(self, targets: np.ndarray) -> None:
        self.publisher.publish(Float64MultiArray(data=[float(v) for v in targets]))

    def _on_timer(self) -> None:
        if self.start_pose is None:
            if self.measured is None and self.wait_for_state:
                return
            self.start_pose = (self.measured if self.measured is not None
                               else self.robot.default_joint_pos).copy()
        now = self.get_clock().now().nanoseconds
        if (self.state_timeout > 0 and self.last_state_ns is not None
                and now - self.last_state_ns > self.state_timeout * 1e9):
            self._stop(f'no joint state for more than {self.state_timeout:g} s')
        if self.stopped:
            self._publish(self.robot.default_joint_pos)
            return
        if self.tick < self.ramp_steps:
            blend = (self.tick + 1) / self.ramp_steps
            targets = (1.0 - blend) * self.start_pose + blend * self.robot.default_joint_pos
        elif self.tick - self.ramp_steps < self.schedule.shape[0]:
            targets = self.schedule[self.tick - self.ramp_steps]
        else:
            targets = self.robot.default_joint_pos
            if not self.done:
                self.get_logger().info('excitation finished')
            self.done = True
        self._publish(targets)
        self.tick += 1


PROGRAM = NodeProgram(
    name='excitation_node', summary=__doc__.split('\n\n')[0], parameters=PARAMETERS,
    create=lambda context: ExcitationNode(context=context),
    finished=lambda node: node.done and node.exit_when_done)
"""How ``robot_learning.ros.node_main`` runs this node: until the last sweep (with
``exit_when_done``), a signal or a shutdown."""


def main(args: list[str] | None = None) -> int:
    """Run the excitation node; exit codes of ``robot_learning.ros.node_main``."""
    return run(PROGRAM, args)


if __name__ == '__main__':
    raise SystemExit(main())
