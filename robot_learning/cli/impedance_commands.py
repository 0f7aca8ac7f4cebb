# SPDX-License-Identifier: Apache-2.0
"""``robot-learning impedance excite|fit``: argument parsing and handlers.

``add_impedance_parser(subparsers)`` registers the ``impedance`` command on the main parser;
each handler takes the parsed arguments and returns the exit code.
"""

from __future__ import annotations

import argparse
import dataclasses
import pathlib

from rich.console import Console
from rich.table import Table

from robot_learning.config import ConfigError, parse_override

CONSOLE = Console()
HANDLERS = 'robot_learning.cli.impedance_commands'


def add_impedance_parser(subparsers) -> None:
    """Register ``impedance excite`` and ``impedance fit`` on ``subparsers``."""
    parser = subparsers.add_parser(
        'impedance', help='actuator identification from chirps (impedance matching)')
    commands = parser.add_subparsers(dest='impedance_command', required=True)

    excite = commands.add_parser(
        'excite', help='run chirps in simulation (a reality config or a robot) -> recording.npz')
    source = excite.add_mutually_exclusive_group(required=True)
    source.add_argument('--reality', help='reality config (config/reality/) to measure')
    source.add_argument('--robot', help='robot name or YAML, with --backend and --set')
    excite.add_argument('--backend', default='mujoco', help='engine for --robot')
    excite.add_argument('--sim-dt', type=float, default=None,
                        help='physics step [s] (default: the reality config, or 0.005)')
    excite.add_argument('--set', dest='dynamics', nargs='*', default=[], metavar='PARAM=VALUE',
                        help='dynamics parameters for --robot, e.g. kp_scale=1.2')
    excite.add_argument('--joints', nargs='*', default=[], metavar='REGEX',
                        help='joints to excite (default: all)')
    _add_excitation_arguments(excite)
    excite.add_argument('--trials', type=int, default=1,
                        help='repetitions (different sensor-noise seeds)')
    excite.add_argument('--output', required=True, help='recording .npz to write')
    excite.set_defaults(handler=f'{HANDLERS}:run_excite')

    fit = commands.add_parser(
        'fit', help='match the simulator to a recording (.npz) or an excitation bag')
    fit.add_argument('recording', help='recording .npz (impedance excite) or bag folder '
                                       '(robot-learning node excitation_node + recorder)')
    fit.add_argument('--robot', default=None,
                     help='robot name or YAML (default: the one in the recording; needed '
                          'for bags)')
    fit.add_argument('--backend', default='mujoco', help='simulator engine to match')
    fit.add_argument('--sim-dt', type=float, default=0.005, help='simulator physics step [s]')
    fit.add_argument('--band', type=float, nargs=2, default=(0.5, 20.0),
                     metavar=('F_LOW', 'F_HIGH'), help='excited band [Hz]')
    fit.add_argument('--coherence', type=float, default=0.9,
                     help='keep frequencies with at least this coherence')
    fit.add_argument('--joints', nargs='*', default=[], metavar='NAME',
                     help='bag only: joints to take (default: every joint that moved)')
    fit.add_argument('--command-topic', default='/joint_commands')
    fit.add_argument('--state-topic', default='/joint_states')
    fit.add_argument('--no-plots', action='store_true', help='skip the Bode images')
    fit.add_argument('--output', required=True, help='folder for the matched files')
    fit.set_defaults(handler=f'{HANDLERS}:run_fit')


def _add_excitation_arguments(parser: argparse.ArgumentParser) -> None:
    from robot_learning.impedance_matching.excitation import ExcitationConfig
    defaults = ExcitationConfig()
    parser.add_argument('--kind', default=defaults.kind, help='log_chirp or stepped_sine')
    parser.add_argument('--amplitude', type=float, default=defaults.amplitude, help='[rad]')
    parser.add_argument('--f-start', type=float, default=defaults.f_start, help='[Hz]')
    parser.add_argument('--f-end', type=float, default=defaults.f_end, help='[Hz]')
    parser.add_argument('--duration', type=float, default=defaults.duration,
                        help='sweep length [s]')


def excitation_from_args(args: argparse.Namespace):
    """Build the ExcitationConfig of the parsed arguments."""
    from robot_learning.impedance_matching.excitation import ExcitationConfig
    return ExcitationConfig(kind=args.kind, amplitude=args.amplitude, f_start=args.f_start,
                            f_end=args.f_end, duration=args.duration)


def run_excite(args: argparse.Namespace) -> int:
    """``robot-learning impedance excite``."""
    from robot_learning.impedance_matching.excitation import select_joints
    from robot_learning.impedance_matching.experiment import run_excitation
    from robot_learning.robots.registry import load_robot
    from robot_learning.sim.base import SimConfig
    from robot_learning.sim.dynamics import check_values
    from robot_learning.sim.reality import load_reality

    if args.reality:
        reality = load_reality(args.reality)
        robot, backend, sim = load_robot(reality.robot), reality.backend, reality.sim
        dynamics, source = dict(reality.dynamics), f'sim:{reality.name}'
    else:
        robot, backend, sim = load_robot(args.robot), args.backend, SimConfig()
        dynamics = {}
        for text in args.dynamics:
            keys, value = parse_override(text)
            dynamics['.'.join(keys)] = float(value)
        check_values(dynamics, '--set')
        source = f'sim:{robot.name}:{backend}'
    if args.sim_dt:
        sim = dataclasses.replace(sim, sim_dt=args.sim_dt)
    joints = select_joints(robot, args.joints)
    recording = run_excitation(robot, backend, sim, dynamics, joints, excitation_from_args(args),
                               trials=args.trials, source=source)
    path = recording.save(args.output)
    CONSOLE.print(f'{len(recording.joints)} joint recordings of {robot.name} ({source}) '
                  f'-> {path}')
    return 0


def run_fit(args: argparse.Namespace) -> int:
    """``robot-learning impedance fit``."""
    from robot_learning.impedance_matching.frf import FrfConfig
    from robot_learning.impedance_matching.identify import match, Simulator
    from robot_learning.impedance_matching.outputs import write_outputs
    from robot_learning.impedance_matching.recording import Recording, recording_from_bag
    from robot_learning.robots.registry import load_robot
    from robot_learning.sim.base import SimConfig

    path = pathlib.Path(args.recording)
    if not path.exists():
        raise FileNotFoundError(f'no recording at {path}')
    if path.suffix == '.npz':
        recording = Recording.load(path)
        robot_name = args.robot or recording.robot
    else:
        if not args.robot:
            raise ConfigError('impedance fit: a bag needs --robot (its joint order)')
        robot_name = args.robot
        recording = recording_from_bag(path, load_robot(robot_name), tuple(args.joints),
                                       args.command_topic, args.state_topic)
    simulator = Simulator(load_robot(robot_name), args.backend, SimConfig(sim_dt=args.sim_dt))
    result = match(recording, simulator, tuple(args.band),
                   FrfConfig(coherence_threshold=args.coherence))
    paths = write_outputs(result, robot_name, args.output, plots=not args.no_plots)
    _print_result(result)
    CONSOLE.print(f"wrote {', '.join(sorted(paths))} to {args.output}")
    return 0


def _print_result(result) -> None:
    from robot_learning.impedance_matching.identify import ARMATURE_TRUST
    table = Table(title=f'impedance matching: {result.robot.name}')
    for column in ('group', 'kp [N·m/rad]', 'kd [N·m·s/rad]', 'armature [kg·m²]',
                   'damping', 'friction [N·m]', 'latency [ms]'):
        table.add_column(column, justify='right')
    for group, row in result.group_table().items():
        table.add_row(group, *(f'{row[name]:.4g} ({row[name + "_min"]:.3g}-'
                               f'{row[name + "_max"]:.3g})'
                               for name in ('kp', 'kd', 'armature', 'joint_damping',
                                            'friction_loss')),
                      f'{1e3 * row["latency"]:.1f}')
    CONSOLE.print(table)
    before = [fit.rms_db(fit.nominal_sim) for fit in result.fits]
    after = [fit.rms_db(fit.matched_sim) for fit in result.fits]
    CONSOLE.print(f'Bode magnitude RMS error over the kept band: before {max(before):.2f} dB '
                  f'(worst joint), after {max(after):.2f} dB')
    if result.unidentified_armature:
        CONSOLE.print(f'[yellow]armature not identified (standard error above '
                      f"{ARMATURE_TRUST:.0%} of the value: the link's inertia hides it) for "
                      f"{', '.join(result.unidentified_armature)}; the robot's own is kept"
                      '[/yellow]')
