# SPDX-License-Identifier: Apache-2.0
"""Two CPU processes train one policy through rsl-rl's distributed runner (torchrun, gloo).

Each rank seeds its networks and environments with ``seed + rank``, so the ranks start from
different weights and see different data. rsl-rl broadcasts rank 0's weights and averages the
gradients, so after two PPO iterations both ranks must hold bit-identical actors that differ
from where they started; without the reduction they would drift apart.
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import torch

REPO = pathlib.Path(__file__).resolve().parents[2]
WORKER = pathlib.Path(__file__).with_name('distributed_worker.py')
SMALL = ['task.num_envs=8', 'ppo.num_steps_per_env=4', 'ppo.num_mini_batches=2',
         'network.actor_hidden_dims=[16]', 'network.critic_hidden_dims=[16]', 'save_interval=1']


def test_two_cpu_ranks_train_one_policy_over_gloo(tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=str(REPO))
    env.pop('WORLD_SIZE', None)
    command = [sys.executable, '-m', 'torch.distributed.run', '--standalone',
               '--nproc_per_node', '2', str(WORKER), str(tmp_path), *SMALL]
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True,
                            timeout=240)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    ranks = [torch.load(tmp_path / f'rank{r}.pt', weights_only=False) for r in (0, 1)]
    for rank, saved in enumerate(ranks):
        assert saved['backend'] == 'gloo' and saved['world_size'] == 2
        assert saved['multi_gpu'] == {'global_rank': rank, 'local_rank': rank, 'world_size': 2}
    # Different seeds: different first observations and different initial weights.
    assert not torch.equal(ranks[0]['first_obs'], ranks[1]['first_obs'])
    names = list(ranks[0]['actor'])
    assert any(not torch.equal(ranks[0]['initial'][n], ranks[1]['initial'][n]) for n in names)
    for name in names:  # synchronised: bit-identical after broadcast + gradient all-reduce
        assert torch.equal(ranks[0]['actor'][name], ranks[1]['actor'][name]), name
    weight = next(n for n in names if n.endswith('weight'))
    assert not torch.equal(ranks[0]['actor'][weight], ranks[1]['initial'][weight])
    assert not torch.equal(ranks[0]['actor'][weight], ranks[0]['initial'][weight])
    # Only rank 0 writes the run folder (rsl-rl's logger and checkpoints).
    assert (tmp_path / 'run' / 'model_1.pt').is_file()
