# SPDX-License-Identifier: Apache-2.0
"""Fine-tune a pre-trained policy in the aligned simulator and export the new bundle.

ASAP: pi_delta frozen, the task environment steps with ``a + offset(pi_delta(s, a))`` through
``env.set_action_transform`` (the offset scale is the one stored with the model, so it is the
scale pi_delta was trained with). SysID: the task's fixed dynamics are set to the identified
values. Either way PPO resumes from the pre-trained run's newest checkpoint, with the task's
original reward, in a new run folder, for ``iterations`` more iterations (optimizer and its
adaptive learning rate, action std and observation normalizer as the checkpoint holds them;
the normalizer keeps updating; episode lengths randomized at the start as in pre-training).
The observation's last action and the action-rate penalty hold the policy's own action ``a``,
as on the robot; only the simulator receives ``a + offset``. The checkpoint is
read with ``weights_only=True`` (no code in it runs) and the run folder is written only once
the environment is built and the checkpoint has loaded.
"""

from __future__ import annotations

import dataclasses
import logging
import pathlib
import shutil
from typing import Callable

import numpy as np
import torch
import yaml

from robot_learning.atomic_write import atomic_path, atomic_write_text
from robot_learning.config import ConfigError, load_config, to_dict
from robot_learning.delta_action.model import DeltaActionModel, DeltaActionTransform
from robot_learning.provenance import write_training_provenance
from robot_learning.rl.runner import latest_checkpoint, read_checkpoint, \
    remove_stale_temporaries
from robot_learning.rl.train_config import TrainConfig
from robot_learning.rl.training import CONFIG_FILE, make_runner, seed_everything, \
    write_run_config
from robot_learning.robots.registry import load_robot
from robot_learning.sim.dynamics import PARAMETERS

LOG = logging.getLogger(__name__)
FINETUNE_FILE = 'finetune.yaml'
"""What the fine-tuning used (delta model and its scale, or the SysID dynamics)."""


def finetune(pretrained_run: str | pathlib.Path, output_run: str | pathlib.Path,
             iterations: int, delta_model: str | pathlib.Path | None = None,
             dynamics: dict[str, float] | None = None, num_envs: int = 0,
             progress: Callable | None = None, command: str = '',
             torch_threads: int = 1) -> pathlib.Path:
    """Resume PPO from ``pretrained_run`` in ``output_run`` with pi_delta or fitted dynamics.

    Raises:
        FileNotFoundError: no config or checkpoint in ``pretrained_run``.
        FileExistsError: ``output_run`` already holds checkpoints.
        CheckpointError: the checkpoint is refused, corrupt or does not fit the run's config.
        ConfigError: ``iterations`` is not positive.
        ValueError: the delta model was trained for another robot.
    """
    pretrained_run, output_run = pathlib.Path(pretrained_run), pathlib.Path(output_run)
    if iterations < 1:
        raise ConfigError(f'iterations must be at least 1, got {iterations}')
    checkpoint = latest_checkpoint(pretrained_run)
    if not (pretrained_run / CONFIG_FILE).is_file() or checkpoint is None:
        raise FileNotFoundError(f'{pretrained_run}: not a training run (needs {CONFIG_FILE} and '
                                'model_<iteration>.pt)')
    if latest_checkpoint(output_run) is not None:
        raise FileExistsError(f'{output_run} already holds checkpoints; choose a new folder')
    start = read_checkpoint(checkpoint, map_location='cpu')['iter']
    config = finetune_config(load_config(TrainConfig, pretrained_run / CONFIG_FILE), start,
                             iterations, output_run, dynamics, num_envs, torch_threads)
    config.check_batch()
    model = None
    if delta_model is not None:
        model = DeltaActionModel.load(delta_model, load_robot(config.task.robot))
        check_delta_simulator(model.metadata, config, delta_model)
        if config.randomization.method != 'none' and config.randomization.parameters:
            LOG.warning('%s: the pre-trained run randomizes %s (%s) around pi_delta, which was '
                        'trained at fixed dynamics', delta_model,
                        ', '.join(config.randomization.parameters), config.randomization.method)
    seed_everything(config.seed)
    torch.set_num_threads(torch_threads)
    runner = make_runner(config, str(output_run), progress)
    transform = None
    if model is not None:
        env = runner.env.env
        transform = DeltaActionTransform(model, env.num_envs)
        steps = getattr(env, 'episode_steps', env.episode_length)

        def aligned(state, targets: np.ndarray) -> np.ndarray:
            transform.reset(np.flatnonzero(steps == 0))  # a new episode: no previous delta
            return transform(state, targets)

        env.set_action_transform(aligned)
    runner.load(str(checkpoint))
    runner.current_learning_iteration = start + 1  # the next iteration, not a repeat

    output_run.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(output_run)
    with atomic_path(output_run / checkpoint.name) as copy:  # never half a checkpoint
        shutil.copyfile(checkpoint, copy)
    write_run_config(config, output_run)
    write_training_provenance(output_run, command)
    record = {'pretrained_run': str(pretrained_run), 'checkpoint': str(checkpoint),
              'start_iteration': start, 'iterations': iterations,
              'delta_model': str(delta_model) if delta_model else None,
              'delta_scale': model.delta_scale if model else None,
              'dynamics': dict(dynamics or {}),
              'randomization': {'method': config.randomization.method,
                                'parameters': dict(config.randomization.parameters)}}
    atomic_write_text(output_run / FINETUNE_FILE, yaml.safe_dump(record, sort_keys=False))
    # Random episode lengths, as the pre-training's start: otherwise every environment resets
    # at the same step and each PPO batch holds one phase of the episode only.
    runner.learn(iterations, init_at_random_ep_len=True)
    if transform is not None:  # pi_delta's inputs on the rollouts (evaluate: on recordings)
        record['delta_inputs'] = transform.input_statistics()
        atomic_write_text(output_run / FINETUNE_FILE, yaml.safe_dump(record, sort_keys=False))
    return output_run


def finetune_config(config: TrainConfig, start: int, iterations: int,
                    output_run: str | pathlib.Path, dynamics: dict[str, float] | None = None,
                    num_envs: int = 0, torch_threads: int = 1) -> TrainConfig:
    """Return the pre-trained run's ``config`` as fine-tuning uses it.

    Task, rewards, commands, episodes, observations, PPO and network settings stay the
    pre-training's. Changed: the run folder, ``max_iterations`` (``start + 1 + iterations``),
    the save interval, the threads, ``task.num_envs`` when ``num_envs`` is given and, with
    SysID ``dynamics``, the identified values become the task's fixed dynamics of every
    environment and leave the randomization box (the reference's baseline); the box's other
    parameters keep the pre-training's method.
    """
    task, randomization = config.task, config.randomization
    if dynamics:
        task = dataclasses.replace(task, dynamics={**dict(task.dynamics), **dynamics})
        randomization = dataclasses.replace(randomization, parameters={
            name: bounds for name, bounds in randomization.parameters.items()
            if name not in dynamics})
    if num_envs:
        task = dataclasses.replace(task, num_envs=num_envs)
    return dataclasses.replace(
        config, task=task, randomization=randomization, run_dir=str(output_run),
        max_iterations=start + 1 + iterations,
        save_interval=max(1, min(config.save_interval, iterations)),
        torch_threads=torch_threads)


def check_delta_simulator(metadata: dict, config: TrainConfig,
                          where: str | pathlib.Path = 'delta model') -> None:
    """Refuse pi_delta in a task simulator other than the one it was trained to correct.

    pi_delta corrects the gap between the recordings and its training simulator, one control
    step at a time: the task must use the same backend, physics settings (``sim`` except
    threads and seed) and fixed dynamics (a parameter absent on one side is at its nominal
    value). Models saved without their config (``metadata['config']``) are not checked.

    Raises:
        ValueError: naming each setting that differs, with both values.
    """
    trained = metadata.get('config')
    if not isinstance(trained, dict):
        return
    task = config.task
    ignored = ('num_threads', 'seed')
    trained_sim = {k: v for k, v in dict(trained.get('sim') or {}).items() if k not in ignored}
    task_sim = {k: v for k, v in to_dict(task.sim).items() if k not in ignored}
    differences = []
    if trained.get('backend', task.backend) != task.backend:
        differences.append(f"backend {trained['backend']!r} vs {task.backend!r}")
    for name in sorted(set(trained_sim) & set(task_sim)):
        if trained_sim[name] != task_sim[name]:
            differences.append(f'sim.{name} {trained_sim[name]!r} vs {task_sim[name]!r}')
    trained_dynamics = dict(trained.get('dynamics') or {})
    task_dynamics = dict(task.dynamics)
    for name in sorted(set(trained_dynamics) | set(task_dynamics)):
        nominal = PARAMETERS[name].nominal if name in PARAMETERS else None
        if trained_dynamics.get(name, nominal) != task_dynamics.get(name, nominal):
            differences.append(f'dynamics.{name} {trained_dynamics.get(name, nominal)!r} vs '
                               f'{task_dynamics.get(name, nominal)!r}')
    if differences:
        raise ValueError(f'{where}: pi_delta was trained in another simulator than the task '
                         f"it would fine-tune (delta config vs task): {'; '.join(differences)}")
