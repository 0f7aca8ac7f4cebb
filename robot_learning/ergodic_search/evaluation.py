# SPDX-License-Identifier: Apache-2.0
"""Success rate and time-to-insert of the search methods per offset distribution and level.

Per offset distribution (``offsets.FAMILY``) and uncertainty level: SYNTHETIC demonstrations
(``demonstrations.SyntheticDemonstrator``) against holes from that distribution (the
demonstrator searches where it believes the holes are), a search model learned from them, then
``trials`` hole offsets drawn once and used for every method (common random numbers). The
ergodic and spiral plans are deterministic; the sampling and random planners draw a new plan
per trial. Each trial runs the MuJoCo task (``peg_in_hole.py``) with the impedance controller
and the learned force model. Time-to-insert is reported over the successful trials
(``mean_time``) and with failures counted at the time budget (``mean_time_budgeted``, the fair
comparison when success rates differ); ``ratios`` divides the ergodic methods' times by the
spiral's.
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
from robot_learning.ergodic_search.offsets import FAMILY, OffsetDistribution, UNCERTAINTY_LEVELS
from robot_learning.ergodic_search.peg_in_hole import PegInHoleConfig, PegInHoleSim
from robot_learning.ergodic_search.plan import PlannerConfig, PLANNERS, SearchPlan
from robot_learning.ergodic_search.planners import make_plan

LOGGER = logging.getLogger(__name__)

GOAL_SUCCESS = 0.95
"""Goal: success rate of the ergodic search within the time budget everywhere."""
GOAL_RATIO_OFFCENTRE = 0.7
"""Goal: ergodic mean time with failures at the budget <= this times the spiral's on every
distribution that is not central (``OffsetDistribution.central``)."""
GOAL_RATIO_CENTRAL = 1.0
"""Goal: ... and never worse than the spiral on the central ones."""
ERGODIC_METHODS = ('ergodic', 'ergodic_coverage', 'ergodic_search')
"""The methods whose times are compared with the spiral's."""


@dataclasses.dataclass(frozen=True)
class SearchEvaluationConfig:
    """Settings of the peg-in-hole search evaluation (`robot-learning search evaluate`)."""

    levels: tuple[str, ...] = ('low', 'medium', 'high')
    """Uncertainty levels (offsets.UNCERTAINTY_LEVELS)."""
    distributions: tuple[str, ...] = ('two_modes',)
    """Offset distributions (offsets.FAMILY)."""
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


def offsets_for(level: str, config: SearchEvaluationConfig,
                distribution: str = 'two_modes') -> OffsetDistribution:
    """Return a named offset distribution at a named level; ValueError lists the valid names."""
    if level not in UNCERTAINTY_LEVELS:
        raise ValueError(f"unknown uncertainty level '{level}'; valid: "
                         f"{', '.join(UNCERTAINTY_LEVELS)}")
    yaw = config.yaw_std if config.task.variant == 'socket' else 0.0
    return OffsetDistribution(scale=UNCERTAINTY_LEVELS[level], family=distribution, yaw_std=yaw)


def trial_seed(config: SearchEvaluationConfig, level_index: int, distribution: str) -> list[int]:
    """Return the seed of one (distribution, level): demonstrations and hole offsets.

    ``two_modes`` keeps the seed of the earlier, single-distribution evaluation.
    """
    family_index = FAMILY.index(distribution)
    return [config.seed, level_index] + ([family_index] if family_index else [])


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
    """Run the evaluation; write ``report.json`` and the plots to ``output`` when given.

    The report holds ``distributions[name]['levels'][level]``: the learned model's size, a
    summary per method and the ergodic/spiral time ratios.
    """
    for name in config.distributions:
        if name not in FAMILY:
            raise ValueError(f"unknown offset distribution '{name}'; valid: {', '.join(FAMILY)}")
    report = {'config': _as_dict(config), 'distributions': {}}
    begin = time.perf_counter()
    for distribution in config.distributions:
        central = OffsetDistribution(family=distribution).central
        report['distributions'][distribution] = {'central': central, 'levels': {}}
        for level_index, level in enumerate(config.levels):
            entry = _evaluate_one(config, distribution, level, level_index, output, plots)
            report['distributions'][distribution]['levels'][level] = entry
            LOGGER.info('%s %s done (%.0f s so far)', distribution, level,
                        time.perf_counter() - begin)
    report['goals'] = goals(report, config)
    report['wall_seconds'] = time.perf_counter() - begin
    if output is not None:
        atomic_write_text(pathlib.Path(output) / 'report.json', json.dumps(report, indent=2))
    return report


def _evaluate_one(config: SearchEvaluationConfig, distribution: str, level: str,
                  level_index: int, output: str | pathlib.Path | None, plots: bool) -> dict:
    """Learn from demonstrations of one (distribution, level) and run every method on it."""
    sim = PegInHoleSim(config.task)
    offsets = offsets_for(level, config, distribution)
    rng = np.random.default_rng(trial_seed(config, level_index, distribution))
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
        plans[method] = (make_plan(method, model.distribution, config.planner)
                         if method in ('sampling', 'random') else plan)
        trial_times[method] = np.array([result.time if result.success else np.inf
                                        for result in results])
        summary = summarize(results, config.planner.duration)
        summary['plan_seconds'] = float(np.mean(plan_seconds))
        summary['final_ergodic_metric'] = float(np.mean(metrics))
        if plans[method].detail:
            summary['plan_detail'] = plans[method].detail
        entry['methods'][method] = summary
        LOGGER.info('%s %s %s: success %.2f, mean time %s s, budgeted %.2f s', distribution,
                    level, method, summary['success_rate'], summary['mean_time'],
                    summary['mean_time_budgeted'])
    entry['ratios'] = time_ratios(entry['methods'])
    if output is not None and plots:
        prefix = level if distribution == 'two_modes' else f'{distribution}_{level}'
        _plot_level(model, demonstrations, hole_offsets, plans, trial_times, config,
                    pathlib.Path(output), prefix)
    return entry


def time_ratios(methods: dict) -> dict:
    """Return the ergodic methods' time ratios to the spiral (None where a mean is missing).

    {method: {'mean_time': ratio, 'mean_time_budgeted': ratio}}.
    """
    if 'spiral' not in methods:
        return {}
    spiral = methods['spiral']
    ratios = {}
    for method in ERGODIC_METHODS:
        if method not in methods:
            continue
        ratios[method] = {key: (methods[method][key] / spiral[key]
                                if methods[method][key] and spiral[key] else None)
                          for key in ('mean_time', 'mean_time_budgeted')}
    return ratios


def goals(report: dict, config: SearchEvaluationConfig) -> dict:
    """Check the issue's goals per ergodic method: success everywhere, time against the spiral.

    Success >= ``GOAL_SUCCESS`` on every (distribution, level); mean time with failures at the
    budget <= ``GOAL_RATIO_OFFCENTRE`` (not central) or ``GOAL_RATIO_CENTRAL`` (central) times
    the spiral's (None without a spiral to compare with).
    """
    result = {}
    for method in ERGODIC_METHODS:
        if method not in config.methods:
            continue
        success, ratio_met, misses = [], [], []
        for name, distribution in report['distributions'].items():
            limit = GOAL_RATIO_CENTRAL if distribution['central'] else GOAL_RATIO_OFFCENTRE
            for level, entry in distribution['levels'].items():
                success.append(entry['methods'][method]['success_rate'])
                ratio = entry['ratios'].get(method, {}).get('mean_time_budgeted')
                if ratio is not None:
                    ratio_met.append(ratio <= limit)
                    if ratio > limit:
                        misses.append(f'{name} {level} ({ratio:.2f} > {limit:g})')
        result[method] = {'success_min': min(success) if success else None,
                          'success_goal_met': bool(success) and min(success) >= GOAL_SUCCESS,
                          'time_goal_met': all(ratio_met) if ratio_met else None,
                          'time_goal_missed': misses}
    return result


def _plot_level(model: SearchModel, demonstrations: list, hole_offsets: np.ndarray,
                plans: dict[str, SearchPlan], trial_times: dict[str, np.ndarray],
                config: SearchEvaluationConfig, folder: pathlib.Path, prefix: str) -> None:
    from robot_learning.ergodic_search import plots
    hole = HolePose(position=np.asarray(config.task.hole_position, dtype=float))
    positions = search_data(demonstrations, hole, dim=model.distribution.dim).positions
    plots.plot_distribution(model.distribution, positions, hole_offsets,
                            folder / f'{prefix}_distribution.png')
    plots.plot_trajectories(model.distribution, plans, 10.0, folder / f'{prefix}_trajectory.png')
    capture = config.task.clearance + config.task.chamfer
    plots.plot_coverage(plans, hole_offsets, capture, trial_times,
                        folder / f'{prefix}_coverage.png')
    plots.plot_metric(plans, folder / f'{prefix}_ergodic_metric.png')


def _as_dict(config) -> dict:
    return json.loads(json.dumps(dataclasses.asdict(config)))
