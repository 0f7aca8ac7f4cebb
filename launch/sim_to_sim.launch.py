# SPDX-License-Identifier: Apache-2.0
"""Sim-to-sim: a simulated "real robot" (sim bridge), the policy node and the recorder.

    ros2 launch robot_learning sim_to_sim.launch.py \
        bundle:=$(ros2 pkg prefix robot_learning)/share/robot_learning/policies/quadruped_deploy \
        reality:=quadruped_pybullet_weak_motors bag:=/tmp/sim2sim

The bridge plays the robot with dynamics the policy was not trained on (config/reality/), by
default in driver mode (``driver:=true``: physics on the wall clock, state published at 500 Hz
best effort with jitter, drops and extra joints, like a robot's driver); the policy node runs on
its own timer at the contract rate. ``driver:=false`` publishes once per control period.
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare


def generate_launch_description():
    """Declare the arguments and start the sim bridge, the policy node and the recorder."""
    bridge_params = PathJoinSubstitution(
        [FindPackageShare('robot_learning'), 'config', 'nodes', 'sim_bridge.yaml'])
    policy_params = PathJoinSubstitution(
        [FindPackageShare('robot_learning'), 'config', 'nodes', 'policy_node.yaml'])
    recorder_params = PathJoinSubstitution(
        [FindPackageShare('robot_learning'), 'config', 'nodes', 'recorder.yaml'])
    default_bundle = PathJoinSubstitution(
        [FindPackageShare('robot_learning'), 'policies', 'quadruped_deploy'])
    return LaunchDescription([
        DeclareLaunchArgument('bundle', default_value=default_bundle,
                              description='policy bundle folder'),
        DeclareLaunchArgument('reality', default_value='quadruped_pybullet_nominal',
                              description='reality config name (config/reality/) or path'),
        DeclareLaunchArgument('bag', default_value='sim_to_sim_run',
                              description='bag folder for the recorder (must not exist)'),
        DeclareLaunchArgument('driver', default_value='true',
                              description='sim bridge in driver mode (500 Hz, best effort)'),
        Node(
            package='robot_learning', executable='sim_bridge', name='sim_bridge',
            output='screen', parameters=[bridge_params, {
                'reality': LaunchConfiguration('reality'),
                'driver': LaunchConfiguration('driver')}]),
        Node(
            package='robot_learning', executable='policy_node', name='policy_node',
            output='screen', parameters=[policy_params, {
                'bundle': LaunchConfiguration('bundle')}]),
        Node(
            package='robot_learning', executable='recorder', name='recorder', output='screen',
            parameters=[recorder_params, {'output': LaunchConfiguration('bag')}]),
    ])
