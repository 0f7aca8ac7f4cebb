# SPDX-License-Identifier: Apache-2.0
"""The ASAP user path from robot bags: record over ROS 2, ``delta fit BAG``, ``delta finetune``.

The "robot" is a short sim-to-sim run over real DDS (``run_sim_to_sim``): the sim bridge as a
driver (joint states and IMU at 500 Hz best effort, with extra joints in a shuffled order and
dropped messages), the shipped quadruped policy on its timer, and the recorder node writing an
MCAP bag through ``rosbags``, as on a robot. ``robot-learning delta fit`` reads the bag folder
itself (exported at the contract's control period, split at gaps), fits pi_delta for two PPO
iterations, and ``delta finetune`` resumes a tiny pre-trained run with it for one iteration.
Bags derived from the recording (through ``bag_io``) with a topic, a joint or a stamp wrong, too
short or truncated are refused with exit code 2 and a message naming the bag and the fault.
"""

from __future__ import annotations

import os
import pathlib
import shutil
from typing import Callable

import numpy as np
import pytest
import yaml

from robot_learning.cli.main import main
from robot_learning.data.bag_io import bag_info, BagWriter, deserialize, read_messages, \
    serialize
from robot_learning.delta_action.clips import load_clips
from robot_learning.delta_action.model import DeltaActionModel
from robot_learning.paths import share_dir
from robot_learning.policies.contract import load_contract
from robot_learning.rl.runner import checkpoints
from robot_learning.robots.registry import load_robot
from robot_learning.ros.sim_to_sim import run_sim_to_sim, SimToSimConfig

pytestmark = pytest.mark.ros
DOMAIN_ID = 77
BUNDLE = share_dir() / 'policies' / 'quadruped_flat'
HORIZON_S = 0.5
SMALL = [f'horizon_s={HORIZON_S}', 'num_envs=8', 'max_iterations=2', 'ppo.num_steps_per_env=8',
         'network.actor_hidden_dims=[16]', 'network.critic_hidden_dims=[16]', 'torch_threads=1',
         'save_interval=100']
"""Delta YAML overrides: a PPO iteration of pi_delta in a fraction of a second."""
TINY_TRAIN = ['task.num_envs=8', 'ppo.num_steps_per_env=4', 'ppo.num_mini_batches=2',
              'network.actor_hidden_dims=[16]', 'network.critic_hidden_dims=[16]',
              'torch_threads=1', 'save_interval=1', 'max_iterations=1']
"""The pre-trained run: one PPO iteration of the quadruped velocity task."""


@pytest.fixture(scope='module')
def bag(tmp_path_factory) -> pathlib.Path:
    """Record the bag folder of a 3 s walk at 0.5 m/s recorded by the recorder node."""
    output = tmp_path_factory.mktemp('robot')
    run_sim_to_sim(SimToSimConfig(bundle=str(BUNDLE), output=str(output), domain_id=DOMAIN_ID,
                                  profile=((3.0, 0.5, 0.0, 0.0),)))
    return output / 'bag'


def fit(recording: pathlib.Path | str, output: pathlib.Path, *extra: str) -> int:
    """``robot-learning delta fit RECORDING <small> --contract BUNDLE --method asap``."""
    return main(['delta', 'fit', str(recording), *SMALL, *extra, '--contract', str(BUNDLE),
                 '--method', 'asap', '--output', str(output)])


def derive(source: pathlib.Path, target: pathlib.Path, storage: str = 'mcap',
           drop: tuple[str, ...] = (), edit: dict[str, Callable] | None = None,
           keep: Callable[[int], bool] | None = None) -> pathlib.Path:
    """Copy a bag through ``bag_io``, without the ``drop`` topics and messages ``keep`` refuses.

    ``edit[topic](index, message)`` changes the index-th message of ``topic`` in place; ``keep``
    gets each message's bag time [ns].
    """
    edit = edit or {}
    counts: dict[str, int] = {}
    with BagWriter(target, storage=storage) as writer:
        for name, topic in bag_info(source).topics.items():
            if name not in drop:
                writer.add_topic(name, topic.msgtype)
        for item in read_messages(source, raw=True):
            if item.topic in drop or (keep is not None and not keep(item.log_time_ns)):
                continue
            data = item.message
            if item.topic in edit:
                index = counts[item.topic] = counts.get(item.topic, -1) + 1
                message = deserialize(data, item.msgtype)
                edit[item.topic](index, message)
                data = serialize(message, item.msgtype)
            writer.write(item.topic, item.log_time_ns, data)
    return target


def test_delta_fit_reads_the_robot_bag_and_finetune_uses_the_model(bag, tmp_path, capsys):
    robot = load_robot('quadruped')
    contract = load_contract(BUNDLE)
    # The recording is what a robot driver gives: joint states at 500 Hz with joints the
    # policy does not use, in another order than the contract's.
    info = bag_info(bag)
    assert info.storage == 'mcap'
    first = next(iter(read_messages(bag, ['/joint_states']))).message
    assert 'head_pan_joint' in first.name and tuple(first.name[:12]) != contract.joint_names
    counts = {name: topic.message_count for name, topic in info.topics.items()}
    assert counts['/joint_states'] > 3 * counts['/joint_commands'] > 0, counts

    models = tmp_path / 'models'
    assert fit(bag, models) == 0
    printed = capsys.readouterr().out
    model = DeltaActionModel.load(models / 'asap', robot)
    assert model.delta_scale == 1.0
    metadata = yaml.safe_load((models / 'asap' / 'delta.yaml').read_text())
    assert all(str(bag) in source for source in metadata['sources'])

    # The clips are the recorded data: states picked by joint name at the contract's period,
    # and every target one that the policy node published.
    horizon = round(HORIZON_S / contract.control_dt)
    clips = load_clips([bag], robot, horizon, contract.control_dt)
    assert metadata['clips'] == clips.num_clips >= 50
    assert f'{clips.num_clips} clips of {horizon} steps' in printed
    states = [item.message for item in read_messages(bag, ['/joint_states'])]
    for column, joint in enumerate(contract.joint_names):
        recorded = np.array([message.position[list(message.name).index(joint)]
                             for message in states])
        values = clips.joint_pos[:, column]  # interpolated between recorded samples
        assert recorded.min() - 1e-9 <= values.min() and values.max() <= recorded.max() + 1e-9
    sent = np.array([item.message.data for item in read_messages(bag, ['/joint_commands'])])
    distance = np.abs(clips.targets[:, None, :] - sent[None, :, :]).max(axis=2)
    assert np.all(distance.min(axis=1) < 1e-12)

    # Fine-tune a tiny pre-trained run with the frozen pi_delta in the loop.
    pretrained = tmp_path / 'pretrained'
    assert main(['train', *TINY_TRAIN, f'run_dir={pretrained}']) == 0
    output, bundle = tmp_path / 'finetuned', tmp_path / 'bundle'
    assert main(['delta', 'finetune', str(pretrained), '--delta', str(models / 'asap'),
                 '--output', str(output), '--bundle', str(bundle), '--iterations', '1',
                 '--num-envs', '8']) == 0
    record = yaml.safe_load((output / 'finetune.yaml').read_text())
    assert record['delta_model'] == str(models / 'asap') and record['delta_scale'] == 1.0
    assert sorted(path.name for path in checkpoints(output)) == ['model_0.pt', 'model_1.pt']
    assert load_contract(bundle).joint_names == contract.joint_names


def test_a_sqlite3_bag_gives_the_same_clips(bag, tmp_path):
    robot = load_robot('quadruped')
    copy = derive(bag, tmp_path / 'sqlite', storage='sqlite3')
    assert bag_info(copy).storage == 'sqlite3'
    horizon = round(HORIZON_S / 0.02)
    mcap, sqlite = (load_clips([path], robot, horizon, 0.02) for path in (bag, copy))
    assert sqlite.num_clips == mcap.num_clips > 0
    for field in ('joint_pos', 'joint_vel', 'base_pos', 'base_quat', 'targets'):
        np.testing.assert_array_equal(getattr(sqlite, field), getattr(mcap, field))


def _rename_hip(index: int, message) -> None:
    message.name = ['FL_hip' if name == 'FL_hip_joint' else name for name in message.name]


def _stamp_back(index: int, message) -> None:
    if index == 400:
        total = message.header.stamp.sec * 1_000_000_000 + message.header.stamp.nanosec
        total -= 500_000_000
        message.header.stamp.sec, message.header.stamp.nanosec = divmod(total, 1_000_000_000)


def _first_command_ns(bag: pathlib.Path) -> int:
    return next(iter(read_messages(bag, ['/joint_commands']))).log_time_ns


@pytest.mark.parametrize('fault, expected', [
    ('no_odom', ['missing required topic(s) /odom', '/joint_states', '/joint_commands',
                 'nav_msgs/msg/Odometry']),
    ('no_commands', ['missing required topic(s) /joint_commands (or /joint_trajectory)']),
    ('renamed_joint', ["joint(s) ['FL_hip_joint'] of the policy are not in /joint_states"]),
    ('stamps_backwards', ['/joint_states header stamps go backwards at message 401']),
    ('too_short', ['too few samples for one clip', 'a clip needs 26']),
    ('truncated', ['cannot read the bag', 'robot-learning bag repair']),
])
def test_a_bad_bag_is_refused_naming_the_bag_and_the_fault(bag, tmp_path, capsys, fault,
                                                           expected):
    bad = tmp_path / fault
    if fault == 'no_odom':
        derive(bag, bad, drop=('/odom',))
    elif fault == 'no_commands':
        derive(bag, bad, drop=('/joint_commands',))
    elif fault == 'renamed_joint':
        derive(bag, bad, edit={'/joint_states': _rename_hip})
    elif fault == 'stamps_backwards':
        derive(bag, bad, edit={'/joint_states': _stamp_back})
    elif fault == 'too_short':
        start = _first_command_ns(bag)
        derive(bag, bad, keep=lambda stamp: start <= stamp < start + 400_000_000)
    else:
        shutil.copytree(bag, bad)
        storage = next(bad.glob('*.mcap'))
        os.truncate(storage, storage.stat().st_size // 2)
    capsys.readouterr()
    assert fit(bad, tmp_path / 'models') == 2
    error = capsys.readouterr().err
    assert str(bad) in error, error
    for text in expected:
        assert text in error, error
    assert not (tmp_path / 'models').exists()


def test_the_contract_must_be_the_aligned_robots(bag, tmp_path, capsys):
    humanoid = share_dir() / 'policies' / 'humanoid_motion'
    command = ['delta', 'fit', str(bag), *SMALL, '--contract', str(humanoid), '--output',
               str(tmp_path / 'models')]
    assert main([*command, '--config', 'config/delta/quadruped.yaml']) == 2
    error = capsys.readouterr().err
    assert "the policy ran on robot 'humanoid'" in error, error
    assert "aligns 'quadruped'; use config/delta/humanoid.yaml" in error, error
    # Without --config the contract's robot picks config/delta/humanoid.yaml; the quadruped's
    # bag then lacks the humanoid's joints.
    assert main(command) == 2
    error = capsys.readouterr().err
    assert str(bag) in error and 'of the policy are not in /joint_states' in error, error
    assert "['left_hip_pitch_joint', " in error, error
