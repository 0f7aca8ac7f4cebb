# SPDX-License-Identifier: Apache-2.0
"""Ergodic search figures: SMC planner speed and the success / time-to-insert table.

- planner: the 2-D SMC of ergodic_impedance.md A.4 (the pbdlib / RCFS two-Gaussian target,
  10 basis functions per dimension, dt 0.01, u_max 10, start (0.1, 0.3)): wall time of a
  2000-step plan (best and median of ``--repeats``; goal < 0.1 s) and the ergodic metric after
  10, 200, 2000 and 10,000 steps against the reference (7.7e-3, 2.1e-4, 4.1e-5, 1.3e-5).
- evaluation (``--evaluate``): ``robot-learning search evaluate`` with the same defaults
  (synthetic demonstrations, ``--trials`` hole offsets per uncertainty level, the default
  methods), then a Markdown table of success rate and mean time-to-insert. The family of
  offset distributions and the 3-D socket: ``benchmarks/ergodic_family.py``.

Usage: ``python benchmarks/ergodic_search.py --output runs/ergodic_search_bench [--evaluate]``
"""

from __future__ import annotations

import argparse
import json
import pathlib
import platform
import time

import numpy as np

from robot_learning.ergodic_search.fourier import basis_indices, gaussian_mixture_coefficients
from robot_learning.ergodic_search.smc import smc_trajectory

MEANS = np.array([[0.5, 0.7], [0.6, 0.3]])
COVARIANCES = np.stack([np.outer([0.3, 0.1], [0.3, 0.1]) * 0.5 + np.eye(2) * 5e-3,
                        np.outer([0.1, 0.2], [0.1, 0.2]) * 0.3 + np.eye(2) * 1e-2])
REFERENCE = {10: 7.7e-3, 200: 2.1e-4, 2000: 4.1e-5, 10000: 1.3e-5}
"""Ergodic metric of the reference NumPy implementation after this many steps."""


def planner_figures(repeats: int) -> dict:
    """Time the 2000-step SMC plan and read its metric at the reference step counts."""
    target = gaussian_mixture_coefficients(np.array([0.5, 0.5]), MEANS, COVARIANCES,
                                           basis_indices(10, 2))
    start = np.array([0.1, 0.3])
    smc_trajectory(target, start, 10)  # warm-up (imports, caches)
    seconds = []
    for _ in range(repeats):
        begin = time.perf_counter()
        smc_trajectory(target, start, 2000)
        seconds.append(time.perf_counter() - begin)
    long = smc_trajectory(target, start, 10000)
    return {
        'steps': 2000, 'num_fct': 10, 'repeats': repeats,
        'seconds_best': float(np.min(seconds)), 'seconds_median': float(np.median(seconds)),
        'goal_seconds': 0.1,
        'metric': {str(steps): float(long.metric[steps - 1]) for steps in REFERENCE},
        'reference_metric': {str(steps): value for steps, value in REFERENCE.items()},
    }


def evaluation_table(report: dict) -> str:
    """Return the success / time table of an evaluation report (``two_modes``) as Markdown."""
    lines = ['| level | method | success | mean time-to-insert [s] | mean, failures at budget '
             '[s] |', '|---|---|---|---|---|']
    for level, entry in report['distributions']['two_modes']['levels'].items():
        for method, summary in entry['methods'].items():
            mean = summary['mean_time']
            lines.append(f"| {level} ({entry['scale_m'] * 1000:g} mm) | {method} | "
                         f"{summary['success_rate']:.0%} | "
                         f"{'-' if mean is None else f'{mean:.2f}'} | "
                         f"{summary['mean_time_budgeted']:.2f} |")
    return '\n'.join(lines)


def main() -> None:
    """Measure, print and write ``figures.json`` (and ``table.md`` with ``--evaluate``)."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--output', default='runs/ergodic_search_bench')
    parser.add_argument('--repeats', type=int, default=20)
    parser.add_argument('--evaluate', action='store_true',
                        help='also run the MuJoCo evaluation (minutes)')
    parser.add_argument('--trials', type=int, default=100)
    parser.add_argument('--robot', default='arm')
    args = parser.parse_args()
    output = pathlib.Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    figures = {'machine': platform.processor() or platform.machine(),
               'planner': planner_figures(args.repeats)}
    planner = figures['planner']
    print(f"SMC 2000 steps, 10x10 basis: best {planner['seconds_best'] * 1000:.1f} ms, median "
          f"{planner['seconds_median'] * 1000:.1f} ms (goal < 100 ms)")
    for steps, value in planner['metric'].items():
        reference = planner['reference_metric'][steps]
        print(f'  ergodic metric after {steps:>5} steps: {value:.3g} (reference {reference:.2g})')
    if args.evaluate:
        from robot_learning.ergodic_search.evaluation import SearchEvaluationConfig, evaluate
        from robot_learning.ergodic_search.peg_in_hole import PegInHoleConfig
        report = evaluate(SearchEvaluationConfig(trials=args.trials,
                                                 task=PegInHoleConfig(robot=args.robot)),
                          output / 'evaluation')
        table = evaluation_table(report)
        (output / 'table.md').write_text(table + '\n', encoding='utf-8')
        figures['goals'] = report['goals']
        print(table)
        print(json.dumps(report['goals']))
    (output / 'figures.json').write_text(json.dumps(figures, indent=2), encoding='utf-8')
    print(f'wrote {output / "figures.json"}')


if __name__ == '__main__':
    main()
