# SPDX-License-Identifier: Apache-2.0
"""``robot-learning demo`` in driver mode on each shipped quadruped reality: tracking and falls.

Each run is the demo's sim-to-sim loop (``robot_learning.ros.sim_to_sim``, its defaults): the
sim bridge in driver mode (physics on the wall clock, state at 500 Hz best effort with jitter,
drops and extra joints), the shipped quadruped policy on its own 50 Hz timer, the recorder, and
the default velocity profile on /cmd_vel. Per run: the tracking metrics of the exported bag
(``lin_vel_error`` [m/s]: mean |command - base velocity| once each command has settled) and
whether the node went to damping (its log). Goal: ``lin_vel_error`` <= 0.1 m/s, no damping.

Usage: ``python benchmarks/demo_realities.py --runs 3`` (all ``config/reality/quadruped_*``);
``--realities quadruped_mujoco_payload`` runs one; results are merged into
``docs/results/demo_realities.json`` (one entry per reality, the latest runs).
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys
import tempfile
import time

import numpy as np

from robot_learning.evaluation.smoothness import (period_two_oscillation, PERIOD_TWO_SHARE,
                                                  STILL_TARGET_CHANGE)
from robot_learning.paths import share_dir
from robot_learning.ros.sim_to_sim import run_sim_to_sim, SimToSimConfig
from robot_learning.sim.reality import available_realities

ROOT = pathlib.Path(__file__).resolve().parents[1]
GOAL = 0.1
"""[m/s] lin_vel_error goal."""
STANDING_GOALS = {'standing_to_walking_change_ratio': 0.5,
                  'abs_standing_height_drift': 0.01}
"""Upper bounds at zero command: target change per step relative to walking and
|base-height drift| [m] over the standing stretch; besides, no period-2 oscillation
(``evaluation.smoothness.period_two_oscillation``: Nyquist share >= 0.5 while the targets move
more than 1e-3 rad per step)."""


def standing_goal_misses(metrics: dict) -> list[str]:
    """Return the standing goals that ``metrics`` misses, as text."""
    values = {**metrics, 'abs_standing_height_drift': abs(metrics['standing_height_drift'])}
    misses = [f'{name} {values[name]:.3f} > {bound}' for name, bound in STANDING_GOALS.items()
              if not values[name] <= bound]
    change, share = (metrics['standing_target_change_mean'],
                     metrics['standing_target_change_nyquist_share'])
    if period_two_oscillation(change, share):
        misses.append(f'period-2 oscillation: Nyquist share {share:.2f} of a mean target change '
                      f'of {change:.2g} rad per step')
    return misses


def one_run(bundle: str, reality: str, folder: pathlib.Path, domain_id: int) -> dict:
    """Run the demo loop once; return its metrics, damping flag and wall time."""
    start = time.monotonic()
    config = SimToSimConfig(bundle=bundle,
                            reality=reality, output=str(folder), domain_id=domain_id)
    try:
        report = run_sim_to_sim(config)
    except (RuntimeError, TimeoutError) as error:
        return {'error': str(error), 'wall_s': time.monotonic() - start}
    log = (folder / 'policy_node.log').read_text(encoding='utf-8')
    bridge = [line for line in (folder / 'sim_bridge.log').read_text().splitlines()
              if 'control steps' in line]
    damping = [line.split(']: ')[-1] for line in log.splitlines() if 'damping:' in line]
    return {'metrics': report['metrics'], 'damping': bool(damping),
            'damping_reason': damping[0] if damping else '',
            'bag_export_ok': report['bag_export']['ok'],
            'bridge_summary': bridge[-1].split(']: ')[-1] if bridge else '',
            'wall_s': time.monotonic() - start}


def main() -> None:
    """Run, print and merge the results into the JSON file."""
    quadrupeds = [name for name in available_realities() if name.startswith('quadruped_')]
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--realities', nargs='+', default=quadrupeds, choices=quadrupeds)
    parser.add_argument('--runs', type=int, default=3)
    parser.add_argument('--bundle', default=str(share_dir() / 'policies' / 'quadruped_deploy'))
    parser.add_argument('--domain-id', type=int, default=89)
    parser.add_argument('--logs', default=None, help='keep each run folder under this one')
    parser.add_argument('--output',
                        default=str(ROOT / 'docs' / 'results' / 'demo_realities.json'))
    args = parser.parse_args()
    output = pathlib.Path(args.output)
    results = json.loads(output.read_text()) if output.exists() else {'realities': {}}
    for reality in args.realities:
        runs = []
        for index in range(args.runs):
            with tempfile.TemporaryDirectory() as tmp:
                folder = pathlib.Path(args.logs or tmp) / f'{reality}_{index + 1}'
                run = one_run(args.bundle, reality, folder, args.domain_id)
            runs.append(run)
            error = run.get('metrics', {}).get('lin_vel_error', np.nan)
            print(f'{reality} run {index + 1}: lin_vel_error {error:.3f} m/s, damping '
                  f"{run.get('damping_reason') or run.get('damping')}, {run['wall_s']:.0f} s"
                  f"{' ' + run.get('error', '')}",
                  flush=True)
        errors = [run['metrics']['lin_vel_error'] for run in runs if 'metrics' in run]
        standing_misses = [miss for run in runs if 'metrics' in run
                           for miss in standing_goal_misses(run['metrics'])]
        results['realities'][reality] = {
            'command': ' '.join(['python', 'benchmarks/demo_realities.py', *sys.argv[1:]]),
            'runs': runs,
            'lin_vel_error_mean': float(np.mean(errors)) if errors else None,
            'lin_vel_error_max': float(np.max(errors)) if errors else None,
            'runs_with_damping_or_error': sum(bool(run.get('damping', True)) for run in runs),
            'meets_goal': bool(len(errors) == len(runs) and max(errors) <= GOAL and not any(
                run['damping'] for run in runs)),
            'standing_goal_misses': standing_misses,
            'meets_standing_goal': bool(len(errors) == len(runs) and not standing_misses),
        }
    results['bundle'] = args.bundle
    results['goal'] = f'lin_vel_error <= {GOAL} m/s, no damping'
    results['standing_goal'] = ', '.join(
        [f'{name} <= {bound}' for name, bound in STANDING_GOALS.items()]
        + [f'no period-2 oscillation (Nyquist share >= {PERIOD_TWO_SHARE} with a mean target '
           f'change > {STILL_TARGET_CHANGE} rad per step)'])
    results['machine'] = {'cpus': os.cpu_count(), 'load_average_1min': os.getloadavg()[0]}
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=2) + '\n')
    print(f'wrote {output}')


if __name__ == '__main__':
    main()
