# SPDX-License-Identifier: Apache-2.0
"""``robot-learning ccil collect|augment|train|evaluate``: argument parsing and handlers.

- ``collect``: record expert demonstrations of a CCIL task to a demonstration ``.npz``;
- ``augment``: fit the dynamics model, generate and filter corrective labels (``labels.npz``,
  ``dynamics.pt``, ``report.json``, ``labels.png`` in the output folder);
- ``train``: behaviour cloning (``--method bc|noise_bc|ccil``) written as a policy folder;
  with ``--contract BUNDLE`` a full policy bundle the ROS 2 policy node runs;
- ``evaluate``: run a policy folder (or the task's expert) under noise and pushes; with
  ``--output DIR`` a ``report.json`` with ``score``, ``score_std``, ``failure_rate``,
  ``episodes`` (see ``ccil/evaluation.py``).

``augment`` and ``train`` take config overrides as positional ``key.sub=value`` arguments
together with the demonstration files (``cli/arguments.py``).

Demonstrations are a demonstration ``.npz`` or trajectory ``.npz`` files from ``robot-learning
bag export`` (with ``--contract``, their states are the contract's observations).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import pathlib

from rich.console import Console
from rich.table import Table

from robot_learning.atomic_write import atomic_folder, atomic_write_text
from robot_learning.cli.arguments import add_replaced_option, split_overrides

CONSOLE = Console()
HANDLERS = 'robot_learning.cli.ccil_commands'
POLICY_FILE = 'policy.pt'
REPORT_FILE = 'report.json'
SET_REPLACED = ('config overrides are positional key.sub=value arguments after the '
                'demonstrations, e.g. demos.npz bc.epochs=50')


def add_ccil_parser(subparsers) -> None:
    """Register ``ccil collect|augment|train|evaluate`` on ``subparsers``."""
    from robot_learning.ccil.tasks import TASKS
    parser = subparsers.add_parser(
        'ccil', help='CCIL: corrective labels for imitation learning, BC and NoiseBC baselines')
    commands = parser.add_subparsers(dest='ccil_command', required=True)

    collect = commands.add_parser('collect', help='record expert demonstrations of a task')
    collect.add_argument('--task', required=True, choices=sorted(TASKS))
    collect.add_argument('--trajectories', type=int, default=2)
    collect.add_argument('--seed', type=int, default=0)
    collect.add_argument('--push-velocity', type=float, default=0.0)
    collect.add_argument('--push-interval', type=float, default=0.0)
    collect.add_argument('--output', required=True, help='demonstration .npz to write')
    collect.set_defaults(handler=f'{HANDLERS}:run_collect')

    def demonstrations(command) -> None:
        command.add_argument('demonstrations', nargs='+', metavar='DEMOS_OR_OVERRIDE',
                             help='a demonstration .npz, or trajectory .npz files, and '
                                  'key.sub=value overrides of the CCIL YAML (e.g. '
                                  'bc.epochs=50); all of them together, before the options')
        command.add_argument('--contract', default=None, metavar='BUNDLE',
                             help='policy bundle whose observation builds the states of '
                                  'trajectory .npz files')

    augment = commands.add_parser('augment', help='generate and filter corrective labels')
    demonstrations(augment)
    augment.add_argument('--config', default=None, help='CCIL YAML (config/ccil/)')
    add_replaced_option(augment, '--set', SET_REPLACED)
    augment.add_argument('--output', required=True, help='folder to write')
    augment.set_defaults(handler=f'{HANDLERS}:run_augment')

    train = commands.add_parser('train', help='behaviour cloning on demonstrations (+ labels)')
    demonstrations(train)
    train.add_argument('--method', default='ccil', choices=('bc', 'noise_bc', 'ccil'))
    train.add_argument('--labels', default=None, help='labels.npz from ccil augment (ccil)')
    train.add_argument('--noise-bc', type=float, default=0.1, help='NoiseBC noise level')
    train.add_argument('--std-floor-task', default=None, choices=sorted(TASKS),
                       help="floor each observation's z-score scale at this task's observation "
                            'noise: the demonstrations alone make a clone amplify sensor noise '
                            'in dimensions that barely vary (the CCIL benchmark floors; see '
                            'docs/ccil.md for where it helped and where not)')
    train.add_argument('--config', default=None, help='CCIL YAML (bc, label_ratio)')
    add_replaced_option(train, '--set', SET_REPLACED)
    train.add_argument('--output', required=True, help='policy folder to write')
    train.set_defaults(handler=f'{HANDLERS}:run_train')

    evaluate = commands.add_parser('evaluate', help='evaluate a policy under noise and pushes')
    evaluate.add_argument('policy', nargs='?', default=None,
                          help='policy folder from ccil train (omit with --expert)')
    evaluate.add_argument('--expert', action='store_true', help="evaluate the task's expert")
    evaluate.add_argument('--task', required=True, choices=sorted(TASKS))
    evaluate.add_argument('--episodes', type=int, default=16)
    evaluate.add_argument('--seed', type=int, default=1000)
    evaluate.add_argument('--observation-noise', type=float, default=0.0)
    evaluate.add_argument('--action-noise', type=float, default=0.0)
    evaluate.add_argument('--push-velocity', type=float, default=0.0)
    evaluate.add_argument('--push-interval', type=float, default=0.0)
    evaluate.add_argument('--output', default=None, metavar='DIR',
                          help='folder to write report.json to')
    add_replaced_option(evaluate, '--report', '--output DIR writes DIR/report.json')
    evaluate.set_defaults(handler=f'{HANDLERS}:run_evaluate')


def _config_and_demonstrations(args: argparse.Namespace):
    """Return the CCIL config (YAML + positional overrides) and the demonstrations."""
    from robot_learning.ccil.config import load_ccil_config
    paths, overrides = split_overrides(args.demonstrations)
    if not paths:
        raise ValueError(f'ccil {args.ccil_command}: no demonstrations, only overrides '
                         f"({' '.join(overrides)})")
    config = load_ccil_config(args.config, overrides)
    return config, _load_demonstrations(paths, args.contract)


def _load_demonstrations(paths: list[str], contract_path: str | None):
    from robot_learning.ccil.demonstrations import (DemonstrationError, from_trajectory,
                                                    load_demonstrations)
    from robot_learning.data.trajectory import load_trajectory
    from robot_learning.policies.contract import load_contract
    if len(paths) == 1:
        try:
            return load_demonstrations(paths[0])
        except DemonstrationError as error:
            if 'not a demonstration file' not in str(error):
                raise
    contract = load_contract(contract_path) if contract_path else None
    return from_trajectory([load_trajectory(path) for path in paths], contract)


def _threads(config) -> None:
    import torch
    if config.torch_threads:
        torch.set_num_threads(config.torch_threads)


def run_collect(args: argparse.Namespace) -> int:
    """``ccil collect``: expert demonstrations to a demonstration .npz."""
    from robot_learning.ccil.demonstrations import save_demonstrations
    from robot_learning.ccil.evaluation import collect_demonstrations
    from robot_learning.ccil.tasks import Perturbation
    demos = collect_demonstrations(args.task, args.trajectories, args.seed, Perturbation(
        push_velocity=args.push_velocity, push_interval=args.push_interval))
    path = save_demonstrations(demos, args.output)
    CONSOLE.print(f'{demos.num_trajectories} trajectories, {demos.num_samples} samples '
                  f'(S={demos.state_dim}, A={demos.action_dim}) -> {path}')
    return 0


def run_augment(args: argparse.Namespace) -> int:
    """``ccil augment``: dynamics model, labels, filter; writes the output folder."""
    from robot_learning.ccil.augmentation import augment, save_labels
    from robot_learning.ccil.dynamics import save_dynamics
    from robot_learning.ccil.plots import plot_labels
    from robot_learning.config import to_dict
    config, demos = _config_and_demonstrations(args)
    _threads(config)
    result = augment(demos, config)
    output = pathlib.Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    report = {'command': args.command_line, 'config': to_dict(config),
              'demonstrations': demos.source, **result.report}
    save_labels(result.kept, output / 'labels.npz', report)
    save_dynamics(result.model, output / 'dynamics.pt')
    _write_json(report, output / REPORT_FILE)
    states, _ = demos.samples()
    plot_labels(states, result.generated, result.keep, result.model.state_scale.numpy(),
                output / 'labels.png', f'{demos.robot}: corrective labels')
    labels = result.report['labels']
    table = Table(title=f'CCIL labels ({output})')
    for column in ('transitions', 'requested', 'converged', 'kept', 'dynamics mse'):
        table.add_column(column, justify='right')
    table.add_row(str(result.report['transitions']), str(labels['requested']),
                  str(labels['converged']), str(labels['kept']),
                  f"{result.report['dynamics']['train_mse']:.4f}")
    CONSOLE.print(table)
    return 0


def run_train(args: argparse.Namespace) -> int:
    """``ccil train``: BC / NoiseBC / CCIL policy folder (a full bundle with --contract)."""
    import torch

    from robot_learning.ccil.augmentation import load_labels, training_set
    from robot_learning.ccil.behaviour_cloning import train_bc
    from robot_learning.ccil.bundle import export_bc_bundle
    from robot_learning.policies.contract import load_contract
    config, demos = _config_and_demonstrations(args)
    _threads(config)
    states, actions = demos.samples()
    bc_config = config.bc
    if args.method == 'ccil':
        if not args.labels:
            raise ValueError('ccil train --method ccil needs --labels (from ccil augment)')
        labels = load_labels(args.labels)
        if labels.states.shape[1] != demos.state_dim:
            raise ValueError(f'{args.labels}: labels have {labels.states.shape[1]} state '
                             f'values, the demonstrations {demos.state_dim}')
        data = training_set(demos, labels, config.label_ratio, config.bc.seed)
    else:
        data = (states, actions)
        if args.method == 'noise_bc':
            bc_config = dataclasses.replace(bc_config, noise_bc=args.noise_bc)
    floor = _observation_noise(args.std_floor_task, demos.state_dim)
    policy, report = train_bc(*data, bc_config, normalisation_data=(states, actions),
                              observation_std_floor=floor)
    output = pathlib.Path(args.output)
    provenance = {'command': args.command_line, 'method': args.method,
                  'demonstrations': demos.source, 'samples': report['samples']}
    if args.contract:
        export_bc_bundle(policy, load_contract(args.contract), output, provenance)
    else:
        with atomic_folder(output) as staging:
            torch.jit.script(policy.eval()).save(str(staging / POLICY_FILE))
            _write_json(provenance, staging / 'provenance.json')
    CONSOLE.print(f"{args.method}: {report['samples']} samples, train mse "
                  f"{report['train_mse']:.4f} -> {output}")
    return 0


def _observation_noise(task_name: str | None, state_dim: int):
    """Return the task's observation noise scale (S,), or None without a task."""
    if task_name is None:
        return None
    from robot_learning.ccil.tasks import observation_noise_of
    noise = observation_noise_of(task_name)
    if noise.shape != (state_dim,):
        raise ValueError(f'--std-floor-task {task_name}: the task observes {noise.shape[0]} '
                         f'values, the demonstrations {state_dim}')
    return noise


def run_evaluate(args: argparse.Namespace) -> int:
    """``ccil evaluate``: scores under noise and pushes; table and JSON report."""
    import numpy as np
    import torch

    from robot_learning.ccil.evaluation import evaluate_policy
    from robot_learning.ccil.tasks import make_task, Perturbation
    torch.set_num_threads(1)
    if args.expert == (args.policy is not None):
        raise ValueError('ccil evaluate: give a policy folder or --expert (not both)')
    perturbation = Perturbation(args.observation_noise, args.action_noise,
                                args.push_velocity, args.push_interval)
    expert_task = None
    if args.expert:
        expert_task = make_task(args.task, 1)
        policy = expert_task.expert
    else:
        path = pathlib.Path(args.policy) / POLICY_FILE
        if not path.is_file():
            raise FileNotFoundError(f'no {POLICY_FILE} in policy folder {args.policy}')
        module = torch.jit.load(str(path))

        def policy(states: np.ndarray) -> np.ndarray:
            with torch.no_grad():
                return module(torch.as_tensor(states, dtype=torch.float32)).numpy()
    try:
        report = evaluate_policy(args.task, policy, args.episodes, args.seed, perturbation)
    finally:
        if expert_task is not None:
            expert_task.close()
    report = {'policy': args.policy or 'expert', 'task': args.task,
              'perturbation': dataclasses.asdict(perturbation), 'metrics': report}
    table = Table(title=f"{args.task}: {args.policy or 'expert'}")
    for column in ('score', 'score std', 'failure rate', 'episodes'):
        table.add_column(column, justify='right')
    metrics = report['metrics']
    table.add_row(f"{metrics['score']:.3f}", f"{metrics['score_std']:.3f}",
                  f"{metrics['failure_rate']:.2f}", str(metrics['episodes']))
    CONSOLE.print(table)
    if args.output:
        path = pathlib.Path(args.output) / REPORT_FILE
        _write_json(report, path)
        CONSOLE.print(f'report: {path}')
    return 0


def _write_json(data: dict, path: pathlib.Path) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, default=str))
