# SPDX-License-Identifier: Apache-2.0
"""The excitation node over real DDS, recorded to a bag, read back through rosbags and fitted.

Three processes on ROS_DOMAIN_ID 68: the sim bridge (the arm reality with mismatched
actuators, fixed base), the excitation node chirping joint_4 at the bridge's 50 Hz, and the
recorder. The bag's /joint_commands and /joint_states become a recording whose low-frequency
gain is about 0 dB (the PD loop follows slow commands).
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from robot_learning.config import ConfigError
from robot_learning.impedance_matching.frf import estimate_frf
from robot_learning.impedance_matching.recording import recording_from_bag
from robot_learning.robots.registry import load_robot
from robot_learning.ros.sim_to_sim import ros_environment, start_node, stop_process

pytestmark = pytest.mark.ros


@pytest.fixture(scope='module')
def bag(tmp_path_factory):
    folder = tmp_path_factory.mktemp('excitation')
    env = ros_environment(68)
    bridge = start_node('robot_learning.ros.sim_bridge_node',
                        {'reality': 'arm_mujoco_actuator', 'duration': 40.0}, env,
                        folder / 'bridge.log')
    recorder = start_node('robot_learning.ros.recorder_node',
                          {'output': str(folder / 'bag'),
                           'topics': "['/joint_commands','/joint_states']"}, env,
                          folder / 'recorder.log')
    time.sleep(2.0)
    excitation = start_node('robot_learning.ros.excitation_node',
                            {'robot': 'arm', 'joints': "['joint_4']", 'f_start': 1.0,
                             'f_end': 8.0, 'duration': 10.0, 'rest': 1.0, 'rate': 50.0,
                             'ramp': 0.5}, env, folder / 'excitation.log')
    try:
        code = excitation.wait(timeout=60)
    finally:
        stop_process(excitation)
        stop_process(recorder)
        stop_process(bridge)
    assert code == 0, (folder / 'excitation.log').read_text()
    return folder / 'bag'


def test_bag_round_trips_into_the_estimator(bag):
    robot = load_robot('arm')
    recording = recording_from_bag(bag, robot)
    assert [item.joint for item in recording.joints] == ['joint_4']
    item = recording.joints[0]
    assert item.duration > 10.0
    assert item.torque is not None
    frf = estimate_frf(item.command, item.position, item.rate, (1.0, 8.0))
    low = frf.kept & (frf.frequency <= 1.5)
    assert low.any()
    assert np.abs(frf.magnitude_db[low]).max() < 1.5


def test_bag_without_the_requested_joint_is_a_clear_error(bag):
    robot = load_robot('arm')
    with pytest.raises(ConfigError, match="joint 'joint_2' was not excited"):
        recording_from_bag(bag, robot, joints=('joint_2',))
    with pytest.raises(ConfigError, match='no messages on /commands'):
        recording_from_bag(bag, robot, command_topic='/commands')
