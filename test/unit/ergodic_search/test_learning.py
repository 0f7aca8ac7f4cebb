# SPDX-License-Identifier: Apache-2.0
"""Exploration distribution (GMM + BIC), force model (GMR) and demonstrations: values, errors."""

import numpy as np
import pytest

from robot_learning.ergodic_search.demonstrations import (Demonstration, DemonstrationError,
                                                          HolePose, load_demonstration_npz,
                                                          search_data, SyntheticDemonstrator,
                                                          yaw_of, yaw_quaternions)
from robot_learning.ergodic_search.distribution import (DistributionFitError,
                                                        fit_exploration_distribution)
from robot_learning.ergodic_search.force_model import fit_force_model
from robot_learning.ergodic_search.learning import learn_search_model, SearchModel
from robot_learning.ergodic_search.offsets import OffsetDistribution

HOLE = HolePose(position=np.array([0.55, 0.0, 0.2]), yaw=0.3, frame_id='world')


def _demonstration(count: int = 50, frame: str = 'world', **changes) -> Demonstration:
    arrays = {'times': np.arange(count) * 0.01,
              'positions': np.tile(HOLE.position, (count, 1)),
              'forces': np.tile([0.0, 0.0, -8.0], (count, 1)),
              'orientations': yaw_quaternions(np.zeros(count))}
    arrays.update(changes)
    return Demonstration(frame_id=frame, source='test', **arrays)


def test_bic_picks_two_components_for_two_blobs():
    rng = np.random.default_rng(0)
    positions = np.vstack([rng.normal([-0.005, 0.0], 0.001, size=(300, 2)),
                           rng.normal([0.006, 0.002], 0.0015, size=(300, 2))])
    distribution = fit_exploration_distribution(positions)
    assert distribution.num_components == 2
    order = np.argsort(distribution.means[:, 0])
    np.testing.assert_allclose(distribution.means[order], [[-0.005, 0.0], [0.006, 0.002]],
                               atol=3e-4)
    np.testing.assert_allclose(distribution.weights, [0.5, 0.5], atol=0.01)
    assert np.argmin(distribution.bic) == 1


def test_a_mixture_that_cannot_fit_is_a_clear_error():
    rng = np.random.default_rng(1)
    with pytest.raises(DistributionFitError, match='need at least 20'):
        fit_exploration_distribution(rng.normal(size=(5, 2)))
    with pytest.raises(DistributionFitError, match='not finite'):
        fit_exploration_distribution(np.full((40, 2), np.nan))
    flat = np.column_stack([rng.normal(size=100) * 0.01, np.full(100, 0.002)])
    with pytest.raises(DistributionFitError, match=r'do not vary in coordinate\(s\) \[1\]'):
        fit_exploration_distribution(flat)


def test_force_model_recovers_a_linear_law():
    rng = np.random.default_rng(2)
    velocities = rng.normal(0.0, 0.01, size=(2000, 2))
    forces = np.column_stack([60.0 * velocities, -8.0 - 100.0 * velocities[:, 0]])
    forces += 0.05 * rng.standard_normal(forces.shape)
    model = fit_force_model(velocities, forces)
    # 60 N/(m/s) * 0.01 m/s = 0.6 N along x; -8 - 100 * 0.01 = -9 N down.
    np.testing.assert_allclose(model.predict(np.array([0.01, 0.0])), [0.6, 0.0, -9.0],
                               atol=0.05)
    assert model.predict(np.zeros((4, 2))).shape == (4, 3)


def test_demonstrations_in_another_frame_are_refused():
    with pytest.raises(DemonstrationError, match="frame 'tool0' but the nominal hole pose is "
                                                 "in 'world'"):
        search_data([_demonstration(frame='tool0')], HOLE)


def test_missing_wrench_data_is_refused(tmp_path):
    with pytest.raises(DemonstrationError, match='wrench data are missing'):
        _demonstration(forces=np.full((50, 3), np.nan))
    path = tmp_path / 'demo.npz'
    np.savez(path, times=np.arange(3.0), positions=np.zeros((3, 3)), frame_id='world')
    with pytest.raises(DemonstrationError, match=r"lacks \['forces'\].*wrench data"):
        load_demonstration_npz(path)


def test_search_data_is_in_the_hole_frame(tmp_path):
    # A tip 2 mm along the hole's own x axis (yaw 0.3 rad in the world) pushing down by 8 N.
    offset = 0.002 * np.array([np.cos(0.3), np.sin(0.3), 0.0])
    demo = _demonstration(positions=np.tile(HOLE.position + offset, (50, 1)),
                          orientations=yaw_quaternions(np.full(50, 0.4)))
    demo.save(tmp_path / 'demo.npz')
    data = search_data([load_demonstration_npz(tmp_path / 'demo.npz')], HOLE, dim=3)
    np.testing.assert_allclose(data.positions, np.tile([0.002, 0.0, 0.1], (50, 1)), atol=1e-12)
    np.testing.assert_allclose(data.forces[0], [0.0, 0.0, -8.0], atol=1e-12)
    np.testing.assert_allclose(yaw_of(yaw_quaternions(np.array([-3.0, 0.0, 2.5]))),
                               [-3.0, 0.0, 2.5], atol=1e-12)


def test_synthetic_demonstrations_teach_where_the_holes_are(tmp_path):
    offsets = OffsetDistribution(scale=0.008)
    demonstrator = SyntheticDemonstrator(offsets, HolePose(position=HOLE.position))
    rng = np.random.default_rng(4)
    demonstrations = [demonstrator.demonstrate(rng) for _ in range(8)]
    model = learn_search_model(demonstrations, HolePose(position=HOLE.position))
    samples = model.distribution.sample(4000, rng)
    # The fixture's stop axis is at 30°: the learned spread is much larger along it.
    axis = np.array([np.cos(0.5236), np.sin(0.5236)])
    along, across = samples @ axis, samples @ np.array([-axis[1], axis[0]])
    assert along.std() > 2.0 * across.std()
    force = model.force_model.predict(np.array([0.015, 0.0]))
    # Demonstrator: -(8 + 150 * 0.015) = -10.25 N down; along the motion
    # 2.5 tanh(0.015 / 0.003) + 60 * 0.015 = 3.4 N.
    assert force[2] == pytest.approx(-10.25, abs=1.0)
    assert force[0] == pytest.approx(3.4, abs=0.6)
    reloaded = SearchModel.load(model.save(tmp_path / 'model.json'))
    np.testing.assert_allclose(reloaded.distribution.means, model.distribution.means)
