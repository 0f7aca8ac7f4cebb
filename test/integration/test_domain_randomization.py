# SPDX-License-Identifier: Apache-2.0
"""Domain randomization through the real training loop and the transfer evaluation.

Real MuJoCo and PyBullet, the shipped policy; small and short.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
import yaml

from robot_learning.cli.main import main
from robot_learning.config import ConfigError, load_config
from robot_learning.domain_randomization.schedule import read_history
from robot_learning.evaluation.transfer import evaluate_transfer, heatmap_values, TransferConfig
from robot_learning.paths import share_dir
from robot_learning.rl.runner import latest_checkpoint
from robot_learning.rl.train_config import TrainConfig

DR_CONFIG = str(share_dir() / 'config' / 'train' / 'quadruped_dr.yaml')
SHIPPED = str(share_dir() / 'policies' / 'quadruped_flat')
SMALL = ['task.num_envs=16', 'ppo.num_steps_per_env=8', 'save_interval=1',
         'network.actor_hidden_dims=[32, 32]', 'network.critic_hidden_dims=[32, 32]',
         'task.episode_length_s=0.4', 'randomization.update_every_steps=128']


@pytest.mark.parametrize('method', ['adr', 'doraemon'])
def test_training_updates_the_distribution_and_resume_restores_it(tmp_path, method):
    run_dir = tmp_path / method
    args = ['train', '--config', DR_CONFIG, *SMALL, f'randomization.method={method}',
            'randomization.doraemon.success_rate=0.01', 'task.success_speed_error=100',
            f'run_dir={run_dir}']
    assert main([*args, 'max_iterations=3']) == 0
    history = read_history(run_dir)
    # 16 envs x 8 steps = 128 steps per iteration: one update per iteration, with the
    # 20-step episodes that finished in it.
    assert [row['iteration'] for row in history] == [0, 1, 2]
    assert all(row['method'] == method for row in history)
    assert sum(row['episodes'] for row in history) > 0
    saved = torch.load(latest_checkpoint(run_dir), weights_only=False)
    assert saved['randomization']['randomizer']['method'] == method
    assert saved['randomization']['env_steps'] == 3 * 128
    assert main([*args, 'max_iterations=4', '--resume']) == 0
    resumed = read_history(run_dir)
    # The resume starts at the iteration after the checkpoint's; the step counter continues
    # from the checkpoint.
    assert [row['iteration'] for row in resumed] == [0, 1, 2, 3]
    assert [row['env_steps'] for row in resumed] == [128, 256, 384, 512]
    assert main(['export', str(run_dir), '--output', str(tmp_path / 'bundle')]) == 0
    if method == 'doraemon':
        # Success = no fall within 0.4 s: alpha = 0.01 is reached at once, and every update
        # with episodes is an entropy step.
        entropies = [row['entropy'] for row in resumed]
        assert entropies == sorted(entropies) and entropies[-1] > entropies[0]


def test_heatmap_grid_sweeps_two_parameters_and_keeps_the_others_nominal():
    box = load_config(TrainConfig, DR_CONFIG).randomization.box()
    xs, ys, values = heatmap_values(box, ('ground_friction', 'motor_strength'), 4, 2)
    np.testing.assert_allclose(xs, [0.45, 0.75, 1.05, 1.35])  # cell centres of [0.3, 1.5]
    np.testing.assert_allclose(ys, [0.675, 0.825, 0.975, 1.125])  # of [0.6, 1.2]
    assert values.shape == (32, box.dim)
    # Row order: y-major, then x, then episode.
    np.testing.assert_allclose(values[:4, 0], [0.45, 0.45, 0.75, 0.75])
    np.testing.assert_allclose(values[:8, 3], 0.675)
    mass = box.names.index('added_base_mass')
    np.testing.assert_allclose(values[:, mass], 0.0)  # nominal
    with pytest.raises(ConfigError, match="'joint_damping' is not in the target box"):
        heatmap_values(box, ('joint_damping', 'motor_strength'), 4, 2)


def test_shipped_policy_transfers_over_a_narrow_box_and_to_pybullet(tmp_path):
    config = load_config(TrainConfig, DR_CONFIG, ['task.episode_length_s=3.0'])
    narrow = load_config(TrainConfig, DR_CONFIG, [
        'randomization.parameters={ground_friction: [0.9, 1.1], motor_strength: [0.95, 1.05]}'])
    report = evaluate_transfer(SHIPPED, config.task, narrow.randomization.box(), TransferConfig(
        episodes=8, heatmap=('ground_friction', 'motor_strength'), heatmap_cells=2,
        heatmap_episodes=1, realities=('quadruped_pybullet_nominal',), reality_episodes=4))
    metrics = report['metrics']
    dynamics = np.asarray(report['global']['dynamics'])
    assert dynamics.shape == (8, 2)
    assert np.all((dynamics[:, 0] >= 0.9) & (dynamics[:, 0] <= 1.1))
    # The shipped policy walks on nearly nominal dynamics (3 s episodes, training commands).
    assert metrics['global_success_rate'] >= 0.75
    assert metrics['global_success_rate'] == np.mean(report['global']['success'])
    assert np.asarray(report['heatmap']['success']).shape == (2, 2)
    pybullet = report['realities']['quadruped_pybullet_nominal']
    assert pybullet['backend'] == 'pybullet' and pybullet['episodes'] == 4
    assert metrics['reality/quadruped_pybullet_nominal/success_rate'] == pybullet['success_rate']


def test_bundle_of_a_matched_robot_description_runs_on_the_reality_robot(tmp_path):
    # An impedance-matched policy is trained on a robot YAML (same robot, other actuator
    # values, here the gains), and its contract carries them; on a reality it must run on the
    # reality's robot and drivers, so its results equal those of the same network with the
    # registry robot's contract.
    robot = yaml.safe_load((share_dir() / 'config/robots/quadruped.yaml').read_text())
    robot.update(kp=1000.0, urdf=str(share_dir() / 'urdf' / 'quadruped.urdf'))
    robot_yaml = tmp_path / 'matched_robot.yaml'
    robot_yaml.write_text(yaml.safe_dump(robot))
    bundle = tmp_path / 'matched_bundle'
    shutil.copytree(SHIPPED, bundle)
    contract = yaml.safe_load((bundle / 'contract.yaml').read_text())
    contract['kp'] = [1000.0] * len(contract['joint_names'])
    (bundle / 'contract.yaml').write_text(yaml.safe_dump(contract, sort_keys=False))
    transfer = TransferConfig(episodes=0, realities=('quadruped_mujoco_payload',),
                              reality_episodes=2)
    results = []
    for path, robot_name in ((SHIPPED, 'quadruped'), (str(bundle), str(robot_yaml))):
        task = load_config(TrainConfig, DR_CONFIG, ['task.episode_length_s=2.0',
                                                    f'task.robot={robot_name}']).task
        box = load_config(TrainConfig, DR_CONFIG).randomization.box()
        results.append(evaluate_transfer(path, task, box, transfer)['realities'])
    assert results[1] == results[0]
    assert results[0]['quadruped_mujoco_payload']['success_rate'] == 1.0


def test_evaluate_cli_writes_report_and_plots_and_refuses_bad_input(tmp_path, capsys):
    run_dir = tmp_path / 'run'
    assert main(['train', '--config', DR_CONFIG, *SMALL, 'max_iterations=2',
                 f'run_dir={run_dir}']) == 0
    output = tmp_path / 'eval'
    assert main(['evaluate', SHIPPED, '--target', DR_CONFIG, '--episodes', '2',
                 '--heatmap', 'ground_friction', 'action_latency', '--cells', '2',
                 '--cell-episodes', '1', '--training-runs', str(run_dir),
                 '--output', str(output)]) == 0
    report = json.loads((output / 'report.json').read_text())
    assert set(report['metrics']) == {'global_success_rate', 'global_speed_error',
                                      'global_fall_rate', 'global_target_change_mean',
                                      'heatmap_success_rate'}
    assert (output / 'heatmap.png').stat().st_size > 0
    assert (output / 'training.png').stat().st_size > 0
    assert main(['evaluate', SHIPPED, '--reality', 'quadruped_pybullet_nominal',
                 '--output', str(output)]) == 2
    assert 'need --target' in capsys.readouterr().err
    assert main(['evaluate', SHIPPED, '--target', DR_CONFIG, '--reality',
                 'arm_pybullet_nominal', '--episodes', '0', '--output', str(output)]) == 2
    assert "reality 'arm_pybullet_nominal' is a 'arm'" in capsys.readouterr().err
