# SPDX-License-Identifier: Apache-2.0
"""ROS 2 nodes and message conversions: the only package that imports rclpy."""
