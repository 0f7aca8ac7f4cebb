# SPDX-License-Identifier: Apache-2.0
"""``robot-learning delta fit|finetune|evaluate``: ASAP delta-action alignment and baselines."""

from __future__ import annotations

import argparse
import pathlib
import time
from typing import TYPE_CHECKING

import yaml

from robot_learning.atomic_write import atomic_write_text
from robot_learning.config import load_config

if TYPE_CHECKING:
    from robot_learning.delta_action.clips import ClipSet
    from robot_learning.delta_action.config import DeltaConfig
    from robot_learning.policies.contract import PolicyContract
    from robot_learning.robots.spec import RobotSpec

FIT_METHODS = ('asap', 'sysid', 'delta_dynamics')
SYSID_FILE = 'sysid.yaml'
ASAP_DIR = 'asap'
DYNAMICS_DIR = 'delta_dynamics'
DEFAULT_CONFIG = 'config/delta/quadruped.yaml'
RECORDINGS_HELP = ('rosbag2 folders recorded on the robot (the recorder node or ros2 bag '
                   'record; MCAP or sqlite3) or trajectory .npz files (robot-learning bag '
                   'export), and key.sub=value overrides of the delta YAML; all of them '
                   'together, before the options')


def add_delta_parser(subparsers) -> None:
    """Register ``delta`` and its subcommands."""
    parser = subparsers.add_parser(
        'delta', help='ASAP delta-action alignment: fit from recorded clips, fine-tune, evaluate')
    commands = parser.add_subparsers(dest='delta_command', required=True)

    fit = commands.add_parser(
        'fit', help='fit the delta-action model (PPO) and the baselines from robot bags',
        description='Each bag is checked (topics, joints, stamps), exported at the control '
                    'period, split at gaps and cut into clips.')
    fit.add_argument('recordings', nargs='*', metavar='BAG_OR_OVERRIDE', help=RECORDINGS_HELP)
    _add_recording_options(fit)
    fit.add_argument('--output', required=True,
                     help='folder for asap/ (delta.pt, delta.yaml), sysid.yaml, '
                          'delta_dynamics/')
    fit.add_argument('--method', nargs='+', choices=FIT_METHODS, default=list(FIT_METHODS))
    fit.set_defaults(handler='robot_learning.cli.delta_commands:run_fit')

    tune = commands.add_parser('finetune', help='fine-tune a pre-trained policy with pi_delta '
                                                'frozen in the loop (or with SysID dynamics)')
    tune.add_argument('pretrained_run', help='training run folder (config.yaml, model_*.pt)')
    tune.add_argument('overrides', nargs='*', metavar='key.sub=value',
                      help='overrides of the delta YAML, e.g. finetune.num_envs=64')
    tune.add_argument('--output', required=True, help='new run folder')
    tune.add_argument('--bundle', required=True, help='policy bundle folder to export')
    source = tune.add_mutually_exclusive_group(required=True)
    source.add_argument('--delta', help='delta-action model folder (delta fit output/asap)')
    source.add_argument('--sysid', help='sysid.yaml written by delta fit')
    tune.add_argument('--config', default='config/delta/quadruped.yaml',
                      help='delta YAML (finetune.iterations, finetune.num_envs)')
    tune.add_argument('--iterations', type=int, default=None, help='PPO iterations to add')
    tune.add_argument('--num-envs', type=int, default=None)
    tune.set_defaults(handler='robot_learning.cli.delta_commands:run_finetune')

    evaluate = commands.add_parser('evaluate', help='open-loop replay error on held-out clips')
    evaluate.add_argument('recordings', nargs='*', metavar='BAG_OR_OVERRIDE',
                          help=f'held-out recordings: {RECORDINGS_HELP}')
    _add_recording_options(evaluate)
    evaluate.add_argument('--models', required=True, help='the folder written by delta fit')
    evaluate.add_argument('--output', required=True, help='folder for report.json, plot')
    evaluate.add_argument('--max-clips', type=int, default=0, help='0: every spaced clip')
    evaluate.set_defaults(handler='robot_learning.cli.delta_commands:run_evaluate')


def _add_recording_options(parser: argparse.ArgumentParser) -> None:
    """Options of the commands that read recordings: config, contract, topics."""
    parser.add_argument('--config', default=None,
                        help='delta YAML (default: config/delta/<robot>.yaml of the --contract '
                             f'robot, else {DEFAULT_CONFIG})')
    parser.add_argument('--contract', default=None, metavar='BUNDLE',
                        help='the policy bundle that ran on the robot (or its contract.yaml): '
                             "its robot, joints and control period must be the delta YAML's")
    parser.add_argument('--clips', nargs='+', default=[], metavar='RECORDING',
                        help='more recordings (bag folders or trajectory .npz files)')
    parser.add_argument('--topic', dest='topics', action='append', default=[],
                        metavar='ROLE=TOPIC',
                        help='topic name on the robot for a role: joint_states, imu, odom, '
                             'joint_commands, joint_trajectory, cmd_vel (repeatable)')


def _setup(args: argparse.Namespace) -> tuple[DeltaConfig, RobotSpec, ClipSet]:
    """Load the delta YAML, its robot and the clips of every recording given."""
    from robot_learning.cli.arguments import split_overrides
    from robot_learning.cli.bag_commands import _parse_topics, load_contract_file
    from robot_learning.cli.main import installed_file
    from robot_learning.delta_action.clips import load_clips
    from robot_learning.delta_action.config import DeltaConfig
    from robot_learning.robots.registry import load_robot
    recordings, overrides = split_overrides(args.recordings)
    recordings += args.clips
    if not recordings:
        raise ValueError('no recordings: give bag folders (or trajectory .npz files), e.g. '
                         'robot-learning delta fit runs/bags/walk1 --contract BUNDLE --output '
                         'runs/delta/models')
    contract = load_contract_file(args.contract) if args.contract else None
    config_path = args.config or (f'config/delta/{contract.robot}.yaml' if contract
                                  else DEFAULT_CONFIG)
    config = load_config(DeltaConfig, installed_file(config_path), overrides)
    robot = load_robot(config.robot)
    if contract is not None:
        _check_contract(contract, args.contract, config, config_path, robot)
    clips = load_clips(recordings, robot, config.steps(config.horizon_s), config.control_dt,
                       config.max_tilt, _parse_topics(args.topics))
    return config, robot, clips


def _check_contract(contract: PolicyContract, bundle: str, config: DeltaConfig,
                    config_path: str, robot: RobotSpec) -> None:
    """Refuse a policy contract whose robot or control period differ from the delta YAML's."""
    if contract.robot != config.robot:
        raise ValueError(f"{bundle}: the policy ran on robot '{contract.robot}', {config_path} "
                         f"aligns '{config.robot}'; use config/delta/{contract.robot}.yaml")
    contract.check_robot(robot)
    if abs(contract.control_dt - config.control_dt) > 1e-9:
        raise ValueError(f'{bundle}: control period {contract.control_dt} s, but {config_path} '
                         f'steps the simulator every {config.control_dt} s (sim.sim_dt x '
                         "sim.decimation): the clips are exported at the policy's period")


def run_fit(args: argparse.Namespace) -> int:
    """``robot-learning delta fit``."""
    import torch

    from robot_learning.cli.commands import CONSOLE
    from robot_learning.delta_action.delta_dynamics import fit_delta_dynamics
    from robot_learning.delta_action.evaluation import write_json
    from robot_learning.delta_action.sysid import fit_sysid
    from robot_learning.delta_action.training import fit_delta_action
    config, robot, clips = _setup(args)
    torch.set_num_threads(config.torch_threads or torch.get_num_threads())
    output = pathlib.Path(args.output)
    CONSOLE.print(f'{clips.num_clips} clips of {clips.horizon} steps from '
                  f'{len(clips.sources)} gap-free recording(s); robot {robot.name}; -> {output}')
    if 'sysid' in args.method:
        def sysid_progress(generation: int, cost: float, values: dict) -> None:
            CONSOLE.print(f'sysid generation {generation}: objective {cost:.5f} '
                          + ' '.join(f'{k}={v:.4g}' for k, v in values.items()))
        result = fit_sysid(config, clips, sysid_progress)
        atomic_write_text(output / SYSID_FILE, yaml.safe_dump(result, sort_keys=False))
        CONSOLE.print(f'sysid: {result["parameters"]} (objective {result["objective"]:.5f}, '
                      f'nominal {result["nominal_objective"]:.5f}) -> {output / SYSID_FILE}')
    if 'delta_dynamics' in args.method:
        def dynamics_progress(iteration: int, loss: float, steps: int) -> None:
            if iteration % 25 == 0:
                CONSOLE.print(f'delta dynamics {iteration}: loss {loss:.4f} (K={steps})')
        correction = fit_delta_dynamics(config, clips, dynamics_progress)
        path = correction.save(output / DYNAMICS_DIR)
        write_json({'sources': list(clips.sources)}, output / DYNAMICS_DIR / 'sources.json')
        CONSOLE.print(f'delta dynamics -> {path}')
    if 'asap' in args.method:
        def ppo_progress(iteration: int, total: int, metrics: dict) -> None:
            if iteration % 10 == 0 or iteration + 1 == total:
                CONSOLE.print(f'delta-action PPO {iteration + 1}/{total}: reward '
                              f"{metrics['reward']:.3f}, {metrics['steps_per_s']:.0f} steps/s, "
                              f"{time.strftime('%H:%M:%S')}")
        fit_delta_action(config, clips, output / ASAP_DIR, ppo_progress)
        CONSOLE.print(f'delta-action model -> {output / ASAP_DIR}')
    return 0


def run_finetune(args: argparse.Namespace) -> int:
    """``robot-learning delta finetune``."""
    from robot_learning.cli.commands import CONSOLE, training_progress
    from robot_learning.delta_action.config import DeltaConfig
    from robot_learning.delta_action.finetune import finetune
    from robot_learning.policies.export import export_bundle
    from robot_learning.cli.main import installed_file
    config = load_config(DeltaConfig, installed_file(args.config), args.overrides)
    iterations = args.iterations or config.finetune.iterations
    num_envs = args.num_envs if args.num_envs is not None else config.finetune.num_envs
    dynamics = None
    if args.sysid:
        path = pathlib.Path(args.sysid)
        if not path.is_file():
            raise FileNotFoundError(f'no SysID result {path}')
        dynamics = yaml.safe_load(path.read_text(encoding='utf-8'))['parameters']
    source = f'pi_delta {args.delta}' if args.delta else f'SysID dynamics {dynamics}'
    CONSOLE.print(f'fine-tuning {args.pretrained_run} for {iterations} iterations with '
                  f'{source} -> {args.output}')
    with training_progress(iterations) as progress:
        run = finetune(args.pretrained_run, args.output, iterations, delta_model=args.delta,
                       dynamics=dynamics, num_envs=num_envs,
                       progress=lambda it, total, metrics: progress(
                           it - (total - iterations), iterations, metrics),
                       command=args.command_line)
    bundle = export_bundle(run, args.bundle, command=args.command_line)
    CONSOLE.print(f'wrote {bundle}')
    return 0


def load_models(folder: str | pathlib.Path, robot) -> dict:
    """Load whatever ``delta fit`` wrote into ``folder`` (missing methods are skipped)."""
    from robot_learning.delta_action.delta_dynamics import DeltaDynamicsCorrection, MODEL_FILE
    from robot_learning.delta_action.model import DeltaActionModel
    folder = pathlib.Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f'no model folder {folder}')
    models = {}
    if (folder / ASAP_DIR).is_dir():
        models['delta_model'] = DeltaActionModel.load(folder / ASAP_DIR, robot)
    if (folder / SYSID_FILE).is_file():
        models['sysid'] = yaml.safe_load(
            (folder / SYSID_FILE).read_text(encoding='utf-8'))['parameters']
    if (folder / DYNAMICS_DIR / MODEL_FILE).is_file():
        models['delta_dynamics'] = DeltaDynamicsCorrection.load(folder / DYNAMICS_DIR, robot)
    return models


def run_evaluate(args: argparse.Namespace) -> int:
    """``robot-learning delta evaluate``."""
    from robot_learning.cli.commands import CONSOLE
    from robot_learning.delta_action.evaluation import (evaluate_open_loop, plot_open_loop,
                                                        write_json)
    from rich.table import Table
    config, robot, clips = _setup(args)
    report = evaluate_open_loop(config, clips, max_clips=args.max_clips,
                                **load_models(args.models, robot))
    output = pathlib.Path(args.output)
    report['plot'] = str(plot_open_loop(report, output / 'open_loop.png'))
    write_json(report, output / 'report.json')
    table = Table(title=f"open-loop replay, {report['clips']} held-out clips")
    table.add_column('method')
    for horizon in report['methods']['vanilla']:
        table.add_column(f'{horizon} body mm', justify='right')
        table.add_column(f'{horizon} joint rad', justify='right')
    for method, rows in report['methods'].items():
        table.add_row(method, *[f'{value:.4g}' for values in rows.values()
                                for value in (values['g_mpjpe_mm'], values['joint_rad'])])
    CONSOLE.print(table)
    CONSOLE.print(f"reduction of vanilla's global body error: {report['reduction_vs_vanilla']}")
    CONSOLE.print(f"report: {output / 'report.json'}; plot: {report['plot']}")
    return 0
