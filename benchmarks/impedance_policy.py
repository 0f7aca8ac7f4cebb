# SPDX-License-Identifier: Apache-2.0
"""Policy comparison for impedance matching: matched actuator + derived ranges vs nominal.

The reality is ``config/reality/quadruped_mujoco_actuator.yaml`` (stiffer, less damped drivers,
1.5 x rotor inertia, 10 ms latency, gearbox damping and friction); neither trainer is told it.

1. Identify it: ``robot-learning impedance excite`` (2 trials) + ``impedance fit`` into
   ``<output>/fit`` (skipped when the fit exists).
2. Matched policy: ``config/train/quadruped_dr.yaml`` with ``task.robot`` = the fit's
   ``matched_robot.yaml`` (effective kp, kd, armature), ``task.dynamics`` = the fit's joint
   damping and friction loss, and ``randomization`` = the fit's ranges (uniform); everything else
   (budget, commands, success threshold, PPO) unchanged. Trained into ``<runs>/impedance_matched``
   unless finished there.
3. Nominal policy: the same config with ``randomization.method=none`` and the robot description's
   actuator, i.e. the ``none`` run of ``benchmarks/domain_randomization.py`` (``<runs>/dr_none``),
   trained here if missing.
4. Both final checkpoints are exported and run on the reality (``--episodes`` episodes, 10 s each,
   training-style commands): success (no fall, mean speed error < 0.5 m/s) and the mean speed
   error [m/s].

    .venv/bin/python benchmarks/impedance_policy.py --train --output runs/impedance_policy
"""

from __future__ import annotations

import argparse
import json
import pathlib
import subprocess
import sys

import yaml

from robot_learning.config import load_config
from robot_learning.domain_randomization.box import ParameterBox
from robot_learning.evaluation.setup import write_report
from robot_learning.evaluation.transfer import evaluate_transfer, TransferConfig
from robot_learning.paths import share_dir
from robot_learning.policies.export import export_bundle
from robot_learning.rl.runner import latest_checkpoint
from robot_learning.rl.train_config import TrainConfig

REALITY = 'quadruped_mujoco_actuator'


def robot_learning(*arguments: str) -> None:
    """Run one ``robot-learning`` command in a subprocess (fails loudly)."""
    subprocess.run([sys.executable, '-m', 'robot_learning.cli.main', *arguments], check=True)


def identify(fit_dir: pathlib.Path, trials: int) -> None:
    """Chirp the reality and fit the simulator's actuator to it (unless already fitted)."""
    if (fit_dir / 'matched_robot.yaml').exists():
        return
    recording = fit_dir.parent / 'excitation.npz'
    robot_learning('impedance', 'excite', '--reality', REALITY, '--trials', str(trials),
                   '--output', str(recording))
    robot_learning('impedance', 'fit', str(recording), '--output', str(fit_dir))


def matched_config(base_config: pathlib.Path, fit_dir: pathlib.Path, run_dir: pathlib.Path,
                   output: pathlib.Path) -> pathlib.Path:
    """Write the matched training config: the base config with the fit's actuator and ranges."""
    config = yaml.safe_load(base_config.read_text(encoding='utf-8'))
    dynamics = yaml.safe_load((fit_dir / 'dynamics.yaml').read_text(encoding='utf-8'))
    ranges = yaml.safe_load((fit_dir / 'randomization.yaml').read_text(encoding='utf-8'))
    randomized = ranges['randomization']['parameters']
    config['task']['robot'] = str((fit_dir / 'matched_robot.yaml').resolve())
    config['task']['dynamics'] = {name: value for name, value in dynamics['dynamics'].items()
                                  if name not in randomized}
    config['randomization'] = {**config['randomization'], **ranges['randomization']}
    config['run_dir'] = str(run_dir)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(yaml.safe_dump(config, sort_keys=False), encoding='utf-8')
    return output


def final_checkpoint(run_dir: pathlib.Path, iterations: int) -> pathlib.Path | None:
    """Return the run's last checkpoint if training finished, else None."""
    path = run_dir / f'model_{iterations - 1}.pt'
    return path if path.exists() else None


def trained(config_path: pathlib.Path, run_dir: pathlib.Path, train: bool,
            overrides: tuple[str, ...] = ()) -> pathlib.Path:
    """Return the final checkpoint of ``run_dir``, training it first when allowed."""
    config = load_config(TrainConfig, str(config_path), list(overrides))
    checkpoint = final_checkpoint(run_dir, config.max_iterations)
    if checkpoint is None:
        if not train:
            sys.exit(f'{run_dir} has not finished training; pass --train')
        resume = ('--resume',) if run_dir.is_dir() and latest_checkpoint(run_dir) else ()
        robot_learning('train', '--config', str(config_path), *resume, *overrides,
                       f'run_dir={run_dir}')
        checkpoint = final_checkpoint(run_dir, config.max_iterations)
    return checkpoint


def main() -> None:
    """Identify, train (if asked), export and evaluate both policies on the reality."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--config', default=str(share_dir() / 'config/train/quadruped_dr.yaml'))
    parser.add_argument('--runs', default='runs', help='folder of the training runs')
    parser.add_argument('--train', action='store_true', help='train policies without a run')
    parser.add_argument('--trials', type=int, default=2, help='chirp trials of the fit')
    parser.add_argument('--episodes', type=int, default=64, help='episodes on the reality')
    parser.add_argument('--output', default='runs/impedance_policy')
    args = parser.parse_args()
    output, runs = pathlib.Path(args.output), pathlib.Path(args.runs)
    identify(output / 'fit', args.trials)
    matched_yaml = matched_config(pathlib.Path(args.config), output / 'fit',
                                  runs / 'impedance_matched', output / 'matched_train.yaml')
    policies = {
        'nominal': (pathlib.Path(args.config), runs / 'dr_none', ('randomization.method=none',)),
        'matched': (matched_yaml, runs / 'impedance_matched', ()),
    }
    transfer = TransferConfig(episodes=0, realities=(REALITY,), reality_episodes=args.episodes)
    summary = {}
    for name, (config_path, run_dir, overrides) in policies.items():
        checkpoint = trained(config_path, run_dir, args.train, overrides)
        config = load_config(TrainConfig, str(config_path), list(overrides))
        bundle = export_bundle(run_dir, output / name / 'bundle', checkpoint)
        box = ParameterBox.from_mapping(dict(config.randomization.parameters))
        report = evaluate_transfer(str(bundle), config.task, box, transfer)
        write_report(report, output / name / 'report.json')
        summary[name] = {key.split('/')[-1]: value for key, value in report['metrics'].items()}
        summary[name]['checkpoint'] = str(checkpoint)
        print(name, json.dumps(summary[name], indent=1), flush=True)
    write_report({'reality': REALITY, 'episodes': args.episodes, 'policies': summary},
                 output / 'summary.json')


if __name__ == '__main__':
    main()
