# SPDX-License-Identifier: Apache-2.0
"""No-DR vs UDR vs ADR vs DORAEMON on the quadruped: equal budgets, transfer success.

Trains each method with one config (``config/train/quadruped_dr.yaml``, only
``randomization.method`` differs) for every seed unless its run already holds the final
checkpoint (runs without one are left out unless ``--train``), exports
the final policy, and evaluates it on the uniform target box (global success), a heatmap and
every quadruped reality config (PyBullet and MuJoCo). Writes ``summary.json``, a table
(``summary.md``), the training curves of all runs and one heatmap per method.

Usage (about 21 min of training per run on one core, then about 3 min of evaluation each):
``python benchmarks/domain_randomization.py --train --output runs/dr_benchmark``. A run's
evaluation is kept in ``OUTPUT/<method>_s<seed>/report.json`` and reused while its checkpoint
and the evaluation settings are unchanged, so two processes (``--methods none adr`` and
``--methods uniform doraemon``) can share the two cores and a last call without ``--train``
writes the table over all runs.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import pathlib
import subprocess
import sys

from robot_learning.config import load_config
from robot_learning.domain_randomization.config import METHODS
from robot_learning.domain_randomization.plots import plot_heatmap, plot_training
from robot_learning.domain_randomization.schedule import read_history
from robot_learning.evaluation.seeds import seed_statistics
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


def earlier_report(path: pathlib.Path, checkpoint: pathlib.Path,
                   transfer: TransferConfig) -> dict | None:
    """Return the report at ``path`` if it evaluated ``checkpoint`` with ``transfer``, else None.

    Lets several benchmark processes (one per method or seed) share an output folder and a
    final call build the table over all runs without evaluating any of them again.
    """
    if not path.is_file():
        return None
    report = json.loads(path.read_text(encoding='utf-8'))
    same_config = report.get('config') == json.loads(json.dumps(dataclasses.asdict(transfer)))
    return report if same_config and report.get('checkpoint') == str(checkpoint) else None


def main() -> None:
    """Train (optionally), export and evaluate every method; print and save the table."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--config', default=str(share_dir() / 'config/train/quadruped_dr.yaml'))
    parser.add_argument('--methods', nargs='*', default=list(METHODS), choices=METHODS)
    parser.add_argument('--seeds', nargs='*', type=int, default=[0, 1, 2],
                        help='training seeds per method (runs dr_<method>_s<seed>)')
    parser.add_argument('--runs', default='runs', help='folder of the runs dr_<method>_s<seed>')
    parser.add_argument('--train', action='store_true', help='train methods without a run')
    parser.add_argument('--episodes', type=int, default=512)
    parser.add_argument('--reality-episodes', type=int, default=64)
    parser.add_argument('--heatmap', nargs=2, default=('ground_friction', 'motor_strength'))
    parser.add_argument('--output', default='runs/dr_benchmark')
    parser.add_argument('--results', default='',
                        help='also write the mean +- std table here (docs/results/*.json)')
    args = parser.parse_args()
    config = load_config(TrainConfig, args.config)
    box = config.randomization.box()
    output = pathlib.Path(args.output)
    transfer = TransferConfig(episodes=args.episodes, heatmap=tuple(args.heatmap),
                              realities=REALITIES, reality_episodes=args.reality_episodes)
    runs, histories = {}, {}
    for method in args.methods:
        for seed in args.seeds:
            run_dir = pathlib.Path(args.runs) / f'dr_{method}_s{seed}'
            checkpoint = final_checkpoint(run_dir, config.max_iterations)
            if checkpoint is None and not args.train:
                print(f'{run_dir} has not finished training: left out (pass --train)')
                continue
            if checkpoint is None:
                resume = ['--resume'] if latest_checkpoint(run_dir) is not None else []
                subprocess.run([sys.executable, '-m', 'robot_learning.cli.main', 'train',
                                '--config', args.config, *resume,
                                f'randomization.method={method}', f'seed={seed}',
                                f'task.seed={seed}', f'run_dir={run_dir}'], check=True)
                checkpoint = final_checkpoint(run_dir, config.max_iterations)
            folder = output / f'{method}_s{seed}'
            history = read_history(run_dir) if method != 'none' else []
            histories[f'{method} s{seed}'] = history
            report = earlier_report(folder / 'report.json', checkpoint, transfer)
            if report is None:
                bundle = export_bundle(run_dir, folder / 'bundle', checkpoint)
                report = evaluate_transfer(str(bundle), config.task, box, transfer)
                report['checkpoint'] = str(checkpoint)
                report['final_distribution'] = history[-1] if history else None
                write_report(report, folder / 'report.json')
                plot_heatmap(report['heatmap'], folder / 'heatmap.png',
                             f'{method} seed {seed}: success')
            runs.setdefault(method, {})[seed] = {
                **report['metrics'], 'final_entropy': history[-1]['entropy'] if history else None}
            print(method, seed, json.dumps(runs[method][seed], indent=1), flush=True)
    plot_training({m: rows for m, rows in histories.items() if rows}, output / 'training.png')
    summary = {method: seed_statistics(by_seed) for method, by_seed in runs.items()}
    write_report({'config': args.config, 'target': box.to_mapping(), 'transfer': vars(args),
                  'methods': summary, 'runs': runs}, output / 'summary.json')
    (output / 'summary.md').write_text(table(summary), encoding='utf-8')
    if args.results:
        write_report({'command': 'python benchmarks/domain_randomization.py ' + ' '.join(
            sys.argv[1:]), 'budget': f'{config.max_iterations} iterations x '
            f'{config.task.num_envs} envs x {config.ppo.num_steps_per_env} steps per method',
            'methods': summary, 'runs': runs}, pathlib.Path(args.results))
    print(table(summary))


def table(summary: dict) -> str:
    """Markdown table: one row per method, mean +- std over its seeds."""
    columns = ['global_success_rate', 'global_speed_error',
               *(f'reality/{name}/success_rate' for name in REALITIES), 'final_entropy']
    lines = ['| method | seeds | ' + ' | '.join(c.replace('/success_rate', '') for c in columns)
             + ' |', '|---' * (len(columns) + 2) + '|']
    for method, metrics in summary.items():
        seeds = max((m['seeds'] for m in metrics.values()), default=0)
        cells = [f"{metrics[c]['mean']:.3f} ± {metrics[c]['std']:.3f}" if c in metrics else '-'
                 for c in columns]
        lines.append(f'| {method} | {seeds} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines) + '\n'


if __name__ == '__main__':
    main()
