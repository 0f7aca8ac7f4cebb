# SPDX-License-Identifier: Apache-2.0
"""``robot-learning train``: PPO on a task through rsl-rl, with checkpoints and resume."""

from __future__ import annotations

import logging
import pathlib
import random
from typing import Callable

import numpy as np
import torch
import yaml

from robot_learning.config import to_dict
from robot_learning.domain_randomization.registry import make_randomizer
from robot_learning.domain_randomization.schedule import RandomizationSchedule
from robot_learning.provenance import write_training_provenance
from robot_learning.rl.runner import latest_checkpoint, TrainingRunner
from robot_learning.rl.train_config import runner_config, TrainConfig
from robot_learning.rl.vec_env import RslVecEnv
from robot_learning.tasks.velocity_tracking import VelocityTrackingEnv

LOG = logging.getLogger(__name__)
CONFIG_FILE = 'config.yaml'
"""The resolved TrainConfig, written into every run folder."""


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and torch."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def make_runner(config: TrainConfig, log_dir: str | None, progress: Callable | None = None,
                verbose: bool = False) -> TrainingRunner:
    """Build environment, VecEnv adapter and runner for ``config``."""
    randomizer = make_randomizer(config.randomization)
    env = VelocityTrackingEnv(config.task, randomizer=randomizer)
    schedule = None
    if randomizer is not None:
        schedule = RandomizationSchedule(
            randomizer, config.randomization.update_every_steps,
            config.ppo.num_steps_per_env * env.num_envs, log_dir)
    return TrainingRunner(RslVecEnv(env), runner_config(config), log_dir, 'cpu',
                          progress=progress, verbose=verbose, randomization=schedule)


def write_run_config(config: TrainConfig, run_dir: pathlib.Path) -> None:
    """Write the resolved config (atomically) so ``export`` and ``--resume`` can rebuild it."""
    run_dir.mkdir(parents=True, exist_ok=True)
    tmp = run_dir / f'.{CONFIG_FILE}.tmp'
    tmp.write_text(yaml.safe_dump(to_dict(config), sort_keys=False), encoding='utf-8')
    tmp.replace(run_dir / CONFIG_FILE)


def train(config: TrainConfig, resume: bool = False, progress: Callable | None = None,
          verbose: bool = False, command: str = '') -> pathlib.Path:
    """Train until ``config.max_iterations``; return the run folder.

    With ``resume``, training continues from the newest checkpoint in ``config.run_dir``.
    """
    run_dir = pathlib.Path(config.run_dir)
    seed_everything(config.seed)
    torch.set_num_threads(config.torch_threads or torch.get_num_threads())
    checkpoint = latest_checkpoint(run_dir) if resume else None
    if resume and checkpoint is None:
        raise FileNotFoundError(f'--resume: no checkpoint model_<iteration>.pt in {run_dir}')
    write_run_config(config, run_dir)
    if checkpoint is None:
        write_training_provenance(run_dir, command)
    runner = make_runner(config, str(run_dir), progress, verbose)
    start = 0
    if checkpoint is not None:
        runner.load(str(checkpoint))
        start = runner.current_learning_iteration
        LOG.info('resuming from %s (iteration %d)', checkpoint, start)
    remaining = config.max_iterations - start
    if remaining > 0:
        runner.learn(remaining, init_at_random_ep_len=checkpoint is None)
    return run_dir
