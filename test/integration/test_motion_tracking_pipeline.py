# SPDX-License-Identifier: Apache-2.0
"""Motion tracking end to end: PPO smoke run, bundle export, evaluation, ROS 2 clip round trip.

A two-iteration run on a one-second motion exports a bundle whose contract names the motion,
and the bundle is scored in simulation. The shipped bundle is deployed over real DDS (sim
bridge on the PyBullet humanoid, recorder, policy node playing the kick) on domain 70; the bag
reads back with rosbags, the clip holds exactly the commands the node sent, and those are the
bundle's actions on the training path's observations of the recorded states.
"""

from __future__ import annotations

import numpy as np
import pytest

from robot_learning.cli.main import main
from robot_learning.config import load_config
from robot_learning.data.bag_io import bag_info, read_messages
from robot_learning.data.trajectory import Trajectory
from robot_learning.evaluation.bundle import evaluate_bundle
from robot_learning.evaluation.setup import EvaluationConfig
from robot_learning.motions.library import motion_inputs, MotionLibrary
from robot_learning.motions.motion import read_motion
from robot_learning.motions.motions import make_motion
from robot_learning.paths import share_dir
from robot_learning.policies.contract import load_contract
from robot_learning.policies.export import export_bundle
from robot_learning.policies.runtime import PolicyRuntime
from robot_learning.rl.train_config import TrainConfig
from robot_learning.rl.training import train
from robot_learning.robots.registry import load_robot
from robot_learning.tasks.motion_tracking import MotionTrackingEnv
from robot_learning.tasks.observations import ObservationInputs

DOMAIN_ID = 70


@pytest.fixture(scope='module')
def bundle(tmp_path_factory):
    folder = tmp_path_factory.mktemp('motion_pipeline')
    motion = make_motion(load_robot('humanoid'), 'wave',
                         [(0.0, {}), (0.5, {'left_shoulder_roll': 0.4}), (1.0, {})])
    path = motion.save(folder / 'wave.npz')
    config = load_config(TrainConfig, 'config/train/humanoid_motion.yaml', [
        f'task.motions=[{path}]', 'task.num_envs=4', 'ppo.num_steps_per_env=8',
        'network.actor_hidden_dims=[32]', 'network.critic_hidden_dims=[32]',
        'max_iterations=2', 'save_interval=1', f'run_dir={folder / "run"}'])
    train(config)
    return export_bundle(folder / 'run', folder / 'bundle'), path


def test_the_exported_contract_names_the_motion_and_the_phase_terms(bundle):
    folder, motion = bundle
    contract = load_contract(folder)
    # The bundle carries its motion: named by its stem, stored as a file of the bundle.
    assert contract.motions == ('wave',)
    (copy,) = contract.motion_paths(folder)
    assert copy == folder / 'motions' / 'wave.npz'
    np.testing.assert_array_equal(read_motion(copy).joint_pos, read_motion(motion).joint_pos)
    assert contract.task == 'motion_tracking'
    names = [term.name for term in contract.observations]
    assert names[-2:] == ['motion_phase', 'reference_joint_pos']
    assert contract.observation_dim == 3 + 3 + 21 * 3 + 1 + 21
    assert contract.command_ranges == {}
    # The bundle reproduces the environment's own observation of a motion-tracking state.
    runtime = PolicyRuntime(folder)
    config = load_config(TrainConfig, folder.parent / 'run' / 'config.yaml')
    env = MotionTrackingEnv(config.task)
    np.testing.assert_array_equal(runtime.observe(env.observation_inputs(env.state)),
                                  env.observations['critic'])


def test_evaluation_scores_every_motion(bundle):
    folder, _ = bundle
    report = evaluate_bundle(folder, EvaluationConfig())
    metrics = report['motions']['wave']
    assert set(metrics) == {'success', 'max_body_distance_m', 'e_g_mpjpe_mm', 'e_mpjpe_mm',
                            'e_vel_mm', 'e_acc_mm', 'joint_error_rad'}
    assert 0.0 < metrics['e_g_mpjpe_mm'] < 2000.0
    assert metrics['success'] == float(metrics['max_body_distance_m'] <= 0.5)


@pytest.mark.ros
def test_the_shipped_policy_over_ros_records_a_clip_that_round_trips(tmp_path):
    from robot_learning.ros.motion_clips import collect_motion_clips
    bundle = share_dir() / 'policies' / 'humanoid_motion'
    report = collect_motion_clips(bundle, 'humanoid_pybullet_nominal', tmp_path,
                                  motions=('kick',), domain_id=DOMAIN_ID)
    (clip,) = report['clips']
    trajectory = Trajectory.load(clip['path'])
    assert len(trajectory) == 161  # the 3.2 s kick at 50 Hz, both ends
    np.testing.assert_allclose(np.diff(trajectory.time), 0.02, atol=1e-9)
    assert not trajectory.missing
    # The clip starts at the first policy command, in the motion's first frame (standing).
    np.testing.assert_allclose(trajectory.base_pos[0], [0.0, 0.0, 0.768], atol=0.02)
    assert report['per_clip']['kick_0']['success'] == 1.0  # on PyBullet, never trained there
    info = bag_info(clip['bag'])
    counts = {name: topic.message_count for name, topic in info.topics.items()}
    for topic in ('/joint_states', '/imu/data', '/odom', '/joint_commands'):
        assert counts.get(topic, 0) >= 161, (topic, counts)
    sent = np.array([message.message.data for message in
                     read_messages(clip['bag'], ['/joint_commands'])])
    # Every action of the clip is one of the commands the policy node published.
    distance = np.abs(trajectory.actions[:, None, :] - sent[None, :, :]).max(axis=2)
    assert np.all(distance.min(axis=1) < 1e-12)
    # The node built the training path's observation at every step: the bundle fed with the
    # recorded states, the phase of (steps since activation) * dt and its own last action
    # gives exactly the targets sent (after the node's clamp to the limits - 0.1 rad margin).
    runtime = PolicyRuntime(bundle)
    robot = load_robot('humanoid')
    library = MotionLibrary.load(runtime.contract.motions, robot)
    last_action = np.zeros((1, 21))
    for step in range(len(trajectory)):
        phase, reference = motion_inputs(library, np.array([library.index('kick')]),
                                         np.array([step * 0.02]))
        row = slice(step, step + 1)
        inputs = ObservationInputs(
            base_quat=trajectory.base_quat[row], base_lin_vel=trajectory.base_lin_vel[row],
            base_ang_vel=trajectory.base_ang_vel[row], joint_pos=trajectory.joint_pos[row],
            joint_vel=trajectory.joint_vel[row], default_joint_pos=robot.default_joint_pos,
            command=np.zeros((1, 3)), last_action=last_action, motion_phase=phase,
            reference_joint_pos=reference)
        last_action = runtime.act(runtime.observe(inputs))
        target = np.clip(runtime.targets(last_action)[0], robot.position_lower + 0.1,
                         robot.position_upper - 0.1)
        np.testing.assert_allclose(target, trajectory.actions[step], atol=1e-9, err_msg=step)
    # The same clip from the bag alone, as from a robot's recording (CLI, no ROS needed).
    output = tmp_path / 'from_bag.npz'
    assert main(['motion', 'clip', clip['bag'], '--bundle', str(bundle), '--motion', 'kick',
                 '--output', str(output)]) == 0
    again = Trajectory.load(output)
    np.testing.assert_array_equal(again.actions, trajectory.actions)
    np.testing.assert_array_equal(again.base_pos, trajectory.base_pos)
    assert main(['motion', 'clip', str(tmp_path / 'nothing'), '--bundle', str(bundle),
                 '--output', str(output)]) == 2
