# SPDX-License-Identifier: Apache-2.0
"""Global body positions from a base pose and joint positions (MuJoCo forward kinematics).

The open-loop metrics (global and root-relative body-position error, the analogue of ASAP's
E_g-mpjpe and E_mpjpe) and the delta-action body-position reward compare the bodies of the
simulated and the recorded robot; recordings hold base pose and joint angles only, so both go
through the same forward kinematics of the robot's MuJoCo model.
"""

from __future__ import annotations

import mujoco
import numpy as np

from robot_learning.robots.spec import RobotSpec
from robot_learning.sim.base import SimConfig
from robot_learning.sim.mujoco_model import compile_model


class BodyKinematics:
    """Forward kinematics of every robot body; B bodies (world excluded)."""

    def __init__(self, robot: RobotSpec) -> None:
        self.robot = robot
        self.model, self.layout = compile_model(robot, SimConfig())
        self.data = mujoco.MjData(self.model)
        self.bodies = np.asarray(self.layout.robot_bodies)
        names = [self.model.body(int(b)).name for b in self.bodies]
        self.body_names = tuple(names)
        self.feet = np.array([names.index(name) for name in robot.contact_bodies
                              if name in names], dtype=np.int64)
        """Indices (into the B bodies) of the robot's contact bodies found in the model."""
        self.base = names.index(robot.base_link) if robot.base_link in names else 0

    @property
    def num_bodies(self) -> int:
        """Number of bodies B."""
        return int(self.bodies.size)

    def positions(self, base_pos: np.ndarray, base_quat: np.ndarray,
                  joint_pos: np.ndarray) -> np.ndarray:
        """Return the world position of every body, shape (N, B, 3) [m].

        Args:
            base_pos: (N, 3) [m].
            base_quat: (N, 4) (w, x, y, z).
            joint_pos: (N, J) [rad].
        """
        model, data, layout = self.model, self.data, self.layout
        count = joint_pos.shape[0]
        out = np.empty((count, self.num_bodies, 3))
        qpos = model.qpos0.copy()
        for row in range(count):
            if layout.floating:
                qpos[0:3] = base_pos[row]
                qpos[3:7] = base_quat[row]
            qpos[layout.joint_qpos] = joint_pos[row]
            data.qpos[:] = qpos
            mujoco.mj_kinematics(model, data)
            out[row] = data.xpos[self.bodies]
        return out
