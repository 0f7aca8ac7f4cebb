# SPDX-License-Identifier: Apache-2.0
"""Chirp a robot's joints on a stand and record the bag for ``robot-learning impedance fit``.

    ros2 launch robot_learning excitation.launch.py robot:=quadruped bag:=/data/chirp
        joints:="['FL_.*']" amplitude:=0.1

The robot (or the sim bridge) must take ``/joint_commands`` and publish ``/joint_states``
(with efforts when it can: they separate the gains from the armature).
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue


def generate_launch_description():
    """Declare the arguments; start the excitation node and the recorder."""
    return LaunchDescription([
        DeclareLaunchArgument('robot', default_value='quadruped',
                              description='robot name or robot YAML path'),
        DeclareLaunchArgument('bag', description='bag folder to write (must not exist)'),
        DeclareLaunchArgument('joints', default_value="['.*']",
                              description='regular expressions of the joints to excite'),
        DeclareLaunchArgument('amplitude', default_value='0.1', description='[rad]'),
        DeclareLaunchArgument('f_start', default_value='0.5', description='[Hz]'),
        DeclareLaunchArgument('f_end', default_value='20.0', description='[Hz]'),
        DeclareLaunchArgument('duration', default_value='30.0', description='sweep [s]'),
        Node(
            package='robot_learning', executable='excitation_node', name='excitation_node',
            output='screen',
            parameters=[{
                'robot': LaunchConfiguration('robot'),
                'joints': ParameterValue(LaunchConfiguration('joints'), value_type=list),
                'amplitude': ParameterValue(LaunchConfiguration('amplitude'), value_type=float),
                'f_start': ParameterValue(LaunchConfiguration('f_start'), value_type=float),
                'f_end': ParameterValue(LaunchConfiguration('f_end'), value_type=float),
                'duration': ParameterValue(LaunchConfiguration('duration'), value_type=float),
            }]),
        Node(
            package='robot_learning', executable='recorder', name='recorder', output='screen',
            parameters=[{'output': LaunchConfiguration('bag'),
                         'topics': ['/joint_commands', '/joint_states']}]),
    ])
