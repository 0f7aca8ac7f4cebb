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
from robot_learning.sim.base import SimState

EVALUATORS: dict[str, Callable[..., dict]] = {
    'velocity_tracking': evaluate_velocity,
    'motion_tracking': evaluate_motions,
}
"""The evaluation of each registered deployable task (task name -> function called as
``fn(bundle, config, observer=None)``)."""


def evaluate_bundle(bundle: str | pathlib.Path, config: EvaluationConfig,
                    observer: Callable[[SimState], None] | None = None) -> dict:
    """Evaluate ``bundle`` with the evaluation of its contract's task; return the report.

    ``observer``, when given, is called with the batched state of every control step (what
    ``play`` and ``evaluate --video`` render).
    """
    contract = load_contract(bundle)
    if contract.task not in EVALUATORS:
        raise ConfigError(f"{bundle}: no evaluation for task '{contract.task}'; evaluated "
                          f"tasks: {', '.join(EVALUATORS)}")
    return {'task': contract.task,
            **EVALUATORS[contract.task](bundle, config, observer=observer)}
