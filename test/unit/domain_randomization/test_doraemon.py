# SPDX-License-Identifier: Apache-2.0
"""DORAEMON's update on synthetic episode buffers: numbers checked against closed forms."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from scipy import optimize, special, stats

from robot_learning.domain_randomization.box import ParameterBox
from robot_learning.domain_randomization.config import DoraemonConfig
from robot_learning.domain_randomization.distributions import BetaDistribution
from robot_learning.domain_randomization.doraemon import DoraemonProblem, DoraemonRandomization

BOX_1D = ParameterBox.from_mapping({'ground_friction': [0.0, 2.0]})
BOX_2D = ParameterBox.from_mapping({'ground_friction': [0.2, 1.8], 'motor_strength': [0.5, 1.5]})


def _collect(randomizer, count, succeeds, seed=0):
    """Sample ``count`` episodes, label them with ``succeeds(unit)`` and buffer them."""
    values, tags = randomizer.sample(count, np.random.default_rng(seed))
    randomizer.record(values, succeeds(randomizer.box.to_unit(values)), tags)


def test_importance_sampled_success_matches_monte_carlo_and_the_exact_value():
    old = BetaDistribution(BOX_2D, np.array([5.0, 5.0]), np.array([5.0, 5.0]))
    rng = np.random.default_rng(1)
    unit = rng.beta(old.a, old.b, size=(40000, 2))
    succeeds = (unit[:, 0] < 0.6) & (unit[:, 1] > 0.3)
    problem = DoraemonProblem(old, unit, succeeds, (1.0, 110.0))
    new_a, new_b = np.array([3.0, 6.0]), np.array([4.0, 3.0])
    estimate = problem.success_estimate(problem.z_of(new_a, new_b))
    # Brute force: sample the new distribution itself.
    direct = rng.beta(new_a, new_b, size=(400000, 2))
    monte_carlo = np.mean((direct[:, 0] < 0.6) & (direct[:, 1] > 0.3))
    # Exact: independent dimensions, regularised incomplete beta functions.
    exact = special.betainc(3.0, 4.0, 0.6) * (1 - special.betainc(6.0, 3.0, 0.3))
    assert monte_carlo == pytest.approx(exact, abs=0.003)
    assert estimate == pytest.approx(exact, abs=0.015)
    # Under the old distribution itself every weight is 1: the plain success rate.
    z_old = problem.z_of(old.a, old.b)
    assert problem.success_estimate(z_old) == pytest.approx(succeeds.mean(), rel=1e-6)
    assert problem.kl(z_old) == pytest.approx(0.0, abs=1e-9)


def test_problem_gradients_are_exact():
    old = BetaDistribution(BOX_2D, np.array([20.0, 8.0]), np.array([15.0, 30.0]))
    unit = np.random.default_rng(2).beta(old.a, old.b, size=(300, 2))
    problem = DoraemonProblem(old, unit, unit[:, 0] > 0.5, (1.0, 110.0))
    z = problem.z_of(old.a * 0.9, old.b * 1.1)
    _, gradient = problem.negative_entropy(z)
    np.testing.assert_allclose(gradient, optimize.approx_fprime(
        z, lambda v: problem.negative_entropy(v)[0], 1e-7), rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(problem.kl_jac(z)[0], optimize.approx_fprime(
        z, problem.kl, 1e-7), rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(problem.success_jac(z)[0], optimize.approx_fprime(
        z, problem.success_estimate, 1e-7), rtol=1e-3, atol=1e-6)


def test_a_step_with_high_success_raises_entropy_inside_the_trust_region():
    randomizer = DoraemonRandomization(BOX_2D, DoraemonConfig(kl_bound=0.05))
    old = randomizer.distribution
    _collect(randomizer, 300, lambda unit: np.ones(len(unit), dtype=bool))
    row = randomizer.update()
    new = randomizer.distribution
    assert row['status'] == 'entropy_step' and row['success_rate'] == 1.0
    assert new.entropy() > old.entropy() + 0.1
    assert old.kl(new) <= 0.05 * (1 + 1e-3)
    assert old.kl(new) == pytest.approx(0.05, rel=0.02)  # the bound is what limits the step
    np.testing.assert_allclose(new.mean(), old.mean(), rtol=1e-4)  # symmetric problem
    assert len(randomizer.buffer) == 0


def test_entropy_grows_to_the_uniform_box_when_everything_succeeds():
    randomizer = DoraemonRandomization(BOX_2D, DoraemonConfig(kl_bound=0.1))
    for update in range(40):
        _collect(randomizer, 200, lambda unit: np.ones(len(unit), dtype=bool), seed=update)
        randomizer.update()
    maximum = float(np.sum(np.log(BOX_2D.width)))
    assert randomizer.entropy() == pytest.approx(maximum, abs=0.01)
    np.testing.assert_allclose(randomizer.distribution.a, 1.0, atol=0.05)


def test_entropy_stops_where_success_would_fall_below_alpha():
    # Success only for the middle 40 % of friction: the uniform box succeeds 40 % of the time,
    # so the maximum-entropy distribution that keeps alpha = 0.5 must stay narrower.
    randomizer = DoraemonRandomization(BOX_1D, DoraemonConfig(kl_bound=0.1))

    def succeeds(unit):
        return np.abs(unit[:, 0] - 0.5) < 0.2

    true_success, entropy, concentration = [], [], []
    for update in range(40):
        _collect(randomizer, 400, succeeds, seed=update)
        randomizer.update()
        a, b = randomizer.distribution.a[0], randomizer.distribution.b[0]
        true_success.append(special.betainc(a, b, 0.7) - special.betainc(a, b, 0.3))
        entropy.append(randomizer.entropy())
        concentration.append(a)
    # The last updates hover at the constraint (sample noise moves them a little each way).
    assert np.mean(true_success[-10:]) == pytest.approx(0.5, abs=0.04)
    assert min(true_success[-10:]) > 0.4
    assert min(concentration[-10:]) > 1.2  # not the uniform box, Beta(1, 1)
    assert entropy[-1] > BetaDistribution.symmetric(BOX_1D, 100.0).entropy() + 1.5


def test_low_success_takes_the_backup_path_toward_success():
    config = DoraemonConfig(kl_bound=0.05, initial_concentration=10.0)
    randomizer = DoraemonRandomization(BOX_1D, config)
    randomizer.warmed_up = True  # past warm-up: success was reached once before
    old = randomizer.distribution
    _collect(randomizer, 2000, lambda unit: unit[:, 0] > 0.7)
    row = randomizer.update()
    new = randomizer.distribution
    assert row['success_rate'] < 0.1
    assert row['status'] == 'backup_only'  # alpha is out of reach inside one trust region
    assert old.kl(new) <= 0.05
    assert new.mean()[0] > old.mean()[0]  # moved toward the successful high friction
    gain = (1 - stats.beta(new.a[0], new.b[0]).cdf(0.7)) - (1 - stats.beta(10, 10).cdf(0.7))
    assert gain > 0.02


def test_warm_up_keeps_the_distribution_and_says_so(caplog):
    randomizer = DoraemonRandomization(BOX_2D, DoraemonConfig(warmup_warning_updates=3))
    start = randomizer.distribution
    with caplog.at_level(logging.WARNING):
        for update in range(3):
            _collect(randomizer, 100, lambda unit: np.zeros(len(unit), dtype=bool), seed=update)
            assert randomizer.update()['status'] == 'warmup'
    assert randomizer.distribution is start and not randomizer.warmed_up
    warnings = [r.message for r in caplog.records if 'warm-up' in r.message]
    assert len(warnings) == 1 and 'after 3 updates' in warnings[0]
    assert 'success threshold' in warnings[0]
    _collect(randomizer, 100, lambda unit: np.ones(len(unit), dtype=bool))
    assert randomizer.update()['status'] == 'entropy_step' and randomizer.warmed_up


def test_an_update_without_episodes_keeps_the_distribution():
    randomizer = DoraemonRandomization(BOX_2D, DoraemonConfig())
    start = randomizer.distribution
    row = randomizer.update()
    assert row['status'] == 'no_episodes' and np.isnan(row['success_rate'])
    assert randomizer.distribution is start


def test_state_round_trips():
    randomizer = DoraemonRandomization(BOX_2D, DoraemonConfig())
    _collect(randomizer, 200, lambda unit: np.ones(len(unit), dtype=bool))
    randomizer.update()
    restored = DoraemonRandomization(BOX_2D, DoraemonConfig())
    restored.load_state_dict(randomizer.state_dict())
    np.testing.assert_array_equal(restored.distribution.a, randomizer.distribution.a)
    assert restored.warmed_up and restored.updates == 1
