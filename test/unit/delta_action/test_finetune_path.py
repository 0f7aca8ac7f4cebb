# SPDX-License-Identifier: Apache-2.0
"""The fine-tuning path of ASAP and SysID (docs/delta_action.md, fine-tuning path audit).

Real MuJoCo task environments and real rsl-rl runners; nothing is trained.
"""

import dataclasses

import numpy as np
import pytest
import torch
import yaml

from robot_learning.config import to_dict
from robot_learning.delta_action.config import DeltaConfig
from robot_learning.delta_action.finetune import check_delta_simulator, finetune, \
    finetune_config
from robot_learning.delta_action.model import DeltaActionModel, DeltaActionTransform
from robot_learning.domain_randomization.config import RandomizationConfig
from robot_learning.domain_randomization.registry import make_randomizer
from robot_learning.rl.train_config import NetworkConfig, PpoConfig, TrainConfig
from robot_learning.rl.training import make_runner, train
from robot_learning.robots.registry import load_robot
from robot_learning.sim.base import SimConfig
from robot_learning.sim.dynamics import latency_substeps
from robot_learning.tasks.velocity_tracking import (RewardWeights, VelocityTaskConfig,
                                                    VelocityTrackingEnv)

SIM = SimConfig(num_threads=1)
SYSID = {'motor_strength': 0.79, 'kp_scale': 1.06, 'action_latency': 0.005,
         'ground_friction': 0.79, 'joint_damping': 0.01}
"""The identified values of the quadruped benchmark (docs/delta_action.md)."""
DR_BOX = {'ground_friction': [0.3, 1.5], 'added_base_mass': [-1.0, 4.0],
          'motor_strength': [0.6, 1.2], 'action_latency': [0.0, 0.02], 'kp_scale': [0.8, 1.2]}
"""Part of config/train/quadruped_dr.yaml's box (the ``dr_none`` run keeps it, method none)."""


def test_last_action_and_action_rate_hold_the_policy_action_not_the_corrected_one():
    robot = load_robot('quadruped')
    rewards = RewardWeights(**{f.name: 0.0 for f in dataclasses.fields(RewardWeights)
                               if f.name != 'action_rate_l2'})
    env = VelocityTrackingEnv(VelocityTaskConfig(robot='quadruped', num_envs=2, sim=SIM,
                                                 rewards=rewards, noise_level=0.0))
    sent = []
    step = env.backend.step
    env.backend.step = lambda targets: (sent.append(targets.copy()), step(targets))[1]
    env.set_action_transform(lambda state, targets: targets + 0.1)  # Δ = 0.1 rad = 0.4 raw
    actions = np.full((2, robot.num_joints), 0.3)
    for _ in range(2):
        observations, *_ = env.step(actions)
        # The simulator gets a + Δ; the policy's last action (the last 12 observation columns,
        # scale 1) is its own a, as on the robot, where the node feeds back what it sent.
        expected = robot.default_joint_pos + robot.action_scale * 0.3 + 0.1
        np.testing.assert_allclose(sent[-1], np.tile(expected, (2, 1)), atol=1e-12)
        np.testing.assert_allclose(env.last_actions, actions, atol=0)
        np.testing.assert_allclose(observations['policy'][:, -robot.num_joints:], 0.3,
                                   atol=1e-6)
    # Action rate: |a_1 - 0|² = 12 x 0.09 at step 1, 0 at step 2 (with a + Δ in raw units it
    # would be 12 x 0.7² at step 1); weight -0.01, dt 0.02 s.
    np.testing.assert_allclose(env.episode_sums['action_rate_l2'], -0.01 * 0.02 * 1.08,
                               rtol=1e-12)


@pytest.mark.parametrize('method, box', [('none', DR_BOX),
                                         ('uniform', {'ground_friction': [0.5, 1.25],
                                                      'added_base_mass': [-1.0, 2.0]})])
def test_sysid_dynamics_are_fixed_in_every_environment_and_every_reset(method, box, tmp_path):
    pretrained = TrainConfig(task=VelocityTaskConfig(robot='quadruped', num_envs=6, sim=SIM),
                             randomization=RandomizationConfig(method=method, parameters=box),
                             max_iterations=200)
    config = finetune_config(pretrained, 199, 40, tmp_path / 'run', SYSID, num_envs=4)
    # Only the intended changes: fixed dynamics, box without them, envs, iterations, folder.
    assert config.task == dataclasses.replace(pretrained.task, num_envs=4, dynamics=SYSID)
    assert config.randomization.method == method
    assert set(config.randomization.parameters) == set(box) - set(SYSID)
    assert (config.ppo, config.network, config.seed) == (pretrained.ppo, pretrained.network,
                                                         pretrained.seed)
    assert config.max_iterations == 240 and config.run_dir == str(tmp_path / 'run')

    robot = load_robot('quadruped')
    env = VelocityTrackingEnv(config.task, randomizer=make_randomizer(config.randomization))
    backend = env.backend
    for _ in range(3):  # construction, then two resets of every environment
        for name, value in SYSID.items():
            np.testing.assert_array_equal(backend.dynamics[name], value)
        for model in backend.models:
            gains = model.actuator_gainprm[backend.layout.actuators, 0]
            np.testing.assert_allclose(gains, robot.kp * 1.06 * 0.79, rtol=1e-12)
            np.testing.assert_allclose(model.geom_friction[:, 0], 0.79)
        assert np.all(latency_substeps(backend.dynamics['action_latency'], 0.005) == 1)
        mass = backend.dynamics['added_base_mass']
        if method == 'none':
            np.testing.assert_array_equal(mass, 0.0)
        else:
            assert np.all((mass >= -1.0) & (mass <= 2.0)) and np.ptp(mass) > 0
        env.step(np.zeros((4, robot.num_joints)))
        env._reset_envs(np.arange(4))


def test_resume_restores_learning_rate_std_and_normalizer(tmp_path):
    config = TrainConfig(task=VelocityTaskConfig(robot='quadruped', num_envs=2, sim=SIM),
                         ppo=PpoConfig(num_steps_per_env=4, num_mini_batches=1,
                                       entropy_coef=0.01),
                         network=NetworkConfig(actor_hidden_dims=(8,), critic_hidden_dims=(8,)),
                         torch_threads=1, max_iterations=1)
    runner = make_runner(config, None)
    actor = runner.alg.get_policy()
    # What a finished pre-training leaves: a lowered adaptive lr, a shrunk std, statistics.
    runner.alg.learning_rate = 3.3e-4
    for group in runner.alg.optimizer.param_groups:
        group['lr'] = 3.3e-4
    with torch.no_grad():
        actor.distribution.std_param.fill_(0.37)
        actor.obs_normalizer._mean.fill_(0.5)
        actor.obs_normalizer.count.fill_(123456)
    runner.current_learning_iteration = 7
    runner.save(str(tmp_path / 'model_7.pt'))

    resumed = make_runner(config, None)
    resumed.load(str(tmp_path / 'model_7.pt'))
    loaded = resumed.alg.get_policy()
    assert resumed.alg.learning_rate == pytest.approx(3.3e-4)  # not ppo.learning_rate 1e-3
    assert resumed.alg.entropy_coef == 0.01
    np.testing.assert_allclose(loaded.distribution.std_param.detach().numpy(), 0.37)
    np.testing.assert_allclose(loaded.obs_normalizer._mean.numpy(), 0.5)
    assert int(loaded.obs_normalizer.count) == 123456
    # In training mode the normalizer keeps updating (count-weighted: two new rows).
    resumed.alg.train_mode()
    observations = resumed.env.get_observations()
    loaded.update_normalization(observations)
    assert int(loaded.obs_normalizer.count) == 123456 + 2


def test_pi_delta_is_refused_in_another_simulator():
    config = TrainConfig(task=VelocityTaskConfig(robot='quadruped', sim=SimConfig(num_threads=1)))
    trained = {'backend': 'mujoco', 'sim': dataclasses.asdict(SimConfig(num_threads=3)),
               'dynamics': {'action_latency': 0.0}}
    check_delta_simulator({'config': trained}, config)  # threads differ, latency nominal
    check_delta_simulator({}, config)  # a model saved without its config: not checked
    slow = {**trained, 'sim': dataclasses.asdict(SimConfig(decimation=8))}
    with pytest.raises(ValueError, match='sim.decimation 8 vs 4'):
        check_delta_simulator({'config': slow}, config, 'models/asap')
    sysid_task = finetune_config(config, 0, 1, 'run', {'action_latency': 0.01})
    with pytest.raises(ValueError, match=r'models/asap: .*dynamics.action_latency 0.0 vs 0.01'):
        check_delta_simulator({'config': trained}, sysid_task, 'models/asap')


def test_transform_reports_its_offsets_and_action_inputs():
    robot = load_robot('quadruped')
    layer = torch.nn.Linear(4 * 12 + 4 + 10, 12)
    torch.nn.init.zeros_(layer.weight)
    torch.nn.init.constant_(layer.bias, 0.4)  # Δa = 0.4 everywhere
    model = DeltaActionModel(torch.jit.script(layer.eval()), robot, 1.0, 10.0, np.ones(12))
    env = VelocityTrackingEnv(VelocityTaskConfig(robot='quadruped', num_envs=2, sim=SIM))
    transform = DeltaActionTransform(model, 2)
    targets = robot.default_joint_pos + robot.action_scale * np.array([[0.2], [-0.6]])
    transform(env.state, targets)
    stats = transform.input_statistics()
    assert stats['samples'] == 2
    assert stats['offset_abs_mean_rad'] == pytest.approx(0.4 * 0.25)  # 1.0 x 0.25 x 0.4
    assert stats['action_abs_mean'] == pytest.approx(0.4)  # (0.2 + 0.6) / 2
    assert set(stats['offset_abs_mean_rad_per_joint']) == set(robot.joint_names)


def test_finetune_records_pi_delta_inputs_and_refuses_another_simulator(tmp_path):
    robot = load_robot('quadruped')
    pretrained = tmp_path / 'pretrained'
    train(TrainConfig(task=VelocityTaskConfig(robot='quadruped', num_envs=4, sim=SIM),
                      ppo=PpoConfig(num_steps_per_env=4, num_mini_batches=1),
                      network=NetworkConfig(actor_hidden_dims=(8,), critic_hidden_dims=(8,)),
                      torch_threads=1, max_iterations=1, save_interval=1,
                      run_dir=str(pretrained)))
    layer = torch.nn.Linear(4 * 12 + 4 + 10, 12)
    torch.nn.init.zeros_(layer.weight)
    torch.nn.init.constant_(layer.bias, 0.4)
    for name, sim in (('other', SimConfig(decimation=8)), ('asap', SIM)):
        DeltaActionModel(torch.jit.script(layer.eval()), robot, 1.0, 10.0, np.ones(12),
                         {'config': to_dict(DeltaConfig(sim=sim))}).save(tmp_path / name)
    with pytest.raises(ValueError, match='sim.decimation 8 vs 4'):
        finetune(pretrained, tmp_path / 'refused', 1, delta_model=tmp_path / 'other')
    assert not (tmp_path / 'refused').exists()

    run = finetune(pretrained, tmp_path / 'run', 1, delta_model=tmp_path / 'asap', num_envs=3)
    record = yaml.safe_load((run / 'finetune.yaml').read_text())
    inputs = record['delta_inputs']
    assert inputs['samples'] == 3 * 4  # envs x steps of the one iteration
    assert inputs['offset_abs_mean_rad'] == pytest.approx(0.1)  # 1.0 x 0.25 x 0.4
    assert record['randomization'] == {'method': 'none', 'parameters': {}}
