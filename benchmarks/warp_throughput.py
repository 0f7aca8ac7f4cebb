# SPDX-License-Identifier: Apache-2.0
"""Physics env-steps/s of the quadruped on MuJoCo Warp (GPU or Warp's CPU) and on ``mujoco``.

One env-step is one control step: ``decimation`` (4) physics steps of 0.005 s with PD inside
the backend, joint targets = default pose + U(-0.25, 0.25) rad, robots started standing. The
backends are timed through ``SimBackend.step`` only (no observations or rewards), so the
figure is the simulator's; the GPU run keeps targets on the device (torch tensors).

Usage::

    # on a GPU machine: the issue's figure, 4096 worlds
    python benchmarks/warp_throughput.py --backend mujoco_warp --num-envs 4096 --steps 200
    # this CPU machine
    python benchmarks/warp_throughput.py --backend mujoco_warp_cpu --num-envs 64 --steps 5
    python benchmarks/warp_throughput.py --backend mujoco --num-envs 4096 --steps 20
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from robot_learning.robots import load_robot
from robot_learning.sim.base import SimConfig
from robot_learning.sim.registry import make_backend


def measure(backend_name: str, num_envs: int, steps: int, warmup: int, threads: int) -> dict:
    """Return the env-steps/s of ``steps`` control steps after ``warmup`` untimed ones."""
    robot = load_robot('quadruped')
    backend = make_backend(backend_name, robot, num_envs, SimConfig(num_threads=threads))
    rng = np.random.default_rng(0)
    targets = [robot.default_joint_pos + rng.uniform(-0.25, 0.25, (num_envs, robot.num_joints))
               for _ in range(8)]
    if backend_name.startswith('mujoco_warp'):
        import torch
        targets = [torch.as_tensor(t, dtype=torch.float32, device=backend.torch_device)
                   for t in targets]
    for step in range(warmup):  # compiles kernels / captures graphs / warms thread pools
        backend.step(targets[step % len(targets)])
    start = time.perf_counter()
    for step in range(steps):
        backend.step(targets[step % len(targets)])
    backend.get_state()  # make sure every step has finished
    elapsed = time.perf_counter() - start
    backend.close()
    return {'backend': backend_name, 'num_envs': num_envs, 'steps': steps,
            'decimation': backend.config.decimation, 'seconds': elapsed,
            'env_steps_per_s': steps * num_envs / elapsed,
            'physics_steps_per_s': steps * num_envs * backend.config.decimation / elapsed}


def main() -> None:
    """Run one measurement and print (optionally save) it."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--backend', default='mujoco_warp',
                        help="'mujoco_warp' (GPU), 'mujoco_warp_cpu' or 'mujoco'")
    parser.add_argument('--num-envs', type=int, default=4096)
    parser.add_argument('--steps', type=int, default=200, help='timed control steps')
    parser.add_argument('--warmup', type=int, default=3, help='untimed control steps first')
    parser.add_argument('--threads', type=int, default=0,
                        help="'mujoco' rollout threads (0: one per core)")
    parser.add_argument('--json', default=None, help='also write the figures here')
    args = parser.parse_args()
    result = measure(args.backend, args.num_envs, args.steps, args.warmup, args.threads)
    print(f"{result['backend']}: {result['num_envs']} worlds, decimation "
          f"{result['decimation']}: {result['env_steps_per_s']:,.0f} env-steps/s "
          f"({result['physics_steps_per_s']:,.0f} physics steps/s)")
    if args.json:
        with open(args.json, 'w', encoding='utf-8') as stream:
            json.dump(result, stream, indent=2)


if __name__ == '__main__':
    main()
