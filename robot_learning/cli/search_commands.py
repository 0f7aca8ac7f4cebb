# SPDX-License-Identifier: Apache-2.0
"""``robot-learning search fit|plan|evaluate``: argument parsing and handlers.

``add_search_parser(subparsers)`` registers the ``search`` command on the main parser; each
handler takes the parsed arguments and returns the exit code.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import pathlib

from rich.console import Console
from rich.table import Table

from robot_learning.atomic_write import atomic_open, atomic_write_text

CONSOLE = Console()
HANDLERS = 'robot_learning.cli.search_commands'
METHODS = ('ergodic', 'ergodic_coverage', 'ergodic_search', 'sampling', 'spiral', 'random')
EVALUATED = ('ergodic', 'ergodic_search', 'sampling', 'spiral', 'random')
"""Methods of ``search evaluate`` by default."""


def add_search_parser(subparsers) -> None:
    """Register ``search fit``, ``search plan`` and ``search evaluate`` on ``subparsers``."""
    parser = subparsers.add_parser(
        'search', help='ergodic search for assembly: learn a search from demonstrations')
    commands = parser.add_subparsers(dest='search_command', required=True)

    fit = commands.add_parser(
        'fit', help='learn the exploration distribution and force model from demonstrations')
    fit.add_argument('demonstrations', nargs='*',
                     help='rosbag2 folders (PoseStamped + WrenchStamped) or .npz files')
    fit.add_argument('--synthetic', type=int, default=0, metavar='N',
                     help='use N SYNTHETIC demonstrations instead (scripted, not human)')
    fit.add_argument('--level', default='high',
                     help='uncertainty level of the synthetic holes: low, medium, high')
    fit.add_argument('--distribution', default='two_modes',
                     help='offset distribution of the synthetic holes (ergodic_search/offsets.py)')
    fit.add_argument('--save-demos', default=None, metavar='FOLDER',
                     help='also write the synthetic demonstrations there as rosbags')
    fit.add_argument('--hole', type=float, nargs=3, default=(0.55, 0.0, 0.2),
                     metavar=('X', 'Y', 'Z'), help='nominal hole position [m]')
    fit.add_argument('--hole-yaw', type=float, default=0.0, help='nominal hole yaw [rad]')
    fit.add_argument('--frame', default='world', help='frame of the hole pose')
    fit.add_argument('--dim', type=int, default=2, choices=(2, 3),
                     help='2: search x, y; 3: x, y, yaw')
    fit.add_argument('--pose-topic', default='/search/pose')
    fit.add_argument('--wrench-topic', default='/search/wrench')
    fit.add_argument('--max-components', type=int, default=5)
    fit.add_argument('--seed', type=int, default=0)
    fit.add_argument('--output', required=True, help='search model JSON to write')
    fit.set_defaults(handler=f'{HANDLERS}:run_search_fit')

    plan = commands.add_parser('plan', help='plan a search trajectory from a search model')
    plan.add_argument('model', help='search model JSON (from search fit)')
    plan.add_argument('--method', default='ergodic', choices=METHODS)
    plan.add_argument('--duration', type=float, default=30.0, help='[s]')
    plan.add_argument('--speed', type=float, default=0.02, help='[m/s]')
    plan.add_argument('--num-fct', type=int, default=10, help='basis functions per dimension')
    plan.add_argument('--seed', type=int, default=0)
    plan.add_argument('--output', default=None, help='plan .npz (positions, dt, metric)')
    plan.add_argument('--plot', default=None, help='PNG of the trajectory over the density')
    plan.set_defaults(handler=f'{HANDLERS}:run_search_plan')

    evaluate = commands.add_parser(
        'evaluate', help='success rate and time-to-insert of every method in MuJoCo')
    evaluate.add_argument('--trials', type=int, default=100, help='hole offsets per level')
    evaluate.add_argument('--levels', nargs='+', default=['low', 'medium', 'high'])
    evaluate.add_argument('--methods', nargs='+', default=list(EVALUATED), choices=METHODS)
    evaluate.add_argument('--distribution', nargs='+', default=['two_modes'], metavar='NAME',
                          help="offset distributions (ergodic_search/offsets.py FAMILY) or 'all'")
    evaluate.add_argument('--robot', default='arm', help='arm or kuka_iiwa')
    evaluate.add_argument('--variant', default='peg', choices=('peg', 'socket'),
                          help='peg: 2-D search; socket: 3-D search with yaw')
    evaluate.add_argument('--yaw-std', type=float, default=0.15,
                          help='yaw uncertainty of the socket variant [rad]')
    evaluate.add_argument('--demonstrations', type=int, default=8,
                          help='synthetic demonstrations per level')
    evaluate.add_argument('--duration', type=float, default=30.0,
                          help='time budget of a trial [s]')
    evaluate.add_argument('--seed', type=int, default=0)
    evaluate.add_argument('--output', required=True,
                          help='folder for report.json and the plots')
    evaluate.add_argument('--no-plots', action='store_true')
    evaluate.set_defaults(handler=f'{HANDLERS}:run_search_evaluate')


def run_search_fit(args: argparse.Namespace) -> int:
    """``robot-learning search fit``."""
    import numpy as np

    from robot_learning.ergodic_search.demonstrations import (
        HolePose, load_pose_wrench_demonstrations, SyntheticDemonstrator, write_bag)
    from robot_learning.ergodic_search.evaluation import SearchEvaluationConfig, offsets_for
    from robot_learning.ergodic_search.learning import learn_search_model
    hole = HolePose(position=np.asarray(args.hole, dtype=float), yaw=args.hole_yaw,
                    frame_id=args.frame)
    if args.synthetic:
        if args.demonstrations:
            raise ValueError('give demonstration files or --synthetic, not both')
        config = SearchEvaluationConfig(yaw_std=0.15 if args.dim == 3 else 0.0)
        if args.dim == 3:
            config = dataclasses.replace(config, task=dataclasses.replace(
                config.task, variant='socket'))
        demonstrator = SyntheticDemonstrator(
            offsets_for(args.level, config, args.distribution), hole)
        rng = np.random.default_rng(args.seed)
        demonstrations = [demonstrator.demonstrate(rng) for _ in range(args.synthetic)]
        if args.save_demos:
            folder = pathlib.Path(args.save_demos)
            folder.mkdir(parents=True, exist_ok=True)
            for index, demo in enumerate(demonstrations):
                write_bag(demo, folder / f'demo_{index:02d}', args.pose_topic,
                          args.wrench_topic)
            CONSOLE.print(f'wrote {len(demonstrations)} synthetic demonstration bags to {folder}')
    elif args.demonstrations:
        demonstrations = load_pose_wrench_demonstrations(args.demonstrations, args.pose_topic,
                                                         args.wrench_topic)
    else:
        raise ValueError('no demonstrations: give bag folders / .npz files or --synthetic N')
    model = learn_search_model(demonstrations, hole, dim=args.dim,
                               max_components=args.max_components, seed=args.seed)
    path = model.save(args.output)
    distribution = model.distribution
    CONSOLE.print(f'{len(demonstrations)} demonstrations, {model.num_samples} search samples: '
                  f'{distribution.num_components} components by BIC '
                  f"(BIC {', '.join(f'{value:.0f}' for value in distribution.bic)})")
    table = Table(title='exploration distribution (hole frame)')
    for column in ('weight', 'mean [mm]', 'std [mm]'):
        table.add_column(column, justify='right')
    for weight, mean, cov in zip(distribution.weights, distribution.means,
                                 distribution.covariances):
        table.add_row(f'{weight:.3f}', ', '.join(f'{1000 * value:.2f}' for value in mean),
                      ', '.join(f'{1000 * value:.2f}' for value in np.sqrt(np.diag(cov))))
    CONSOLE.print(table)
    CONSOLE.print(f'wrote {path}')
    return 0


def run_search_plan(args: argparse.Namespace) -> int:
    """``robot-learning search plan``: prints the planning time and the ergodic metric."""
    import numpy as np

    from robot_learning.ergodic_search.learning import SearchModel
    from robot_learning.ergodic_search.plan import PlannerConfig
    from robot_learning.ergodic_search.planners import make_plan
    model = SearchModel.load(args.model)
    config = PlannerConfig(duration=args.duration, speed=args.speed, num_fct=args.num_fct,
                           seed=args.seed)
    plan = make_plan(args.method, model.distribution, config)
    CONSOLE.print(f'{args.method}: {len(plan.positions) - 1} steps ({plan.duration:g} s at '
                  f'{args.speed:g} m/s) planned in {plan.plan_seconds:.4f} s; ergodic metric '
                  f'{plan.metric[-1]:.3g}')
    if args.output:
        path = pathlib.Path(args.output)
        with atomic_open(path, 'wb') as stream:
            np.savez(stream, positions=plan.positions, dt=plan.dt, metric=plan.metric,
                     metric_times=plan.metric_times, method=np.array(plan.method))
        CONSOLE.print(f'wrote {path}')
    if args.plot:
        from robot_learning.ergodic_search.plots import plot_trajectories
        written = plot_trajectories(model.distribution, {args.method: plan}, 10.0,
                                    pathlib.Path(args.plot))
        CONSOLE.print(f'wrote {written}')
    return 0


def run_search_evaluate(args: argparse.Namespace) -> int:
    """``robot-learning search evaluate``: report.json, plots and a table."""
    from robot_learning.ergodic_search.evaluation import SearchEvaluationConfig, evaluate
    from robot_learning.ergodic_search.offsets import FAMILY
    from robot_learning.ergodic_search.peg_in_hole import PegInHoleConfig
    from robot_learning.ergodic_search.plan import PlannerConfig
    distributions = FAMILY if args.distribution == ['all'] else tuple(args.distribution)
    config = SearchEvaluationConfig(
        levels=tuple(args.levels), methods=tuple(args.methods), trials=args.trials,
        distributions=distributions,
        demonstrations=args.demonstrations, yaw_std=args.yaw_std, seed=args.seed,
        task=PegInHoleConfig(robot=args.robot, variant=args.variant),
        planner=PlannerConfig(duration=args.duration))
    report = evaluate(config, args.output, plots=not args.no_plots)
    report['command_line'] = getattr(args, 'command_line', '')
    path = atomic_write_text(pathlib.Path(args.output) / 'report.json',
                             json.dumps(report, indent=2))
    table = Table(title=f'{args.robot} {args.variant}: {args.trials} trials per level, '
                        f'budget {args.duration:g} s')
    for column in ('distribution', 'level', 'method', 'success', 'mean time [s]',
                   'mean time, failures at budget [s]', 'x spiral', 'plan [s]'):
        table.add_column(column, justify='right')
    for name, distribution in report['distributions'].items():
        for level, entry in distribution['levels'].items():
            for method, summary in entry['methods'].items():
                mean = summary['mean_time']
                ratio = entry['ratios'].get(method, {}).get('mean_time_budgeted')
                table.add_row(name, level, method, f"{summary['success_rate']:.1%}",
                              '-' if mean is None else f'{mean:.2f}',
                              f"{summary['mean_time_budgeted']:.2f}",
                              '' if ratio is None else f'{ratio:.2f}',
                              f"{summary['plan_seconds']:.3f}")
    CONSOLE.print(table)
    CONSOLE.print(f"goals: {json.dumps(report['goals'])}")
    CONSOLE.print(f'wrote {path}')
    return 0
