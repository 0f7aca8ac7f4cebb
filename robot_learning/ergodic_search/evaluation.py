# SPDX-License-Identifier: Apache-2.0
"""Success rate and time-to-insert of the search methods at several uncertainty levels.

Per level: SYNTHETIC demonstrations (``demonstrations.SyntheticDemonstrator``) against holes
from the level's offset distribution, a search model learned from them, then ``trials`` hole
offsets drawn once and used for every method (common random numbers). The ergodic and spiral
plans are deterministic; the sampling and random planners draw a new plan per trial. Each
trial runs the MuJoCo task (``peg_in_hole.py``) with the impedance controller and the learned
force model. Time-to-insert is reported over the successful trials (``mean_time``) and with
failures counted at the time budget (``mean_time_budgeted``, the fair comparison when success
rates differ).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import pathlib
import time

import numpy as np

from robot_learning.atomic_write import atomic_write_text
from robot_learning.ergodic_search.demonstrations import (HolePose, search_data,
                                                          SyntheticDemonstrator)
from robot_learning.ergodic_search.learning import learn_search_model, SearchModel
from robot_learning.ergodic_search.offsets import OffsetDistribution, UNCERTAINTY_LEVELS
from robot_learning.ergodic_search.peg_in_hole import PegInHoleConfig, PegInHoleSim
from robot_learning.ergodic_search.plan import PlannerConfig, PLANNERS, SearchPlan
from robot_learning.ergodic_search.planners import make_plan

LOGGER = logging.getLogger(__name__)

GOAL_SUCCESS = 0.95
"""Goal: success rate of the ergodic search within the time budget at every level."""
GOAL_TIME_RATIO = 0.6
"""Goal: ergodic mean time-to-insert (successful trials) <= this times the spiral's at the
largest uncertainty; the ratio with failures counted at the budget is reported beside it."""


@dataclasses.dataclass(frozen=True)
class SearchEvaluationConfig:
    """Settings of the peg-in-hole search evaluation (`robot-learning search evaluate`)."""

    levels: tuple[str, ...] = ('low', 'medium', 'high')
    """Uncertainty levels (offsets.UNCERTAINTY_LEVELS)."""
    methods: tuple[str, ...] = PLANNERS
    """Search methods."""
    trials: int = 100
    """Hole offsets per level (the same for every method)."""
    demonstrations: int = 8
    """Synthetic demonstrations per level."""
    yaw_std: float = 0.0
    """Yaw uncertainty of the socket variant [rad] (used when task.variant is 'socket')."""
    seed: int = 0
    """Seed of demonstrations, offsets and planners."""
    task: PegInHoleConfig = PegInHoleConfig()
    """The MuJoCo task."""
    planner: PlannerConfig = PlannerConfig()
    """Planner parameters; ``duration`` is the time budget of a trial."""


def offsets_for(level: str, config: SearchEvaluationConfig) -> OffsetDistribution:
    """Return the offset distribution of a named level; ValueError lists the valid names."""
    if level not in UNCERTAINTY_LEVELS:
        raise ValueError(f"unknown uncertainty level '{level}'; valid: "
                         f"{', '.join(UNCERTAINTY_LEVELS)}")
    yaw = config.yaw_std if config.task.variant == 'socket' else 0.0
    return OffsetDistribution(scale=UNCERTAINTY_LEVELS[level], yaw_std=yaw)


def learn_level(offsets: OffsetDistribution, config: SearchEvaluationConfig,
                rng: np.random.Generator) -> tuple[SearchModel, list]:
    """Generate the synthetic demonstrations of one level and learn from them."""
    hole = HolePose(position=np.asarray(config.task.hole_position, dtype=float))
    demonstrator = SyntheticDemonstrator(offsets, hole)
    demonstrations = [demonstrator.demonstrate(rng) for _ in range(config.demonstrations)]
    model = learn_search_model(demonstrations, hole, dim=offsets.dim, seed=config.seed)
    return model, demonstrations


def summarize(results: list, budget: float) -> dict:
    """Return success rate and time statistics of trial results."""
    success = np.array([result.success for result in results])
    times = np.array([result.time for result in results])
    budgeted = np.where(success, times, budget)
    return {
        'trials': len(results),
        'success_rate': float(success.mean()),
        'mean_time': float(times[success].mean()) if success.any() else None,
        'median_time': float(np.median(times[success])) if success.any() else None,
        'mean_time_budgeted': float(budgeted.mean()),
    }


def evaluate(config: SearchEvaluationConfig, output: str | pathlib.Path | None = None,
             plots: bool = True) -> dict:
    """Run the evaluation; write ``report.json`` and the plots to ``output`` when given."""
    sim = PegInHoleSim(config.task)
    report = {'config': _as_dict(config), 'levels': {}}
    begin = time.perf_counter()
    for level_index, level in enumerate(config.levels):
        offsets = offsets_for(level, config)
        rng = np.random.default_rng([config.seed, level_index])
        model, demonstrations = learn_level(offsets, config, rng)
        hole_offsets = offsets.sample(config.trials, rng)
        entry = {'scale_m': offsets.scale, 'model': {
            'components': model.distribution.num_components,
            'samples': model.num_samples}, 'methods': {}}
        plans: dict[str, SearchPlan] = {}
        trial_times: dict[str, np.ndarray] = {}
        for method in config.methods:
            results, plan_seconds, metrics = [], [], []
            for trial, offset in enumerate(hole_offsets):
                if trial == 0 or method in ('sampling', 'random'):
                    planner = dataclasses.replace(config.planner, seed=config.seed + trial)
                    plan = make_plan(method, model.distribution, planner)
                    plan_seconds.append(plan.plan_seconds)
                    metrics.append(float(plan.metric[-1]))
                results.append(sim.run_trial(plan, offset, model.force_model, record_every=50))
            plans[method] = make_plan(method, model.distribution, config.planner)
            trial_times[method] = np.array([result.time if result.success else np.inf
                                            for result in results])
            summary = summarize(results, config.planner.duration)
            summary['plan_seconds'] = float(np.mean(plan_seconds))
            summary['final_ergodic_metric'] = float(np.mean(metrics))
            entry['methods'][method] = summary
            LOGGER.info('%s %s: success %.2f, mean time %s s, budgeted %.2f s (%.0f s so far)',
                        level, method, summary['success_rate'], summary['mean_time'],
                        summary['mean_time_budgeted'], time.perf_counter() - begin)
        report['levels'][level] = entry
        if output is not None and plots:
            _plot_level(model, demonstrations, hole_offsets, plans, trial_times, config,
                        pathlib.Path(output), level)
    report['goals'] = goals(report, config)
    report['wall_seconds'] = time.perf_counter() - begin
    if output is not None:
        atomic_write_text(pathlib.Path(output) / 'report.json', json.dumps(report, indent=2))
    return report


def goals(report: dict, config: SearchEvaluationConfig) -> dict:
    """Check the issue's goals on a report: ergodic success and its time against the spiral."""
    result = {}
    levels = report['levels']
    if not levels or 'ergodic' not in config.methods:
        return result
    result['ergodic_success_min'] = min(entry['methods']['ergodic']['success_rate']
                                        for entry in levels.values())
    result['success_goal_met'] = result['ergodic_success_min'] >= GOAL_SUCCESS
    largest = max(levels, key=lambda name: levels[name]['scale_m'])
    methods = levels[largest]['methods']
    if 'spiral' in methods and methods['ergodic']['mean_time'] and methods['spiral']['mean_time']:
        ratio = methods['ergodic']['mean_time'] / methods['spiral']['mean_time']
        result['largest_level'] = largest
        result['time_ratio_ergodic_to_spiral'] = ratio
        result['time_ratio_budgeted'] = (methods['ergodic']['mean_time_budgeted']
                                         / methods['spiral']['mean_time_budgeted'])
        result['time_goal_met'] = ratio <= GOAL_TIME_RATIO
    return result


def _plot_level(model: SearchModel, demonstrations: list, hole_offsets: np.ndarray,
                plans: dict[str, SearchPlan], trial_times: dict[str, np.ndarray],
                config: SearchEvaluationConfig, folder: pathlib.Path, level: str) -> None:
    from robot_learning.ergodic_search import plots
    hole = HolePose(position=np.asarray(config.task.hole_position, dtype=float))
    positions = search_data(demonstrations, hole, dim=model.distribution.dim).positions
    plots.plot_distribution(model.distribution, positions, hole_offsets,
                            folder / f'{level}_distribution.png')
    plots.plot_trajectories(model.distribution, plans, 10.0, folder / f'{level}_trajectory.png')
    capture = config.task.clearance + config.task.chamfer
    plots.plot_coverage(plans, hole_offsets, capture, trial_times,
                        folder / f'{level}_coverage.png')
    plots.plot_metric(plans, folder / f'{level}_ergodic_metric.png')


def _as_dict(config) -> dict:
    return json.loads(json.dumps(dataclasses.asdict(config)))
