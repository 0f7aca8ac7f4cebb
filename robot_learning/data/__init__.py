# SPDX-License-Identifier: Apache-2.0
"""Trajectory data sets, and rosbag2 reading, writing, recovery and export (through rosbags)."""

from robot_learning.data.trajectory import load_trajectory, Trajectory, TrajectoryError

__all__ = ['load_trajectory', 'Trajectory', 'TrajectoryError']
