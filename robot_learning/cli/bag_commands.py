# SPDX-License-Identifier: Apache-2.0
"""``robot-learning bag info|export|repair``: argument parsing and handlers.

``add_bag_parser(subparsers)`` registers the ``bag`` command on the main parser; each handler
takes the parsed arguments and returns the exit code.
"""

from __future__ import annotations

import argparse
import json
import pathlib

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from robot_learning.atomic_write import atomic_write_text
from robot_learning.cli.arguments import add_replaced_option

CONSOLE = Console()
HANDLERS = 'robot_learning.cli.bag_commands'
HELD_ROLES = ('joint_commands', 'joint_trajectory')
EXPORT_FORMATS = ('npz', 'lerobot')


def add_bag_parser(subparsers) -> None:
    """Register ``bag info``, ``bag export`` and ``bag repair`` on ``subparsers``."""
    parser = subparsers.add_parser('bag', help='inspect, export and repair rosbag2 recordings')
    commands = parser.add_subparsers(dest='bag_command', required=True)

    info = commands.add_parser('info', help='topics, types, counts, rates and gaps of a bag')
    info.add_argument('bag', help='bag folder (or a .mcap / .db3 file)')
    info.add_argument('--period', type=float, default=None,
                      help='expected period [s] for the gap check (default: per-topic median)')
    info.set_defaults(handler=f'{HANDLERS}:run_bag_info')

    export = commands.add_parser(
        'export', help='resample a bag onto the control-rate grid and save trajectories (.npz) '
                       'or a LeRobot dataset')
    export.add_argument('bag', help='bag folder (or a .mcap / .db3 file)')
    export.add_argument('--contract', required=True,
                        help='policy bundle folder or contract YAML: joint order, control_dt')
    export.add_argument('--output', required=True,
                        help='trajectory .npz; several segments are written as '
                             '<stem>_segNN.npz; the report (also of a refused export) as '
                             '<stem>.report.json beside it')
    export.add_argument('--format', choices=EXPORT_FORMATS, default='npz',
                        help='npz: trajectory files; lerobot: a LeRobot v3.0 dataset in the new '
                             'folder --output, one episode per gap-free segment (default: npz)')
    export.add_argument('--rate', type=float, default=None, metavar='HZ',
                        help="resampling rate (default: the contract's control rate)")
    export.add_argument('--max-gap', type=float, default=None, metavar='S',
                        help='longest stamp step [s] that is not a gap (default: 1.5 periods)')
    export.add_argument('--allow-gaps', action='store_true',
                        help='cut the data into gap-free segments instead of refusing (always '
                             'so with --format lerobot)')
    export.add_argument('--task', default=None,
                        help="lerobot: task text of every frame (default: the contract's task)")
    export.add_argument('--repo-id', default=None,
                        help='lerobot: dataset repository id (default: local/<output name>)')
    export.add_argument('--hold-targets', action='store_true',
                        help='hold the last joint target when a command is late (as the '
                             'robot did) instead of cutting the data there')
    export.add_argument('--min-steps', type=int, default=2,
                        help='drop segments shorter than this many control steps')
    add_replaced_option(export, '--report', 'the report is written beside --output X.npz as '
                                            'X.report.json')
    export.add_argument('--topic', dest='topics', action='append', default=[],
                        metavar='ROLE=TOPIC',
                        help='topic name for a role: joint_states, imu, odom, cmd_vel, '
                             'joint_commands, joint_trajectory (repeatable)')
    export.set_defaults(handler=f'{HANDLERS}:run_bag_export')

    repair = commands.add_parser(
        'repair', help='make a bag readable whose recorder was killed (no metadata.yaml)')
    repair.add_argument('bag', help='bag folder')
    repair.add_argument('--discard-original', action='store_true',
                        help='delete the truncated MCAP file instead of keeping '
                             '<name>.mcap.truncated')
    repair.set_defaults(handler=f'{HANDLERS}:run_bag_repair')


def _seconds(nanoseconds: int) -> str:
    return f'{nanoseconds * 1e-9:.3f}'


def run_bag_info(args: argparse.Namespace) -> int:
    """``robot-learning bag info``."""
    from robot_learning.data.bag_export import GAP_FACTOR, topic_timing
    from robot_learning.data.bag_io import bag_info
    info = bag_info(args.bag)
    timing = topic_timing(args.bag, args.period)
    CONSOLE.print(f'[bold]{escape(str(info.path))}[/bold]: {info.storage}, '
                  f'{info.message_count} messages, {info.duration:.3f} s (bag time '
                  f'{_seconds(info.start_ns)} -> {_seconds(info.end_ns)})')
    threshold = (f'{GAP_FACTOR} x {args.period} s' if args.period
                 else f'{GAP_FACTOR} x median step')
    table = Table(title=f'topics (gap: step > {threshold})')
    for column in ('topic', 'type', 'count', 'rate [Hz]', 'stamps', 'max step [s]', 'gaps',
                   'out of order'):
        table.add_column(escape(column), justify='left' if column in ('topic', 'type', 'stamps')
                         else 'right')
    for name, topic in sorted(info.topics.items()):
        timed = timing.get(name)
        if timed is None:
            table.add_row(name, topic.msgtype, str(topic.message_count), '-', '-', '-', '-', '-')
            continue
        gaps = timed['gaps']
        table.add_row(
            name, topic.msgtype, str(topic.message_count), f"{timed['rate_hz']:.1f}",
            timed['stamps'], f"{timed['max_step_s']:.3f}",
            f'[red]{gaps}[/red]' if gaps else '0',
            f"[yellow]{timed['out_of_order']}[/yellow]" if timed['out_of_order'] else '0')
    CONSOLE.print(table)
    return 0


def load_contract_file(path: str):
    """Load a ``PolicyContract`` from a bundle folder or a contract YAML file.

    A relative path that does not exist is also looked up in the package share folder.
    """
    from robot_learning.config import from_dict, load_yaml
    from robot_learning.paths import share_dir
    from robot_learning.policies.contract import CONTRACT_FILE, load_contract, PolicyContract
    candidate = pathlib.Path(path).expanduser()
    if not candidate.exists() and not candidate.is_absolute():
        candidate = share_dir() / candidate
    if candidate.is_dir():
        return load_contract(candidate)
    if not candidate.is_file():
        raise FileNotFoundError(f'no policy bundle or contract at {path}')
    if candidate.name == CONTRACT_FILE:
        return load_contract(candidate.parent)
    contract = from_dict(PolicyContract, load_yaml(candidate), str(candidate))
    contract.validate()
    return contract


def _parse_topics(items: list[str]):
    import dataclasses

    from robot_learning.data.bag_export import BagTopics
    valid = [field.name for field in dataclasses.fields(BagTopics)]
    names = {}
    for item in items:
        role, separator, topic = item.partition('=')
        if not separator or role not in valid:
            raise ValueError(f"--topic '{item}': expected ROLE=TOPIC with ROLE one of "
                             f"{', '.join(valid)}")
        names[role] = topic
    return BagTopics(**names)


def print_export_report(report: dict) -> None:
    """Print the per-topic findings and the segments of an export report."""
    table = Table(title=f"{escape(report['bag'])} at {1 / report['control_dt']:.4g} Hz "
                        f"(gap: step > {report['gap_threshold_s']:.3f} s)")
    for column in ('topic', 'role', 'used/recorded', 'rate [Hz]', 'stamps', 'gaps',
                   'out of order', 'duplicates', 'skipped'):
        table.add_column(escape(column))
    for topic, entry in report['topics'].items():
        gaps = entry.get('gaps', [])
        gap_text = ', '.join(f"{gap['start_s']:.2f}-{gap['end_s']:.2f} s" for gap in gaps[:3])
        if len(gaps) > 3:
            gap_text += f' (+{len(gaps) - 3})'
        skipped = sum(entry.get('skipped', {}).values())
        if entry['role'] == 'cmd_vel':
            gap_cell = 'held'
        elif not gaps:
            gap_cell = '0'
        elif report.get('hold_targets') and entry['role'] in HELD_ROLES:
            gap_cell = f'{len(gaps)}: {gap_text} (held)'
        else:
            gap_cell = f'[red]{len(gaps)}: {gap_text}[/red]'
        table.add_row(
            topic, entry['role'], f"{entry.get('used', 0)}/{entry['messages']}",
            f"{entry.get('rate_hz', 0.0):.1f}", entry['stamps'], gap_cell,
            str(entry.get('out_of_order', 0)), str(entry.get('duplicates', 0)),
            f"{skipped}: {'; '.join(entry['skipped'])}" if skipped else '0')
    CONSOLE.print(table)
    for segment in report.get('segments', []):
        CONSOLE.print(f"segment {segment['start_s']:.3f} -> {segment['end_s']:.3f} s "
                      f"(after t0): {segment['steps']} steps")
    if report.get('missing_topics'):
        CONSOLE.print(f"[yellow]not recorded: {', '.join(report['missing_topics'])}[/yellow]")
    if report.get('missing_fields'):
        CONSOLE.print('[yellow]fields without data (NaN): '
                      f"{', '.join(report['missing_fields'])}[/yellow]")
    for note in report.get('notes', []):
        CONSOLE.print(note)
    if 'dropped_steps' in report:
        CONSOLE.print(f"{report['exported_steps']} of {report['grid_steps']} control steps "
                      f"exported, {report['dropped_steps']} dropped")


def report_path(output: str | pathlib.Path) -> pathlib.Path:
    """Return where ``bag export --output X.npz`` writes its report: ``X.report.json``."""
    output = pathlib.Path(output)
    return output.with_name(f'{output.stem}.report.json')


def _write_report(report: dict, path: pathlib.Path) -> None:
    target = atomic_write_text(path, json.dumps(report, indent=2))
    CONSOLE.print(f'report: {target}')


def _run_lerobot_export(args: argparse.Namespace, contract, control_dt: float) -> int:
    from robot_learning.data.bag_export import BagExportError
    from robot_learning.data.lerobot_export import export_lerobot
    try:
        report = export_lerobot(
            args.bag, args.output, contract.joint_names, control_dt, contract.robot,
            task=contract.task if args.task is None else args.task, repo_id=args.repo_id,
            topics=_parse_topics(args.topics), min_steps=args.min_steps,
            hold_targets=args.hold_targets, max_gap=args.max_gap)
    except BagExportError as error:
        if error.report.get('topics'):
            print_export_report(error.report)
        _write_report(error.report, report_path(args.output))
        raise
    print_export_report(report)
    written = report['lerobot']
    for episode in written['episodes']:
        CONSOLE.print(f"episode {episode['episode_index']}: {episode['frames']} frames from "
                      f"{episode['start_s']:.3f} s after t0")
    CONSOLE.print(f"wrote {written['output']}: LeRobot dataset {written['repo_id']}, "
                  f"{len(written['episodes'])} episode(s) at {written['fps']} fps")
    report['outputs'] = [written['output']]
    _write_report(report, report_path(args.output))
    return 0


def run_bag_export(args: argparse.Namespace) -> int:
    """``robot-learning bag export``; 2 (after printing the report) when gaps are refused."""
    from robot_learning.data.bag_export import BagExportError, export_bag
    contract = load_contract_file(args.contract)
    if args.rate is not None and not args.rate > 0:
        raise ValueError(f'--rate must be positive, got {args.rate}')
    control_dt = contract.control_dt if args.rate is None else 1.0 / args.rate
    if args.format == 'lerobot':
        return _run_lerobot_export(args, contract, control_dt)
    try:
        segments, report = export_bag(
            args.bag, contract.joint_names, control_dt, contract.robot,
            topics=_parse_topics(args.topics),
            on_gap='split' if args.allow_gaps else 'error', min_steps=args.min_steps,
            hold_targets=args.hold_targets, max_gap=args.max_gap)
    except BagExportError as error:
        if error.report.get('topics'):
            print_export_report(error.report)
        _write_report(error.report, report_path(args.output))
        raise
    print_export_report(report)
    output = pathlib.Path(args.output)
    paths = ([output] if len(segments) == 1 else
             [output.with_name(f'{output.stem}_seg{index:02d}{output.suffix or ".npz"}')
              for index in range(len(segments))])
    for segment, path in zip(segments, paths):
        segment.save(path)
        CONSOLE.print(f'wrote {path}: {len(segment)} steps, {segment.duration:.2f} s')
    report['outputs'] = [str(path) for path in paths]
    _write_report(report, report_path(args.output))
    return 0


def run_bag_repair(args: argparse.Namespace) -> int:
    """``robot-learning bag repair``."""
    from robot_learning.data.bag_io import repair_bag
    result = repair_bag(args.bag, keep_original=not args.discard_original)
    if result.status == 'intact':
        CONSOLE.print(f'{result.path}: intact ({result.message_count} messages); nothing to do')
        return 0
    per_topic = ', '.join(f'{topic} {count}' for topic, count in result.topics.items())
    CONSOLE.print(f'{result.path}: recovered {result.message_count} messages ({per_topic}) up '
                  f'to bag time {_seconds(result.end_ns)}')
    if result.dropped_bytes:
        CONSOLE.print(f'{result.dropped_bytes} bytes after the last complete chunk were lost')
    if result.original is not None:
        CONSOLE.print(f'the truncated original is kept as {result.original}')
    return 0
