# SPDX-License-Identifier: Apache-2.0
"""Evaluate a policy bundle of any registered task in simulation (``robot-learning evaluate``).

The bundle's contract names its task; ``EVALUATORS`` maps the task to its evaluation.
"""

from __future__ import annotations

import pathlib
from typing import Callable

from robot_learning.config import ConfigError
from robot_learning.evaluation.motions import evaluate_motions
from robot_learning.evaluation.setup import EvaluationConfig
from robot_learning.evaluation.velocity import evaluate_velocity
from robot_learning.policies.contract import load_contract

EVALUATORS: dict[str, Callable[[str | pathlib.Path, EvaluationConfig], dict]] = {
    'velocity_tracking': evaluate_velocity,
    'motion_tracking': evaluate_motions,
}
"""The evaluation of each registered deployable task (task name -> function)."""


def evaluate_bundle(bundle: str | pathlib.Path, config: EvaluationConfig) -> dict:
    """Evaluate ``bundle`` with the evaluation of its contract's task; return the report."""
    contract = load_contract(bundle)
    if contract.task not in EVALUATORS:
        raise ConfigError(f"{bundle}: no evaluation for task '{contract.task}'; evaluated "
                          f"tasks: {', '.join(EVALUATORS)}")
    return {'task': contract.task, **EVALUATORS[contract.task](bundle, config)}
