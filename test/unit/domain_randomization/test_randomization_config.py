# SPDX-License-Identifier: Apache-2.0
"""Bad randomization input gets errors that name the key and the fix."""

from __future__ import annotations

import numpy as np
import pytest

from robot_learning.config import ConfigError, from_dict
from robot_learning.domain_randomization.box import ParameterBox
from robot_learning.domain_randomization.config import METHODS, RandomizationConfig
from robot_learning.domain_randomization.distributions import BetaDistribution
from robot_learning.domain_randomization.randomizer import (FixedValues, NominalDynamics,
                                                            UniformRandomization)
from robot_learning.domain_randomization.registry import make_randomizer, RANDOMIZERS


@pytest.mark.parametrize('parameters, message', [
    ({'ground_friction': [1.2, 0.4]}, 'ground_friction: min 1.2 >= max 0.4'),
    ({'ground_friction': [0.5, 0.5]}, 'min 0.5 >= max 0.5'),
    ({'ground_frction': [0.5, 1.0]}, "unknown dynamics parameter 'ground_frction'; valid: "),
    ({'ground_friction': [0.5]}, 'expected \\[low, high\\]'),
    ({'motor_strength': [-1.0, 1.0]}, 'outside \\[0, 10\\]'),
    ({}, 'no parameters to randomize'),
])
def test_bad_boxes_are_refused(parameters, message):
    with pytest.raises(ConfigError, match=message):
        RandomizationConfig(method='uniform', parameters=parameters)


@pytest.mark.parametrize('data, message', [
    ({'method': 'udr'}, "unknown method 'udr'; valid: none, uniform, adr, doraemon"),
    ({'method': 'doraemon', 'parameters': {'kp_scale': [0.8, 1.2]},
      'doraemon': {'success_rate': 1.5}}, 'success_rate must be in \\(0, 1\\)'),
    ({'method': 'doraemon', 'parameters': {'kp_scale': [0.8, 1.2]},
      'doraemon': {'initial_concentration': 500.0}}, 'must lie inside concentration_bounds'),
    ({'method': 'adr', 'parameters': {'kp_scale': [0.8, 1.2]},
      'adr': {'success_low': 0.6, 'success_high': 0.5}}, 'success_low < success_high'),
    ({'method': 'adr', 'parameters': {'kp_scale': [0.8, 1.2]}, 'adr': {'buffer': 3}},
     'unknown config key'),
])
def test_bad_method_settings_are_refused(data, message):
    with pytest.raises(ConfigError, match=message):
        from_dict(RandomizationConfig, data)


def test_a_collapsed_beta_is_named():
    box = ParameterBox.from_mapping({'kp_scale': [0.8, 1.2], 'ground_friction': [0.5, 1.0]})
    wide = np.array([2.0, 2.0])
    assert BetaDistribution(box, wide, wide).collapsed() == []
    narrow = BetaDistribution(box, np.array([1e13, 2.0]), np.array([1e13, 2.0]))
    assert narrow.collapsed() == ['kp_scale']
    with pytest.raises(ConfigError, match='finite and positive'):
        BetaDistribution(box, np.array([0.0, 1.0]), wide)


def test_the_registry_builds_each_method():
    box = {'ground_friction': [0.5, 1.5]}
    assert make_randomizer(RandomizationConfig()) is None
    nominal = make_randomizer(RandomizationConfig(method='none', parameters=box))
    assert isinstance(nominal, NominalDynamics)
    values, _ = nominal.sample(3, np.random.default_rng(0))
    np.testing.assert_array_equal(values, [[1.0]] * 3)
    assert isinstance(make_randomizer(RandomizationConfig(method='uniform', parameters=box)),
                      UniformRandomization)
    for method in ('adr', 'doraemon'):
        assert make_randomizer(RandomizationConfig(method=method, parameters=box)).method == \
            method
    assert tuple(RANDOMIZERS) == METHODS  # every method the config accepts has a constructor


def test_fixed_values_cycle_through_their_rows():
    box = ParameterBox.from_mapping({'kp_scale': [0.8, 1.2]})
    fixed = FixedValues(box, np.array([[0.8], [0.9], [1.0]]))
    rng = np.random.default_rng(0)
    assert fixed.sample(2, rng)[0].ravel().tolist() == [0.8, 0.9]
    assert fixed.sample(2, rng)[0].ravel().tolist() == [1.0, 0.8]
