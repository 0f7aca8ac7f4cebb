# SPDX-License-Identifier: Apache-2.0
"""Beta closed forms against hand-worked values and numerical integration; exact gradients."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, optimize, special, stats

from robot_learning.domain_randomization import beta
from robot_learning.domain_randomization.box import ParameterBox
from robot_learning.domain_randomization.distributions import BetaDistribution, UniformBox

EULER_GAMMA = 0.5772156649015329


def test_entropy_matches_hand_worked_values():
    assert beta.entropy(1.0, 1.0) == pytest.approx(0.0, abs=1e-12)
    # Beta(2, 2): ln B(2, 2) - 2 psi(2) + 2 psi(4), psi(2) = 1 - g, psi(4) = 11/6 - g.
    hand = math.log(1 / 6) - 2 * (1 - EULER_GAMMA) + 2 * (11 / 6 - EULER_GAMMA)
    assert beta.entropy(2.0, 2.0) == pytest.approx(hand, rel=1e-12)
    assert hand == pytest.approx(-0.12509, abs=1e-5)
    # DORAEMON's start, Beta(100, 100): about -1.93 nats per dimension (reference).
    assert beta.entropy(100.0, 100.0) == pytest.approx(-1.93, abs=0.01)


@pytest.mark.parametrize('a, b', [(0.7, 3.0), (2.5, 1.5), (40.0, 60.0)])
def test_entropy_matches_numerical_integration(a, b):
    density = stats.beta(a, b).pdf
    numeric, _ = integrate.quad(lambda x: -density(x) * np.log(density(x)), 0, 1, limit=200)
    assert beta.entropy(a, b) == pytest.approx(numeric, abs=1e-6)


@pytest.mark.parametrize('p, q', [((2.0, 3.0), (4.0, 1.5)), ((100.0, 100.0), (80.0, 120.0)),
                                  ((1.0, 1.0), (3.0, 3.0))])
def test_kl_matches_numerical_integration(p, q):
    dp, dq = stats.beta(*p), stats.beta(*q)
    numeric, _ = integrate.quad(lambda x: dp.pdf(x) * (dp.logpdf(x) - dq.logpdf(x)), 0, 1,
                                limit=200, points=[0.5])
    assert beta.kl(*p, *q) == pytest.approx(numeric, abs=1e-7)
    assert beta.kl(*p, *p) == pytest.approx(0.0, abs=1e-12)


def test_kl_of_nearby_narrow_betas_is_positive_in_float64():
    # The reference's pitfall: float32 gives -4e-5 here and the optimiser silently stalls.
    value = beta.kl(100.0, 100.0, 99.99, 99.99)
    # Second order: KL ~ d^T F d / 2 with the Fisher information of Beta(a, b),
    # F = [[t(a) - t(a+b), -t(a+b)], [-t(a+b), t(b) - t(a+b)]], t = trigamma, d = (-0.01, -0.01).
    trigamma_100, trigamma_200 = special.polygamma(1, 100.0), special.polygamma(1, 200.0)
    fisher_quadratic = 1e-4 * (2 * (trigamma_100 - trigamma_200) - 2 * trigamma_200)
    assert value > 0.0
    assert value == pytest.approx(fisher_quadratic / 2, rel=1e-3)
    assert value == pytest.approx(2.5e-9, rel=0.01)


def test_gradients_match_finite_differences():
    a, b, x = np.array([1.3, 7.0]), np.array([2.2, 50.0]), np.array([0.3, 0.61])
    for i in range(2):
        for which in range(2):
            def shifted(value, which=which, i=i):
                aa, bb = a.copy(), b.copy()
                (aa if which == 0 else bb)[i] = value
                return aa, bb
            base = (a if which == 0 else b)[i]
            checks = [
                (lambda v: beta.entropy(*shifted(v)).sum(), beta.entropy_grad(a, b)),
                (lambda v: beta.kl(a, b, *shifted(v)).sum(),
                 beta.kl_grad_second(a, b, a + 0.5, b + 0.5)),
                (lambda v: beta.log_density(x, *shifted(v)).sum(),
                 beta.log_density_grad(x, a, b)),
            ]
            for function, gradient in checks[:1] + checks[2:]:
                numeric = optimize.approx_fprime([base], lambda v: function(v[0]), 1e-7)[0]
                assert gradient[which][i] == pytest.approx(numeric, rel=1e-4, abs=1e-6)
    # KL in the second argument, evaluated away from its minimum.
    a2, b2 = a + 0.5, b + 0.5
    numeric_a = optimize.approx_fprime(a2, lambda v: beta.kl(a, b, v, b2).sum(), 1e-7)
    numeric_b = optimize.approx_fprime(b2, lambda v: beta.kl(a, b, a2, v).sum(), 1e-7)
    grad_a, grad_b = beta.kl_grad_second(a, b, a2, b2)
    np.testing.assert_allclose(grad_a, numeric_a, rtol=1e-4)
    np.testing.assert_allclose(grad_b, numeric_b, rtol=1e-4)


def test_distribution_entropy_includes_the_box_and_uniform_is_the_maximum():
    box = ParameterBox.from_mapping({'ground_friction': [0.2, 1.8], 'added_base_mass': [-1, 4]})
    uniform = BetaDistribution.symmetric(box, 1.0)
    assert uniform.entropy() == pytest.approx(math.log(1.6) + math.log(5.0), rel=1e-12)
    assert UniformBox.full(box).entropy() == pytest.approx(uniform.entropy(), rel=1e-12)
    narrow = BetaDistribution.symmetric(box, 100.0)
    assert narrow.entropy() == pytest.approx(2 * beta.entropy(100, 100) + uniform.entropy())
    assert narrow.kl(uniform) == pytest.approx(uniform.entropy() - narrow.entropy(), rel=1e-9)
    samples = narrow.sample(20000, np.random.default_rng(0))
    np.testing.assert_allclose(samples.mean(axis=0), [1.0, 1.5], atol=0.01)
    np.testing.assert_allclose(samples.std(axis=0), narrow.std(), rtol=0.03)
    np.testing.assert_allclose(narrow.std(), box.width * math.sqrt(1 / (4 * 201)), rtol=1e-12)
