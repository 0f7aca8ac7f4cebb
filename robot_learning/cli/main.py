# SPDX-License-Identifier: Apache-2.0
"""``robot-learning``: one entry point, one subcommand per workflow step."""

from __future__ import annotations

import argparse
import importlib
import logging
import pathlib
import shlex
import sys

from robot_learning.cli.arguments import add_replaced_option
from robot_learning.config import ConfigError


def installed_file(path: str) -> str:
    """Return ``path``, or the installed file it names when it is not there from this folder.

    A relative path that does not exist from the working folder is looked up in the share
    folder (``robot_learning.paths.share_dir``), so ``config/train/quadruped_flat.yaml`` (the
    default of ``train --config``) works from any folder after an install.
    """
    candidate = pathlib.Path(path).expanduser()
    if candidate.is_absolute() or candidate.exists():
        return path
    from robot_learning.paths import share_dir
    try:
        installed = share_dir() / candidate
    except FileNotFoundError:
        return path
    return str(installed) if installed.exists() else path


def _add_train(subparsers) -> None:
    parser = subparsers.add_parser('train', help='train a policy with PPO (rsl-rl)')
    parser.add_argument('--config', default='config/train/quadruped_flat.yaml',
                        type=installed_file,
                        help='training YAML (see config/train/; a relative path that is not '
                             'found from this folder is looked up in the installed package)')
    parser.add_argument('overrides', nargs='*', help='key.sub=value overrides')
    parser.add_argument('--resume', action='store_true',
                        help='continue from the newest checkpoint in run_dir')
    parser.add_argument('--verbose', action='store_true', help="print rsl-rl's full log")
    parser.set_defaults(handler='robot_learning.cli.commands:run_train')


def _add_export(subparsers) -> None:
    parser = subparsers.add_parser('export', help='write a policy bundle from a training run')
    parser.add_argument('run_dir', help='training run folder (holds config.yaml, model_*.pt)')
    parser.add_argument('--checkpoint', default=None, help='checkpoint file (default: newest)')
    parser.add_argument('--output', required=True, help='bundle folder to write')
    parser.set_defaults(handler='robot_learning.cli.commands:run_export')


def _add_evaluate(subparsers) -> None:
    parser = subparsers.add_parser('evaluate', help='evaluate a policy bundle in simulation')
    parser.add_argument('bundle', help='policy bundle folder')
    parser.add_argument('--backend', default='mujoco', help='mujoco or pybullet')
    parser.add_argument('--num-envs', type=int, default=16)
    parser.add_argument('--episode-length', type=float, default=20.0, help='seconds')
    parser.add_argument('--command', dest='velocity_command', type=float, nargs=3,
                        default=(0.5, 0.0, 0.0),
                        metavar=('VX', 'VY', 'YAW_RATE'), help='velocity command')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--output', default=None, metavar='DIR',
                        help='folder for report.json (and the plots of a transfer evaluation)')
    add_replaced_option(parser, '--report', '--output DIR writes DIR/report.json')
    parser.add_argument('--set', dest='dynamics', nargs='*', default=[],
                        metavar='PARAM=VALUE',
                        help='dynamics parameters, e.g. ground_friction=0.6')
    transfer = parser.add_argument_group(
        'transfer over dynamics (domain randomization)',
        'With --target, episodes draw commands and resets as in training and count successes '
        "with the task's criterion; report.json and the plots go to --output DIR.")
    transfer.add_argument('--target', default=None, metavar='TRAIN_YAML',
                          help='training config whose randomization.parameters is the target '
                               'box and whose task defines commands and success')
    transfer.add_argument('--episodes', type=int, default=256,
                          help='episodes on the uniform target box (global success rate)')
    transfer.add_argument('--heatmap', nargs=2, default=(), metavar=('PARAM_X', 'PARAM_Y'),
                          help='sweep two parameters of the box (others nominal)')
    transfer.add_argument('--cells', type=int, default=8, help='heatmap cells per axis')
    transfer.add_argument('--cell-episodes', type=int, default=4, help='episodes per cell')
    transfer.add_argument('--reality', nargs='*', default=[], metavar='NAME',
                          help='reality configs to evaluate on (config/reality/)')
    transfer.add_argument('--reality-episodes', type=int, default=32)
    transfer.add_argument('--training-runs', nargs='*', default=[], metavar='RUN_DIR',
                          help='runs whose randomization history (entropy, success) to plot')
    from robot_learning.cli.play_commands import add_video_arguments
    add_video_arguments(parser, 'render environment 0 of the evaluation to this file (.mp4, '
                                '.gif or .png); not with --target')
    parser.set_defaults(handler='robot_learning.cli.commands:run_evaluate')


def _add_demo(subparsers) -> None:
    parser = subparsers.add_parser(
        'demo', help='the main job: the shipped quadruped policy driving a PyBullet "real '
                     'robot" over ROS 2 (separate processes), recorded to a bag')
    parser.add_argument('--reality', default='quadruped_pybullet_nominal',
                        help='reality config (config/reality/) played by the sim bridge')
    parser.add_argument('--bundle', default=None,
                        help='policy bundle (default: policies/quadruped_deploy)')
    parser.add_argument('--output', default=None,
                        help='output folder (default: runs/demo-<date>-<time>)')
    from robot_learning.cli.play_commands import add_video_arguments
    add_video_arguments(parser, "render the recorded trajectory (the sim bridge's robot) to "
                                'this file (.mp4, .gif or .png) after the run')
    parser.set_defaults(handler='robot_learning.cli.commands:run_demo')


NODES = {
    'policy_node': 'robot_learning.ros.policy_node:main',
    'sim_bridge': 'robot_learning.ros.sim_bridge_node:main',
    'recorder': 'robot_learning.ros.recorder_node:main',
    'search_node': 'robot_learning.ros.search_node:main',
    'excitation_node': 'robot_learning.ros.excitation_node:main',
}
"""``robot-learning node <name>`` -> the node's main. Each name is the node's console script
(setup.py), its ROS node name and its ``name`` in the launch files."""
NODE_ALIASES = {
    'policy': 'policy_node', 'sim': 'sim_bridge', 'record': 'recorder', 'search': 'search_node',
    'excite': 'excitation_node',
}
"""Earlier short names, still accepted with a note on stderr."""


def node_name(name: str) -> str:
    """Return the node called ``name`` (a console script name, or an earlier alias)."""
    if name in NODE_ALIASES:
        print(f"robot-learning node: '{name}' is now called '{NODE_ALIASES[name]}' (the name of "
              'its console script and of the ROS node)', file=sys.stderr)
        return NODE_ALIASES[name]
    if name not in NODES:
        raise argparse.ArgumentTypeError(f"unknown node '{name}'; the nodes: "
                                         f"{', '.join(sorted(NODES))}")
    return name


def _add_node(subparsers) -> None:
    parser = subparsers.add_parser(
        'node', help='start a ROS 2 node without ros2 launch',
        description='Start a node by the name of its console script; everything after the name '
                    'goes to rclpy, e.g. robot-learning node policy_node --ros-args -p '
                    'bundle:=policies/quadruped_flat')
    parser.add_argument('name', type=node_name, metavar='NAME',
                        help=f"one of {', '.join(sorted(NODES))}")
    parser.add_argument('ros_args', nargs=argparse.REMAINDER,
                        help='arguments for the node (--ros-args -p name:=value ...)')
    parser.set_defaults(handler='robot_learning.cli.main:run_node')


def _add_play(subparsers) -> None:
    from robot_learning.cli.play_commands import add_play_parser
    add_play_parser(subparsers)


def _add_bag(subparsers) -> None:
    from robot_learning.cli.bag_commands import add_bag_parser
    add_bag_parser(subparsers)


def _add_search(subparsers) -> None:
    from robot_learning.cli.search_commands import add_search_parser
    add_search_parser(subparsers)


def _add_impedance(subparsers) -> None:
    from robot_learning.cli.impedance_commands import add_impedance_parser
    add_impedance_parser(subparsers)


def _add_motion(subparsers) -> None:
    from robot_learning.cli.motion_commands import add_motion_parser
    add_motion_parser(subparsers)


def _add_delta(subparsers) -> None:
    from robot_learning.cli.delta_commands import add_delta_parser
    add_delta_parser(subparsers)


def _add_ccil(subparsers) -> None:
    from robot_learning.cli.ccil_commands import add_ccil_parser
    add_ccil_parser(subparsers)


def _add_bundle(subparsers) -> None:
    from robot_learning.cli.bundle_commands import add_bundle_parser
    add_bundle_parser(subparsers)


def _add_robot(subparsers) -> None:
    from robot_learning.cli.robot_commands import add_robot_parser
    add_robot_parser(subparsers)


def _add_list(subparsers) -> None:
    from robot_learning.cli.list_commands import add_list_parser
    add_list_parser(subparsers)


def run_node(args: argparse.Namespace) -> int:
    """``robot-learning node``: run a node's main with the remaining arguments."""
    module_name, function_name = NODES[args.name].split(':')
    node_main = getattr(importlib.import_module(module_name), function_name)
    return int(node_main([f'robot-learning node {args.name}', *args.ros_args]) or 0)


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser of ``robot-learning`` with every subcommand."""
    parser = argparse.ArgumentParser(
        prog='robot-learning', description='Sim-to-real robot learning toolkit.')
    parser.add_argument('--log-level', default='INFO')
    subparsers = parser.add_subparsers(dest='command', required=True)
    for add in (_add_train, _add_export, _add_play, _add_evaluate, _add_demo, _add_node, _add_bag,
                _add_search, _add_impedance, _add_motion, _add_delta, _add_ccil,
                _add_bundle, _add_robot, _add_list):
        add(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    args.command_line = shlex.join(['robot-learning', *argv])
    logging.basicConfig(level=args.log_level.upper(), format='%(levelname)s %(name)s: %(message)s')
    module_name, function_name = args.handler.split(':')
    handler = getattr(importlib.import_module(module_name), function_name)
    try:
        return int(handler(args) or 0)
    except (ConfigError, FileNotFoundError, FileExistsError, ValueError) as error:
        print(f'robot-learning {args.command}: error: {error}', file=sys.stderr)
        return 2


if __name__ == '__main__':
    sys.exit(main())
