# SPDX-License-Identifier: Apache-2.0
"""Handlers of the ``robot-learning`` subcommands (argument parsing lives in ``main``)."""

from __future__ import annotations

import argparse
import contextlib
import math
import pathlib
import time

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.progress import TimeRemainingColumn

from robot_learning.config import load_config

CONSOLE = Console()


@contextlib.contextmanager
def training_progress(total: int):
    """Show a rich progress bar; yield the callback that TrainingRunner calls per iteration."""
    progress = Progress(
        TextColumn('[bold]train'), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        TimeRemainingColumn(), TextColumn('{task.description}'), console=CONSOLE)
    task = progress.add_task('', total=total)

    def update(iteration: int, total_iterations: int, metrics: dict) -> None:
        error, success = metrics['speed_error'], metrics['success_rate']
        description = (
            f"reward {metrics['reward']:.2f} | ep len {metrics['episode_length']:.0f} | "
            f"speed err {'-' if math.isnan(error) else f'{error:.3f}'} m/s | "
            f"success {'-' if math.isnan(success) else f'{success:.2f}'} | "
            f"{metrics['steps_per_s']:.0f} steps/s")
        randomization = metrics.get('randomization')
        if randomization:
            description += (f" | DR {randomization['method']} H {randomization['entropy']:.2f} "
                            f"({randomization['status']})")
        progress.update(task, completed=iteration + 1, total=total_iterations,
                        description=description)
        if not CONSOLE.is_terminal and iteration % 10 == 0:
            # Logs and CI have no live bar: print a line every 10 iterations instead.
            print(f'iteration {iteration + 1}/{total_iterations}: {description}', flush=True)

    with progress:
        yield update


def run_train(args: argparse.Namespace) -> int:
    """``robot-learning train``."""
    from robot_learning.rl.train_config import TrainConfig
    from robot_learning.rl.training import train
    config = load_config(TrainConfig, args.config, args.overrides)
    CONSOLE.print(f'training {config.task.robot} on {config.task.backend} with '
                  f'{config.task.num_envs} environments for {config.max_iterations} iterations '
                  f'-> {config.run_dir}')
    try:
        with training_progress(config.max_iterations) as progress:
            run_dir = train(config, resume=args.resume, progress=progress,
                            verbose=args.verbose, command=args.command_line)
    except KeyboardInterrupt:
        # Checkpoints are written atomically: the newest one is whole, --resume goes on.
        CONSOLE.print(f'interrupted: continue with the same command and --resume '
                      f'(run_dir={config.run_dir})')
        return 130
    CONSOLE.print(f'done: checkpoints and TensorBoard logs in {run_dir}')
    return 0


def run_export(args: argparse.Namespace) -> int:
    """``robot-learning export``."""
    from robot_learning.policies.export import export_bundle
    bundle = export_bundle(args.run_dir, args.output, args.checkpoint, command=args.command_line)
    CONSOLE.print(f'wrote policy bundle {bundle} (policy.onnx, policy.pt, contract.yaml)')
    return 0


def print_metrics(title: str, metrics: dict) -> None:
    """Print a metric table."""
    from rich.table import Table
    table = Table(title=title)
    table.add_column('metric')
    table.add_column('value', justify='right')
    for key, value in metrics.items():
        table.add_row(key, f'{value:.4f}' if isinstance(value, float) else str(value))
    CONSOLE.print(table)


def parse_assignments(items: list[str]) -> dict[str, float]:
    """['name=value', ...] -> {name: float(value)}."""
    values = {}
    for item in items:
        name, separator, value = item.partition('=')
        if not separator:
            raise ValueError(f"expected PARAM=VALUE, got '{item}'")
        values[name] = float(value)
    return values


def run_evaluate(args: argparse.Namespace) -> int:
    """``robot-learning evaluate``."""
    if args.target or args.heatmap or args.reality or args.training_runs:
        if args.video:
            raise ValueError('--video renders the plain evaluation; drop it for a transfer '
                             'evaluation (--target, --heatmap, --reality, --training-runs)')
        return run_transfer_evaluation(args)
    from robot_learning.cli.play_commands import prepare_video, print_video
    from robot_learning.evaluation.bundle import evaluate_bundle
    from robot_learning.evaluation.setup import EvaluationConfig, write_report
    from robot_learning.policies.contract import load_contract
    from robot_learning.sim.rendering import StateRecorder
    config = EvaluationConfig(
        backend=args.backend, num_envs=args.num_envs, episode_length_s=args.episode_length,
        command=tuple(args.velocity_command), dynamics=parse_assignments(args.dynamics),
        seed=args.seed)
    recorder = None
    if args.video:
        video = prepare_video(args)
        recorder = StateRecorder(load_contract(args.bundle).control_dt)
    report = evaluate_bundle(args.bundle, config, observer=recorder)
    title = f"{args.bundle} ({report['task']}) on {report['backend']}"
    if report['task'] == 'velocity_tracking':
        title += f', command {tuple(args.velocity_command)}'
    print_metrics(title, report['metrics'])
    if args.output:
        path = write_report(report, pathlib.Path(args.output) / 'report.json')
        CONSOLE.print(f'report: {path}')
    if recorder is not None:
        from robot_learning.evaluation.setup import simulation_robot
        from robot_learning.sim.rendering import render_states
        robot = simulation_robot(load_contract(args.bundle))
        print_video(render_states(recorder.states(), robot, args.video, video))
    return 0


def run_transfer_evaluation(args: argparse.Namespace) -> int:
    """``robot-learning evaluate --target ...``: success over dynamics, heatmap, realities."""
    from robot_learning.config import ConfigError
    from robot_learning.domain_randomization.plots import plot_heatmap, plot_training
    from robot_learning.domain_randomization.schedule import read_history
    from robot_learning.evaluation.transfer import evaluate_transfer, TransferConfig
    from robot_learning.evaluation.setup import write_report
    from robot_learning.rl.train_config import TrainConfig
    if not args.target:
        raise ConfigError('--heatmap, --reality and --training-runs need --target TRAIN_YAML '
                          '(the training config that defines the target box and success)')
    if not args.output:
        raise ConfigError('a transfer evaluation needs --output DIR for its report and plots')
    train_config = load_config(TrainConfig, args.target)
    box = train_config.randomization.box()
    config = TransferConfig(episodes=args.episodes, heatmap=tuple(args.heatmap),
                            heatmap_cells=args.cells, heatmap_episodes=args.cell_episodes,
                            realities=tuple(args.reality),
                            reality_episodes=args.reality_episodes, seed=args.seed)
    output = pathlib.Path(args.output)
    report = evaluate_transfer(args.bundle, train_config.task, box, config)
    report['plots'] = {}
    if 'heatmap' in report:
        report['plots']['heatmap'] = str(plot_heatmap(report['heatmap'],
                                                      output / 'heatmap.png',
                                                      f'{args.bundle}: success'))
    if args.training_runs:
        histories = {pathlib.Path(run).name: read_history(run) for run in args.training_runs}
        report['plots']['training'] = str(plot_training(histories, output / 'training.png'))
        report['training'] = {name: rows[-1] for name, rows in histories.items() if rows}
    print_metrics(f'{args.bundle}: transfer over dynamics', report['metrics'])
    CONSOLE.print(f"report: {write_report(report, output / 'report.json')}")
    return 0


def run_demo(args: argparse.Namespace) -> int:
    """``robot-learning demo``: sim-to-sim over DDS with the shipped quadruped policy."""
    from robot_learning.paths import share_dir
    from robot_learning.ros.sim_to_sim import run_sim_to_sim, SimToSimConfig
    output = pathlib.Path(args.output or time.strftime('runs/demo-%Y%m%d-%H%M%S'))
    if (output / 'bag').exists():
        raise FileExistsError(f'{output} holds an earlier run; pass another --output')
    bundle = pathlib.Path(args.bundle) if args.bundle else (
        share_dir() / 'policies' / 'quadruped_deploy')
    video = None
    if args.video:
        from robot_learning.cli.play_commands import prepare_video
        video = prepare_video(args)
    CONSOLE.print(f'sim-to-sim: policy node ({bundle}) -> DDS -> sim bridge ({args.reality}), '
                  f'recorder -> {output / "bag"}')
    report = run_sim_to_sim(SimToSimConfig(bundle=str(bundle), reality=args.reality,
                                           output=str(output)))
    print_metrics(f'tracking on {args.reality} over DDS', report['metrics'])
    CONSOLE.print(f"report: {output / 'report.json'}; plot: {report['plot']}; "
                  f"bag: {report['bag']}")
    if video is not None:
        from robot_learning.cli.play_commands import print_video
        from robot_learning.data.trajectory import load_trajectory
        from robot_learning.robots.registry import load_robot
        from robot_learning.sim.rendering import render_trajectory
        trajectory = load_trajectory(output / 'trajectory.npz')
        print_video(render_trajectory(trajectory, load_robot(trajectory.robot), args.video,
                                      video))
    return 0
