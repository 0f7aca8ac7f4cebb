# SPDX-License-Identifier: Apache-2.0
"""Forward kinematics of a robot's links with MuJoCo (positions only, no dynamics)."""

from __future__ import annotations

import mujoco
import numpy as np

from robot_learning.robots.spec import RobotSpec
from robot_learning.sim.base import SimConfig
from robot_learning.sim.mujoco_model import compile_model


class BodyKinematics:
    """World positions of named links from base poses and joint positions, for N states.

    The same computation serves the reference motions, the training reward and the evaluation
    of recorded trajectories, whichever engine produced the states.
    """

    def __init__(self, robot: RobotSpec, body_names: tuple[str, ...]) -> None:
        self.model, self.layout = compile_model(robot, SimConfig())
        self.data = mujoco.MjData(self.model)
        self.body_names = tuple(body_names)
        try:
            self.body_ids = np.array([self.model.body(name).id for name in body_names])
        except KeyError as error:
            links = [self.model.body(i).name for i in range(1, self.model.nbody)]
            raise ValueError(f"robot '{robot.name}' has no link {error}; links: "
                             f"{', '.join(links)}") from None
        self.floating = robot.floating_base

    def positions(self, base_pos: np.ndarray, base_quat: np.ndarray,
                  joint_pos: np.ndarray) -> np.ndarray:
        """Return (N, B, 3) world link positions [m] for base (N, 3), (N, 4) and joints (N, J)."""
        count = joint_pos.shape[0]
        result = np.empty((count, self.body_ids.size, 3))
        qpos = self.data.qpos
        for index in range(count):
            if self.floating:
                qpos[0:3] = base_pos[index]
                qpos[3:7] = base_quat[index]
            qpos[self.layout.joint_qpos] = joint_pos[index]
            mujoco.mj_kinematics(self.model, self.data)
            result[index] = self.data.xpos[self.body_ids]
        return result
