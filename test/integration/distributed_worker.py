# SPDX-License-Identifier: Apache-2.0
"""One rank of the two-process CPU training test; started by ``torchrun`` (not a test module).

Usage: ``torchrun --standalone --nproc_per_node 2 distributed_worker.py OUT_DIR [overrides]``.
Builds the training runner exactly as ``robot-learning train`` does, runs two PPO iterations
and writes ``OUT_DIR/rank<R>.pt``: the actor's parameters, the first observations this rank's
environments produced, and the process-group facts the runner saw.
"""

from __future__ import annotations

import os
import sys

import torch

from robot_learning.config import load_config
from robot_learning.rl.train_config import TrainConfig
from robot_learning.rl.training import make_runner, seed_everything


def main() -> None:
    """Train two iterations on this rank and save what the test compares."""
    out_dir, overrides = sys.argv[1], sys.argv[2:]
    rank = int(os.environ['RANK'])
    config = load_config(TrainConfig, 'config/train/quadruped_flat.yaml', overrides)
    seed_everything(config.seed + rank)
    runner = make_runner(config, log_dir=os.path.join(out_dir, 'run') if rank == 0 else None)
    first_obs = runner.env.get_observations()['policy'].clone()
    initial = {k: v.clone() for k, v in runner.alg.actor.state_dict().items()}
    runner.learn(2)
    torch.save({
        'initial': initial,
        'actor': runner.alg.actor.state_dict(),
        'first_obs': first_obs,
        'backend': torch.distributed.get_backend(),
        'world_size': torch.distributed.get_world_size(),
        'multi_gpu': runner.cfg['multi_gpu'],
    }, os.path.join(out_dir, f'rank{rank}.pt'))
    torch.distributed.destroy_process_group()


if __name__ == '__main__':
    main()
