# SPDX-License-Identifier: Apache-2.0
"""Forward kinematics of a robot's links with MuJoCo (positions only, no dynamics).

Recordings and reference motions hold a base pose and joint angles only; every comparison of
body positions (the motion-tracking reward and metrics, the delta-action body-position reward,
ASAP's open-loop E_g-mpjpe / E_mpjpe) goes through this one forward kinematics of the robot's
MuJoCo model, whichever engine produced the states.
"""

from __future__ import annotations

from collections.abc import Sequence

import mujoco
import numpy as np

from robot_learning.robots.spec import RobotSpec
from robot_learning.sim.base import SimConfig
from robot_learning.sim.mujoco_model import compile_model


class BodyKinematics:
    """World positions of B robot links from base poses and joint positions, for N states.

    Args:
        robot: the robot whose MuJoCo model is compiled.
        body_names: the links to report, in this order; None (the default) reports every body
            of the robot (world excluded) in model order.

    Raises:
        ValueError: a name is not a link of the robot (the message lists the links).
    """

    def __init__(self, robot: RobotSpec, body_names: Sequence[str] | None = None) -> None:
        self.robot = robot
        self.model, self.layout = compile_model(robot, SimConfig())
        self.data = mujoco.MjData(self.model)
        if body_names is None:
            self.body_ids = np.asarray(self.layout.robot_bodies)
            body_names = [self.model.body(int(b)).name for b in self.body_ids]
        else:
            try:
                self.body_ids = np.array([self.model.body(name).id for name in body_names],
                                         dtype=np.int64)
            except KeyError as error:
                links = [self.model.body(i).name for i in range(1, self.model.nbody)]
                raise ValueError(f"robot '{robot.name}' has no link {error}; links: "
                                 f"{', '.join(links)}") from None
        self.body_names = tuple(body_names)
        """Names of the B reported links, in output order."""
        self.feet = np.array([self.body_names.index(name) for name in robot.contact_bodies
                              if name in self.body_names], dtype=np.int64)
        """Indices (into the B links) of the robot's contact bodies among them."""
        self.base = (self.body_names.index(robot.base_link)
                     if robot.base_link in self.body_names else 0)
        """Index (into the B links) of the base link; 0 when it is not among them."""

    @property
    def num_bodies(self) -> int:
        """Number of reported links B."""
        return int(self.body_ids.size)

    def positions(self, base_pos: np.ndarray, base_quat: np.ndarray,
                  joint_pos: np.ndarray) -> np.ndarray:
        """Return the world position of every reported link, shape (N, B, 3) [m].

        Args:
            base_pos: (N, 3) [m]; ignored for a fixed-base robot.
            base_quat: (N, 4) (w, x, y, z); ignored for a fixed-base robot.
            joint_pos: (N, J) [rad] in the robot's joint order.
        """
        model, data, layout = self.model, self.data, self.layout
        count = joint_pos.shape[0]
        result = np.empty((count, self.num_bodies, 3))
        qpos = model.qpos0.copy()
        for row in range(count):
            if layout.floating:
                qpos[0:3] = base_pos[row]
                qpos[3:7] = base_quat[row]
            qpos[layout.joint_qpos] = joint_pos[row]
            data.qpos[:] = qpos
            mujoco.mj_kinematics(model, data)
            result[row] = data.xpos[self.body_ids]
        return result
