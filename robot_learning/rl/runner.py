# SPDX-License-Identifier: Apache-2.0
"""rsl-rl's OnPolicyRunner with atomic checkpoints, resume and a progress display."""

from __future__ import annotations

import contextlib
import io
import math
import os
import pathlib
import re
import tempfile
from typing import Any

from rsl_rl.runners import OnPolicyRunner
import torch

CHECKPOINT_PATTERN = re.compile(r'model_(\d+)\.pt$')


def atomic_torch_save(obj: Any, path: str | os.PathLike) -> None:
    """Write ``obj`` with torch.save so that a kill leaves either the old or the new file."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f'.{path.name}.', suffix='.tmp')
    try:
        with os.fdopen(handle, 'wb') as stream:
            torch.save(obj, stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def latest_checkpoint(run_dir: str | os.PathLike) -> pathlib.Path | None:
    """Find the ``model_<iteration>.pt`` with the highest iteration in ``run_dir`` (or None)."""
    best, best_iteration = None, -1
    for path in pathlib.Path(run_dir).glob('model_*.pt'):
        match = CHECKPOINT_PATTERN.search(path.name)
        if match and int(match.group(1)) > best_iteration:
            best, best_iteration = path, int(match.group(1))
    return best


class TrainingRunner(OnPolicyRunner):
    """OnPolicyRunner whose checkpoints are atomic and whose console output is a progress bar.

    TensorBoard logging is rsl-rl's own; its per-iteration console block is replaced by
    ``progress(iteration, total, metrics)`` unless ``verbose`` is set.
    """

    def __init__(self, env, train_cfg: dict, log_dir: str | None, device: str = 'cpu',
                 progress=None, verbose: bool = False, randomization=None) -> None:
        with contextlib.redirect_stdout(io.StringIO()):
            super().__init__(env, train_cfg, log_dir, device)
        self.randomization = randomization
        """A ``RandomizationSchedule`` stepped after every iteration, saved in checkpoints."""
        self._progress = progress
        self._verbose = verbose
        self._logger_log = self.logger.log
        self.logger.log = self._log

    def _configure_multi_gpu(self) -> None:
        """Join the ``torchrun`` process group: rsl-rl's own on CUDA, gloo on the CPU.

        rsl-rl reads ``WORLD_SIZE``, ``RANK`` and ``LOCAL_RANK`` and hard-codes NCCL plus
        ``torch.cuda.set_device``. On a CUDA device its method runs unchanged; on the CPU the
        same configuration is set up over gloo (no CUDA calls), which is how the distributed
        path is tested without GPUs. Gradient and KL reduction are rsl-rl's, untouched.
        """
        if str(self.device).startswith('cuda') or int(os.getenv('WORLD_SIZE', '1')) <= 1:
            super()._configure_multi_gpu()
            return
        self.gpu_world_size = int(os.environ['WORLD_SIZE'])
        self.gpu_local_rank = int(os.getenv('LOCAL_RANK', '0'))
        self.gpu_global_rank = int(os.getenv('RANK', '0'))
        self.is_distributed = True
        if not 0 <= self.gpu_global_rank < self.gpu_world_size:
            raise ValueError(f'RANK {self.gpu_global_rank} is outside WORLD_SIZE '
                             f'{self.gpu_world_size}')
        self.cfg['multi_gpu'] = {'global_rank': self.gpu_global_rank,
                                 'local_rank': self.gpu_local_rank,
                                 'world_size': self.gpu_world_size}
        if not torch.distributed.is_initialized():
            torch.distributed.init_process_group(
                backend='gloo', rank=self.gpu_global_rank, world_size=self.gpu_world_size)

    def save(self, path: str, infos: dict | None = None) -> None:
        """Save model, optimizer and iteration atomically."""
        saved = self.alg.save()
        saved['iter'] = self.current_learning_iteration
        saved['infos'] = infos
        if self.randomization is not None:
            saved['randomization'] = self.randomization.state_dict()
        atomic_torch_save(saved, path)

    def load(self, path: str, *args, **kwargs):
        """Load a checkpoint, including the randomization state when the run has one."""
        result = super().load(path, *args, **kwargs)
        if self.randomization is not None:
            state = torch.load(path, weights_only=False).get('randomization')
            if state is None:
                raise ValueError(f'{path} holds no randomization state; resume it without a '
                                 'randomization method')
            self.randomization.load_state_dict(state)
        return result

    def _log(self, **kwargs) -> None:
        randomization = (self.randomization.after_iteration(kwargs['it'])
                         if self.randomization is not None else None)
        if randomization is not None and self.logger.writer is not None:
            for key in ('entropy', 'success_rate', 'episodes'):
                value = randomization[key]
                if isinstance(value, (int, float)) and math.isfinite(value):
                    self.logger.writer.add_scalar(f'Randomization/{key}', value,
                                                  randomization['iteration'])
        logger = self.logger
        reward = sum(logger.rewbuffer) / len(logger.rewbuffer) if logger.rewbuffer else 0.0
        length = sum(logger.lenbuffer) / len(logger.lenbuffer) if logger.lenbuffer else 0.0
        extras = {}
        for key in ('/episode/speed_error', '/episode/fall_rate', '/episode/success_rate'):
            values = [float(info[key]) for info in logger.ep_extras if key in info]
            if values:
                extras[key] = sum(values) / len(values)
        if self._verbose:
            self._logger_log(**kwargs)
        else:
            with contextlib.redirect_stdout(io.StringIO()):
                self._logger_log(**kwargs)
        if self._progress is not None and not (self.is_distributed and self.gpu_global_rank):
            steps = (self.cfg['num_steps_per_env'] * self.env.num_envs
                     / max(kwargs['collect_time'] + kwargs['learn_time'], 1e-9))
            self._progress(kwargs['it'], kwargs['total_it'], {
                'reward': reward, 'episode_length': length, 'steps_per_s': steps,
                'speed_error': extras.get('/episode/speed_error', float('nan')),
                'fall_rate': extras.get('/episode/fall_rate', float('nan')),
                'success_rate': extras.get('/episode/success_rate', float('nan')),
                'randomization': (self.randomization.last_row
                                  if self.randomization is not None else None)})
