# SPDX-License-Identifier: Apache-2.0
"""Run a policy bundle on a ros2_control robot: controller_manager, controllers, policy node.

First write the controller configuration that matches the bundle, then launch:

    robot-learning bundle controllers BUNDLE --interface position --output controllers.yaml
    ros2 launch robot_learning robot_control.launch.py bundle:=BUNDLE
        controllers:=/abs/path/controllers.yaml robot_description:=/abs/path/robot.urdf

``robot_description`` is your robot's URDF (plain or xacro; it goes through ``xacro``) with a
``<ros2_control>`` tag naming its hardware interface plugin and the command/state interfaces of
the bundle's joints (the hardware's own PD gains are in the ``robot_learning_hardware`` block of
the generated YAML). This starts
robot_state_publisher (which publishes /robot_description for controller_manager),
``controller_manager/ros2_control_node`` with the generated YAML, the joint_state_broadcaster
spawner, the policy controller's spawner once the broadcaster is up, and the policy node on its
timer at the contract rate, publishing to that controller. For ``--interface effort`` pass
``controller:=policy_trajectory_controller command_type:=trajectory``.
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, RegisterEventHandler
from launch.event_handlers import OnProcessExit
from launch.substitutions import (Command, FindExecutable, LaunchConfiguration,
                                  PathJoinSubstitution)
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue
from launch_ros.substitutions import FindPackageShare


def generate_launch_description():
    """Declare the arguments; start the control stack and the policy node."""
    policy_params = PathJoinSubstitution(
        [FindPackageShare('robot_learning'), 'config', 'nodes', 'policy_node.yaml'])
    robot_description = ParameterValue(
        Command([FindExecutable(name='xacro'), ' ', LaunchConfiguration('robot_description')]),
        value_type=str)
    controller = LaunchConfiguration('controller')
    state_broadcaster_spawner = Node(
        package='controller_manager', executable='spawner', output='screen',
        arguments=['joint_state_broadcaster', '--controller-manager', '/controller_manager'])
    controller_spawner = Node(
        package='controller_manager', executable='spawner', output='screen',
        arguments=[controller, '--controller-manager', '/controller_manager'])
    return LaunchDescription([
        DeclareLaunchArgument('bundle', description='policy bundle folder (contract.yaml + '
                              'policy.onnx)'),
        DeclareLaunchArgument('controllers', description='controller_manager YAML written by '
                              '`robot-learning bundle controllers` for this bundle'),
        DeclareLaunchArgument('robot_description', description='URDF (or .urdf.xacro) file of '
                              'the robot with a <ros2_control> tag for its hardware interface'),
        DeclareLaunchArgument('controller', default_value='policy_position_controller',
                              description="controller that takes the policy's targets: "
                              "'policy_position_controller' or 'policy_trajectory_controller'"),
        DeclareLaunchArgument('command_type', default_value='array',
                              description="'array' for policy_position_controller, "
                              "'trajectory' for policy_trajectory_controller"),
        DeclareLaunchArgument('command_topic',
                              default_value='/policy_position_controller/commands',
                              description='Float64MultiArray input of the forward controller'),
        DeclareLaunchArgument('trajectory_topic',
                              default_value='/policy_trajectory_controller/joint_trajectory',
                              description='JointTrajectory input of the trajectory controller'),
        DeclareLaunchArgument('imu_topic', default_value='/imu/data',
                              description="the robot's IMU topic; "
                              "'/imu_sensor_broadcaster/imu' with --imu-sensor"),
        DeclareLaunchArgument('params_file', default_value=policy_params,
                              description='ROS parameters of the policy node'),
        Node(
            package='robot_state_publisher', executable='robot_state_publisher',
            output='screen', parameters=[{'robot_description': robot_description}]),
        Node(
            package='controller_manager', executable='ros2_control_node', output='screen',
            parameters=[LaunchConfiguration('controllers')],
            remappings=[('~/robot_description', '/robot_description')]),
        state_broadcaster_spawner,
        RegisterEventHandler(OnProcessExit(target_action=state_broadcaster_spawner,
                                           on_exit=[controller_spawner])),
        Node(
            package='robot_learning', executable='policy_node', name='policy_node',
            output='screen', emulate_tty=True,
            parameters=[LaunchConfiguration('params_file'), {
                'bundle': LaunchConfiguration('bundle'),
                'mode': 'timer',
                'command_type': LaunchConfiguration('command_type'),
                'command_topic': LaunchConfiguration('command_topic'),
                'trajectory_topic': LaunchConfiguration('trajectory_topic'),
                'imu_topic': LaunchConfiguration('imu_topic'),
            }]),
    ])
