# SPDX-License-Identifier: Apache-2.0
"""SearchExecutor: a search plan run by the impedance controller on measured joint states.

What the ROS 2 search node runs on a robot (no ROS here): each control period it takes the
measured joint positions and velocities, updates a kinematics/dynamics-only copy of the task
model (contacts off), and returns the joint torques of the Cartesian impedance controller
toward the plan's target with the force model's superposed force, plus the search status:

    searching --tip drops detect_depth--> inserting --tip at success_depth--> succeeded
        ^                                     |
        +------- tip back above it -----------+          (plan time >= duration) --> timeout

While inserting, the plan clock stops and the x-y (and yaw) target follows the tip (as in
``PegInHoleSim.run_trial``; in the socket variant ``ChamferEpisode`` turns the blade toward
alignment and resumes the search when it is stuck). After success or timeout the target holds
the tip where it is, without the superposed force.
"""

from __future__ import annotations

import enum

import mujoco
import numpy as np

from robot_learning.ergodic_search.demonstrations import yaw_of, yaw_quaternions
from robot_learning.ergodic_search.force_model import ForceModel
from robot_learning.ergodic_search.impedance import CartesianImpedanceController, ImpedanceConfig
from robot_learning.ergodic_search.peg_in_hole import ChamferEpisode, PegInHoleConfig, PegInHoleSim
from robot_learning.ergodic_search.plan import SearchPlan


class SearchStatus(str, enum.Enum):
    """Phase of the search; the value is the name the search node publishes."""

    SEARCHING = 'searching'
    INSERTING = 'inserting'
    SUCCEEDED = 'succeeded'
    TIMEOUT = 'timeout'


DONE = (SearchStatus.SUCCEEDED, SearchStatus.TIMEOUT)


class SearchExecutor:
    """Impedance-controlled execution of one search plan from measured joint states."""

    def __init__(self, plan: SearchPlan, force_model: ForceModel | None,
                 task: PegInHoleConfig = PegInHoleConfig(),
                 impedance: ImpedanceConfig = ImpedanceConfig()) -> None:
        """Build the model of ``task`` (robot, tool, nominal hole) and solve the start pose."""
        sim = PegInHoleSim(task, impedance)
        self.task = task
        self.model = sim.model
        self.model.opt.disableflags |= mujoco.mjtDisableBit.mjDSBL_CONTACT
        self.data = mujoco.MjData(self.model)
        self.robot = sim.robot
        self.qpos_adr, self.dofs, self.site = sim.qpos_adr, sim.dofs, sim.site
        self.start_pose = sim.start_qpos
        """(J,) joint positions with the tip ``start_height`` above the nominal hole [rad]."""
        self.hole_position = sim.hole_position
        self.controller = CartesianImpedanceController(
            self.model, 'search_tip', self.dofs, self.robot.effort_limit, self.start_pose,
            impedance)
        self.plan = plan
        self.force_model = force_model
        self.reset()

    def reset(self) -> None:
        """Restart the plan clock."""
        self.elapsed = 0.0
        """Plan time used so far [s] (stops while inserting)."""
        self.search_time = 0.0
        """Time since the search started [s]."""
        self.status = SearchStatus.SEARCHING
        self.depth = 0.0
        """Deepest tip position below the surface so far [m]."""
        self._hold: np.ndarray | None = None
        self._chamfer = ChamferEpisode() if self.task.variant == 'socket' else None

    def gravity(self, joint_pos: np.ndarray) -> np.ndarray:
        """Return the gravity torques (J,) at ``joint_pos`` [N·m]."""
        self._update(joint_pos, np.zeros(len(joint_pos)))
        return self.data.qfrc_bias[self.dofs].copy()

    def tip(self) -> np.ndarray:
        """(3,) tip position of the last update, world frame [m]."""
        return self.data.site_xpos[self.site].copy()

    def tip_quat(self) -> np.ndarray:
        """(4,) tip orientation of the last update (w, x, y, z)."""
        quat = np.zeros(4)
        mujoco.mju_mat2Quat(quat, self.data.site_xmat[self.site])
        return quat

    def _update(self, joint_pos: np.ndarray, joint_vel: np.ndarray) -> None:
        self.data.qpos[self.qpos_adr] = joint_pos
        self.data.qvel[self.dofs] = joint_vel
        mujoco.mj_forward(self.model, self.data)

    def step(self, joint_pos: np.ndarray, joint_vel: np.ndarray,
             dt: float) -> np.ndarray:
        """Advance one control period of ``dt`` [s]; return the joint torques (J,) [N·m].

        Args:
            joint_pos: (J,) measured joint positions in the robot's joint order [rad].
            joint_vel: (J,) measured joint velocities [rad/s].
            dt: Control period [s].
        """
        self._update(joint_pos, joint_vel)
        tip = self.data.site_xpos[self.site]
        drop = self.hole_position[2] - tip[2]
        self.depth = max(self.depth, drop)
        task = self.task
        if self.status not in DONE:
            if self.depth >= task.success_depth:
                self.status = SearchStatus.SUCCEEDED
            elif self.elapsed >= self.plan.duration:
                self.status = SearchStatus.TIMEOUT
            else:
                dropped = drop > task.detect_depth
                if self._chamfer is not None:
                    dropped = self._chamfer.update(dropped, drop, yaw_of(self.tip_quat()[None])[0],
                                                   dt, task)
                self.status = SearchStatus.INSERTING if dropped else SearchStatus.SEARCHING
        position, velocity = self.plan.at(self.elapsed)
        yaw = position[2] if len(position) > 2 else 0.0
        quat = yaw_quaternions(np.array([yaw]))[0]
        target = self.hole_position + [position[0], position[1], 0.0]
        twist = np.zeros(6)
        wrench = np.zeros(6)
        if self.status in DONE:
            if self._hold is None:
                self._hold = tip.copy()
            return self.controller.torque(self.data, self._hold, quat)
        if self.force_model is not None:
            speed = velocity if self.status == SearchStatus.SEARCHING else np.zeros_like(velocity)
            wrench[:3] = self.force_model.predict(speed[:self.force_model.dim])
        if self.status == SearchStatus.INSERTING:
            target[:2] = tip[:2]
            if len(position) > 2:
                tip_yaw = yaw_of(self.tip_quat()[None])[0]
                if self._chamfer is not None:
                    tip_yaw = self._chamfer.target_yaw(tip_yaw, drop, task)
                quat = yaw_quaternions(np.array([tip_yaw]))[0]
        else:
            twist[:2] = velocity[:2]
            if len(velocity) > 2:
                twist[5] = velocity[2]
            self.elapsed += dt
        self.search_time += dt
        return self.controller.torque(self.data, target, quat, twist, wrench)
