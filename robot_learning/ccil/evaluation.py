# SPDX-License-Identifier: Apache-2.0
"""Roll out experts and cloned policies on CCIL tasks: demonstrations and scores.

``collect_demonstrations`` records the expert's clean states and actions (one trajectory per
environment, cut where it failed); ``evaluate_policy`` runs a policy under a
:class:`~robot_learning.ccil.tasks.Perturbation` and returns per-episode scores. Metric names
(JSON reports): ``score`` (mean of the task's per-episode score, see each task's
``score_name``), ``score_std`` (std over episodes), ``failure_rate`` (fraction of episodes
that failed), ``episodes``.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from robot_learning.ccil.demonstrations import Demonstrations
from robot_learning.ccil.tasks import make_task, Perturbation

Policy = Callable[[np.ndarray], np.ndarray]
"""states (N, S) -> actions (N, A)."""


def collect_demonstrations(task_name: str, trajectories: int, seed: int = 0,
                           perturbation: Perturbation = Perturbation()) -> Demonstrations:
    """Run the task's expert for one episode in ``trajectories`` environments."""
    task = make_task(task_name, trajectories, seed, perturbation)
    try:
        states = task.reset()
        alive = np.ones(trajectories, dtype=bool)
        lengths = np.full(trajectories, task.episode_steps)
        rows_s, rows_a = [], []
        for step in range(task.episode_steps):
            actions = task.expert(states)
            rows_s.append(states)
            rows_a.append(actions)
            states, _, failed = task.step(actions)
            newly = alive & failed
            lengths[newly] = step + 1
            alive &= ~failed
        all_s, all_a = np.stack(rows_s, axis=1), np.stack(rows_a, axis=1)
        return Demonstrations(
            states=tuple(all_s[k, :lengths[k]] for k in range(trajectories)),
            actions=tuple(all_a[k, :lengths[k]] for k in range(trajectories)),
            robot=task.robot, control_dt=task.control_dt,
            source=f'{task_name} expert (seed {seed})')
    finally:
        task.close()


def evaluate_policy(task_name: str, policy: Policy, episodes: int, seed: int = 0,
                    perturbation: Perturbation = Perturbation()) -> dict:
    """Run ``episodes`` episodes in parallel; return the metrics and per-episode scores."""
    task = make_task(task_name, episodes, seed, perturbation)
    try:
        states = task.reset()
        returns = np.zeros(episodes)
        failed = np.zeros(episodes, dtype=bool)
        final = states.copy()
        for _ in range(task.episode_steps):
            actions = task.disturb(policy(task.observe(states)))
            states, rewards, now_failed = task.step(actions)
            returns += np.where(failed, 0.0, rewards)
            final = np.where(failed[:, None], final, states)
            failed |= now_failed
        scores = task.score(returns, final, failed)
    finally:
        task.close()
    return {'score': float(np.mean(scores)), 'score_std': float(np.std(scores)),
            'failure_rate': float(np.mean(failed)), 'episodes': episodes,
            'scores': scores.tolist()}
