# SPDX-License-Identifier: Apache-2.0
"""Fine-tune a pre-trained policy in the aligned simulator and export the new bundle.

ASAP: pi_delta frozen, the task environment steps with ``a + offset(pi_delta(s, a))`` through
``env.set_action_transform`` (the offset scale is the one stored with the model, so it is the
scale pi_delta was trained with). SysID: the task's fixed dynamics are set to the identified
values. Either way PPO resumes from the pre-trained run's newest checkpoint, with the task's
original reward, in a new run folder, for ``iterations`` more iterations. The checkpoint is
read with ``weights_only=True`` (no code in it runs) and the run folder is written only once
the environment is built and the checkpoint has loaded.
"""

from __future__ import annotations

import dataclasses
import pathlib
import shutil
from typing import Callable

import numpy as np
import torch
import yaml

from robot_learning.atomic_write import atomic_path, atomic_write_text
from robot_learning.config import ConfigError, load_config
from robot_learning.delta_action.model import DeltaActionModel, DeltaActionTransform
from robot_learning.provenance import write_training_provenance
from robot_learning.rl.runner import latest_checkpoint, read_checkpoint, \
    remove_stale_temporaries
from robot_learning.rl.train_config import TrainConfig
from robot_learning.rl.training import CONFIG_FILE, make_runner, seed_everything, \
    write_run_config
from robot_learning.robots.registry import load_robot

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
    config = load_config(TrainConfig, pretrained_run / CONFIG_FILE)
    start = read_checkpoint(checkpoint, map_location='cpu')['iter']
    task, randomization = config.task, config.randomization
    if dynamics:
        # Identified parameters are fixed: they leave the randomization box (SysID, then
        # fine-tuning with those values, as the reference's baseline).
        task = dataclasses.replace(task, dynamics={**dict(task.dynamics), **dynamics})
        randomization = dataclasses.replace(randomization, parameters={
            name: bounds for name, bounds in randomization.parameters.items()
            if name not in dynamics})
    if num_envs:
        task = dataclasses.replace(task, num_envs=num_envs)
    config = dataclasses.replace(
        config, task=task, randomization=randomization, run_dir=str(output_run),
        max_iterations=start + 1 + iterations,
        save_interval=max(1, min(config.save_interval, iterations)),
        torch_threads=torch_threads)
    config.check_batch()
    model = None
    if delta_model is not None:
        model = DeltaActionModel.load(delta_model, load_robot(task.robot))
    seed_everything(config.seed)
    torch.set_num_threads(torch_threads)
    runner = make_runner(config, str(output_run), progress)
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
              'dynamics': dict(dynamics or {})}
    atomic_write_text(output_run / FINETUNE_FILE, yaml.safe_dump(record, sort_keys=False))
    runner.learn(iterations, init_at_random_ep_len=False)
    return output_run
