# SPDX-License-Identifier: Apache-2.0
"""QoS profiles named in node parameters, and the node shell's help and argument handling."""

from __future__ import annotations

import pytest
from rclpy.qos import ReliabilityPolicy

from robot_learning.ros.node_main import help_text, NodeProgram, wants_help
from robot_learning.ros.qos import qos_profile


@pytest.mark.parametrize('text, reliability, depth', [
    ('sensor_data', ReliabilityPolicy.BEST_EFFORT, 5),
    ('best_effort', ReliabilityPolicy.BEST_EFFORT, 10),
    ('reliable', ReliabilityPolicy.RELIABLE, 10),
    ('reliable:1', ReliabilityPolicy.RELIABLE, 1),
    ('sensor_data:20', ReliabilityPolicy.BEST_EFFORT, 20),
])
def test_named_profiles(text, reliability, depth):
    profile = qos_profile(text)
    assert profile.reliability == reliability and profile.depth == depth


@pytest.mark.parametrize('text', ['fast', 'reliable:0', 'reliable:x', 'RELIABLE', ''])
def test_bad_names_are_refused_naming_the_parameter(text):
    with pytest.raises(ValueError, match='imu_qos'):
        qos_profile(text, 'imu_qos')


def test_help_is_asked_before_the_ros_arguments_only():
    assert wants_help(['node', '--help'])
    assert wants_help(['node', '-h', '--ros-args', '-p', 'a:=1'])
    assert not wants_help(['node', '--ros-args', '-p', 'a:=--help'])
    assert not wants_help(['node'])


def test_help_text_lists_every_parameter_with_type_and_default():
    program = NodeProgram(name='demo', summary='A demo node.', create=lambda context: None,
                          parameters={'rate_hz': (50.0, 'control rate [Hz]'),
                                      'topics': (['/a'], 'topics')})
    text = help_text(program, 'demo_node')
    assert text.startswith('demo_node: A demo node.')
    assert 'rate_hz  float  50.0' in text and 'control rate [Hz]' in text
    assert "topics   list   ['/a']" in text
