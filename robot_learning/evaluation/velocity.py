# SPDX-License-Identifier: Apache-2.0
"""Evaluate a locomotion policy bundle on any backend: tracking error, survival, report.

Metric names (JSON report, key ``metrics``):
- ``lin_vel_error``: mean over surviving time steps (after the first ``warmup_s``) and
  environments of |v_xy - cmd_xy| in the base frame [m/s].
- ``lin_vel_error_all``: the same over every time step, warm-up included [m/s].
- ``forward_speed``: mean forward base velocity after warm-up [m/s].
- ``yaw_rate_error``: mean |w_z - cmd_yaw| after warm-up [rad/s].
- ``survival_rate``: fraction of episodes that reach the end without a fall.
- ``episodes``: number of episodes run (one per environment).
- ``target_change_mean``, ``target_change_p95`` [rad per step], ``target_change_nyquist_share``
  and ``foot_slip`` [m/s] after warm-up (``evaluation/smoothness.py``), averaged over the
  surviving environments; with a zero command also ``standing_height_drift`` [m],
  ``standing_yaw_drift`` [rad] and ``standing_duration`` [s] (from warm-up to the end) and the
  ``standing_*`` target-change metrics.
"""

from __future__ import annotations

import dataclasses
import pathlib
from typing import Callable

import numpy as np

from robot_learning.evaluation.setup import EvaluationConfig, simulation_robot, simulation_setup
from robot_learning.evaluation.smoothness import (foot_slip, standing_metrics,
                                                  target_change_metrics)
from robot_learning.policies.contract import joint_targets
from robot_learning.policies.runtime import PolicyRuntime
from robot_learning.rotations import quat_rotate_inverse
from robot_learning.sim.base import SimState
from robot_learning.tasks.velocity_tracking import VelocityTaskConfig, VelocityTrackingEnv


def evaluate_velocity(bundle: str | pathlib.Path, config: EvaluationConfig,
                      observer: Callable[[SimState], None] | None = None) -> dict:
    """Run one episode per environment with the bundle's ONNX policy; return the report.

    ``observer``, when given, is called with the (batched) state after every control step,
    e.g. to record a video of one environment.
    """
    runtime = PolicyRuntime(bundle)
    contract = runtime.contract
    setup = simulation_setup(contract, config)
    task = VelocityTaskConfig(
        robot=contract.robot, backend=setup.backend, num_envs=config.num_envs, sim=setup.sim,
        episode_length_s=config.episode_length_s, fixed_command=tuple(config.command),
        observations=contract.observations, noise_level=0.0,
        clip_observations=contract.clip_observations, clip_actions=contract.clip_actions,
        reset_joint_pos_scale=(1.0, 1.0), reset_base_velocity=0.0,
        dynamics=setup.dynamics, seed=config.seed)
    env = VelocityTrackingEnv(task, robot=simulation_robot(contract))
    try:
        steps = env.max_episode_length
        warmup = int(round(config.warmup_s / env.dt))
        alive = np.ones(env.num_envs, dtype=bool)
        errors, errors_all, speeds, yaw_errors = [], [], [], []
        command = np.asarray(config.command)
        state = env.state
        record: dict[str, list[np.ndarray]] = {key: [] for key in (
            'targets', 'base_pos', 'base_quat', 'contact_pos', 'contact_force')}
        for step in range(steps):
            actions = runtime.act(runtime.observe(env.observation_inputs(state)))
            _, _, terminated, _, _ = env.step(actions)
            alive &= ~terminated
            state = env.state
            if observer is not None:
                observer(state)
            record['targets'].append(joint_targets(contract, actions))
            for key in ('base_pos', 'base_quat', 'contact_pos', 'contact_force'):
                record[key].append(getattr(state, key).copy())
            velocity = quat_rotate_inverse(state.base_quat, state.base_lin_vel)
            error = np.linalg.norm(velocity[:, :2] - command[:2], axis=1)
            errors_all.append(np.where(alive, error, np.nan))
            if step >= warmup:
                errors.append(np.where(alive, error, np.nan))
                speeds.append(np.where(alive, velocity[:, 0], np.nan))
                yaw_errors.append(np.where(alive, np.abs(state.base_ang_vel[:, 2] - command[2]),
                                           np.nan))
        metrics = {
            'lin_vel_error': _nanmean(errors),
            'lin_vel_error_all': _nanmean(errors_all),
            'forward_speed': _nanmean(speeds),
            'yaw_rate_error': _nanmean(yaw_errors),
            'survival_rate': float(alive.mean()),
            'episodes': int(env.num_envs),
            'nonfinite_resets': int(env.nonfinite_resets),
            **smoothness(record, alive, command, env.dt, warmup),
        }
    finally:
        env.backend.close()
    return {'bundle': str(bundle), 'robot': contract.robot, 'backend': setup.backend,
            'config': dataclasses.asdict(config), 'metrics': metrics}


def smoothness(record: dict[str, list[np.ndarray]], alive: np.ndarray, command: np.ndarray,
               dt: float, warmup: int) -> dict[str, float]:
    """Smoothness metrics after warm-up, averaged over the surviving environments.

    ``record`` holds per-step (N, ...) arrays of targets, base pose and contacts. With a zero
    command the standing metrics (height and yaw drift after warm-up) are added.
    """
    # The last step ends the episode (time-out): its state is the next episode's reset state.
    arrays = {key: np.stack(rows, axis=1)[:, warmup:-1] for key, rows in record.items()}
    per_env = []
    for env_id in np.flatnonzero(alive):
        metrics = target_change_metrics(arrays['targets'][env_id])
        metrics['foot_slip'] = foot_slip(arrays['contact_pos'][env_id],
                                         arrays['contact_force'][env_id], dt)
        if not np.any(command):
            steps = arrays['targets'].shape[1]
            metrics.update(standing_metrics(
                np.arange(steps) * dt, np.zeros((steps, 3)), arrays['targets'][env_id],
                arrays['base_pos'][env_id], arrays['base_quat'][env_id], settle_s=0.0))
            metrics.pop('walking_target_change_mean')
            metrics.pop('standing_to_walking_change_ratio')
        per_env.append(metrics)
    if not per_env:  # every environment fell: nothing to judge
        return {key: float('nan') for key in ('target_change_mean', 'target_change_p95',
                                              'target_change_nyquist_share', 'foot_slip')}
    return {key: float(np.nanmean([metrics[key] for metrics in per_env]))
            for key in per_env[0]}


def _nanmean(rows: list[np.ndarray]) -> float:
    if not rows:
        return float('nan')
    values = np.asarray(rows, dtype=float)
    return float(np.nanmean(values)) if np.isfinite(values).any() else float('nan')
