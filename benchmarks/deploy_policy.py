# SPDX-License-Identifier: Apache-2.0
"""The deployable quadruped recipe over seeds: transfer to unseen dynamics, against a baseline.

Exports every finished run of ``config/train/quadruped_deploy.yaml`` (one per training seed),
evaluates each bundle and the baseline bundles on the uniform target box of
``config/train/quadruped_dr.yaml`` (global success, 256 episodes) and on every quadruped
reality config (32 episodes each: other engines, payload, weak motors, latency), and writes
per-policy metrics and, for the recipe, mean ± std over seeds (success, falls, speed error,
target change per step). Success: no fall and mean speed error below the target file's
``success_speed_error`` over the episode.

Usage (about 2.5 min of evaluation per policy on 2 cores):
``python benchmarks/deploy_policy.py --runs runs/deploy_ws_s0 runs/deploy_ws_s1 runs/deploy_ws_s2
--output runs/deploy_eval --results docs/results/quadruped_deploy.json``
"""

from __future__ import annotations

import argparse
import pathlib
import sys

from robot_learning.config import load_config
from robot_learning.evaluation.seeds import format_mean_std, seed_statistics
from robot_learning.evaluation.setup import write_report
from robot_learning.evaluation.transfer import evaluate_transfer, TransferConfig
from robot_learning.paths import share_dir
from robot_learning.policies.export import export_bundle
from robot_learning.rl.runner import latest_checkpoint
from robot_learning.rl.train_config import TrainConfig
from robot_learning.sim.reality import available_realities

GOALS = {'global_success_rate': 0.95, 'reality_success_rate': 0.97}
"""Lower bounds: success on the target box, and on every quadruped reality config."""


def main() -> None:
    """Export, evaluate, print and save the table."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--runs', nargs='+', required=True, help='finished training runs')
    parser.add_argument('--baselines', nargs='*',
                        default=[str(share_dir() / 'policies/quadruped_flat')],
                        help='bundles evaluated beside the runs')
    parser.add_argument('--target', default=str(share_dir() / 'config/train/quadruped_dr.yaml'))
    parser.add_argument('--episodes', type=int, default=256)
    parser.add_argument('--reality-episodes', type=int, default=32)
    parser.add_argument('--output', default='runs/deploy_eval')
    parser.add_argument('--results', default='', help='also write the summary here')
    args = parser.parse_args()
    target = load_config(TrainConfig, args.target)
    realities = tuple(name for name in available_realities() if name.startswith('quadruped_'))
    transfer = TransferConfig(episodes=args.episodes, realities=realities,
                              reality_episodes=args.reality_episodes)
    output = pathlib.Path(args.output)
    policies: dict[str, dict] = {}
    by_seed: dict[int, dict] = {}
    for run in map(pathlib.Path, args.runs):
        config = load_config(TrainConfig, run / 'config.yaml')
        checkpoint = latest_checkpoint(run)
        if checkpoint is None or int(checkpoint.stem.split('_')[1]) < config.max_iterations - 1:
            sys.exit(f'{run} has not finished training')
        bundle = export_bundle(run, output / run.name / 'bundle', checkpoint)
        metrics = evaluate(str(bundle), target, transfer, output / run.name)
        policies[f'{run.name} (seed {config.seed})'] = metrics
        by_seed[config.seed] = metrics
    for bundle in args.baselines:
        name = pathlib.Path(bundle).name
        policies[f'{name} (baseline)'] = evaluate(bundle, target, transfer, output / name)
    summary = {
        'command': 'python benchmarks/deploy_policy.py ' + ' '.join(sys.argv[1:]),
        'target': args.target, 'episodes': args.episodes,
        'reality_episodes': args.reality_episodes, 'goals': GOALS,
        'recipe_over_seeds': seed_statistics(by_seed), 'policies': policies}
    write_report(summary, output / 'summary.json')
    if args.results:
        write_report(summary, pathlib.Path(args.results))
    for metric, statistic in summary['recipe_over_seeds'].items():
        print(f'{metric}: {format_mean_std(statistic)}')


def evaluate(bundle: str, target: TrainConfig, transfer: TransferConfig,
             folder: pathlib.Path) -> dict:
    """Evaluate one bundle; write its report into ``folder``; return its metrics."""
    report = evaluate_transfer(bundle, target.task, target.randomization.box(), transfer)
    write_report(report, folder / 'report.json')
    metrics = dict(report['metrics'])
    realities = [value for key, value in metrics.items()
                 if key.startswith('reality/') and key.endswith('/success_rate')]
    metrics['reality_success_rate_min'] = min(realities)
    metrics['meets_goals'] = bool(
        metrics['global_success_rate'] >= GOALS['global_success_rate']
        and metrics['reality_success_rate_min'] >= GOALS['reality_success_rate'])
    print(bundle, {key: round(value, 3) for key, value in metrics.items()
                   if isinstance(value, float)}, flush=True)
    return metrics


if __name__ == '__main__':
    main()
