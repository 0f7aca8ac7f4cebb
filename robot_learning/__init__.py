# SPDX-License-Identifier: Apache-2.0
"""robot_learning: a sim-to-real toolkit for legged robots and arms, shipped as a ROS 2 package."""

__version__ = '0.1.0'
