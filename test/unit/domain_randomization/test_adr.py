# SPDX-License-Identifier: Apache-2.0
"""ADR's boundary sampling and bound updates on synthetic buffers."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from robot_learning.domain_randomization.adr import AdrRandomization
from robot_learning.domain_randomization.box import ParameterBox
from robot_learning.domain_randomization.config import AdrConfig
from robot_learning.domain_randomization.randomizer import NO_BOUNDARY

BOX = ParameterBox.from_mapping({'ground_friction': [0.2, 1.8], 'added_base_mass': [-1, 4]})
CONFIG = AdrConfig(boundary_probability=0.5, buffer_size=10, success_high=0.5,
                   success_low=0.25, step_fraction=0.05)


def _boundary_episodes(adr, tag, successes):
    """Record ``successes`` for boundary tag (2 * dim + side) and update."""
    values = np.tile(adr.low, (len(successes), 1))
    adr.record(values, np.asarray(successes, dtype=bool), np.full(len(successes), tag))
    return adr.update()


def test_starts_collapsed_at_the_nominal_values():
    adr = AdrRandomization(BOX, CONFIG)
    np.testing.assert_array_equal(adr.low, [1.0, 0.0])
    np.testing.assert_array_equal(adr.high, [1.0, 0.0])
    assert adr.entropy() == float('-inf')


def test_boundary_sampling_pins_one_bound_and_tags_it():
    adr = AdrRandomization(BOX, CONFIG)
    adr.low, adr.high = np.array([0.8, -0.5]), np.array([1.2, 1.5])
    values, tags = adr.sample(20000, np.random.default_rng(0))
    boundary = tags != NO_BOUNDARY
    assert boundary.mean() == pytest.approx(0.5, abs=0.02)
    for tag in range(4):
        dim, side = divmod(tag, 2)
        rows = values[tags == tag]
        assert (tags == tag).mean() == pytest.approx(0.125, abs=0.01)
        np.testing.assert_array_equal(rows[:, dim], adr.low[dim] if side == 0 else adr.high[dim])
    assert np.all((values >= adr.low) & (values <= adr.high))


def test_bounds_widen_on_success_and_shrink_on_failure_inside_the_box():
    adr = AdrRandomization(BOX, CONFIG)
    step = 0.05 * 1.6  # friction: 5 % of the 1.6 wide box
    row = _boundary_episodes(adr, 1, [True] * 9)  # friction high bound: buffer not full yet
    assert row['status'] == 'unchanged' and adr.high[0] == 1.0
    row = _boundary_episodes(adr, 1, [True] * 1)  # 10/10 successes >= 0.5: widen
    assert adr.high[0] == pytest.approx(1.0 + step) and 'widen ground_friction.high' in row[
        'status']
    _boundary_episodes(adr, 0, [True] * 6 + [False] * 4)  # 0.6 >= 0.5: widen low
    assert adr.low[0] == pytest.approx(1.0 - step)
    _boundary_episodes(adr, 0, [True] * 3 + [False] * 7)  # 0.3: between thresholds
    assert adr.low[0] == pytest.approx(1.0 - step)
    _boundary_episodes(adr, 0, [True] * 2 + [False] * 8)  # 0.2 <= 0.25: shrink
    assert adr.low[0] == pytest.approx(1.0)
    for _ in range(30):  # widening stops at the box
        _boundary_episodes(adr, 1, [True] * 10)
    assert adr.high[0] == pytest.approx(1.8)
    assert adr.entropy() == float('-inf')  # mass is still collapsed


def test_shrinking_never_crosses_the_other_bound_and_a_collapse_is_reported(caplog):
    adr = AdrRandomization(BOX, CONFIG)
    _boundary_episodes(adr, 3, [True] * 10)  # mass high: 0 -> 0.25 kg
    assert adr.high[1] == pytest.approx(0.25)
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            _boundary_episodes(adr, 3, [False] * 10)
    assert adr.high[1] == adr.low[1] == 0.0
    assert any('added_base_mass has collapsed to zero width' in r.message for r in caplog.records)


def test_state_round_trips():
    adr = AdrRandomization(BOX, CONFIG)
    _boundary_episodes(adr, 1, [True] * 10)
    _boundary_episodes(adr, 2, [True] * 4)
    restored = AdrRandomization(BOX, CONFIG)
    restored.load_state_dict(adr.state_dict())
    np.testing.assert_array_equal(restored.high, adr.high)
    assert restored.bound_buffers[2] == [True] * 4
