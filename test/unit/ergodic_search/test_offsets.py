# SPDX-License-Identifier: Apache-2.0
"""The family of hole-offset distributions: sample moments against hand-computed ones."""

import numpy as np
import pytest

from robot_learning.ergodic_search.offsets import CENTRAL, FAMILY, OffsetDistribution

MM2 = 1e-6
"""mm² in m²."""
# scale 10 mm with the main axis along x (a = (1, 0), n = (0, 1)); means [mm], covariances
# [mm²] worked from the definitions in offsets.py:
EXPECTED = {
    # N(0, (0.5 s)^2 I)
    'isotropic_centred': ((0.0, 0.0), np.diag([25.0, 25.0])),
    # N(s a, (0.3 s)^2 I)
    'isotropic_offcentre': ((10.0, 0.0), np.diag([9.0, 9.0])),
    # N(0, s^2 (0.6^2 a a' + 0.15^2 n n'))
    'elongated_centred': ((0.0, 0.0), np.diag([36.0, 2.25])),
    'elongated_offcentre': ((10.0, 0.0), np.diag([36.0, 2.25])),
    # 0.7 N(0, diag(36, 2.25)) + 0.3 N((0, 12), 4 I): mean (0, 3.6); var x 0.7*36 + 0.3*4,
    # var y 0.7*2.25 + 0.3*(4 + 144) - 3.6^2
    'elongated_with_mode': ((0.0, 3.6), np.diag([26.4, 33.015])),
    # 0.5 N(+-(10, 0), diag(9, 1)): var x 9 + 100
    'two_modes': ((0.0, 0.0), np.diag([109.0, 1.0])),
    # three modes at 10 mm, 120° apart, 4 I each: 4 + 100 / 2 per axis
    'three_modes': ((0.0, 0.0), np.diag([54.0, 54.0])),
    # uniform over 20 x 10 mm: w^2 / 12
    'uniform_box': ((0.0, 0.0), np.diag([400.0 / 12.0, 100.0 / 12.0])),
    # r = 10 + N(0, 1), uniform angle: E[r^2] / 2 = (100 + 1) / 2 per axis
    'ring': ((0.0, 0.0), np.diag([50.5, 50.5])),
}


@pytest.mark.parametrize('name', FAMILY)
def test_sample_moments_match_the_definitions(name):
    offsets = OffsetDistribution(scale=0.01, family=name, axis_angle=0.0)
    samples = offsets.sample(200_000, np.random.default_rng(7))
    mean, covariance = EXPECTED[name]
    assert samples.shape == (200_000, 2)
    np.testing.assert_allclose(samples.mean(axis=0), np.array(mean) * 1e-3, atol=0.06e-3)
    np.testing.assert_allclose(np.cov(samples.T), covariance * MM2, rtol=0.02,
                               atol=0.3 * MM2)


def test_the_ring_has_its_radius_and_the_box_its_sides():
    ring = OffsetDistribution(scale=0.01, family='ring').sample(50_000, np.random.default_rng(1))
    radius = np.linalg.norm(ring, axis=1)
    assert radius.mean() == pytest.approx(0.010, rel=0.005)
    assert radius.std() == pytest.approx(0.001, rel=0.03)
    box = OffsetDistribution(scale=0.01, family='uniform_box', axis_angle=0.0).sample(
        50_000, np.random.default_rng(2))
    np.testing.assert_allclose(box.min(axis=0), [-0.010, -0.005], atol=2e-5)
    np.testing.assert_allclose(box.max(axis=0), [0.010, 0.005], atol=2e-5)


def test_the_main_axis_turns_the_distribution():
    # two_modes at 30°: the stops at +-s (cos 30°, sin 30°).
    weights, means, covariances = OffsetDistribution(scale=0.008).components()
    np.testing.assert_allclose(weights, [0.5, 0.5])
    np.testing.assert_allclose(means[0], 0.008 * np.array([np.cos(0.5236), np.sin(0.5236)]))
    assert np.linalg.eigvalsh(covariances[0]) == pytest.approx(
        [(0.1 * 0.008) ** 2, (0.3 * 0.008) ** 2])


def test_widening_and_yaw():
    offsets = OffsetDistribution(scale=0.01, family='isotropic_centred', yaw_std=0.1)
    wide = offsets.widened(1.2)
    assert wide.dim == 3 and wide.yaw_std == pytest.approx(0.12)
    _, _, covariances = wide.components()
    np.testing.assert_allclose(np.diag(covariances[0]), [(1.2 * 0.005) ** 2] * 2 + [0.0144])
    ring = OffsetDistribution(scale=0.01, family='ring', yaw_std=0.1).sample(
        20_000, np.random.default_rng(3))
    assert ring.shape == (20_000, 3) and ring[:, 2].std() == pytest.approx(0.1, rel=0.03)


def test_central_members_and_bad_names():
    assert {name for name in FAMILY if OffsetDistribution(family=name).central} == set(CENTRAL)
    with pytest.raises(ValueError, match='valid: two_modes, isotropic_centred'):
        OffsetDistribution(family='banana')
    with pytest.raises(ValueError, match='not a Gaussian mixture'):
        OffsetDistribution(family='ring').components()
