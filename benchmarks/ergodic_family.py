# SPDX-License-Identifier: Apache-2.0
"""Ergodic search over the family of hole-offset distributions (or the 3-D socket).

Runs ``robot-learning search evaluate`` (``ergodic_search/evaluation.py``) over the offset
distributions of ``ergodic_search/offsets.py`` (all of them by default) with the same hole
offsets for every method, then writes ``docs/results/<name>.json``: per distribution and level
the success rate, the mean time-to-insert (successful trials), the mean with failures counted
at the budget, the ratio of the ergodic methods to the spiral, the candidate that
``ergodic_search`` chose, and the goals of issue 20 (success >= 95 % everywhere; <= 0.7 x the
spiral's mean with failures at the budget where the distribution is not central, <= 1.0 x where
it is). Plots (per distribution: density, trajectories, coverage; and ``ratios.png``) go to
``--output``.

Usage::

    python benchmarks/ergodic_family.py --levels high --trials 100          # ergodic_family
    python benchmarks/ergodic_family.py --variant socket --distribution two_modes
        --levels low medium high --methods ergodic ergodic_search --name ergodic_socket
"""

from __future__ import annotations

import argparse
import json
import pathlib
import platform
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
DEFAULT_METHODS = ('ergodic', 'ergodic_coverage', 'ergodic_search', 'spiral')


def table(report: dict) -> str:
    """Return the Markdown table of a report: one row per (distribution, level, method)."""
    lines = ['| distribution | level | method | success | mean time [s] | mean, failures at '
             'budget [s] | x spiral (failures at budget) |', '|---|---|---|---|---|---|---|']
    for name, distribution in report['distributions'].items():
        label = f"{name}{' (central)' if distribution['central'] else ''}"
        for level, entry in distribution['levels'].items():
            for method, summary in entry['methods'].items():
                mean = summary['mean_time']
                ratio = entry['ratios'].get(method, {}).get('mean_time_budgeted')
                choice = summary.get('plan_detail', '').split(' ')[0]
                lines.append(f"| {label} | {level} ({entry['scale_m'] * 1000:g} mm) | {method}"
                             f"{f' ({choice})' if choice else ''} | "
                             f"{summary['success_rate']:.0%} | "
                             f"{'-' if mean is None else f'{mean:.2f}'} | "
                             f"{summary['mean_time_budgeted']:.2f} | "
                             f"{'' if ratio is None else f'{ratio:.2f}'} |")
                label = ''
    return '\n'.join(lines)


def summary_rows(report: dict) -> tuple[dict, dict]:
    """Return ({'dist level': {method: success}}, {'dist level': {method: ratio}})."""
    success, ratios = {}, {}
    for name, distribution in report['distributions'].items():
        for level, entry in distribution['levels'].items():
            key = f'{name} {level}'
            success[key] = {method: summary['success_rate']
                            for method, summary in entry['methods'].items()}
            ratios[key] = {f'{method} / spiral': values['mean_time_budgeted']
                           for method, values in entry['ratios'].items()}
    return success, ratios


def plot_ratios(report: dict, path: pathlib.Path) -> None:
    """Bar chart of the ergodic methods' time ratios to the spiral per distribution."""
    import matplotlib
    matplotlib.use('Agg')
    from matplotlib import pyplot
    _, ratios = summary_rows(report)
    methods = sorted({method for row in ratios.values() for method in row})
    figure, axes = pyplot.subplots(figsize=(max(6.0, 0.9 * len(ratios)), 4.0))
    width = 0.8 / max(1, len(methods))
    for index, method in enumerate(methods):
        values = [row.get(method, float('nan')) or float('nan') for row in ratios.values()]
        axes.bar([i + index * width for i in range(len(ratios))], values, width, label=method)
    axes.axhline(1.0, color='k', lw=0.8)
    axes.axhline(0.7, color='r', lw=0.8, ls='--', label='goal (not central)')
    axes.set_xticks([i + 0.4 - width / 2 for i in range(len(ratios))])
    axes.set_xticklabels(list(ratios), rotation=30, ha='right', fontsize=8)
    axes.set_ylabel('mean time / spiral (failures at budget)')
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    pyplot.close(figure)


def main(argv: list[str] | None = None) -> int:
    """Evaluate, print the table and write ``docs/results/<name>.json`` and the plots."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--distribution', nargs='+', default=['all'],
                        help="offset distributions or 'all'")
    parser.add_argument('--levels', nargs='+', default=['high'])
    parser.add_argument('--methods', nargs='+', default=list(DEFAULT_METHODS))
    parser.add_argument('--trials', type=int, default=100)
    parser.add_argument('--variant', default='peg', choices=('peg', 'socket'))
    parser.add_argument('--yaw-std', type=float, default=0.15)
    parser.add_argument('--name', default='ergodic_family',
                        help='result name: docs/results/<name>.json')
    parser.add_argument('--output', default=None, help='plots folder (runs/<name>)')
    parser.add_argument('--report', default=None,
                        help="rebuild the JSON from this evaluation's report.json (same "
                             'arguments as the run that wrote it; no simulation)')
    args = parser.parse_args(argv)
    argv = list(sys.argv[1:] if argv is None else argv)
    if args.report:
        index = argv.index('--report')
        del argv[index:index + 2]
    from robot_learning.ergodic_search.evaluation import (evaluate, GOAL_RATIO_CENTRAL,
                                                          GOAL_RATIO_OFFCENTRE, GOAL_SUCCESS,
                                                          SearchEvaluationConfig)
    from robot_learning.ergodic_search.offsets import FAMILY
    from robot_learning.ergodic_search.peg_in_hole import PegInHoleConfig
    output = pathlib.Path(args.output or ROOT / 'runs' / args.name)
    output.mkdir(parents=True, exist_ok=True)
    distributions = FAMILY if args.distribution == ['all'] else tuple(args.distribution)
    config = SearchEvaluationConfig(levels=tuple(args.levels), methods=tuple(args.methods),
                                    trials=args.trials, distributions=distributions,
                                    yaw_std=args.yaw_std,
                                    task=PegInHoleConfig(variant=args.variant))
    if args.report:
        from robot_learning.ergodic_search.evaluation import goals
        report = json.loads(pathlib.Path(args.report).read_text(encoding='utf-8'))
        report['goals'] = goals(report, config)
    else:
        report = evaluate(config, output)
    markdown = table(report)
    print(markdown)
    print(json.dumps(report['goals'], indent=1))
    plot_ratios(report, output / 'ratios.png')
    success, ratios = summary_rows(report)
    result = {
        'command': 'python benchmarks/ergodic_family.py ' + ' '.join(argv),
        'goal': (f'ergodic success >= {GOAL_SUCCESS:.0%} everywhere; mean time with failures '
                 f'at the budget <= {GOAL_RATIO_OFFCENTRE} x the spiral on distributions that '
                 f'are not central, <= {GOAL_RATIO_CENTRAL} x on central ones'),
        'setup': {'robot': 'arm', 'variant': args.variant, 'trials': args.trials,
                  'budget_s': config.planner.duration, 'speed_m_s': config.planner.speed,
                  'demonstrations': config.demonstrations, 'levels': list(args.levels),
                  'yaw_std_rad': args.yaw_std if args.variant == 'socket' else 0.0,
                  'wall_s': round(report['wall_seconds'], 1),
                  'machine': platform.processor() or platform.machine()},
        'table': markdown + '\n',
        'success': success,
        'ratio_to_spiral': ratios,
        'goals': {method: {key: value for key, value in goal.items()
                           if key != 'time_goal_missed'} | {
            'time_goal_missed': '; '.join(goal['time_goal_missed']) or 'none'}
            for method, goal in report['goals'].items()},
    }
    from robot_learning.atomic_write import atomic_write_text
    path = atomic_write_text(ROOT / 'docs' / 'results' / f'{args.name}.json',
                             json.dumps(result, indent=2) + '\n')
    print(f'wrote {path} and the plots in {output}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
