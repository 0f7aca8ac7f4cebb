# SPDX-License-Identifier: Apache-2.0
"""Run a learned peg-in-hole search on an arm: the search node (and optionally the recorder).

    ros2 launch robot_learning search.launch.py model:=/path/to/search_model.json
    ros2 launch robot_learning search.launch.py model:=... record:=true bag:=/data/s1

The arm's driver provides /joint_states and takes /effort_commands (joint torques, e.g. a
ros2_control effort forward controller) or, with command_type:=position, /joint_commands. The
node reports /search/state, /search/result ('success' or 'timeout') and /search/elapsed, and
publishes the tip pose and wrench on /search/pose and /search/wrench (demonstration topics).
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare


def generate_launch_description():
    """Declare the arguments and start the search node (and the recorder on request)."""
    search_params = PathJoinSubstitution(
        [FindPackageShare('robot_learning'), 'config', 'nodes', 'search_node.yaml'])
    recorder_params = PathJoinSubstitution(
        [FindPackageShare('robot_learning'), 'config', 'nodes', 'recorder.yaml'])
    return LaunchDescription([
        DeclareLaunchArgument('model', description='search model JSON (robot-learning search '
                              'fit)'),
        DeclareLaunchArgument('params_file', default_value=search_params,
                              description='ROS parameters of the search node (hole position, '
                              'gains, topics)'),
        DeclareLaunchArgument('method', default_value='ergodic',
                              description='ergodic, sampling, spiral or random'),
        DeclareLaunchArgument('command_type', default_value='effort',
                              description="'effort' (torques) or 'position' (PD targets)"),
        DeclareLaunchArgument('record', default_value='false',
                              description='also record a rosbag2 (MCAP)'),
        DeclareLaunchArgument('bag', default_value='search_run',
                              description='bag folder for the recorder (must not exist)'),
        Node(
            package='robot_learning', executable='search_node', name='search_node',
            output='screen', emulate_tty=True,
            parameters=[LaunchConfiguration('params_file'), {
                'model': LaunchConfiguration('model'),
                'method': LaunchConfiguration('method'),
                'command_type': LaunchConfiguration('command_type'),
            }]),
        Node(
            package='robot_learning', executable='recorder', name='recorder', output='screen',
            condition=IfCondition(LaunchConfiguration('record')),
            parameters=[recorder_params, {'output': LaunchConfiguration('bag')}]),
    ])
