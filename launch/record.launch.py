# SPDX-License-Identifier: Apache-2.0
"""Record the topics the trainers consume to a rosbag2 (MCAP) with the recorder node.

    ros2 launch robot_learning record.launch.py bag:=/data/chirp_run storage:=mcap
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare


def generate_launch_description():
    """Declare the arguments and start the recorder."""
    recorder_params = PathJoinSubstitution(
        [FindPackageShare('robot_learning'), 'config', 'nodes', 'recorder.yaml'])
    return LaunchDescription([
        DeclareLaunchArgument('bag', description='bag folder to write (must not exist)'),
        DeclareLaunchArgument('storage', default_value='mcap',
                              description="'mcap' or 'sqlite3'"),
        Node(
            package='robot_learning', executable='recorder', name='recorder', output='screen',
            parameters=[recorder_params, {'output': LaunchConfiguration('bag'),
                                          'storage': LaunchConfiguration('storage')}]),
    ])
