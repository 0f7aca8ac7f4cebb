# SPDX-License-Identifier: Apache-2.0
"""ros2_control configuration for a policy bundle: controller_manager YAML and hardware PD gains.

``controllers_yaml(contract, options)`` writes one ROS parameters file (``--params-file`` of
``controller_manager/ros2_control_node``) that matches the bundle's contract:

- ``controller_manager``: ``update_rate`` and the controllers below;
- ``joint_state_broadcaster``: ``/joint_states`` for the policy node (it picks the contract's
  joints by name, extra joints are fine);
- ``interface: position`` (the training set-up: the policy's targets held for one control
  period, a PD with the trained gains at the physics rate):
  ``policy_position_controller``, a ``forward_command_controller/ForwardCommandController`` on
  the position interface; it takes ``std_msgs/Float64MultiArray`` in the contract's joint order
  on ``/policy_position_controller/commands``, which is what the policy node publishes
  (``command_type: array``). The PD runs in the hardware (the drive's position loop) with the
  gains of the ``robot_learning_hardware`` block. ``policy_trajectory_controller``
  (``joint_trajectory_controller/JointTrajectoryController``, position interface) is declared
  as an alternative for the node's ``command_type: trajectory``; it interpolates towards each
  target, which the policy was not trained with;
- ``interface: effort`` (for hardware that takes torques only): ``policy_trajectory_controller``
  on the effort interface, whose PID gains are the trained PD (``p = kp``, ``d = kd``, no
  integral), fed by the node's ``command_type: trajectory``; the PD then runs in the controller
  at ``update_rate``, so that defaults to the physics rate of training (``1 / sim_dt``), and the
  hardware's own position loop must be off. The controller's D term acts on the reference
  velocity of its interpolation minus the measured velocity, not on the measured velocity
  alone as in training; prefer the position interface where the drive offers it;
- ``imu_sensor_broadcaster`` (when ``imu_sensor`` is given): ``sensor_msgs/Imu`` on
  ``/imu_sensor_broadcaster/imu`` for the node's ``imu_topic``;
- ``robot_learning_hardware``: not a node. A documented block with the per-joint PD gains
  (``kp`` [N·m/rad], ``kd`` [N·m·s/rad]), effort limits [N·m] and default pose [rad] the bundle
  was trained with, in the contract's joint order, for the hardware interface (or its
  ``<ros2_control>`` URDF tag) to read; ``pd_loop`` says where the PD must run. ROS ignores the
  parameters of a node that does not exist, so the file stays one valid params file.
"""

from __future__ import annotations

import dataclasses
import math
import pathlib
import textwrap

import yaml

from robot_learning.atomic_write import atomic_write_text
from robot_learning.policies.contract import CONTRACT_FILE, load_contract, PolicyContract

INTERFACES = ('position', 'effort')
"""Hardware command interfaces a configuration can be written for."""
FORWARD_CONTROLLER = 'policy_position_controller'
TRAJECTORY_CONTROLLER = 'policy_trajectory_controller'
JOINT_STATE_BROADCASTER = 'joint_state_broadcaster'
IMU_BROADCASTER = 'imu_sensor_broadcaster'
HARDWARE_BLOCK = 'robot_learning_hardware'
"""Top-level key of the hardware PD gains (parameters of no node)."""
CONTROLLER_TYPES = {
    JOINT_STATE_BROADCASTER: 'joint_state_broadcaster/JointStateBroadcaster',
    FORWARD_CONTROLLER: 'forward_command_controller/ForwardCommandController',
    TRAJECTORY_CONTROLLER: 'joint_trajectory_controller/JointTrajectoryController',
    IMU_BROADCASTER: 'imu_sensor_broadcaster/IMUSensorBroadcaster',
}
"""Plugin type of each controller name this module writes."""


class _NoAliasDumper(yaml.SafeDumper):
    """A SafeDumper that writes a list used twice in full instead of as an alias."""

    def ignore_aliases(self, data) -> bool:
        return True


@dataclasses.dataclass(frozen=True)
class ControllerOptions:
    """What ``controllers_yaml`` writes besides what the contract fixes."""

    interface: str = 'position'
    """Hardware command interface: 'position' (PD in the hardware) or 'effort' (PD in the
    joint trajectory controller)."""
    update_rate: int = 0
    """controller_manager update rate [Hz]; 0: the policy rate 1 / control_dt for 'position',
    the training physics rate 1 / sim_dt for 'effort'. Must be a multiple of the policy rate."""
    imu_sensor: str = ''
    """Name of the IMU sensor in the robot's ``<ros2_control>`` tag; '' adds no IMU broadcaster
    (the robot publishes /imu/data some other way)."""
    imu_frame: str = 'imu_link'
    """frame_id of the broadcast Imu messages."""


def _whole_hertz(period: float, what: str) -> int:
    """Return 1 / period as an integer [Hz]; refuse a period without a whole rate."""
    rate = 1.0 / period
    if not math.isclose(rate, round(rate), rel_tol=0.0, abs_tol=1e-6 * rate):
        raise ValueError(f'{what} {period} s is {rate:.6g} Hz, not a whole number of Hz; '
                         'controller_manager needs an integer update_rate: pass --update-rate')
    return int(round(rate))


def update_rate(contract: PolicyContract, options: ControllerOptions) -> int:
    """Return the controller_manager update rate [Hz] for ``options`` (see ControllerOptions)."""
    if options.interface not in INTERFACES:
        raise ValueError(f"interface '{options.interface}' is not one of {', '.join(INTERFACES)}")
    policy_rate = 1.0 / contract.control_dt
    if options.update_rate < 0:
        raise ValueError(f'update_rate must be positive, got {options.update_rate}')
    if options.update_rate:
        rate = options.update_rate
    elif options.interface == 'effort':
        rate = _whole_hertz(contract.sim_dt, 'sim_dt')
    else:
        rate = _whole_hertz(contract.control_dt, 'control_dt')
    ratio = rate / policy_rate
    if ratio < 1.0 - 1e-9 or not math.isclose(ratio, round(ratio), abs_tol=1e-6):
        raise ValueError(f'update_rate {rate} Hz is not a multiple of the policy rate '
                         f'{policy_rate:g} Hz (control_dt {contract.control_dt} s)')
    return rate


def controller_config(contract: PolicyContract, options: ControllerOptions,
                      bundle: str = '') -> dict:
    """Return the parameters file as a mapping (the module docstring lists its blocks).

    Args:
        contract: the bundle's policy contract (joint order, gains, periods).
        options: interface, update rate and IMU broadcaster.
        bundle: bundle name or path, recorded in the hardware block.

    Raises:
        ValueError: an unknown interface or an update rate that does not fit the contract.
    """
    rate = update_rate(contract, options)
    joints = list(contract.joint_names)
    kp = [float(value) for value in contract.kp]
    kd = [float(value) for value in contract.kd]
    if options.interface == 'position':
        controllers = [JOINT_STATE_BROADCASTER, FORWARD_CONTROLLER, TRAJECTORY_CONTROLLER]
        pd_loop = 'hardware'
    else:
        controllers = [JOINT_STATE_BROADCASTER, TRAJECTORY_CONTROLLER]
        pd_loop = TRAJECTORY_CONTROLLER
    if options.imu_sensor:
        controllers.append(IMU_BROADCASTER)
    manager = {'update_rate': rate}
    manager.update({name: {'type': CONTROLLER_TYPES[name]} for name in controllers})
    config = {'controller_manager': {'ros__parameters': manager}}
    if options.interface == 'position':
        config[FORWARD_CONTROLLER] = {'ros__parameters': {
            'joints': joints, 'interface_name': 'position'}}
    trajectory = {'joints': joints, 'command_interfaces': [options.interface],
                  'state_interfaces': ['position', 'velocity'],
                  'allow_partial_joints_goal': False}
    if options.interface == 'effort':
        trajectory['gains'] = {name: {'p': p, 'd': d, 'i': 0.0, 'ff_velocity_scale': 0.0}
                               for name, p, d in zip(joints, kp, kd)}
    config[TRAJECTORY_CONTROLLER] = {'ros__parameters': trajectory}
    if options.imu_sensor:
        config[IMU_BROADCASTER] = {'ros__parameters': {
            'sensor_name': options.imu_sensor, 'frame_id': options.imu_frame}}
    config[HARDWARE_BLOCK] = {'ros__parameters': {
        'bundle': bundle,
        'command_interface': options.interface,
        'pd_loop': pd_loop,
        'control_dt': float(contract.control_dt),
        'joints': joints,
        'kp': kp,
        'kd': kd,
        'effort_limit': [float(value) for value in contract.effort_limit],
        'default_joint_pos': [float(value) for value in contract.default_joint_pos],
    }}
    return config


def controllers_yaml(contract: PolicyContract, options: ControllerOptions,
                     bundle: str = '') -> str:
    """Return the parameters file as YAML text, with a header that says how to use it."""
    config = controller_config(contract, options, bundle)
    if options.interface == 'position':
        use = (f'the policy node with command_type:=array and '
               f'command_topic:=/{FORWARD_CONTROLLER}/commands; the hardware runs the PD with '
               f'the kp/kd of {HARDWARE_BLOCK}')
    else:
        use = (f'the policy node with command_type:=trajectory and '
               f'trajectory_topic:=/{TRAJECTORY_CONTROLLER}/joint_trajectory; the PD (kp/kd '
               f'below) runs in {TRAJECTORY_CONTROLLER}, the hardware position loop must be off')
    header = [
        f'ros2_control configuration for the policy bundle {bundle or "(unnamed)"}',
        'written by: robot-learning bundle controllers (robot_learning/policies/controllers.py)',
        f'interface: {options.interface}; update_rate '
        f"{config['controller_manager']['ros__parameters']['update_rate']} Hz; policy rate "
        f'{1.0 / contract.control_dt:g} Hz',
        f'use: {use}.',
        f'{HARDWARE_BLOCK} is read by no node: per-joint gains and limits the bundle was trained '
        'with, in joint order, for the hardware interface.',
    ]
    # Lists of scalars in flow style; no YAML aliases (ROS's parameter parser has none).
    text = yaml.dump(config, Dumper=_NoAliasDumper, sort_keys=False, default_flow_style=None,
                     width=99)
    lines = (textwrap.wrap(line, 97, subsequent_indent='  ') for line in header)
    return ''.join(f'# {part}\n' for parts in lines for part in parts) + text


def write_controllers(bundle: str | pathlib.Path, output: str | pathlib.Path,
                      options: ControllerOptions) -> pathlib.Path:
    """Write the controller configuration of the bundle folder ``bundle`` to ``output``.

    Raises:
        FileNotFoundError: ``bundle`` holds no contract.yaml.
        ValueError: see ``controller_config``; a bad contract is a ConfigError (a ValueError).
    """
    bundle = pathlib.Path(bundle)
    if not (bundle / CONTRACT_FILE).is_file():
        raise FileNotFoundError(f'{bundle} is not a policy bundle: it has no {CONTRACT_FILE}')
    if options.interface not in INTERFACES:
        raise ValueError(f"interface '{options.interface}' is not one of {', '.join(INTERFACES)}")
    contract = load_contract(bundle)
    output = pathlib.Path(output)
    text = controllers_yaml(contract, options, bundle.resolve().name)
    output.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(output, text)
    return output
