# SPDX-License-Identifier: Apache-2.0
r"""ASAP delta-action figures, end to end: collect over ROS 2, fit, open-loop and closed-loop.

Stages (each skipped when its output exists, so a run can be resumed):

1. ``collect``: export the pre-trained run as a bundle and deploy it over ROS 2 on the reality
   (sim bridge + policy node + recorder as separate processes, ``ros/sim_to_sim.py``): a
   training recording and a held-out recording with different random velocity profiles
   (bag -> trajectory ``.npz``).
2. ``fit``: ``robot-learning delta fit`` (pi_delta by PPO, SysID, delta dynamics) on the
   training recording.
3. ``open_loop``: ``robot-learning delta evaluate`` on the held-out recording.
4. ``finetune``: ``robot-learning delta finetune`` of the pre-trained run with pi_delta frozen
   in the loop (ASAP), with the SysID dynamics, and (control) in the unaligned simulator.
5. ``closed_loop``: the pre-trained, SysID-fine-tuned and ASAP-fine-tuned bundles deployed over
   ROS 2 on the reality with the held-out profile: velocity-tracking error and falls.

    .venv/bin/python benchmarks/delta_action.py --pretrained runs/dr_none \\
        --reality quadruped_pybullet_weak_motors --output runs/delta_benchmark

Writes ``summary.json`` and ``summary.md`` beside the stage outputs. ROS domain 71.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import time

import numpy as np

from robot_learning.atomic_write import atomic_write_text

DOMAIN_ID = 71


def velocity_profile(seed: int, seconds: float) -> tuple:
    """Return a random velocity profile: 2 s standing, then 2-4 s segments of random commands."""
    rng = np.random.default_rng(seed)
    profile, total = [(2.0, 0.0, 0.0, 0.0)], 2.0
    while total < seconds:
        duration = float(rng.uniform(2.0, 4.0))
        profile.append((duration, float(rng.uniform(0.0, 0.8)), float(rng.uniform(-0.2, 0.2)),
                        float(rng.uniform(-0.5, 0.5))))
        total += duration
    return tuple(profile)


def deploy(bundle: pathlib.Path, reality: str, output: pathlib.Path, profile: tuple) -> dict:
    """Run the bundle on the reality over ROS 2 (separate processes); return the report."""
    from robot_learning.ros.sim_to_sim import run_sim_to_sim, SimToSimConfig
    if (output / 'report.json').is_file():
        return json.loads((output / 'report.json').read_text())
    return run_sim_to_sim(SimToSimConfig(
        bundle=str(bundle), reality=reality, output=str(output), profile=profile,
        domain_id=DOMAIN_ID,
        policy_parameters={'watchdog_periods': 50.0, 'mode': 'lockstep'}))


def fall_time(trajectory_path: pathlib.Path, max_tilt: float = 1.0) -> float | None:
    """Return the time [s] after the start when the base first tilts over ``max_tilt``."""
    from robot_learning.data.trajectory import Trajectory
    from robot_learning.rotations import projected_gravity
    trajectory = Trajectory.load(trajectory_path)
    tilt = np.arccos(np.clip(-projected_gravity(trajectory.base_quat)[:, 2], -1.0, 1.0))
    over = np.flatnonzero(tilt > max_tilt)
    return float(trajectory.time[over[0]] - trajectory.time[0]) if over.size else None


def cli(*argv: str) -> None:
    """Run ``robot-learning`` in this process; raise on a non-zero exit."""
    from robot_learning.cli.main import main
    print('$ robot-learning ' + ' '.join(argv), flush=True)
    code = main(list(argv))
    if code:
        raise SystemExit(f'robot-learning {argv[0]} failed with exit code {code}')


def main() -> int:
    """Run the stages; return the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--pretrained', default='runs/dr_none',
                        help='pre-trained training run (config.yaml, model_*.pt)')
    parser.add_argument('--reality', default='quadruped_pybullet_weak_motors')
    parser.add_argument('--config', default='config/delta/quadruped.yaml')
    parser.add_argument('--output', default='runs/delta_benchmark')
    parser.add_argument('--train-runs', type=int, default=3,
                        help='training recordings (one random velocity profile each)')
    parser.add_argument('--seconds', type=float, default=30.0, help='length of a recording')
    parser.add_argument('--finetune-iterations', type=int, default=None)
    parser.add_argument('--repeats', type=int, default=3,
                        help='closed-loop deployments per policy (the ROS 2 loop is not '
                             'deterministic: the bridge runs in real time)')
    parser.add_argument('--stages', nargs='+',
                        default=['collect', 'fit', 'open_loop', 'finetune', 'closed_loop'])
    args = parser.parse_args()
    os.environ['ROS_DOMAIN_ID'] = str(DOMAIN_ID)
    os.environ['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
    out = pathlib.Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    pretrained_bundle = out / 'pretrained_bundle'
    train_profiles = {f'train{k}': velocity_profile(k + 1, args.seconds)
                      for k in range(args.train_runs)}
    heldout_profile = velocity_profile(100, args.seconds)
    train_npz = [str(out / f'collect_{name}' / 'trajectory.npz') for name in train_profiles]
    heldout_npz = out / 'collect_heldout' / 'trajectory.npz'
    models = out / 'models'
    timings = {}
    summary_path = out / 'summary.json'
    summary = json.loads(summary_path.read_text()) if summary_path.is_file() else {}

    def stage(name: str) -> bool:
        if name in args.stages:
            timings[name] = time.monotonic()
            return True
        return False

    if stage('collect'):
        if not pretrained_bundle.is_dir():
            cli('export', args.pretrained, '--output', str(pretrained_bundle))
        for name, profile in (*train_profiles.items(), ('heldout', heldout_profile)):
            report = deploy(pretrained_bundle, args.reality, out / f'collect_{name}', profile)
            summary.setdefault('collect', {})[name] = {
                **report['metrics'],
                'fell_at_s': fall_time(out / f'collect_{name}' / 'trajectory.npz')}
    if stage('fit'):
        done = {'asap': models / 'asap' / 'delta.pt', 'sysid': models / 'sysid.yaml',
                'delta_dynamics': models / 'delta_dynamics' / 'delta_dynamics.pt'}
        todo = [method for method, path in done.items() if not path.is_file()]
        if todo:
            cli('delta', 'fit', '--config', args.config, '--clips', *train_npz,
                '--output', str(models), '--method', *todo)
    if stage('open_loop'):
        cli('delta', 'evaluate', '--config', args.config, '--clips', str(heldout_npz),
            '--models', str(models), '--output', str(out / 'open_loop'))
        summary['open_loop'] = json.loads((out / 'open_loop' / 'report.json').read_text())
    bundles = {'pretrained': pretrained_bundle}
    # Control: the same fine-tuning in the unaligned simulator (no fitted dynamics).
    models.mkdir(parents=True, exist_ok=True)
    (models / 'no_dynamics.yaml').write_text('parameters: {}\n')
    for method, source in (('vanilla_ft', ['--sysid', str(models / 'no_dynamics.yaml')]),
                           ('sysid', ['--sysid', str(models / 'sysid.yaml')]),
                           ('asap', ['--delta', str(models / 'asap')])):
        bundles[method] = out / f'bundle_{method}'
        if stage('finetune') and not bundles[method].is_dir():
            extra = (['--iterations', str(args.finetune_iterations)]
                     if args.finetune_iterations else [])
            cli('delta', 'finetune', args.pretrained, '--output', str(out / f'run_{method}'),
                '--bundle', str(bundles[method]), '--config', args.config, *source, *extra)
    if stage('closed_loop'):
        summary['closed_loop'] = {}
        for method, bundle in bundles.items():
            runs = []
            for repeat in range(args.repeats):
                folder = out / (f'deploy_{method}' + (f'_r{repeat}' if repeat else ''))
                report = deploy(bundle, args.reality, folder, heldout_profile)
                runs.append({**report['metrics'],
                             'fell_at_s': fall_time(folder / 'trajectory.npz')})
            summary['closed_loop'][method] = {
                'lin_vel_error': float(np.mean([run['lin_vel_error'] for run in runs])),
                'yaw_rate_error': float(np.mean([run['yaw_rate_error'] for run in runs])),
                'falls': sum(run['fell_at_s'] is not None for run in runs),
                'runs': runs}
    summary['reality'] = args.reality
    summary['pretrained'] = args.pretrained
    atomic_write_text(summary_path, json.dumps(summary, indent=2, default=float))
    lines = ['# Delta-action (ASAP) benchmark', '', f'reality: {args.reality}; pre-trained: '
             f'{args.pretrained}', '']
    if 'open_loop' in summary:
        report = summary['open_loop']
        lines += [f"## Open loop ({report['clips']} held-out clips)", '',
                  '| method | ' + ' | '.join(
                      f'{h} body mm | {h} joint rad' for h in report['methods']['vanilla'])
                  + ' |',
                  '|---' * (1 + 2 * len(report['methods']['vanilla'])) + '|']
        for method, rows in report['methods'].items():
            lines.append(f'| {method} | ' + ' | '.join(
                f"{v['g_mpjpe_mm']:.2f} | {v['joint_rad']:.4f}" for v in rows.values()) + ' |')
        lines += ['', f"reduction of vanilla's 1 s global body error: "
                      f"{report['reduction_vs_vanilla']}", '']
    if 'closed_loop' in summary:
        lines += ['## Closed loop over ROS 2 (held-out velocity profile)', '',
                  '| policy | lin vel error [m/s], mean (runs) | yaw rate error [rad/s] | '
                  'falls |', '|---|---|---|---|']
        for method, metrics in summary['closed_loop'].items():
            each = ', '.join(f"{run['lin_vel_error']:.3f}" for run in metrics['runs'])
            lines.append(f"| {method} | {metrics['lin_vel_error']:.3f} ({each}) | "
                         f"{metrics['yaw_rate_error']:.3f} | {metrics['falls']}/"
                         f"{len(metrics['runs'])} |")
    (out / 'summary.md').write_text('\n'.join(lines) + '\n')
    print('\n'.join(lines))
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
