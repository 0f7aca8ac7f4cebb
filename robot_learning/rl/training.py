# SPDX-License-Identifier: Apache-2.0
"""``robot-learning train``: PPO on a task through rsl-rl, with checkpoints and resume."""

from __future__ import annotations

import dataclasses
import logging
import os
import pathlib
import random
from typing import Callable

import numpy as np
import torch
import yaml

from robot_learning.atomic_write import atomic_write_text
from robot_learning.config import to_dict
from robot_learning.domain_randomization.registry import make_randomizer
from robot_learning.domain_randomization.schedule import RandomizationSchedule
from robot_learning.paths import resolve_asset
from robot_learning.provenance import write_training_provenance
from robot_learning.rl.runner import (checkpoints, CorruptCheckpointError, read_checkpoint,
                                      remove_stale_temporaries, TrainingRunner)
from robot_learning.rl.train_config import runner_config, TrainConfig
from robot_learning.rl.vec_env import RslVecEnv
from robot_learning.rl.warm_start import load_actor
from robot_learning.tasks.registry import task_spec

LOG = logging.getLogger(__name__)
CONFIG_FILE = 'config.yaml'
"""The resolved TrainConfig, written into every run folder."""


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and torch."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def distributed_rank() -> tuple[int, int, int]:
    """Return (global rank, local rank, world size) from ``torchrun``'s variables (0, 0, 1)."""
    return (int(os.getenv('RANK', '0')), int(os.getenv('LOCAL_RANK', '0')),
            int(os.getenv('WORLD_SIZE', '1')))


def training_device() -> str:
    """Return the runner's device: ``cpu``, or ``cuda:<LOCAL_RANK>`` under multi-GPU torchrun.

    Under ``torchrun`` with CUDA every process trains on its own GPU (rsl-rl's NCCL path);
    without CUDA the processes train on the CPU and reduce over gloo (``TrainingRunner``).
    A single process keeps the PPO update on the CPU, beside the numpy environment.
    """
    _, local_rank, world_size = distributed_rank()
    if world_size > 1 and torch.cuda.is_available():
        return f'cuda:{local_rank}'
    return 'cpu'


def make_runner(config: TrainConfig, log_dir: str | None, progress: Callable | None = None,
                verbose: bool = False) -> TrainingRunner:
    """Build environment, VecEnv adapter and runner for ``config``.

    Under ``torchrun`` each rank simulates its own ``task.num_envs`` worlds with its own seed
    (``task.seed + rank``), so the batch of one PPO update is ``WORLD_SIZE`` times larger.
    """
    randomizer = make_randomizer(config.randomization)
    rank, _, _ = distributed_rank()
    task = dataclasses.replace(config.task, seed=config.task.seed + rank)
    env = task_spec(config.task_type).env_cls(task, randomizer=randomizer)
    schedule = None
    if randomizer is not None:
        schedule = RandomizationSchedule(
            randomizer, config.randomization.update_every_steps,
            config.ppo.num_steps_per_env * env.num_envs, log_dir)
    return TrainingRunner(RslVecEnv(env), runner_config(config), log_dir, training_device(),
                          progress=progress, verbose=verbose, randomization=schedule)


def write_run_config(config: TrainConfig, run_dir: pathlib.Path) -> None:
    """Write the resolved config (atomically) so ``export`` and ``--resume`` can rebuild it."""
    atomic_write_text(run_dir / CONFIG_FILE, yaml.safe_dump(to_dict(config), sort_keys=False))


def resume_checkpoint(run_dir: pathlib.Path) -> tuple[pathlib.Path, int]:
    """Return the newest readable checkpoint of ``run_dir`` and the iteration it completed.

    A truncated or corrupt newest checkpoint (a full disk, a partial copy) is skipped with a
    warning in favour of the previous one; a refused (unsafe) file stops the resume.

    Raises:
        FileNotFoundError: no readable checkpoint in ``run_dir``.
        UnsafeCheckpointError: the newest checkpoint would run code when opened.
    """
    skipped = []
    for path in checkpoints(run_dir):
        try:
            return path, read_checkpoint(path, map_location='cpu')['iter']
        except CorruptCheckpointError as error:
            LOG.warning('%s; falling back to the previous checkpoint', error)
            skipped.append(path.name)
    found = f" (unreadable: {', '.join(skipped)})" if skipped else ''
    raise FileNotFoundError(f'--resume: no checkpoint model_<iteration>.pt in {run_dir}{found}')


def train(config: TrainConfig, resume: bool = False, progress: Callable | None = None,
          verbose: bool = False, command: str = '') -> pathlib.Path:
    """Train until ``config.max_iterations`` iterations are done; return the run folder.

    A checkpoint ``model_<i>.pt`` holds the state after iteration ``i`` (counted from 0), so a
    finished run's last checkpoint is ``model_<max_iterations - 1>.pt``. With ``resume``,
    training continues at the iteration after the newest readable checkpoint's, so it never
    repeats that iteration nor overwrites the file it started from; a finished run trains
    nothing. ``config.yaml`` and ``provenance.yaml`` are written only once the environment is
    built and the checkpoint has loaded, so a failed start leaves the run folder as it was.

    Raises:
        FileNotFoundError: ``resume`` without a readable checkpoint in ``config.run_dir``.
        FileExistsError: a new run in a folder that already holds checkpoints.
        CheckpointError: the checkpoint is refused or does not fit ``config``'s networks.
        ConfigError: ``config`` asks for more mini-batches than a batch has transitions.
    """
    config.check_batch()
    run_dir = pathlib.Path(config.run_dir)
    rank, _, _ = distributed_rank()
    checkpoint, done = None, 0
    if resume:
        checkpoint, iteration = resume_checkpoint(run_dir)
        done = iteration + 1
    elif checkpoints(run_dir):
        raise FileExistsError(f'{run_dir} already holds checkpoints of an earlier run: pass '
                              '--resume to continue it, or choose another run_dir')
    if done >= config.max_iterations:
        LOG.warning('%s: finished, %s completed %d of max_iterations=%d iterations; nothing to '
                    'train (raise max_iterations to continue it)', run_dir, checkpoint.name,
                    done, config.max_iterations)
        return run_dir
    seed_everything(config.seed + rank)
    torch.set_num_threads(config.torch_threads or torch.get_num_threads())
    runner = make_runner(config, str(run_dir), progress, verbose)
    if checkpoint is not None:
        runner.load(str(checkpoint))
        runner.current_learning_iteration = done  # the next iteration, not a repeat
        LOG.info('resuming from %s at iteration %d of %d', checkpoint, done,
                 config.max_iterations)
    elif config.init_policy:
        bundle = pathlib.Path(config.init_policy)
        bundle = bundle if bundle.exists() else resolve_asset(config.init_policy)
        fresh = load_actor(runner.alg.actor, bundle, runner.env.env.robot.joint_names)
        LOG.info('actor from %s (fresh: %s)', bundle, ', '.join(fresh) or 'none')
    if rank == 0:  # under torchrun only rank 0 writes the run folder (rsl-rl logs from it)
        remove_stale_temporaries(run_dir)
        write_run_config(config, run_dir)
        if checkpoint is None:
            write_training_provenance(run_dir, command)
    # Random initial episode lengths on resume too: fresh environments that all start at step 0
    # would reset together, and every iteration would see the same slice of the episode.
    runner.learn(config.max_iterations - done, init_at_random_ep_len=True)
    return run_dir
