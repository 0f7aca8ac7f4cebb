# SPDX-License-Identifier: Apache-2.0
"""Training configs refuse zero, negative and NaN values with an error naming the value."""

from __future__ import annotations

import pytest

from robot_learning.cli.main import main
from robot_learning.config import ConfigError, load_config
from robot_learning.rl.train_config import TrainConfig
from robot_learning.sim.base import SimConfig

BAD_VALUES = ['0', '-1', '.nan', '.inf']
"""YAML spellings of zero, negative, NaN and infinity."""
POSITIVE_KEYS = ['task.sim.sim_dt', 'task.sim.decimation', 'task.episode_length_s',
                 'save_interval', 'max_iterations', 'ppo.num_steps_per_env',
                 'ppo.num_mini_batches', 'ppo.learning_rate', 'network.init_noise_std']
"""Keys whose value must be a finite number > 0."""
INTEGER_KEYS = {'task.sim.decimation', 'save_interval', 'max_iterations',
                'ppo.num_steps_per_env', 'ppo.num_mini_batches'}


@pytest.mark.parametrize('key, value', [
    (key, value) for key in POSITIVE_KEYS for value in BAD_VALUES
    if key not in INTEGER_KEYS or value in ('0', '-1')])  # NaN is no integer: the next test
def test_a_non_positive_or_non_finite_value_is_a_config_error_naming_it(key, value):
    with pytest.raises(ConfigError) as error:
        load_config(TrainConfig, None, [f'{key}={value}'])
    message = str(error.value)
    assert key.rsplit('.', 1)[-1] in message
    assert {'0': '0', '-1': '-1', '.nan': 'nan', '.inf': 'inf'}[value] in message


@pytest.mark.parametrize('key', sorted(INTEGER_KEYS))
def test_a_nan_for_an_integer_key_is_refused_as_the_wrong_type(key):
    with pytest.raises(ConfigError, match=f'{key}: expected an integer, got nan'):
        load_config(TrainConfig, None, [f'{key}=.nan'])


def test_the_shipped_defaults_are_valid():
    config = load_config(TrainConfig, 'config/train/quadruped_flat.yaml')
    config.check_batch()
    assert SimConfig().sim_dt > 0


@pytest.mark.parametrize('override, named', [
    ('ppo.gamma=1.5', 'gamma'), ('ppo.lam=-0.1', 'lam'), ('ppo.schedule=cosine', 'schedule'),
    ('network.actor_hidden_dims=[32, 0]', 'actor_hidden_dims'),
    ('network.critic_hidden_dims=[]', 'critic_hidden_dims'),
])
def test_other_ppo_and_network_values_are_checked(override, named):
    with pytest.raises(ConfigError, match=named):
        load_config(TrainConfig, None, [override])


def test_more_mini_batches_than_transitions_is_refused_before_anything_is_written(
        tmp_path, capsys):
    run_dir = tmp_path / 'run'
    assert main(['train', 'task.num_envs=2', 'ppo.num_steps_per_env=3',
                 'ppo.num_mini_batches=8', f'run_dir={run_dir}']) == 2
    error = capsys.readouterr().err
    assert 'num_mini_batches=8' in error and 'batch of 6 transitions' in error
    assert not run_dir.exists()


@pytest.mark.parametrize('override', ['task.sim.sim_dt=.nan', 'save_interval=0',
                                      'network.init_noise_std=-1'])
def test_the_cli_turns_a_bad_value_into_exit_code_2(override, capsys, tmp_path):
    assert main(['train', override, f'run_dir={tmp_path / "run"}']) == 2
    error = capsys.readouterr().err
    key, value = override.split('=')
    assert error.startswith('robot-learning train: error:')
    assert key.rsplit('.', 1)[-1] in error and value.lstrip('.') in error
    assert not (tmp_path / 'run').exists()
