# SPDX-License-Identifier: Apache-2.0
"""No-DR vs UDR vs ADR vs DORAEMON on the quadruped: equal budgets, transfer success.

Trains each method with one config (``config/train/quadruped_dr.yaml``, only
``randomization.method`` differs) unless its run already holds the final checkpoint, exports
the final policy, and evaluates it on the uniform target box (global success), a heatmap and
every quadruped reality config (PyBullet and MuJoCo). Writes ``summary.json``, a table
(``summary.md``), the training curves of all runs and one heatmap per method.

Usage (about 25 min of training per method on 2 cores, then about 3 min of evaluation each):
``python benchmarks/domain_randomization.py --train --output runs/dr_benchmark``
"""

from __future__ import annotations

import argparse
import json
import pathlib
import subprocess
import sys

from robot_learning.config import load_config
from robot_learning.domain_randomization.config import METHODS
from robot_learning.domain_randomization.plots import plot_heatmap, plot_training
from robot_learning.domain_randomization.schedule import read_history
from robot_learning.evaluation.setup import write_report
from robot_learning.evaluation.transfer import evaluate_transfer, TransferConfig
from robot_learning.paths import share_dir
from robot_learning.policies.export import export_bundle
from robot_learning.rl.runner import latest_checkpoint
from robot_learning.rl.train_config import TrainConfig

REALITIES = ('quadruped_pybullet_nominal', 'quadruped_pybullet_weak_motors',
             'quadruped_mujoco_payload')


def final_checkpoint(run_dir: pathlib.Path, iterations: int) -> pathlib.Path | None:
    """Return the run's last checkpoint when training reached ``iterations``, else None."""
    checkpoint = latest_checkpoint(run_dir) if run_dir.is_dir() else None
    if checkpoint is None or int(checkpoint.stem.split('_')[1]) < iterations - 1:
        return None
    return checkpoint


def main() -> None:
    """Train (optionally), export and evaluate every method; print and save the table."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--config', default=str(share_dir() / 'config/train/quadruped_dr.yaml'))
    parser.add_argument('--methods', nargs='*', default=list(METHODS), choices=METHODS)
    parser.add_argument('--runs', default='runs', help='folder of the runs dr_<method>')
    parser.add_argument('--train', action='store_true', help='train methods without a run')
    parser.add_argument('--episodes', type=int, default=512)
    parser.add_argument('--reality-episodes', type=int, default=64)
    parser.add_argument('--heatmap', nargs=2, default=('ground_friction', 'motor_strength'))
    parser.add_argument('--output', default='runs/dr_benchmark')
    args = parser.parse_args()
    config = load_config(TrainConfig, args.config)
    box = config.randomization.box()
    output = pathlib.Path(args.output)
    transfer = TransferConfig(episodes=args.episodes, heatmap=tuple(args.heatmap),
                              realities=REALITIES, reality_episodes=args.reality_episodes)
    summary, histories = {}, {}
    for method in args.methods:
        run_dir = pathlib.Path(args.runs) / f'dr_{method}'
        checkpoint = final_checkpoint(run_dir, config.max_iterations)
        if checkpoint is None:
            if not args.train:
                sys.exit(f'{run_dir} has not finished training; pass --train')
            resume = ['--resume'] if latest_checkpoint(run_dir) is not None else []
            subprocess.run([sys.executable, '-m', 'robot_learning.cli.main', 'train',
                            '--config', args.config, *resume, f'randomization.method={method}',
                            f'run_dir={run_dir}'], check=True)
            checkpoint = final_checkpoint(run_dir, config.max_iterations)
        bundle = export_bundle(run_dir, output / method / 'bundle', checkpoint)
        report = evaluate_transfer(str(bundle), config.task, box, transfer)
        history = read_history(run_dir) if method != 'none' else []
        histories[method] = history
        report['final_distribution'] = history[-1] if history else None
        write_report(report, output / method / 'report.json')
        plot_heatmap(report['heatmap'], output / method / 'heatmap.png', f'{method}: success')
        summary[method] = {**report['metrics'],
                           'final_entropy': history[-1]['entropy'] if history else None,
                           'checkpoint': str(checkpoint)}
        print(method, json.dumps(summary[method], indent=1), flush=True)
    plot_training({m: rows for m, rows in histories.items() if rows}, output / 'training.png')
    write_report({'config': args.config, 'target': box.to_mapping(),
                  'transfer': vars(args), 'methods': summary}, output / 'summary.json')
    (output / 'summary.md').write_text(table(summary), encoding='utf-8')
    print(table(summary))


def table(summary: dict) -> str:
    """Markdown table: one row per method."""
    columns = ['global_success_rate', 'heatmap_success_rate',
               *(f'reality/{name}/success_rate' for name in REALITIES), 'final_entropy']
    lines = ['| method | ' + ' | '.join(c.replace('/success_rate', '') for c in columns) + ' |',
             '|---' * (len(columns) + 1) + '|']
    for method, metrics in summary.items():
        cells = [f'{metrics[c]:.3f}' if isinstance(metrics.get(c), float) else '-'
                 for c in columns]
        lines.append(f'| {method} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines) + '\n'


if __name__ == '__main__':
    main()
