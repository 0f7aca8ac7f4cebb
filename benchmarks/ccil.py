# SPDX-License-Identifier: Apache-2.0
"""CCIL figures: BC vs NoiseBC vs CCIL on three tasks across robot classes, several seeds.

For every task (``robot_learning/ccil/tasks.py``) and seed: collect ``demos`` expert
trajectories (the same budget for every method; demonstrations differ between seeds), train

- BC: behaviour cloning on the expert samples,
- NoiseBC: the same with ``noise_bc`` (uniform noise on half of each batch's observations),
- CCIL: dynamics model -> BackTrack labels (Newton) -> label-error filter -> BC on expert +
  kept labels (``config/ccil/<task>.yaml``),

and evaluate each (and the expert) for ``episodes`` episodes under the task's evaluation
perturbation (observation noise, action noise, pushes). Score = the task's per-episode score
(see ``score_name``), mean over episodes; the table reports mean +- std over seeds and CCIL's
relative improvement over BC.

    .venv/bin/python benchmarks/ccil.py --output runs/ccil_benchmark
    .venv/bin/python benchmarks/ccil.py --tasks pendulum_swingup --seeds 5 \
        --output runs/ccil_reproduction     # the reproduction task (2 demonstrations)

Writes ``results.json``, ``results.md``, ``scores.png`` and per task and seed the label plot
``labels_<task>_seed<k>.png``. Single-threaded torch (shared machines).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import pathlib
import time

import numpy as np
import torch

from robot_learning.atomic_write import atomic_write_text
from robot_learning.ccil.augmentation import augment, training_set
from robot_learning.ccil.behaviour_cloning import train_bc
from robot_learning.ccil.config import load_ccil_config
from robot_learning.ccil.evaluation import collect_demonstrations, evaluate_policy
from robot_learning.ccil.plots import plot_benchmark, plot_labels
from robot_learning.ccil.tasks import make_task, observation_noise_of, Perturbation
from robot_learning.paths import share_dir

TASKS = {
    'quadruped_velocity': {
        'demos': 6,
        'demo_perturbation': Perturbation(),
        'evaluation': Perturbation(observation_noise=0.5, action_noise=0.1,
                                   push_velocity=0.3, push_interval=3.0),
    },
    'arm_reach': {
        'demos': 20,
        'demo_perturbation': Perturbation(),
        'evaluation': Perturbation(observation_noise=1.0, action_noise=0.1,
                                   push_velocity=0.3, push_interval=1.0),
    },
    'humanoid_balance': {
        'demos': 2,
        'demo_perturbation': Perturbation(push_velocity=0.2, push_interval=2.0),
        'evaluation': Perturbation(observation_noise=1.0, action_noise=0.1,
                                   push_velocity=0.2, push_interval=2.0),
    },
    'pendulum_swingup': {
        'demos': 2,
        'demo_perturbation': Perturbation(),
        'evaluation': Perturbation(observation_noise=1.0, action_noise=1.0,
                                   push_velocity=1.0, push_interval=2.0),
    },
}
"""Demonstration budget, demonstration and evaluation perturbations of each task."""

NOISE_BC = 0.1
"""NoiseBC level: noise_bc * U[0, 1) on z-scored observations."""


def run_task(name: str, seeds: list[int], episodes: int, output: pathlib.Path,
             overrides: list[str], scale: float = 1.0, std_floor: bool = True) -> dict:
    """Run every method and seed on one task; return the task's results."""
    setting = TASKS[name]
    config = load_ccil_config(share_dir() / 'config' / 'ccil' / f'{name}.yaml', overrides)
    base = setting['evaluation']
    evaluation = dataclasses.replace(
        base, observation_noise=scale * base.observation_noise,
        action_noise=scale * base.action_noise, push_velocity=scale * base.push_velocity)
    runs = []
    for seed in seeds:
        started = time.time()
        demos = collect_demonstrations(name, setting['demos'], seed=100 + seed,
                                       perturbation=setting['demo_perturbation'])
        seeded = dataclasses.replace(
            config, dynamics=dataclasses.replace(config.dynamics, seed=seed),
            labels=dataclasses.replace(config.labels, seed=seed),
            bc=dataclasses.replace(config.bc, seed=seed))
        states, actions = demos.samples()
        floor = {'observation_std_floor': observation_noise_of(name) if std_floor else None}
        bc, _ = train_bc(states, actions, seeded.bc, **floor)
        noise_bc, _ = train_bc(states, actions,
                               dataclasses.replace(seeded.bc, noise_bc=NOISE_BC), **floor)
        result = augment(demos, seeded)
        mixed_s, mixed_a = training_set(demos, result.kept, seeded.label_ratio, seed)
        ccil, _ = train_bc(mixed_s, mixed_a, seeded.bc, normalisation_data=(states, actions),
                           **floor)
        plot_labels(states, result.generated, result.keep,
                    result.model.state_scale.numpy(),
                    output / f'labels_{name}_seed{seed}.png', f'{name}, seed {seed}')
        expert_task = make_task(name, 1)
        policies = {'expert': expert_task.expert, 'bc': bc.act, 'noise_bc': noise_bc.act,
                    'ccil': ccil.act}
        scores = {}
        for method, policy in policies.items():
            report = evaluate_policy(name, policy, episodes, seed=1000 + seed,
                                     perturbation=evaluation)
            scores[method] = {key: report[key] for key in ('score', 'score_std',
                                                           'failure_rate')}
        expert_task.close()
        runs.append({'seed': seed, 'demo_samples': demos.num_samples,
                     'augmentation': result.report, 'scores': scores,
                     'seconds': time.time() - started})
        print(f'{name} seed {seed}: ' + ', '.join(
            f"{m} {s['score']:.3f}" for m, s in scores.items())
            + f" (labels kept {result.report['labels']['kept']}/"
              f"{result.report['labels']['requested']}, {time.time() - started:.0f} s)",
            flush=True)
    summary = {}
    for method in ('expert', 'bc', 'noise_bc', 'ccil'):
        values = np.array([run['scores'][method]['score'] for run in runs])
        summary[method] = {'mean': float(values.mean()), 'std': float(values.std()),
                           'per_seed': values.tolist()}
    bc_mean = summary['bc']['mean']
    improvement = ((summary['ccil']['mean'] - bc_mean) / bc_mean) if bc_mean > 0 else None
    task = make_task(name, 1)
    score_name = task.score_name
    task.close()
    return {'score_name': score_name, 'demos': setting['demos'],
            'demo_perturbation': dataclasses.asdict(setting['demo_perturbation']),
            'evaluation': dataclasses.asdict(evaluation), 'episodes': episodes,
            'noise_bc': NOISE_BC, 'config_overrides': overrides, 'runs': runs,
            'summary': summary, 'ccil_vs_bc_relative': improvement}


def markdown(results: dict) -> str:
    """Render the summary table."""
    lines = ['| Task | Expert | BC | NoiseBC | CCIL | CCIL vs BC |',
             '|---|---|---|---|---|---|']
    for name, result in results.items():
        summary = result['summary']
        cells = [f"{summary[m]['mean']:.3f} ± {summary[m]['std']:.3f}"
                 for m in ('expert', 'bc', 'noise_bc', 'ccil')]
        change = result['ccil_vs_bc_relative']
        lines.append(f"| {name} | {' | '.join(cells)} | "
                     f"{'n/a' if change is None else f'{change * 100:+.1f} %'} |")
    return '\n'.join(lines) + '\n'


def main() -> None:
    """Run the benchmark from the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--output', default='runs/ccil_benchmark')
    parser.add_argument('--tasks', nargs='*', default=list(TASKS)[:3], choices=list(TASKS),
                        help='default: the three project tasks (pendulum_swingup is the '
                             'reproduction task, docs/ccil.md)')
    parser.add_argument('--seeds', type=int, default=3)
    parser.add_argument('--episodes', type=int, default=16)
    parser.add_argument('--perturbation-scale', type=float, default=1.0,
                        help='multiply every evaluation noise level and push velocity')
    parser.add_argument('--no-std-floor', action='store_true',
                        help="z-score observations by the demonstrations' std alone (the "
                             "reference); default: floored at the task's observation noise")
    parser.add_argument('overrides', nargs='*', help='CCIL config key.sub=value overrides')
    args = parser.parse_args()
    torch.set_num_threads(1)
    output = pathlib.Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    results = {}
    for name in args.tasks:
        results[name] = run_task(name, list(range(args.seeds)), args.episodes, output,
                                 args.overrides, args.perturbation_scale,
                                 not args.no_std_floor)
        atomic_write_text(output / 'results.json', json.dumps(results, indent=2))
    (output / 'results.md').write_text(markdown(results), encoding='utf-8')
    plot_benchmark(results, output / 'scores.png')
    print(markdown(results))


if __name__ == '__main__':
    main()
