# SPDX-License-Identifier: Apache-2.0
"""ROS 2 messages <-> numpy, for one robot (pure functions; no node, no spinning).

Quaternions: numpy arrays are (w, x, y, z) like the rest of the toolkit; ROS messages are
(x, y, z, w). ``/odom`` twists are in the child (base) frame, the ROS convention.
"""

from __future__ import annotations

import math
from typing import Sequence

from builtin_interfaces.msg import Time
from geometry_msgs.msg import Twist
from nav_msgs.msg import Odometry
import numpy as np
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import Imu, JointState
from std_msgs.msg import Float64MultiArray
from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint

from robot_learning.robots.joint_order import joint_order, pick
from robot_learning.rotations import quat_rotate, quat_rotate_inverse

GRAVITY = 9.81


def time_msg(seconds: float) -> Time:
    """``builtin_interfaces/Time`` for a time in seconds."""
    sec = math.floor(seconds)
    return Time(sec=int(sec), nanosec=int(round((seconds - sec) * 1e9)) % 1_000_000_000)


def time_seconds(stamp: Time) -> float:
    """Seconds of a ``builtin_interfaces/Time``."""
    return stamp.sec + stamp.nanosec * 1e-9


def clock_msg(seconds: float) -> Clock:
    """``rosgraph_msgs/Clock`` at ``seconds``."""
    return Clock(clock=time_msg(seconds))


def joint_state_msg(stamp: float, names: Sequence[str], position: np.ndarray,
                    velocity: np.ndarray, effort: np.ndarray) -> JointState:
    """``sensor_msgs/JointState`` from (J,) arrays [rad, rad/s, N·m]."""
    message = JointState(name=list(names), position=position.tolist(),
                         velocity=velocity.tolist(), effort=effort.tolist())
    message.header.stamp = time_msg(stamp)
    return message


def imu_msg(stamp: float, base_quat: np.ndarray, base_ang_vel: np.ndarray,
            specific_force: np.ndarray, frame_id: str = 'imu_link') -> Imu:
    """``sensor_msgs/Imu`` from a (w, x, y, z) quaternion and base-frame vectors (3,)."""
    message = Imu()
    message.header.stamp = time_msg(stamp)
    message.header.frame_id = frame_id
    w, x, y, z = (float(v) for v in base_quat)
    message.orientation.x, message.orientation.y = x, y
    message.orientation.z, message.orientation.w = z, w
    (message.angular_velocity.x, message.angular_velocity.y,
     message.angular_velocity.z) = (float(v) for v in base_ang_vel)
    (message.linear_acceleration.x, message.linear_acceleration.y,
     message.linear_acceleration.z) = (float(v) for v in specific_force)
    return message


def odometry_msg(stamp: float, base_pos: np.ndarray, base_quat: np.ndarray,
                 base_lin_vel_world: np.ndarray, base_ang_vel: np.ndarray,
                 frame_id: str = 'odom', child_frame_id: str = 'base_link') -> Odometry:
    """``nav_msgs/Odometry``: world pose, twist expressed in the base (child) frame."""
    message = Odometry()
    message.header.stamp = time_msg(stamp)
    message.header.frame_id = frame_id
    message.child_frame_id = child_frame_id
    pose = message.pose.pose
    pose.position.x, pose.position.y, pose.position.z = (float(v) for v in base_pos)
    w, x, y, z = (float(v) for v in base_quat)
    pose.orientation.x, pose.orientation.y, pose.orientation.z, pose.orientation.w = x, y, z, w
    body_velocity = quat_rotate_inverse(base_quat[None], base_lin_vel_world[None])[0]
    twist = message.twist.twist
    twist.linear.x, twist.linear.y, twist.linear.z = (float(v) for v in body_velocity)
    twist.angular.x, twist.angular.y, twist.angular.z = (float(v) for v in base_ang_vel)
    return message


def quaternion_wxyz(orientation) -> np.ndarray:
    """(w, x, y, z) array from a ``geometry_msgs/Quaternion``."""
    return np.array([orientation.w, orientation.x, orientation.y, orientation.z])


def odometry_world_velocity(message: Odometry) -> np.ndarray:
    """Return the base linear velocity in the world frame (3,) [m/s] of an Odometry message."""
    quat = quaternion_wxyz(message.pose.pose.orientation)
    linear = message.twist.twist.linear
    return quat_rotate(quat[None], np.array([[linear.x, linear.y, linear.z]]))[0]


def imu_arrays(message: Imu) -> tuple[np.ndarray, np.ndarray]:
    """Return (base quaternion (w, x, y, z), base-frame angular velocity (3,)) of an Imu."""
    gyro = message.angular_velocity
    return quaternion_wxyz(message.orientation), np.array([gyro.x, gyro.y, gyro.z])


def twist_command(message: Twist) -> np.ndarray:
    """Velocity command (vx [m/s], vy [m/s], yaw rate [rad/s]) from a Twist."""
    return np.array([message.linear.x, message.linear.y, message.angular.z])


def joint_arrays(message: JointState, names: Sequence[str]
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Positions, velocities, efforts (J,) reordered from the message into ``names`` order.

    Raises:
        KeyError: a joint of ``names`` is missing from the message (the message names it).
    """
    order = joint_order(message.name, names)
    count = len(message.name)
    return (pick(message.position, order, count), pick(message.velocity, order, count),
            pick(message.effort, order, count))


def command_array_msg(targets: np.ndarray) -> Float64MultiArray:
    """``std_msgs/Float64MultiArray`` of joint targets (ros2_control forward controller)."""
    return Float64MultiArray(data=[float(v) for v in targets])


def joint_trajectory_msg(stamp: float, names: Sequence[str], targets: np.ndarray,
                         period: float) -> JointTrajectory:
    """One-point ``trajectory_msgs/JointTrajectory`` reaching ``targets`` after ``period`` s."""
    message = JointTrajectory(joint_names=list(names))
    message.header.stamp = time_msg(stamp)
    point = JointTrajectoryPoint(positions=[float(v) for v in targets])
    point.time_from_start.sec = int(period)
    point.time_from_start.nanosec = int(round((period - int(period)) * 1e9))
    message.points = [point]
    return message


def trajectory_targets(message: JointTrajectory, names: Sequence[str]) -> np.ndarray:
    """Targets (J,) in ``names`` order from the first point of a JointTrajectory."""
    if not message.points:
        raise ValueError('JointTrajectory has no points')
    positions = np.asarray(message.points[0].positions, dtype=float)
    return positions[joint_order(message.joint_names, names)]


def specific_force(base_quat: np.ndarray, acceleration_world: np.ndarray) -> np.ndarray:
    """Accelerometer reading (3,) [m/s²]: (a - g) in the base frame; +9.81 z at rest."""
    gravity = np.array([0.0, 0.0, -GRAVITY])
    return quat_rotate_inverse(base_quat[None], (acceleration_world - gravity)[None])[0]
