# SPDX-License-Identifier: Apache-2.0
"""Which corrective labels to trust (CCIL step 3).

All quantities are in the dynamics model's normalised units (``ccil/config.py``):

- distance d = |(s_b - s*) / sigma_s| of a label from its expert state;
- estimated label error e = L * |((s_b, a_b) - (s*, a*)) / sigma|, with L the largest spectral
  norm of the Jacobian of s + f along the segment from the expert sample to the label (the
  mean-value bound on how far the model's prediction can be off; ``segment_points=1`` uses the
  expert point only, as the reference code does). Where the model had to bridge a
  discontinuity its Jacobian is steep, so labels that cross one get a large e.

``filter_labels`` keeps d < epsilon and, for 'label_error', e <= the ``quantile`` of e,
e <= ``max_label_error`` and e <= ``max_relative_error`` * d.
"""

from __future__ import annotations

import numpy as np
import torch

from robot_learning.ccil.config import FilterConfig
from robot_learning.ccil.dynamics import DynamicsModel
from robot_learning.ccil.labels import Labels


def label_distance(model: DynamicsModel, labels: Labels) -> np.ndarray:
    """Return the normalised distance |(s_b - s*) / sigma_s| of each label, (M,)."""
    scale = model.state_scale.numpy().astype(np.float64)
    return np.linalg.norm((labels.states - labels.origin_states) / scale, axis=1)


def label_error(model: DynamicsModel, labels: Labels, segment_points: int = 8,
                batch: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """Return (estimated error e (M,), Jacobian bound L (M,)); see the module docstring."""
    state_scale = model.state_scale.numpy().astype(np.float64)
    action_scale = model.action_scale.numpy().astype(np.float64)
    step = np.concatenate([(labels.states - labels.origin_states) / state_scale,
                           (labels.actions - labels.origin_actions) / action_scale], axis=1)
    distance = np.linalg.norm(step, axis=1)
    bound = np.zeros(len(labels))
    fractions = np.linspace(0.0, 1.0, segment_points) if segment_points > 1 else np.zeros(1)
    for start in range(0, len(labels), batch):
        rows = slice(start, start + batch)
        for fraction in fractions:
            s = labels.origin_states[rows] + fraction * (labels.states[rows]
                                                         - labels.origin_states[rows])
            a = labels.origin_actions[rows] + fraction * (labels.actions[rows]
                                                          - labels.origin_actions[rows])
            norm = model.step_jacobian_norm(torch.as_tensor(s, dtype=torch.float32),
                                            torch.as_tensor(a, dtype=torch.float32))
            bound[rows] = np.maximum(bound[rows], norm.detach().numpy())
    return bound * distance, bound


def trusted(model: DynamicsModel, labels: Labels, config: FilterConfig = FilterConfig()
            ) -> tuple[np.ndarray, dict]:
    """Return (keep mask (M,) bool, report with counts and thresholds)."""
    report = {'generated': len(labels), 'kind': config.kind}
    keep = np.ones(len(labels), dtype=bool)
    if config.kind == 'none' or len(labels) == 0:
        report['kept'] = len(labels)
        return keep, report
    if config.kind not in ('distance', 'label_error'):
        raise ValueError(f"filter.kind '{config.kind}' is not distance, label_error or none")
    keep &= label_distance(model, labels) < config.epsilon
    report['epsilon'] = config.epsilon
    if config.kind == 'label_error':
        error, _ = label_error(model, labels, config.segment_points)
        threshold = min(float(np.quantile(error, config.quantile)), config.max_label_error)
        keep &= error <= threshold
        if np.isfinite(config.max_relative_error):
            keep &= error <= config.max_relative_error * label_distance(model, labels)
            report['max_relative_error'] = config.max_relative_error
        report['label_error_threshold'] = threshold
        report['label_error_median'] = float(np.median(error))
    report['kept'] = int(keep.sum())
    return keep, report


def filter_labels(model: DynamicsModel, labels: Labels,
                  config: FilterConfig = FilterConfig()) -> tuple[Labels, dict]:
    """Keep the trusted labels; returns (kept labels, report)."""
    keep, report = trusted(model, labels, config)
    return labels.select(keep), report
