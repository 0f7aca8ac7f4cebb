# SPDX-License-Identifier: Apache-2.0
"""When a randomizer updates during training, and the record of its updates.

The training runner calls ``after_iteration`` once per PPO iteration (after the policy update,
before the checkpoint); every ``update_every_steps`` environment steps the randomizer moves its
distribution with the episodes of those steps. Each update appends one JSON line to
``randomization.jsonl`` in the run folder (flushed and fsynced, so a killed run keeps every
finished line) and the checkpoint stores the randomizer's state, so ``--resume`` continues
with the same distribution.
"""

from __future__ import annotations

import json
import logging
import math
import os
import pathlib

from robot_learning.atomic_write import atomic_write_text
from robot_learning.domain_randomization.randomizer import Randomizer

LOG = logging.getLogger(__name__)
HISTORY_FILE = 'randomization.jsonl'


class RandomizationSchedule:
    """Calls ``randomizer.update`` every ``update_every_steps`` environment steps."""

    def __init__(self, randomizer: Randomizer, update_every_steps: int,
                 steps_per_iteration: int, run_dir: str | os.PathLike | None) -> None:
        self.randomizer = randomizer
        self.update_every_steps = update_every_steps
        self.steps_per_iteration = steps_per_iteration
        self.env_steps = 0
        self.steps_since_update = 0
        self.history_path = pathlib.Path(run_dir) / HISTORY_FILE if run_dir else None
        self.last_row: dict | None = None

    def after_iteration(self, iteration: int) -> dict | None:
        """Count one iteration's steps; update when due and return the logged row."""
        self.env_steps += self.steps_per_iteration
        self.steps_since_update += self.steps_per_iteration
        if self.steps_since_update < self.update_every_steps:
            return None
        self.steps_since_update = 0
        row = {'iteration': iteration, 'env_steps': self.env_steps,
               'method': self.randomizer.method, **self.randomizer.update(),
               'distribution': self.randomizer.describe()}
        self.last_row = row
        LOG.debug('randomization update: %s', row)
        if self.history_path is not None:
            with open(self.history_path, 'a', encoding='utf-8') as stream:
                stream.write(json.dumps(_finite(row)) + '\n')
                stream.flush()
                os.fsync(stream.fileno())
        return row

    def state_dict(self) -> dict:
        """Counters and the randomizer's state."""
        return {'env_steps': self.env_steps, 'steps_since_update': self.steps_since_update,
                'randomizer': self.randomizer.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        """Restore ``state_dict``; history lines written after that state are dropped.

        (A run killed after its last checkpoint repeats those steps when resumed.)
        """
        self.env_steps = int(state['env_steps'])
        self.steps_since_update = int(state['steps_since_update'])
        self.randomizer.load_state_dict(state['randomizer'])
        if self.history_path is not None and self.history_path.is_file():
            kept = [row for row in read_history(self.history_path.parent)
                    if row['env_steps'] <= self.env_steps]
            atomic_write_text(self.history_path,
                              ''.join(json.dumps(row) + '\n' for row in kept))


def _finite(value):
    """Replace non-finite floats by None so the line is strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_finite(item) for item in value]
    return value


def read_history(run_dir: str | os.PathLike) -> list[dict]:
    """Read ``randomization.jsonl`` of a run; a truncated last line (a kill) is skipped."""
    path = pathlib.Path(run_dir) / HISTORY_FILE
    if not path.is_file():
        raise FileNotFoundError(f'{path}: no randomization history (was the run trained with '
                                'a randomization method?)')
    rows = []
    for number, line in enumerate(path.read_text(encoding='utf-8').splitlines(), 1):
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            LOG.warning('%s:%d: unreadable line skipped (a run killed mid-write?)', path, number)
    return rows
