# SPDX-License-Identifier: Apache-2.0
"""CCIL demonstrations: .npz and rosbag2 round trips, transitions, bad input errors."""

import numpy as np
import pytest

from robot_learning.ccil.demonstrations import (DemonstrationError, Demonstrations,
                                                from_trajectory, load_demonstrations,
                                                save_demonstrations)
from robot_learning.config import ConfigError
from robot_learning.data import bag_io
from robot_learning.data.bag_export import export_bag
from robot_learning.robots.registry import load_robot

TYPES = bag_io.typestore().types


def _demos(**changes) -> Demonstrations:
    rng = np.random.default_rng(0)
    fields = {'states': (rng.normal(size=(5, 3)), rng.normal(size=(4, 3))),
              'actions': (rng.normal(size=(5, 2)), rng.normal(size=(4, 2))),
              'robot': 'arm', 'control_dt': 0.02, 'source': 'test.npz'}
    fields.update(changes)
    return Demonstrations(**fields)


def test_transitions_stay_inside_each_trajectory():
    demos = _demos()
    states, actions, following = demos.transitions()
    assert states.shape == (7, 3) and actions.shape == (7, 2)  # (5 - 1) + (4 - 1)
    np.testing.assert_array_equal(following[3], demos.states[0][4])
    np.testing.assert_array_equal(states[4], demos.states[1][0])
    np.testing.assert_array_equal(following[4], demos.states[1][1])


def test_npz_round_trip(tmp_path):
    demos = _demos()
    loaded = load_demonstrations(save_demonstrations(demos, tmp_path / 'demos.npz'))
    assert loaded.num_trajectories == 2 and loaded.robot == 'arm'
    for a, b in zip(loaded.states + loaded.actions, demos.states + demos.actions):
        np.testing.assert_array_equal(a, b)


def test_mismatched_state_and_action_lengths_are_refused():
    rng = np.random.default_rng(1)
    demos = _demos(states=(rng.normal(size=(5, 3)),), actions=(rng.normal(size=(6, 2)),))
    with pytest.raises(DemonstrationError, match=r'test.npz: trajectory 0: 5 states but 6 '):
        demos.validate()


def test_nan_is_refused_with_its_position():
    states = np.ones((5, 3))
    states[3, 2] = np.nan
    demos = _demos(states=(states,), actions=(np.ones((5, 2)),))
    with pytest.raises(DemonstrationError, match=r'non-finite states, the first at sample 3 '
                                                 r'\(t=0.060 s\), column 2'):
        demos.validate()


def test_a_single_sample_trajectory_is_too_short():
    demos = _demos(states=(np.ones((1, 3)),), actions=(np.ones((1, 2)),))
    with pytest.raises(DemonstrationError, match='1 sample.*at least 2'):
        demos.validate()


def test_an_unknown_robot_is_refused():
    with pytest.raises(ConfigError, match="unknown robot 'robo_dog'; registered robots: .*arm"):
        _demos(robot='robo_dog').validate()


def test_a_trajectory_file_is_not_taken_for_demonstrations(tmp_path):
    path = tmp_path / 'other.npz'
    np.savez(path, joint_pos=np.zeros((3, 2)))
    with pytest.raises(DemonstrationError, match='other.npz: not a demonstration file'):
        load_demonstrations(path)


def test_rosbag_round_trip_gives_the_recorded_states_and_targets(tmp_path):
    """Write joint states and commands to a real MCAP bag, export it, build demonstrations."""
    robot = load_robot('arm')
    joints = robot.joint_names
    dt_ns, steps = 20_000_000, 40
    t = np.arange(steps) * 0.02
    position = 0.1 * np.sin(t[:, None] + np.arange(7))
    velocity = 0.1 * np.cos(t[:, None] + np.arange(7))
    targets = robot.default_joint_pos + 0.05 * np.sin(2 * t[:, None] + np.arange(7))
    with bag_io.BagWriter(tmp_path / 'bag') as bag:
        bag.add_topic('/joint_states', 'sensor_msgs/msg/JointState')
        bag.add_topic('/joint_commands', 'std_msgs/msg/Float64MultiArray')
        for k in range(steps):
            stamp = 10 ** 9 + k * dt_ns
            header = TYPES['std_msgs/msg/Header'](
                stamp=TYPES['builtin_interfaces/msg/Time'](sec=stamp // 10 ** 9,
                                                           nanosec=stamp % 10 ** 9),
                frame_id='')
            bag.write_message('/joint_states', stamp, TYPES['sensor_msgs/msg/JointState'](
                header=header, name=list(joints), position=position[k], velocity=velocity[k],
                effort=np.zeros(7)))
            layout = TYPES['std_msgs/msg/MultiArrayLayout'](dim=[], data_offset=0)
            bag.write_message('/joint_commands', stamp + 1_000_000,
                              TYPES['std_msgs/msg/Float64MultiArray'](layout=layout,
                                                                      data=targets[k]))
    segments, _ = export_bag(tmp_path / 'bag', joints, 0.02, robot='arm', on_gap='split')
    path = segments[0].save(tmp_path / 'trajectory.npz')
    from robot_learning.data.trajectory import load_trajectory
    demos = from_trajectory([load_trajectory(path)])
    assert demos.robot == 'arm' and demos.state_dim == 14 and demos.action_dim == 7
    count = len(demos.states[0])
    assert count >= steps - 2
    first = int(round((segments[0].time[0] - 1.0) / 0.02))
    np.testing.assert_allclose(demos.states[0][:, :7], position[first:first + count], atol=1e-9)
    np.testing.assert_allclose(demos.states[0][:, 7:], velocity[first:first + count], atol=1e-9)
    np.testing.assert_allclose(demos.actions[0], targets[first:first + count], atol=1e-9)


def test_with_a_contract_states_are_observations_and_actions_raw_policy_actions():
    from robot_learning.data.trajectory import Trajectory
    from robot_learning.paths import share_dir
    from robot_learning.policies.contract import load_contract
    contract = load_contract(share_dir() / 'policies' / 'quadruped_flat')
    rng = np.random.default_rng(2)
    steps, joints = 6, contract.num_joints
    default = np.asarray(contract.default_joint_pos)
    raw = rng.normal(size=(steps, joints))
    trajectory = Trajectory(
        time=np.arange(steps) * contract.control_dt, joint_pos=default + 0.1 * raw,
        joint_vel=rng.normal(size=(steps, joints)), joint_effort=np.zeros((steps, joints)),
        base_pos=np.zeros((steps, 3)), base_quat=np.tile([1.0, 0, 0, 0], (steps, 1)),
        base_lin_vel=np.tile([0.4, 0.0, 0.0], (steps, 1)), base_ang_vel=np.zeros((steps, 3)),
        actions=default + 0.25 * raw, commands=np.tile([0.5, 0.0, 0.1], (steps, 1)),
        robot='quadruped', joint_names=contract.joint_names, control_dt=contract.control_dt,
        source='bag:run1')
    demos = from_trajectory([trajectory], contract)
    states = demos.states[0]
    np.testing.assert_allclose(demos.actions[0], raw, atol=1e-12)  # (target - default) / 0.25
    np.testing.assert_allclose(states[:, 0:3], [[0.8, 0.0, 0.0]] * steps, atol=1e-6)  # 2 v
    np.testing.assert_allclose(states[:, 6:9], [[0.0, 0.0, -1.0]] * steps, atol=1e-6)
    np.testing.assert_allclose(states[:, 9:12], [[1.0, 0.0, 0.025]] * steps, atol=1e-6)
    np.testing.assert_allclose(states[:, 12:24], 0.1 * raw, atol=1e-6)
    np.testing.assert_allclose(states[1:, 36:48], raw[:-1], atol=1e-6)  # last_action
    np.testing.assert_allclose(states[0, 36:48], 0.0)
    missing = Trajectory(**{**{f: getattr(trajectory, f) for f in (
        'time', 'joint_pos', 'joint_vel', 'joint_effort', 'base_pos', 'base_quat',
        'base_ang_vel', 'actions', 'commands')}, 'base_lin_vel': np.full((steps, 3), np.nan)},
        robot='quadruped', joint_names=contract.joint_names, control_dt=contract.control_dt,
        source='bag:run2', missing=('base_lin_vel',))
    with pytest.raises(DemonstrationError, match=r'bag:run2: the recording has no '
                                                 r"\['base_lin_vel'\]"):
        from_trajectory([missing], contract)
