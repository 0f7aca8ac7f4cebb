# SPDX-License-Identifier: Apache-2.0
"""Deploy a policy bundle on a robot: the policy node (and optionally the recorder).

    ros2 launch robot_learning policy_deploy.launch.py bundle:=/path/to/bundle
    ros2 launch robot_learning policy_deploy.launch.py bundle:=... record:=true bag:=/data/run1

The robot's own driver (ros2_control with a ForwardCommandController on the position
interface, joint_state_broadcaster and an IMU broadcaster) provides /joint_states (any joints
and order: the contract's are picked by name), /imu/data and, when the policy needs it, /odom,
best effort or reliable; the policy node publishes /joint_commands and /diagnostics.
``cmd_vel_type:=twist_stamped`` takes Nav2's geometry_msgs/TwistStamped on /cmd_vel.
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare


def generate_launch_description():
    """Declare the arguments and start the policy node (and the recorder on request)."""
    policy_params = PathJoinSubstitution(
        [FindPackageShare('robot_learning'), 'config', 'nodes', 'policy_node.yaml'])
    recorder_params = PathJoinSubstitution(
        [FindPackageShare('robot_learning'), 'config', 'nodes', 'recorder.yaml'])
    return LaunchDescription([
        DeclareLaunchArgument('bundle', description='policy bundle folder (contract.yaml + '
                              'policy.onnx)'),
        DeclareLaunchArgument('params_file', default_value=policy_params,
                              description='ROS parameters of the policy node'),
        DeclareLaunchArgument('mode', default_value='timer',
                              description="'timer' (contract rate) or 'lockstep'"),
        DeclareLaunchArgument('command_type', default_value='array',
                              description="'array' (Float64MultiArray) or 'trajectory'"),
        DeclareLaunchArgument('cmd_vel_type', default_value='twist',
                              description="'twist' or 'twist_stamped' (Nav2's default)"),
        DeclareLaunchArgument('record', default_value='false',
                              description='also record a rosbag2 (MCAP)'),
        DeclareLaunchArgument('bag', default_value='policy_run',
                              description='bag folder for the recorder (must not exist)'),
        Node(
            package='robot_learning', executable='policy_node', name='policy_node',
            output='screen', emulate_tty=True,
            parameters=[LaunchConfiguration('params_file'), {
                'bundle': LaunchConfiguration('bundle'),
                'mode': LaunchConfiguration('mode'),
                'command_type': LaunchConfiguration('command_type'),
                'cmd_vel_type': LaunchConfiguration('cmd_vel_type'),
            }]),
        Node(
            package='robot_learning', executable='recorder', name='recorder', output='screen',
            condition=IfCondition(LaunchConfiguration('record')),
            parameters=[recorder_params, {'output': LaunchConfiguration('bag')}]),
    ])
