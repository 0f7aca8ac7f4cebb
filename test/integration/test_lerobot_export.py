# SPDX-License-Identifier: Apache-2.0
"""``bag export --format lerobot``: a rosbag2 bag -> a LeRobot v3.0 dataset, read back by LeRobot.

The synthetic recording: ``/joint_states`` every 25 ms (40 Hz) with header stamps from sim time
10 s, joints published as (knee, gripper, hip); ``/joint_commands`` (contract order: hip, knee)
right after each state, holding the state's index m as [m, -m]; ``/cmd_vel`` at m = 0 and m = 30.
States and commands m = 21..27 are missing: a 0.2 s gap. Exported at 50 Hz (20 ms) with
``max_gap`` 0.05 s, the grid times 0.02 n fall between samples (linear interpolation), and the
gap splits the data into two episodes: 0.0-0.5 s and 0.7-1.2 s after t0, 0.5 s * 50 Hz + 1 = 26
frames each.

hip position is t^2 (t after t0) and knee -1 + 2t, so at 0.72 s (episode 1, frame 1), between
the samples at 0.700 and 0.725 s (weight 0.8), hip is 0.49 + 0.8 * (0.525625 - 0.49) = 0.5185
(not t^2 = 0.5184: linear interpolation), knee is 0.44. The command held during the frame is the
last one stamped before the next grid time 0.74 s: m = 29 (0.725 s).
"""

from __future__ import annotations

import argparse
import importlib
import json
import pathlib

import numpy as np
import pytest

from robot_learning.cli.bag_commands import add_bag_parser
from robot_learning.data import bag_io
from robot_learning.data.bag_export import BagExportError
from robot_learning.data.lerobot_export import export_lerobot, lerobot_dataset_class
from robot_learning.policies.contract import PolicyContract, save_contract
from robot_learning.tasks.observations import ObservationTerm

JOINTS = ('hip', 'knee')
"""Contract joint order."""
PUBLISHED = ('knee', 'gripper', 'hip')
SAMPLE_NS = 25_000_000
SAMPLES = 49
"""m = 0..48: 0 to 1.2 s after t0."""
MISSING = range(21, 28)
SIM_START_NS = 10 * 10**9
WALL_START_NS = 1_750_000_000 * 10**9
DT = 0.02
MAX_GAP = 0.05
TYPES = bag_io.typestore().types


@pytest.fixture(scope='module', autouse=True)
def offline_hub(tmp_path_factory):
    """Keep Hugging Face libraries off the network and their caches in a temporary folder."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv('HF_HUB_OFFLINE', '1')
        patch.setenv('HF_HOME', str(tmp_path_factory.mktemp('hf_home')))
        yield


def _joint_state(stamp_ns: int, t: float):
    values = {'hip': (t * t, 2 * t), 'knee': (-1 + 2 * t, 2.0), 'gripper': (0.04, 0.0)}
    return TYPES['sensor_msgs/msg/JointState'](
        header=TYPES['std_msgs/msg/Header'](
            stamp=TYPES['builtin_interfaces/msg/Time'](sec=stamp_ns // 10**9,
                                                       nanosec=stamp_ns % 10**9),
            frame_id=''),
        name=list(PUBLISHED), position=np.array([values[name][0] for name in PUBLISHED]),
        velocity=np.array([values[name][1] for name in PUBLISHED]), effort=np.zeros(3))


def _command(m: int):
    layout = TYPES['std_msgs/msg/MultiArrayLayout'](dim=[], data_offset=0)
    return TYPES['std_msgs/msg/Float64MultiArray'](layout=layout, data=np.array([m, -m], float))


def _twist(vx: float, yaw_rate: float):
    vector = TYPES['geometry_msgs/msg/Vector3']
    return TYPES['geometry_msgs/msg/Twist'](linear=vector(x=vx, y=0.0, z=0.0),
                                            angular=vector(x=0.0, y=0.0, z=yaw_rate))


def _write_bag(path: pathlib.Path, commands: bool = True, backwards_at: int | None = None):
    """Write the recording (module docstring); ``backwards_at``: that stamp goes back 1 s."""
    with bag_io.BagWriter(path) as bag:
        bag.add_topic('/joint_states', 'sensor_msgs/msg/JointState')
        bag.add_topic('/cmd_vel', 'geometry_msgs/msg/Twist')
        if commands:
            bag.add_topic('/joint_commands', 'std_msgs/msg/Float64MultiArray')
        for m in range(SAMPLES):
            if m in MISSING:
                continue
            stamp = SIM_START_NS + m * SAMPLE_NS - (10**9 if m == backwards_at else 0)
            wall = WALL_START_NS + m * SAMPLE_NS
            bag.write_message('/joint_states', wall, _joint_state(stamp, m * SAMPLE_NS * 1e-9))
            if m in (0, 30):
                bag.write_message('/cmd_vel', wall + 500_000, _twist(0.3 if m == 0 else 0.5, 0.1))
            if commands:
                bag.write_message('/joint_commands', wall + 1_000_000, _command(m))


def test_bag_exports_to_a_lerobot_dataset_that_lerobot_reads_back(tmp_path):
    _write_bag(tmp_path / 'run')
    report = export_lerobot(tmp_path / 'run', tmp_path / 'dataset', JOINTS, DT, robot='leg',
                            task='walk', repo_id='local/leg', max_gap=MAX_GAP)
    assert [episode['frames'] for episode in report['lerobot']['episodes']] == [26, 26]
    assert [episode['start_s'] for episode in report['lerobot']['episodes']] == \
        pytest.approx([0.0, 0.7])

    dataset = lerobot_dataset_class()('local/leg', root=tmp_path / 'dataset')
    assert dataset.fps == 50 and dataset.num_episodes == 2 and dataset.num_frames == 52
    assert list(dataset.meta.episodes['length']) == [26, 26]
    assert dataset.meta.robot_type == 'leg'
    assert dataset.meta.features['observation.state']['names'] == [
        'hip.pos', 'knee.pos', 'hip.vel', 'knee.vel']
    assert dataset.meta.features['action']['names'] == ['hip.pos', 'knee.pos']
    assert dataset.meta.features['observation.velocity_command']['names'] == [
        'vx', 'vy', 'yaw_rate']

    frame = dataset[26 + 1]  # episode 1, frame 1: 0.72 s after t0
    assert int(frame['episode_index']) == 1 and int(frame['frame_index']) == 1
    assert float(frame['timestamp']) == pytest.approx(DT)
    assert frame['task'] == 'walk'
    np.testing.assert_allclose(frame['observation.state'].numpy(),
                               [0.5185, 0.44, 1.44, 2.0], rtol=1e-6)
    np.testing.assert_array_equal(frame['action'].numpy(), [29.0, -29.0])
    np.testing.assert_allclose(frame['observation.velocity_command'].numpy(), [0.3, 0.0, 0.1],
                               rtol=1e-6)
    # 0.76 s: the /cmd_vel of m = 30 (0.75 s) is in effect.
    np.testing.assert_allclose(dataset[26 + 3]['observation.velocity_command'].numpy(),
                               [0.5, 0.0, 0.1], rtol=1e-6)
    first, last = dataset[0], dataset[25]  # episode 0 runs from 0.0 to 0.5 s
    np.testing.assert_allclose(first['observation.state'].numpy(), [0.0, -1.0, 0.0, 2.0])
    np.testing.assert_allclose(last['observation.state'].numpy(), [0.25, 0.0, 1.0, 2.0])
    np.testing.assert_array_equal(last['action'].numpy(), [20.0, -20.0])
    assert float(last['timestamp']) == pytest.approx(25 * DT)


def test_lerobot_export_errors_name_the_problem(tmp_path):
    _write_bag(tmp_path / 'run')
    (tmp_path / 'taken').mkdir()
    with pytest.raises(FileExistsError, match='taken: exists already'):
        export_lerobot(tmp_path / 'run', tmp_path / 'taken', JOINTS, DT, max_gap=MAX_GAP)
    with pytest.raises(BagExportError, match='ankle'):
        export_lerobot(tmp_path / 'run', tmp_path / 'out', (*JOINTS, 'ankle'), DT,
                       max_gap=MAX_GAP)
    with pytest.raises(ValueError, match='integer frame rate'):
        export_lerobot(tmp_path / 'run', tmp_path / 'out', JOINTS, 0.03, max_gap=MAX_GAP)
    with pytest.raises(ValueError, match='must exceed the control period'):
        export_lerobot(tmp_path / 'run', tmp_path / 'out', JOINTS, DT, max_gap=0.01)

    _write_bag(tmp_path / 'no_commands', commands=False)
    with pytest.raises(BagExportError, match='no joint targets .* /joint_commands'):
        export_lerobot(tmp_path / 'no_commands', tmp_path / 'out', JOINTS, DT, max_gap=MAX_GAP)
    _write_bag(tmp_path / 'backwards', backwards_at=10)
    with pytest.raises(BagExportError, match='/joint_states go backwards 1 time'):
        export_lerobot(tmp_path / 'backwards', tmp_path / 'out', JOINTS, DT, max_gap=MAX_GAP)
    with bag_io.BagWriter(tmp_path / 'empty') as bag:
        bag.add_topic('/joint_states', 'sensor_msgs/msg/JointState')
    with pytest.raises(BagExportError, match='empty'):
        export_lerobot(tmp_path / 'empty', tmp_path / 'out', JOINTS, DT)
    with bag_io.BagWriter(tmp_path / 'only_cmd_vel') as bag:
        bag.add_topic('/cmd_vel', 'geometry_msgs/msg/Twist')
        bag.write_message('/cmd_vel', WALL_START_NS, _twist(0.1, 0.0))
    with pytest.raises(BagExportError, match='no messages on /joint_states'):
        export_lerobot(tmp_path / 'only_cmd_vel', tmp_path / 'out', JOINTS, DT)
    assert not (tmp_path / 'out').exists()


def _run_cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    add_bag_parser(parser.add_subparsers(dest='command', required=True))
    args = parser.parse_args(argv)
    module_name, function_name = args.handler.split(':')
    return getattr(importlib.import_module(module_name), function_name)(args)


def test_bag_export_format_lerobot_command(tmp_path):
    _write_bag(tmp_path / 'run')
    count = len(JOINTS)
    contract = PolicyContract(
        task='velocity_tracking', robot='leg', robot_class='quadruped', floating_base=True,
        joint_names=JOINTS, observations=(ObservationTerm('joint_pos_rel'),),
        observation_dim=count, clip_observations=100.0, action_scale=(0.25,) * count,
        default_joint_pos=(0.0,) * count, position_lower=(-3.0,) * count,
        position_upper=(3.0,) * count, velocity_limit=(20.0,) * count, clip_actions=100.0,
        kp=(20.0,) * count, kd=(0.5,) * count, effort_limit=(30.0,) * count, control_dt=0.01,
        sim_dt=0.005)
    (tmp_path / 'bundle').mkdir()
    save_contract(contract, tmp_path / 'bundle')
    output = tmp_path / 'datasets' / 'leg'
    assert _run_cli(['bag', 'export', str(tmp_path / 'run'), '--contract',
                     str(tmp_path / 'bundle'), '--output', str(output), '--format', 'lerobot',
                     '--rate', '50', '--max-gap', str(MAX_GAP)]) == 0
    dataset = lerobot_dataset_class()('local/leg', root=output)
    assert dataset.fps == 50 and list(dataset.meta.episodes['length']) == [26, 26]
    assert dataset[0]['task'] == 'velocity_tracking'
    report = json.loads((tmp_path / 'datasets' / 'leg.report.json').read_text())
    assert report['outputs'] == [str(output)] and report['lerobot']['fps'] == 50
    assert [segment['steps'] for segment in report['segments']] == [26, 26]
    with pytest.raises(FileExistsError, match='exists already'):
        _run_cli(['bag', 'export', str(tmp_path / 'run'), '--contract',
                  str(tmp_path / 'bundle'), '--output', str(output), '--format', 'lerobot',
                  '--rate', '50', '--max-gap', str(MAX_GAP)])
