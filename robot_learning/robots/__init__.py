# SPDX-License-Identifier: Apache-2.0
"""Robot descriptions: RobotSpec and the registry of config/robots/*.yaml."""

from robot_learning.robots.registry import available_robots, load_robot
from robot_learning.robots.spec import build_spec, RobotConfig, RobotSpec

__all__ = ['available_robots', 'build_spec', 'load_robot', 'RobotConfig', 'RobotSpec']
