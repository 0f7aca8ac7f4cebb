# SPDX-License-Identifier: Apache-2.0
"""``robot-learning bundle controllers|upgrade``: tools that work on an exported policy bundle.

``add_bundle_parser(subparsers)`` registers the ``bundle`` command on the main parser; every
subcommand is one ``_add_*`` function in ``SUBCOMMANDS`` (add a function there to extend the
group); each handler takes the parsed arguments and returns the exit code.
"""

from __future__ import annotations

import argparse

HANDLERS = 'robot_learning.cli.bundle_commands'


def _add_controllers(commands) -> None:
    from robot_learning.policies.controllers import INTERFACES
    controllers = commands.add_parser(
        'controllers', help='write the ros2_control controller_manager YAML for a bundle',
        description="Write a controller_manager parameters file with the bundle's joint names, "
                    'update rate and the PD gains it was trained with (see '
                    'robot_learning/policies/controllers.py), for launch/robot_control.launch.py.')
    controllers.add_argument('bundle', help='policy bundle folder (holds contract.yaml)')
    controllers.add_argument('--interface', default='position',
                             help=f"hardware command interface: {' or '.join(INTERFACES)} "
                                  '(default: position)')
    controllers.add_argument('--output', required=True, help='YAML file to write')
    controllers.add_argument('--update-rate', type=int, default=0, metavar='HZ',
                             help='controller_manager update rate; default: the policy rate '
                                  '(position) or the training physics rate (effort)')
    controllers.add_argument('--imu-sensor', default='', metavar='NAME',
                             help='also broadcast the <ros2_control> IMU sensor NAME')
    controllers.add_argument('--imu-frame', default='imu_link',
                             help='frame_id of the broadcast Imu messages')
    controllers.set_defaults(handler=f'{HANDLERS}:run_controllers')


def _add_upgrade(commands) -> None:
    upgrade = commands.add_parser(
        'upgrade', help='convert a version-1 bundle to the self-contained version-2 contract',
        description='Read a version-1 bundle (its contract names the robot YAML that holds the '
                    'joint limits) and write a version-2 bundle that carries the task name, the '
                    'limits and its reference motions itself; the ONNX and TorchScript files '
                    'are copied unchanged. --output may equal OLD (upgrade in place).')
    upgrade.add_argument('old', help='version-1 bundle folder')
    upgrade.add_argument('--output', required=True, metavar='NEW',
                         help='version-2 bundle folder to write')
    upgrade.set_defaults(handler=f'{HANDLERS}:run_upgrade')


SUBCOMMANDS = (_add_controllers, _add_upgrade)
"""The ``bundle`` subcommands, each registered by its function."""


def add_bundle_parser(subparsers) -> None:
    """Register ``bundle`` and its subcommands (``SUBCOMMANDS``) on ``subparsers``."""
    parser = subparsers.add_parser('bundle', help='tools for exported policy bundles')
    commands = parser.add_subparsers(dest='bundle_command', required=True)
    for add in SUBCOMMANDS:
        add(commands)


def run_controllers(args: argparse.Namespace) -> int:
    """``robot-learning bundle controllers``."""
    from robot_learning.policies.controllers import ControllerOptions, write_controllers
    options = ControllerOptions(interface=args.interface, update_rate=args.update_rate,
                                imu_sensor=args.imu_sensor, imu_frame=args.imu_frame)
    path = write_controllers(args.bundle, args.output, options)
    print(f'wrote {path} ({args.interface} interface); start it with: ros2 launch robot_learning '
          f'robot_control.launch.py bundle:={args.bundle} controllers:={path} '
          'robot_description:=<your robot URDF with a <ros2_control> tag>')
    return 0


def run_upgrade(args: argparse.Namespace) -> int:
    """``robot-learning bundle upgrade``."""
    import shlex
    import sys

    from robot_learning.policies.contract import load_contract
    from robot_learning.policies.upgrade import upgrade_bundle
    command = shlex.join(['robot-learning', *sys.argv[1:]])
    path = upgrade_bundle(args.old, args.output, command=command)
    contract = load_contract(path)
    print(f"wrote {path}: contract version {contract.version}, task '{contract.task}', "
          f'{contract.num_joints} joints, {len(contract.motions)} reference motion(s)')
    return 0
