# SPDX-License-Identifier: Apache-2.0
"""ASAP delta-action pipeline on real MuJoCo: replay, scale, offset recovery, SysID.

"Real" clips are made here by stepping MuJoCo with hidden dynamics or a hidden action offset
while recording the targets the policy would have logged (the commanded ones).
"""

import dataclasses

import numpy as np
import pytest
import torch

from robot_learning.data.trajectory import Trajectory
from robot_learning.delta_action.clips import make_clip_set
from robot_learning.delta_action.config import (DeltaConfig, DeltaRewardSigmas,
                                                DeltaRewardWeights, SysIdConfig)
from robot_learning.delta_action.env import DeltaActionEnv
from robot_learning.delta_action.model import (DeltaActionModel, DeltaActionTransform,
                                               observation_dim)
from robot_learning.delta_action.replay import errors, recorded, replay
from robot_learning.delta_action.sysid import fit_sysid
from robot_learning.delta_action.training import fit_delta_action
from robot_learning.motions.kinematics import BodyKinematics
from robot_learning.rl.train_config import NetworkConfig, PpoConfig
from robot_learning.robots.registry import load_robot
from robot_learning.sim.base import SimConfig
from robot_learning.sim.registry import make_backend
from robot_learning.tasks.velocity_tracking import VelocityTaskConfig, VelocityTrackingEnv

SIM = SimConfig(num_threads=1)


def record(robot_name: str, steps: int, dynamics=None, offset=None, envs: int = 2,
           seed: int = 0) -> list[Trajectory]:
    """Step MuJoCo with sinusoidal targets (+ a hidden offset); log the commanded targets."""
    robot = load_robot(robot_name)
    backend = make_backend('mujoco', robot, envs, SIM)
    if dynamics:
        backend.set_dynamics(np.arange(envs), dynamics)
    backend.reset(np.arange(envs))
    rng = np.random.default_rng(seed)
    freq = rng.uniform(0.5, 2.0, (envs, robot.num_joints))
    phase = rng.uniform(0.0, 2.0 * np.pi, (envs, robot.num_joints))
    names = ('joint_pos', 'joint_vel', 'base_pos', 'base_quat', 'base_lin_vel', 'base_ang_vel')
    rows = {name: [] for name in (*names, 'joint_effort', 'actions')}
    state, dt = backend.get_state(), backend.control_dt
    for step in range(steps):
        targets = robot.default_joint_pos + 0.15 * np.sin(2 * np.pi * freq * step * dt + phase)
        for name in names:
            rows[name].append(getattr(state, name).copy())
        rows['joint_effort'].append(state.joint_torque.copy())
        rows['actions'].append(targets)
        backend.step(targets if offset is None else targets + offset)
        state = backend.get_state()
    backend.close()
    return [Trajectory(time=np.arange(steps) * dt, commands=np.zeros((steps, 3)),
                       robot=robot_name, joint_names=robot.joint_names, control_dt=dt,
                       source=f'mujoco{env}',
                       **{name: np.asarray([row[env] for row in values])
                          for name, values in rows.items()})
            for env in range(envs)]


def scripted_actor(inputs: int, outputs: int, weight: float) -> torch.jit.ScriptModule:
    """Return a real TorchScript linear actor with every weight ``weight`` and zero bias."""
    layer = torch.nn.Linear(inputs, outputs)
    torch.nn.init.constant_(layer.weight, weight)
    torch.nn.init.zeros_(layer.bias)
    return torch.jit.script(layer.eval())


@pytest.fixture(scope='module')
def quadruped_clips():
    trajectories = record('quadruped', 60, dynamics={'motor_strength': 0.8})
    return make_clip_set(trajectories, horizon=20)


def test_zero_delta_replay_is_vanilla_replay(quadruped_clips):
    robot = load_robot('quadruped')
    clips = quadruped_clips
    starts = clips.spaced_starts(10)
    backend = make_backend('mujoco', robot, starts.size, SIM)
    dim = observation_dim(robot.num_joints, len(robot.contact_bodies))
    vanilla = replay(backend, clips, starts)
    zero = DeltaActionModel(scripted_actor(dim, robot.num_joints, 0.0), robot, 1.0, 10.0,
                            np.ones(robot.num_joints))
    with_zero = replay(backend, clips, starts, DeltaActionTransform(zero, starts.size))
    for field in ('base_pos', 'base_quat', 'joint_pos', 'targets'):
        np.testing.assert_array_equal(getattr(with_zero, field), getattr(vanilla, field))
    # A non-zero delta does change the replay (the comparison above can fail).
    some = DeltaActionModel(scripted_actor(dim, robot.num_joints, 1e-3), robot, 1.0, 10.0,
                            np.ones(robot.num_joints))
    changed = replay(backend, clips, starts, DeltaActionTransform(some, starts.size))
    assert np.abs(changed.joint_pos - vanilla.joint_pos).max() > 1e-4
    # Replaying in the recording's own dynamics reproduces it; the nominal simulator does not.
    kinematics = BodyKinematics(robot)
    real = recorded(clips, starts)
    gap = errors(kinematics, vanilla, real)['g_mpjpe_mm'].mean()
    backend.set_dynamics(np.arange(starts.size), {'motor_strength': 0.8})
    matched = errors(kinematics, replay(backend, clips, starts), real)['g_mpjpe_mm'].mean()
    backend.close()
    assert matched < 0.1 * gap, (matched, gap)


def test_delta_scale_is_identical_in_training_and_finetuning(quadruped_clips, tmp_path):
    robot = load_robot('quadruped')
    config = DeltaConfig(robot='quadruped', sim=SIM, num_envs=4, delta_scale=0.5,
                         max_iterations=1, ppo=PpoConfig(num_steps_per_env=4),
                         network=NetworkConfig(actor_hidden_dims=(16,),
                                               critic_hidden_dims=(16,)))
    fit_delta_action(config, quadruped_clips, tmp_path / 'model')
    model = DeltaActionModel.load(tmp_path / 'model', robot)
    assert model.delta_scale == 0.5

    # Training: the delta-action environment adds its offset to the recorded targets.
    env = DeltaActionEnv(config, quadruped_clips)
    state = env.state
    rows = env.start_rows + env.episode_steps
    recorded_targets = quadruped_clips.targets[rows]
    delta = model(env.observations['policy'])
    assert np.abs(delta).max() > 1e-3
    env.step(delta)
    training_offset = env.last_targets - recorded_targets
    # Fine-tuning: the frozen model as the task's action transform, on the same state.
    transform = DeltaActionTransform(model, env.num_envs)
    finetune_offset = transform(state, recorded_targets) - recorded_targets
    np.testing.assert_allclose(finetune_offset, training_offset, rtol=0, atol=1e-12)
    np.testing.assert_allclose(training_offset, 0.5 * robot.action_scale * delta, atol=1e-12)

    # The hook inside the velocity task: the backend receives policy targets + offset.
    task = VelocityTrackingEnv(VelocityTaskConfig(robot='quadruped', num_envs=2, sim=SIM))
    sent = []
    step = task.backend.step
    task.backend.step = lambda targets: (sent.append(targets.copy()), step(targets))[1]
    hook = DeltaActionTransform(model, 2)
    task.set_action_transform(hook)
    before = task.state
    actions = np.full((2, robot.num_joints), 0.3)
    policy_targets = robot.default_joint_pos + robot.action_scale * actions
    expected = DeltaActionTransform(model, 2)(before, policy_targets)
    task.step(actions)
    np.testing.assert_allclose(sent[0], expected, atol=1e-12)
    assert np.abs(sent[0] - policy_targets).max() > 1e-4


def test_delta_action_ppo_recovers_a_known_action_offset(tmp_path):
    robot = load_robot('arm')
    offset = np.zeros(robot.num_joints)
    offset[3] = 1.0 * robot.action_scale[3]  # the "real" arm adds one action unit on joint_4
    clips = make_clip_set(record('arm', 150, offset=offset), horizon=10)
    zero_tracking = {f.name: 0.0 for f in dataclasses.fields(DeltaRewardWeights)}
    config = DeltaConfig(
        robot='arm', sim=SIM, horizon_s=0.2, delta_joints=('joint_4',), num_envs=64,
        rewards=DeltaRewardWeights(**{**zero_tracking, 'joint_pos': 1.0, 'action_norm': -0.01}),
        sigmas=DeltaRewardSigmas(joint_pos=1e-4), ppo=PpoConfig(num_steps_per_env=10),
        network=NetworkConfig(actor_hidden_dims=(32, 32), critic_hidden_dims=(32, 32),
                              init_noise_std=0.5),
        max_iterations=30, save_interval=1000)
    model = fit_delta_action(config, clips, tmp_path / 'arm')
    delta = model(DeltaActionEnv(config, clips).observations['policy'])
    assert abs(delta[:, 3].mean() - 1.0) < 0.2
    assert np.all(np.delete(delta, 3, axis=1) == 0.0)


def test_sysid_recovers_a_known_parameter():
    clips = make_clip_set(record('arm', 120, dynamics={'kp_scale': 0.75}), horizon=25)
    config = DeltaConfig(robot='arm', sim=SIM, horizon_s=0.5, clip_stride_s=0.2,
                         sysid=SysIdConfig(parameters={'kp_scale': [0.4, 1.5]},
                                           max_iterations=10, population=6, max_clips=8))
    result = fit_sysid(config, clips)
    assert abs(result['parameters']['kp_scale'] - 0.75) < 0.02
    assert result['objective'] < 0.1 * result['nominal_objective']


def test_cli_fits_every_method_and_evaluates_them_open_loop(tmp_path, capsys):
    """``robot-learning delta fit`` then ``delta evaluate`` on trajectory files (tiny budgets)."""
    import json

    from robot_learning.cli.main import main
    paths = []
    for index, trajectory in enumerate(record('quadruped', 40, dynamics={'motor_strength': 0.8},
                                              seed=3)):
        paths.append(str(trajectory.save(tmp_path / f'rec{index}.npz')))
    small = ['horizon_s=0.2', 'eval_horizons_s=[0.1,0.2]', 'num_envs=16', 'max_iterations=2',
             'network.actor_hidden_dims=[32]', 'network.critic_hidden_dims=[32]',
             'sysid.max_iterations=1', 'sysid.population=3', 'sysid.max_clips=4',
             'delta_dynamics.iterations=3', 'delta_dynamics.batch_clips=8',
             'delta_dynamics.hidden_dims=[16]', 'sim.num_threads=1']
    models = tmp_path / 'models'
    assert main(['delta', 'fit', *small, '--clips', *paths[:1], '--output', str(models)]) == 0
    assert (models / 'asap' / 'delta.pt').is_file() and (models / 'sysid.yaml').is_file()
    assert (models / 'delta_dynamics' / 'delta_dynamics.pt').is_file()
    assert main(['delta', 'evaluate', *small, '--clips', paths[1], '--models', str(models),
                 '--output', str(tmp_path / 'open_loop')]) == 0
    report = json.loads((tmp_path / 'open_loop' / 'report.json').read_text())
    assert set(report['methods']) == {'vanilla', 'sysid', 'delta_dynamics', 'asap'}
    for rows in report['methods'].values():
        assert all(np.isfinite(row['g_mpjpe_mm']) for row in rows.values())
    # pi_delta's |offset| and |a| on the recordings (finetune.yaml has them on the rollouts).
    assert report['asap_inputs']['samples'] == report['clips'] * report['horizon_steps']
    assert np.isfinite(report['asap_inputs']['offset_abs_mean_rad'])
    # A recording whose joints do not match the robot is refused, naming the file.
    assert main(['delta', 'fit', *small, '--config', 'config/delta/humanoid.yaml',
                 '--clips', paths[0], '--output', str(tmp_path / 'wrong')]) == 2
    error = capsys.readouterr().err
    assert 'rec0.npz' in error and 'joint' in error, error
