# SPDX-License-Identifier: Apache-2.0
"""The coverage-driven ergodic planner and the expected-time selection of ergodic_search."""

import numpy as np
import pytest

from robot_learning.ergodic_search.distribution import ExplorationDistribution
from robot_learning.ergodic_search.plan import PlannerConfig, SearchPlan
from robot_learning.ergodic_search.planners import make_plan
from robot_learning.ergodic_search.selection import capture_times, expected_time

CONFIG = PlannerConfig(duration=5.0, speed=0.02)


def _gaussian(mean, std) -> ExplorationDistribution:
    return ExplorationDistribution(weights=np.array([1.0]), means=np.array([mean], dtype=float),
                                   covariances=np.array([np.eye(2) * std ** 2]))


def test_capture_times_of_a_straight_line():
    # 20 mm/s along x: an offset 5 mm ahead is within 2 mm after (5 - 2) / 20 = 0.15 s; one
    # 5 mm to the side never is.
    positions = np.column_stack([0.02 * 0.01 * np.arange(101), np.zeros(101)])
    offsets = np.array([[0.005, 0.0], [0.0, 0.005], [0.0, 0.0]])
    times = capture_times(positions, 0.01, offsets, np.array([0.002, 0.002]))
    np.testing.assert_allclose(times[[0, 2]], [0.15, 0.0], atol=0.011)
    assert np.isinf(times[1])
    plan = SearchPlan(method='line', dt=0.01, positions=positions, metric_times=np.zeros(1),
                      metric=np.zeros(1))
    # Mean of 0.15, the 1 s budget and 0.
    assert expected_time(plan, offsets, np.array([0.002, 0.002])) == pytest.approx(
        (0.15 + 1.0) / 3, abs=0.01)


def test_the_coverage_plan_goes_straight_to_an_off_centre_mode_at_the_search_speed():
    plan = make_plan('ergodic_coverage', _gaussian([0.012, 0.0], 0.001), CONFIG)
    assert plan.positions.shape == (501, 2)
    np.testing.assert_allclose(plan.positions[0], 0.0, atol=1e-12)
    speeds = np.linalg.norm(np.diff(plan.positions, axis=0), axis=1) / CONFIG.dt
    np.testing.assert_allclose(np.median(speeds), 0.02, rtol=0.02)
    # 12 mm at 20 mm/s: within 2 mm of the mode after (12 - 2) / 20 = 0.5 s, plus turning.
    reach = np.linalg.norm(plan.positions - [0.012, 0.0], axis=1) < 0.002
    assert 0.45 <= np.argmax(reach) * CONFIG.dt < 0.7


def test_the_coverage_plan_does_not_linger_where_it_searched():
    plan = make_plan('ergodic_coverage', _gaussian([0.0, 0.0], 0.004), CONFIG)
    # In 5 s at 20 mm/s with a 4 mm wide footprint it can search 400 mm² once: the part of
    # the distribution within a radius of about sqrt(400 / pi) = 11 mm. Most 1 mm cells it
    # enters it enters once; time-average SMC would keep returning to the centre.
    cells = np.floor(plan.positions / 0.001).astype(int)
    visits = {}
    previous = None
    for cell in map(tuple, cells):
        if cell != previous:
            visits[cell] = visits.get(cell, 0) + 1
        previous = cell
    assert np.mean(np.array(list(visits.values())) == 1) > 0.85
    assert np.max(np.linalg.norm(plan.positions, axis=1)) > 0.008


def test_ergodic_search_returns_the_candidate_with_the_least_expected_time():
    # The mass 15 mm off centre: a spiral from the nominal hole needs about
    # pi 15^2 / (3 * 20) = 11.8 s to get there; a planner that follows the mass, under 1 s.
    plan = make_plan('ergodic_search', _gaussian([0.015, 0.0], 0.001),
                     PlannerConfig(duration=15.0))
    assert plan.method == 'ergodic_search'
    choice, scores = plan.detail.split(' ')[0], plan.detail.split('expected time ')[1]
    assert choice in ('smc', 'coverage')
    values = {name: float(scores.split(f'{name} ')[1].split(' s')[0])
              for name in ('smc', 'coverage', 'spiral')}
    assert values[choice] == min(values.values()) and values['spiral'] > 10.0
