# SPDX-License-Identifier: Apache-2.0
"""``robot-learning motion generate|evaluate|collect|clip``: argument parsing and handlers.

``add_motion_parser(subparsers)`` registers the ``motion`` command on the main parser; each
handler takes the parsed arguments and returns the exit code.
"""

from __future__ import annotations

import argparse
import json
import pathlib

from rich.console import Console
from rich.table import Table

from robot_learning.atomic_write import atomic_write_text
from robot_learning.cli.arguments import add_replaced_option

CONSOLE = Console()
HANDLERS = 'robot_learning.cli.motion_commands'


def add_motion_parser(subparsers) -> None:
    """Register ``motion generate``, ``evaluate``, ``collect`` and ``clip``."""
    parser = subparsers.add_parser(
        'motion', help='humanoid motion tracking: reference motions, evaluation, clips')
    commands = parser.add_subparsers(dest='motion_command', required=True)

    generate = commands.add_parser(
        'generate', help='write the shipped reference motions (keyframes -> .npz)')
    generate.add_argument('--output', default=None,
                          help='folder (default: motions/<robot>/ in the share folder)')
    generate.set_defaults(handler=f'{HANDLERS}:run_generate')

    evaluate = commands.add_parser(
        'evaluate', help='play every motion of a bundle in simulation; ASAP tracking metrics')
    evaluate.add_argument('bundle', help='policy bundle folder')
    evaluate.add_argument('--backend', default='mujoco', help='simulator engine')
    evaluate.add_argument('--reality', default='',
                          help='reality config to evaluate on (overrides --backend)')
    evaluate.add_argument('--motions', nargs='*', default=[],
                          help="motions to play (default: the contract's)")
    evaluate.add_argument('--output', default=None, metavar='DIR',
                          help='folder to write report.json to')
    add_replaced_option(evaluate, '--report', '--output DIR writes DIR/report.json')
    evaluate.set_defaults(handler=f'{HANDLERS}:run_evaluate')

    collect = commands.add_parser(
        'collect', help='deploy a bundle over ROS 2 on a reality; one trajectory clip per '
                        'motion (bag -> .npz), scored against the reference')
    collect.add_argument('bundle', help='policy bundle folder')
    collect.add_argument('--reality', default='humanoid_pybullet_nominal',
                         help='reality config of the "real robot"')
    collect.add_argument('--output', required=True, help='folder for the clips and bags')
    collect.add_argument('--motions', nargs='*', default=[],
                         help="motions to play (default: the contract's)")
    collect.add_argument('--repeats', type=int, default=1, help='clips per motion')
    collect.add_argument('--domain-id', type=int, default=70, help='ROS_DOMAIN_ID of the run')
    collect.set_defaults(handler=f'{HANDLERS}:run_collect')

    clip = commands.add_parser(
        'clip', help='cut a motion clip out of a recorded bag (robot or sim bridge) and score '
                     'it against the reference')
    clip.add_argument('bag', help='rosbag2 folder recorded while the policy played the motion')
    clip.add_argument('--bundle', required=True, help='the motion-tracking policy bundle')
    clip.add_argument('--motion', default='',
                      help="the motion that was played (default: the contract's first)")
    clip.add_argument('--output', required=True, help='clip .npz (data.trajectory format)')
    clip.set_defaults(handler=f'{HANDLERS}:run_clip')


def print_tracking(title: str, per_motion: dict, mean: dict) -> None:
    """Print one row per motion (or clip) and the mean."""
    table = Table(title=title)
    keys = list(mean)
    table.add_column('motion')
    for key in keys:
        table.add_column(key, justify='right')
    for name, metrics in [*per_motion.items(), ('mean', mean)]:
        table.add_row(name, *(f'{metrics[key]:.3f}' for key in keys))
    CONSOLE.print(table)


def run_generate(args: argparse.Namespace) -> int:
    """``robot-learning motion generate``."""
    from robot_learning.motions.motions import write_motions
    for path in write_motions(pathlib.Path(args.output) if args.output else None):
        CONSOLE.print(f'wrote {path}')
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    """``robot-learning motion evaluate``."""
    from robot_learning.evaluation.motions import evaluate_motions
    from robot_learning.evaluation.setup import EvaluationConfig
    report = evaluate_motions(args.bundle, EvaluationConfig(
        backend=args.backend, reality=args.reality, motions=tuple(args.motions)))
    print_tracking(f'{args.bundle} on {args.reality or args.backend}', report['motions'],
                   report['metrics'])
    if args.output:
        path = atomic_write_text(pathlib.Path(args.output) / 'report.json',
                                 json.dumps(report, indent=2, default=str))
        CONSOLE.print(f'report: {path}')
    return 0


def run_collect(args: argparse.Namespace) -> int:
    """``robot-learning motion collect``."""
    from robot_learning.ros.motion_clips import collect_motion_clips
    report = collect_motion_clips(args.bundle, args.reality, args.output,
                                  tuple(args.motions), args.domain_id, args.repeats)
    print_tracking(f'{args.bundle} on {args.reality} over ROS 2', report['per_clip'],
                   report['metrics'])
    CONSOLE.print(f"clips: {', '.join(clip['path'] for clip in report['clips'])}")
    return 0


def run_clip(args: argparse.Namespace) -> int:
    """``robot-learning motion clip``."""
    from robot_learning.motions.clips import clip_from_bag
    from robot_learning.evaluation.motions import rollout_metrics
    from robot_learning.motions.kinematics import BodyKinematics
    from robot_learning.motions.library import MotionLibrary
    from robot_learning.policies.contract import load_contract
    from robot_learning.robots.registry import load_robot
    from robot_learning.tasks.registry import task_spec
    contract = load_contract(args.bundle)
    if task_spec(contract.task).operator_input != 'reference_motion':
        raise ValueError(f"{args.bundle}: a '{contract.task}' policy, not a motion-tracking "
                         'one')
    robot = load_robot(contract.robot)
    library = MotionLibrary.read(contract.motion_paths(args.bundle))
    index = library.index(args.motion or library.names[0])
    name = library.names[index]
    trajectory = clip_from_bag(args.bag, contract, float(library.durations[index]))
    metrics = rollout_metrics(library, BodyKinematics(robot, library.body_names), name,
                              trajectory.time - trajectory.time[0], trajectory.base_pos,
                              trajectory.base_quat, trajectory.joint_pos)
    path = trajectory.save(args.output)
    print_tracking(f'{args.bag}: {name}', {name: metrics}, metrics)
    CONSOLE.print(f'clip: {path} ({len(trajectory)} samples)')
    return 0
