# SPDX-License-Identifier: Apache-2.0
"""Env-steps/s of the training environment against raw ``mujoco.rollout`` on the same model.

Both sides use the same compiled model, decimation, thread count and number of worlds; the
environment side includes PD targets, latency buffer, observations, rewards, terminations and
resets (random actions). Two raw figures are printed:

- ``raw mujoco.rollout``: a bare loop of ``Rollout.rollout`` calls from the environment's
  states with random controls (robots that fall stay down, so its contact load differs);
- ``rollout inside env``: the time spent in the rollout call during the environment loop
  itself, i.e. the same states and controls; ``1 - ratio`` is then exactly the Python share.

The ratio (goal >= 0.8) is environment rate / raw rate, for both raw figures.

Usage: ``python benchmarks/sim_throughput.py --num-envs 1024 --steps 100``
"""

from __future__ import annotations

import argparse
import json
import time

import mujoco
from mujoco import rollout
import numpy as np

from robot_learning.config import load_config
from robot_learning.paths import share_dir
from robot_learning.rl.train_config import TrainConfig
from robot_learning.tasks.velocity_tracking import VelocityTrackingEnv


def raw_rollout_rate(env: VelocityTrackingEnv, steps: int, rng: np.random.Generator) -> float:
    """Control steps/s of bare ``Rollout.rollout`` calls on the environment's own model."""
    backend = env.backend
    model = backend.nominal_model
    num_envs, decimation = backend.num_envs, backend.config.decimation
    state = backend.state.copy()
    state_out = np.zeros((num_envs, decimation, backend.nstate))
    sensor_out = np.zeros((num_envs, decimation, model.nsensordata))
    default = env.robot.default_joint_pos
    datas = [mujoco.MjData(model) for _ in range(backend.num_threads)]
    with rollout.Rollout(nthread=backend.num_threads) as pool:
        start = time.perf_counter()
        for _ in range(steps):
            control = default + 0.25 * rng.uniform(-1, 1, (num_envs, decimation, model.nu))
            pool.rollout([model] * num_envs, datas, state, control,
                         control_spec=mujoco.mjtState.mjSTATE_CTRL.value, skip_checks=True,
                         nstep=decimation, initial_warmstart=None, state=state_out,
                         sensordata=sensor_out, chunk_size=None)
            state[:] = state_out[:, -1]
        elapsed = time.perf_counter() - start
    return steps * num_envs / elapsed


class _TimedPool:
    """Wraps the backend's rollout pool and adds up the time spent inside ``rollout``."""

    def __init__(self, pool) -> None:
        self.pool = pool
        self.seconds = 0.0

    def rollout(self, *args, **kwargs):
        start = time.perf_counter()
        result = self.pool.rollout(*args, **kwargs)
        self.seconds += time.perf_counter() - start
        return result


def environment_rate(env: VelocityTrackingEnv, steps: int, rng: np.random.Generator
                     ) -> tuple[float, float]:
    """Return env-steps/s of ``env.step`` (random actions) and of its rollout calls alone."""
    timed = _TimedPool(env.backend._pool)
    env.backend._pool = timed
    start = time.perf_counter()
    for _ in range(steps):
        env.step(rng.uniform(-1, 1, (env.num_envs, env.num_actions)))
    elapsed = time.perf_counter() - start
    env.backend._pool = timed.pool
    return steps * env.num_envs / elapsed, steps * env.num_envs / timed.seconds


def main() -> None:
    """Run the benchmark and print the rates and their ratio."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--config', default=str(share_dir() / 'config/train/quadruped_flat.yaml'))
    parser.add_argument('--num-envs', type=int, default=None,
                        help='worlds (default: the training config)')
    parser.add_argument('--steps', type=int, default=100, help='control steps per measurement')
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--json', default=None, help='also write the figures here')
    args = parser.parse_args()
    overrides = [f'task.num_envs={args.num_envs}'] if args.num_envs else []
    config = load_config(TrainConfig, args.config, overrides)
    env = VelocityTrackingEnv(config.task)
    rng = np.random.default_rng(0)
    environment_rate(env, 10, rng)  # warm up caches and thread pool
    raw, full, inside = [], [], []
    for _ in range(args.repeats):  # interleave so load changes hit both sides alike
        raw.append(raw_rollout_rate(env, args.steps, rng))
        env_rate, rollout_rate = environment_rate(env, args.steps, rng)
        full.append(env_rate)
        inside.append(rollout_rate)
    result = {
        'num_envs': env.num_envs, 'decimation': env.backend.config.decimation,
        'threads': env.backend.num_threads, 'steps': args.steps, 'repeats': args.repeats,
        'raw_rollout_steps_per_s': float(np.median(raw)),
        'rollout_inside_env_steps_per_s': float(np.median(inside)),
        'environment_steps_per_s': float(np.median(full)),
    }
    result['ratio'] = result['environment_steps_per_s'] / result['raw_rollout_steps_per_s']
    result['ratio_inside'] = (result['environment_steps_per_s']
                              / result['rollout_inside_env_steps_per_s'])
    print(f"worlds {result['num_envs']}, decimation {result['decimation']}, "
          f"threads {result['threads']}")
    print(f"raw mujoco.rollout : {result['raw_rollout_steps_per_s']:10.0f} env-steps/s")
    print(f"rollout inside env : {result['rollout_inside_env_steps_per_s']:10.0f} env-steps/s")
    print(f"training env       : {result['environment_steps_per_s']:10.0f} env-steps/s")
    print(f"ratio vs raw loop  : {result['ratio']:10.3f}  (goal >= 0.8)")
    print(f"ratio vs inside    : {result['ratio_inside']:10.3f}  (goal >= 0.8)")
    if args.json:
        with open(args.json, 'w', encoding='utf-8') as stream:
            json.dump(result, stream, indent=2)
    env.backend.close()


if __name__ == '__main__':
    main()
