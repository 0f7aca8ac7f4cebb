# SPDX-License-Identifier: Apache-2.0
"""CCIL data augmentation: fit the dynamics model, generate and filter labels, mix with experts.

``augment`` runs steps 1-3 on demonstrations; ``training_set`` builds the behaviour-cloning
data (expert samples plus at most ``label_ratio`` kept labels per expert sample). Labels are
saved as an ``.npz`` (atomically) with the arrays of :class:`~robot_learning.ccil.labels.Labels`.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib

import numpy as np
import torch

from robot_learning.atomic_write import atomic_open
from robot_learning.ccil.config import CCILConfig
from robot_learning.ccil.demonstrations import Demonstrations
from robot_learning.ccil.dynamics import DynamicsModel, fit_dynamics
from robot_learning.ccil.filters import trusted
from robot_learning.ccil.labels import generate_labels, Labels
from robot_learning.data.npz import load_npz


@dataclasses.dataclass(frozen=True, eq=False)
class Augmentation:
    """Result of ``augment``: the model, all generated labels, the kept ones, a report."""

    model: DynamicsModel
    generated: Labels
    keep: np.ndarray
    """(M,) bool: which generated labels the filter trusts."""
    report: dict

    @property
    def kept(self) -> Labels:
        """The trusted labels."""
        return self.generated.select(self.keep)


def augment(demos: Demonstrations, config: CCILConfig = CCILConfig()) -> Augmentation:
    """Fit f on the demonstrations' transitions, then generate and filter labels."""
    demos.validate()
    config.validate()
    if config.torch_threads:
        torch.set_num_threads(config.torch_threads)
    states, actions, following = demos.transitions()
    model, fit_report = fit_dynamics(states, actions, following, config.dynamics)
    previous = np.concatenate([np.concatenate([a[:1], a[:-2]]) for a in demos.actions])
    generated = generate_labels(model, states, actions, following, config.labels, previous)
    keep, filter_report = trusted(model, generated, config.filter)
    report = {'transitions': len(states), 'dynamics': fit_report,
              'labels': {'converged': len(generated),
                         'requested': _requested(len(states), config), **filter_report}}
    return Augmentation(model, generated, keep, report)


def _requested(transitions: int, config: CCILConfig) -> int:
    method = config.labels.method
    count = 0
    if method in ('backtrack', 'both'):
        count += transitions
    if method in ('noisy_action', 'both'):
        count += transitions * config.labels.labels_per_sample
    return count


def training_set(demos: Demonstrations, labels: Labels | None, label_ratio: float = 1.0,
                 seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Expert (N, S), (N, A) samples plus at most ``label_ratio * N`` labels (random subset)."""
    states, actions = demos.samples()
    if labels is None or len(labels) == 0 or label_ratio <= 0:
        return states, actions
    limit = int(round(label_ratio * len(states)))
    chosen = np.arange(len(labels))
    if len(labels) > limit:
        chosen = np.sort(np.random.default_rng(seed).choice(len(labels), limit, replace=False))
    return (np.concatenate([states, labels.states[chosen]]),
            np.concatenate([actions, labels.actions[chosen]]))


def save_labels(labels: Labels, path: str | os.PathLike, report: dict | None = None
                ) -> pathlib.Path:
    """Write labels (and the augmentation report as JSON) to an ``.npz`` atomically."""
    path = pathlib.Path(path)
    with atomic_open(path, 'wb') as stream:
        np.savez(stream, report=np.array(json.dumps(report or {})),
                 **{field.name: getattr(labels, field.name)
                    for field in dataclasses.fields(Labels)})
    return path


def load_labels(path: str | os.PathLike) -> Labels:
    """Read labels written by :func:`save_labels`.

    Raises:
        FileNotFoundError: No such file.
        NpzError: The file is unreadable or lacks a label array.
    """
    names = [field.name for field in dataclasses.fields(Labels)]
    data = load_npz(path, names, 'CCIL label file', hint='write one with `ccil augment`')
    return Labels(**{name: data[name] for name in names})
