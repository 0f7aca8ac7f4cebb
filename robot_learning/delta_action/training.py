# SPDX-License-Identifier: Apache-2.0
"""Fit the delta-action model with PPO (rsl-rl, the project's TrainingRunner) on clips."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import pathlib
import tempfile
from typing import Callable

import torch
import yaml

from robot_learning.atomic_write import atomic_write_text
from robot_learning.config import to_dict
from robot_learning.delta_action.clips import ClipSet
from robot_learning.delta_action.config import DeltaConfig
from robot_learning.delta_action.env import DeltaActionEnv
from robot_learning.delta_action.model import DeltaActionModel
from robot_learning.rl.runner import TrainingRunner
from robot_learning.rl.train_config import runner_config, TrainConfig
from robot_learning.rl.training import seed_everything
from robot_learning.rl.vec_env import RslVecEnv


def make_delta_runner(config: DeltaConfig, clips: ClipSet, log_dir: str | None,
                      progress: Callable | None = None) -> TrainingRunner:
    """Build the delta-action environment and an rsl-rl PPO runner on it."""
    env = DeltaActionEnv(config, clips)
    train = dataclasses.replace(TrainConfig(), ppo=config.ppo, network=config.network,
                                save_interval=config.save_interval)
    return TrainingRunner(RslVecEnv(env), runner_config(train), log_dir, 'cpu',
                          progress=progress)


def fit_delta_action(config: DeltaConfig, clips: ClipSet, output: str | pathlib.Path,
                     progress: Callable | None = None, sources: tuple[str, ...] = ()
                     ) -> DeltaActionModel:
    """Train pi_delta for ``config.max_iterations`` PPO iterations; save it in ``output``.

    ``output/run`` holds rsl-rl's checkpoints and TensorBoard log; ``output/delta.pt`` and
    ``output/delta.yaml`` the model (``DeltaActionModel.load``).
    """
    output = pathlib.Path(output)
    seed_everything(config.seed)
    torch.set_num_threads(config.torch_threads or torch.get_num_threads())
    runner = make_delta_runner(config, clips, str(output / 'run'), progress)
    runner.learn(config.max_iterations, init_at_random_ep_len=True)
    env = runner.env.env
    model = model_from_runner(runner, env, config, {
        'horizon_steps': clips.horizon, 'iterations': config.max_iterations,
        'clips': clips.num_clips, 'sources': list(sources or clips.sources),
        'config': to_dict(config)})
    model.save(output)
    atomic_write_text(output / 'run' / 'delta_config.yaml',
                      yaml.safe_dump(to_dict(config), sort_keys=False))
    return model


def model_from_runner(runner: TrainingRunner, env: DeltaActionEnv, config: DeltaConfig,
                      metadata: dict) -> DeltaActionModel:
    """Return the runner's deterministic actor (normalization included) as a model."""
    with tempfile.TemporaryDirectory() as staging, contextlib.redirect_stdout(io.StringIO()):
        runner.export_policy_to_jit(staging, 'actor.pt')
        actor = torch.jit.load(str(pathlib.Path(staging) / 'actor.pt'), map_location='cpu')
    actor.eval()
    return DeltaActionModel(actor, env.robot, config.delta_scale, config.clip_delta, env.mask,
                            metadata)


def model_from_checkpoint(config: DeltaConfig, clips: ClipSet, checkpoint: str | pathlib.Path,
                          output: str | pathlib.Path) -> DeltaActionModel:
    """Rebuild the model of a delta-action PPO checkpoint (``output/run/model_<it>.pt``)."""
    small = dataclasses.replace(config, num_envs=1)
    runner = make_delta_runner(small, clips, None)
    runner.load(str(checkpoint), map_location='cpu')
    model = model_from_runner(runner, runner.env.env, config, {
        'horizon_steps': clips.horizon, 'iterations': int(runner.current_learning_iteration),
        'clips': clips.num_clips, 'sources': list(clips.sources), 'config': to_dict(config),
        'checkpoint': str(checkpoint)})
    model.save(output)
    return model
