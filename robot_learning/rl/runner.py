# SPDX-License-Identifier: Apache-2.0
"""rsl-rl's OnPolicyRunner with safe, atomic checkpoints, resume and a progress display.

Checkpoints are read with ``torch.load(weights_only=True)``: tensors and plain containers
only, so opening a crafted ``model_<iteration>.pt`` runs no code. A checkpoint is written to a
temporary file in its folder, flushed to disk and renamed over the old one, so a kill leaves
either the old or the new file and at most a stale ``.tmp`` (removed at the next start).
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import os
import pathlib
import pickle
import re
from typing import Any

from rsl_rl.runners import OnPolicyRunner
import torch

from robot_learning.atomic_write import atomic_open

LOG = logging.getLogger(__name__)
CHECKPOINT_PATTERN = re.compile(r'model_(\d+)\.pt$')
TEMPORARY_PATTERN = '.model_*.pt.*.tmp*'
"""Names of the temporary files ``atomic_torch_save`` writes before renaming them."""
REQUIRED_KEYS = ('actor_state_dict', 'critic_state_dict', 'optimizer_state_dict', 'iter')
"""What every checkpoint written by ``TrainingRunner.save`` holds."""


class CheckpointError(ValueError):
    """A checkpoint that is refused or cannot be used; the message names the file."""


class CorruptCheckpointError(CheckpointError):
    """A checkpoint that cannot be read back: truncated, empty or not a torch file."""


class UnsafeCheckpointError(CheckpointError):
    """A checkpoint whose pickle names Python objects other than tensors and containers."""


def atomic_torch_save(obj: Any, path: str | os.PathLike) -> None:
    """Write ``obj`` with torch.save so that a kill leaves either the old or the new file.

    The data goes to a temporary file in the same folder, is fsynced and then replaces
    ``path`` (``robot_learning.atomic_write``); the folder is fsynced too.
    """
    with atomic_open(path, 'wb') as stream:
        torch.save(obj, stream)


def remove_stale_temporaries(run_dir: str | os.PathLike) -> list[pathlib.Path]:
    """Delete the temporary checkpoint files a killed save left in ``run_dir``; return them."""
    stale = sorted(pathlib.Path(run_dir).glob(TEMPORARY_PATTERN))
    for path in stale:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    if stale:
        LOG.info('removed %d unfinished checkpoint file(s) of a killed save: %s', len(stale),
                 ', '.join(path.name for path in stale))
    return stale


def checkpoints(run_dir: str | os.PathLike) -> list[pathlib.Path]:
    """Return the ``model_<iteration>.pt`` files in ``run_dir``, newest first."""
    found = []
    for path in pathlib.Path(run_dir).glob('model_*.pt'):
        match = CHECKPOINT_PATTERN.search(path.name)
        if match:
            found.append((int(match.group(1)), path))
    return [path for _, path in sorted(found, reverse=True)]


def latest_checkpoint(run_dir: str | os.PathLike) -> pathlib.Path | None:
    """Find the ``model_<iteration>.pt`` with the highest iteration in ``run_dir`` (or None)."""
    found = checkpoints(run_dir)
    return found[0] if found else None


def read_checkpoint(path: str | os.PathLike, map_location: str | None = None) -> dict:
    """Load a checkpoint written by ``TrainingRunner.save``; no code in the file runs.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        UnsafeCheckpointError: the pickle names a Python global other than torch's tensor
            types and plain containers (what a crafted file uses to run code).
        CorruptCheckpointError: the file is truncated, empty or not a torch checkpoint.
        CheckpointError: the file holds something other than a training checkpoint, or it
            cannot be read (permissions).
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f'checkpoint not found: {path}')
    try:
        data = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        reason = _unpickler_reason(str(error))
        if 'global' in reason.lower():
            raise UnsafeCheckpointError(
                f'{path}: refused to load: the file names Python objects beyond tensors and '
                f'plain containers ({reason}), which could run code when opened; only '
                'checkpoints written by robot-learning train are accepted') from None
        raise CorruptCheckpointError(f'{path}: not a readable checkpoint ({reason})') from None
    except PermissionError as error:
        raise CheckpointError(f'{path}: cannot be read ({error.strerror})') from None
    except (RuntimeError, EOFError, KeyError, ValueError, IndexError, OSError) as error:
        detail = str(error).split('.')[0].strip() or type(error).__name__
        raise CorruptCheckpointError(
            f'{path}: truncated or corrupt checkpoint ({detail})') from None
    missing = [key for key in REQUIRED_KEYS if not isinstance(data, dict) or key not in data]
    if missing:
        raise CheckpointError(f"{path}: not a training checkpoint (no {', '.join(missing)})")
    if not isinstance(data['iter'], int) or data['iter'] < 0:
        raise CheckpointError(f"{path}: iteration {data['iter']!r} is not a count")
    return data


def _unpickler_reason(message: str) -> str:
    """Return the one-line cause in torch's weights-only unpickler error."""
    _, _, tail = message.partition('WeightsUnpickler error:')
    lines = [line.strip() for line in tail.splitlines() if line.strip()]
    return lines[0].rstrip('.') if lines else message.splitlines()[0]


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

    def load(self, path: str, load_cfg: dict | None = None, strict: bool = True,
             map_location: str | None = None) -> dict | None:
        """Do what rsl-rl's ``OnPolicyRunner.load`` does, reading with ``weights_only=True``.

        Models, optimizer and iteration (``current_learning_iteration`` becomes the
        checkpoint's, the last iteration it completed) and, when the run has one, the
        randomization state.

        Raises:
            CheckpointError: the file is refused (see ``read_checkpoint``) or does not fit
                this run's networks (another size, another task) or randomization method.
        """
        loaded = read_checkpoint(path, map_location)
        try:
            load_iteration = self.alg.load(loaded, load_cfg, strict)
        except (RuntimeError, KeyError, ValueError) as error:
            lines = [line.strip() for line in str(error).splitlines() if line.strip()]
            raise CheckpointError(f"{path} does not fit this run's networks (changed "
                                  f"network or task settings?): {' '.join(lines[:3])}") from None
        if load_iteration:
            self.current_learning_iteration = loaded['iter']
        if self.randomization is not None:
            state = loaded.get('randomization')
            if state is None:
                raise CheckpointError(f'{path} holds no randomization state; resume it without '
                                      'a randomization method')
            self.randomization.load_state_dict(state)
        return loaded.get('infos')

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
