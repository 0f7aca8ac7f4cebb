# SPDX-License-Identifier: Apache-2.0
"""Where a result came from: git revision of the source checkout and the training command."""

from __future__ import annotations

import pathlib
import subprocess

import yaml

from robot_learning.atomic_write import atomic_write_text
from robot_learning.paths import share_dir

PROVENANCE_FILE = 'provenance.yaml'
"""Written into every training run folder by ``robot-learning train``."""


def git_revision() -> str:
    """Return ``<commit>[-dirty]`` of the source checkout, or 'unknown' outside git."""
    try:
        root = share_dir()
        commit = subprocess.run(['git', 'rev-parse', 'HEAD'], cwd=root, capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = subprocess.run(['git', 'status', '--porcelain', '--untracked-files=no'],
                               cwd=root, capture_output=True, text=True, check=True).stdout
        return commit + ('-dirty' if dirty.strip() else '')
    except (OSError, subprocess.CalledProcessError):
        return 'unknown'


def write_training_provenance(run_dir: pathlib.Path, command: str) -> None:
    """Record the command and git revision a training run started from."""
    path = run_dir / PROVENANCE_FILE
    data = {'command': command, 'git_revision': git_revision()}
    atomic_write_text(path, yaml.safe_dump(data, sort_keys=False))


def read_training_provenance(run_dir: pathlib.Path) -> dict:
    """Return the training command and revision of ``run_dir`` (empty values when unknown).

    Falls back to the commit that rsl-rl's logger stores in ``git/<repo>.diff``.
    """
    path = run_dir / PROVENANCE_FILE
    if path.is_file():
        return yaml.safe_load(path.read_text(encoding='utf-8')) or {}
    for diff in sorted((run_dir / 'git').glob('*.diff')):
        lines = diff.read_text(encoding='utf-8').splitlines()
        if len(lines) > 1 and lines[0].startswith('--- git commit'):
            return {'command': '', 'git_revision': lines[1].strip()}
    return {'command': '', 'git_revision': 'unknown'}
