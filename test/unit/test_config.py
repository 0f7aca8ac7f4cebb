# SPDX-License-Identifier: Apache-2.0
"""Strict YAML configs: unknown keys, wrong types and dotted overrides."""

from __future__ import annotations

import dataclasses

import pytest

from robot_learning.config import apply_overrides, ConfigError, from_dict, load_config
from robot_learning.rl.train_config import TrainConfig


@dataclasses.dataclass(frozen=True)
class _Inner:
    gain: float = 1.0
    names: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class _Outer:
    inner: _Inner = _Inner()
    count: int = 3


def test_nested_values_and_types_are_converted():
    config = from_dict(_Outer, {'inner': {'gain': 2, 'names': ['a', 'b']}, 'count': 5})
    assert config == _Outer(_Inner(2.0, ('a', 'b')), 5)
    assert isinstance(config.inner.gain, float)


def test_unknown_key_names_the_valid_keys():
    with pytest.raises(ConfigError) as error:
        from_dict(_Outer, {'inner': {'gian': 2.0}})
    message = str(error.value)
    assert 'inner.gian' in message and 'gain' in message and 'names' in message


def test_wrong_type_is_rejected_with_its_path():
    with pytest.raises(ConfigError, match='inner.gain: expected a number'):
        from_dict(_Outer, {'inner': {'gain': 'fast'}})
    with pytest.raises(ConfigError, match='count: expected an integer'):
        from_dict(_Outer, {'count': 2.5})


def test_dotted_overrides_build_nested_values_without_touching_the_input():
    data = {'inner': {'gain': 1.0}}
    result = apply_overrides(data, ['inner.gain=4.5', 'count=7', 'inner.names=[x, y]'])
    assert result == {'inner': {'gain': 4.5, 'names': ['x', 'y']}, 'count': 7}
    assert data == {'inner': {'gain': 1.0}}
    with pytest.raises(ConfigError, match='key.sub=value'):
        apply_overrides({}, ['no_equals_sign'])


def test_shipped_training_config_loads_and_a_typo_is_named(tmp_path):
    config = load_config(TrainConfig, 'config/train/quadruped_flat.yaml',
                         ['task.num_envs=8', 'ppo.learning_rate=0.0005'])
    assert config.task.num_envs == 8 and config.ppo.learning_rate == 0.0005
    with pytest.raises(ConfigError) as error:
        load_config(TrainConfig, 'config/train/quadruped_flat.yaml', ['task.num_env=8'])
    assert 'task.num_env' in str(error.value) and 'num_envs' in str(error.value)
    with pytest.raises(ConfigError, match='not found'):
        load_config(TrainConfig, tmp_path / 'missing.yaml')
