# SPDX-License-Identifier: Apache-2.0
"""Search planners: geometry of the baselines, speeds, metric ordering."""

import numpy as np
import pytest

from robot_learning.ergodic_search.baselines import spiral_positions
from robot_learning.ergodic_search.distribution import ExplorationDistribution
from robot_learning.ergodic_search.offsets import OffsetDistribution
from robot_learning.ergodic_search.plan import PlannerConfig
from robot_learning.ergodic_search.planners import make_plan

CONFIG = PlannerConfig(duration=10.0, speed=0.02)


def _distribution(yaw_std: float = 0.0) -> ExplorationDistribution:
    return ExplorationDistribution(*OffsetDistribution(scale=0.008, yaw_std=yaw_std).components())


def test_spiral_radius_grows_as_the_square_root_of_time():
    positions = spiral_positions(pitch=0.003, speed=0.02, dt=0.01, num_steps=1000)
    # Covered area pitch * speed * t = pi r^2: r(10 s) = sqrt(0.003 * 0.02 * 10 / pi) = 13.82 mm.
    assert np.linalg.norm(positions[-1]) == pytest.approx(0.013820, rel=1e-3)
    speeds = np.linalg.norm(np.diff(positions[100:], axis=0), axis=1) / 0.01
    np.testing.assert_allclose(speeds, 0.02, rtol=0.01)


@pytest.mark.parametrize('method', ['ergodic', 'ergodic_coverage', 'sampling', 'spiral',
                                    'random'])
def test_plans_start_at_the_nominal_hole_and_move_at_the_search_speed(method):
    plan = make_plan(method, _distribution(), CONFIG)
    assert plan.positions.shape == (1001, 2)
    np.testing.assert_allclose(plan.positions[0], 0.0, atol=1e-12)
    speeds = np.linalg.norm(np.diff(plan.positions, axis=0), axis=1) / CONFIG.dt
    assert np.median(speeds) == pytest.approx(0.02, rel=0.1)
    assert np.all(np.isfinite(plan.metric)) and plan.metric[-1] < plan.metric[0]


def test_the_ergodic_plan_is_the_most_ergodic():
    final = {method: make_plan(method, _distribution(), CONFIG).metric[-1]
             for method in ('ergodic', 'sampling', 'spiral', 'random')}
    assert final['ergodic'] < final['sampling'] < min(final['random'], final['spiral'])


def test_3d_plans_search_the_yaw_too():
    plan = make_plan('ergodic', _distribution(yaw_std=0.1), PlannerConfig(duration=3.0))
    assert plan.positions.shape == (301, 3)
    assert np.ptp(plan.positions[:, 2]) > 0.1


def test_unknown_method_lists_the_valid_ones():
    with pytest.raises(ValueError, match='valid: ergodic, ergodic_coverage, ergodic_search, '
                       'sampling, spiral, random'):
        make_plan('zigzag', _distribution(), CONFIG)
