# SPDX-License-Identifier: Apache-2.0
"""The task registry: every task builds, steps, reports its metrics; training looks it up."""

import dataclasses

import numpy as np
import pytest

from robot_learning.config import ConfigError, load_config
import robot_learning.delta_action.env  # noqa: F401  (registers the 'delta_action' task)
from robot_learning.rl.train_config import TrainConfig
from robot_learning.sim.base import SimConfig
from robot_learning.tasks.registry import (register_task, task_name_of, task_spec, TaskEnvironment,
                                           TASKS)

DEPLOYABLE = sorted(name for name, spec in TASKS.items() if spec.deployable)


def test_the_registry_holds_the_simulated_tasks_and_the_delta_action_environment():
    assert {'velocity_tracking', 'motion_tracking', 'delta_action'} <= set(TASKS)
    assert DEPLOYABLE == ['motion_tracking', 'velocity_tracking']
    for name, spec in TASKS.items():
        params = spec.config_cls.__dataclass_params__
        assert params.frozen, f'{name}: config is not frozen'
        assert task_name_of(spec.config_cls()) == name or not spec.deployable


def test_an_unknown_task_names_the_registered_ones():
    with pytest.raises(ConfigError, match="'walking' is not a registered task; valid: .*"
                                          'motion_tracking, velocity_tracking'):
        task_spec('walking')
    with pytest.raises(ConfigError, match="task_type: 'walking' is not a registered task"):
        TrainConfig(task_type='walking')
    with pytest.raises(ConfigError, match='already registered'):
        register_task('velocity_tracking', dataclasses.replace(TASKS['velocity_tracking'],
                                                               description='another'))


@pytest.mark.parametrize('name', DEPLOYABLE)
def test_a_deployable_task_steps_and_reports_its_metrics(name):
    spec = task_spec(name)
    config = spec.config_cls(num_envs=2, sim=SimConfig(num_threads=1), episode_length_s=0.1) \
        if name == 'velocity_tracking' else spec.config_cls(num_envs=2,
                                                            sim=SimConfig(num_threads=1))
    env = spec.env_cls(config)
    try:
        assert isinstance(env, TaskEnvironment)
        finished = {}
        for _ in range(env.max_episode_length + 1):
            _, rewards, terminated, truncated, info = env.step(np.zeros((2, env.num_actions)))
            assert rewards.shape == terminated.shape == truncated.shape == (2,)
            if info['episodes']['env_ids'].size:
                finished = info['episodes']
                break
        assert set(spec.metrics) <= set(finished), f'{name}: {sorted(finished)}'
        contract = spec.contract_entries(config)
        assert set(contract) <= {'command_ranges', 'motions'}
    finally:
        env.backend.close()


def test_training_builds_the_registered_environment_of_its_task_type():
    config = load_config(TrainConfig, 'config/train/humanoid_motion.yaml')
    assert config.task_type == 'motion_tracking'
    assert type(config.task) is task_spec('motion_tracking').config_cls
    with pytest.raises(ConfigError, match="'delta_action' is not trained by"):
        TrainConfig(task_type='delta_action')
