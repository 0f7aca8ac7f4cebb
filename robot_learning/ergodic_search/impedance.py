# SPDX-License-Identifier: Apache-2.0
"""Cartesian impedance control with a superposed force, in operational space (Khatib 1987).

For a site (the peg tip) with pose error e = (x_d - x, log(R_d R^T)) (6,), twist v = J q_dot
and the 6 x nv site Jacobian J from MuJoCo (``mj_jacSite``)::

    F       = K e + D (v_d - v) + F_ff                        (desired wrench at the site)
    Lambda  = (J M^-1 J^T)^-1                                  (operational-space inertia)
    D       = 2 zeta sqrt(K_i Lambda_ii)  per axis             (critical damping for zeta = 1)
    tau     = J^T F + N^T (k_n (q_n - q) - d_n q_dot) + c(q, q_dot)
    N^T     = I - J^T Lambda J M^-1                             (dynamically consistent)

with c = ``qfrc_bias`` (gravity and Coriolis) and M from ``mj_fullM``. At rest the null-space
term cannot push the site, so an external force F_ext at the site deflects it by
x - x_d = F_ext / K per axis: the impedance the controller promises. Torques are clipped to the
effort limits.
"""

from __future__ import annotations

import dataclasses

import mujoco
import numpy as np


@dataclasses.dataclass(frozen=True)
class ImpedanceConfig:
    """Gains of the Cartesian impedance controller."""

    translational_stiffness: tuple[float, float, float] = (800.0, 800.0, 600.0)
    """K for x, y, z in the world frame [N/m]."""
    rotational_stiffness: tuple[float, float, float] = (60.0, 60.0, 60.0)
    """K about x, y, z in the world frame [N·m/rad]."""
    damping_ratio: float = 1.0
    """zeta of D = 2 zeta sqrt(K Lambda) [-]."""
    nullspace_stiffness: float = 20.0
    """Joint stiffness toward the rest posture, in the null space [N·m/rad]."""
    nullspace_damping: float = 5.0
    """Joint damping in the null space [N·m·s/rad]."""
    singular_damping: float = 1e-6
    """Added to J M^-1 J^T before inverting it [(m/N)/s²]."""

    @property
    def stiffness(self) -> np.ndarray:
        """(6,) diagonal of K [N/m, N/m, N/m, N·m/rad, ...]."""
        return np.array([*self.translational_stiffness, *self.rotational_stiffness], dtype=float)


class CartesianImpedanceController:
    """Operational-space impedance for one site of a MuJoCo model (see the module docstring)."""

    def __init__(self, model: mujoco.MjModel, site: str, dofs: np.ndarray,
                 effort_limit: np.ndarray, rest_posture: np.ndarray,
                 config: ImpedanceConfig = ImpedanceConfig()) -> None:
        """Set up the controller.

        Args:
            model: The compiled model.
            site: Name of the controlled site.
            dofs: (J,) dof addresses of the arm joints (the columns of J that are used).
            effort_limit: (J,) torque limits [N·m].
            rest_posture: (J,) null-space posture [rad].
            config: Gains.
        """
        self.model = model
        self.site = model.site(site).id
        self.dofs = np.asarray(dofs, dtype=int)
        self.effort_limit = np.asarray(effort_limit, dtype=float)
        self.rest_posture = np.asarray(rest_posture, dtype=float)
        self.config = config
        self.stiffness = config.stiffness
        self._jacobian = np.zeros((6, model.nv))
        self._inertia = np.zeros((model.nv, model.nv))
        self._error = np.zeros(3)
        self._current = np.zeros(4)
        self.last_wrench = np.zeros(6)
        """Wrench F commanded at the site in the last call [N, N·m]."""

    def pose_error(self, data: mujoco.MjData, target_position: np.ndarray,
                   target_quat: np.ndarray) -> np.ndarray:
        """Return e (6,): position error [m] and rotation vector R_d R^T [rad], world frame."""
        mujoco.mju_mat2Quat(self._current, data.site_xmat[self.site])
        mujoco.mju_subQuat(self._error, np.asarray(target_quat, dtype=float), self._current)
        # mju_subQuat gives the rotation in the current site frame; rotate it to the world.
        rotation = data.site_xmat[self.site].reshape(3, 3) @ self._error
        return np.concatenate([target_position - data.site_xpos[self.site], rotation])

    def torque(self, data: mujoco.MjData, target_position: np.ndarray, target_quat: np.ndarray,
               target_velocity: np.ndarray | None = None,
               force: np.ndarray | None = None) -> np.ndarray:
        """Return the joint torques (J,) [N·m] for the current state of ``data``.

        Args:
            data: MuJoCo data after ``mj_forward`` / ``mj_step`` (positions, qM, bias forces).
            target_position: (3,) site target in the world frame [m].
            target_quat: (4,) site target orientation (w, x, y, z).
            target_velocity: (6,) target twist [m/s, rad/s]; None for zero.
            force: (6,) superposed wrench at the site [N, N·m]; None for zero.
        """
        model, dofs, config = self.model, self.dofs, self.config
        mujoco.mj_jacSite(model, data, self._jacobian[:3], self._jacobian[3:], self.site)
        jacobian = self._jacobian[:, dofs]
        mujoco.mj_fullM(model, data, self._inertia)
        inertia = self._inertia[np.ix_(dofs, dofs)]
        qvel = data.qvel[dofs]
        # J M^-1 (6, J) from a solve with M (symmetric).
        jm = np.linalg.solve(inertia, jacobian.T).T
        lam = np.linalg.inv(jm @ jacobian.T + config.singular_damping * np.eye(6))
        damping = 2.0 * config.damping_ratio * np.sqrt(self.stiffness * np.diag(lam))
        twist = jacobian @ qvel
        velocity_error = -twist if target_velocity is None else target_velocity - twist
        wrench = self.stiffness * self.pose_error(data, target_position, target_quat)
        wrench += damping * velocity_error
        if force is not None:
            wrench += force
        self.last_wrench = wrench
        posture = (config.nullspace_stiffness * (self.rest_posture - data.qpos[dofs])
                   - config.nullspace_damping * qvel)
        nullspace = posture - jacobian.T @ (lam @ (jm @ posture))
        tau = jacobian.T @ wrench + nullspace + data.qfrc_bias[dofs]
        return np.clip(tau, -self.effort_limit, self.effort_limit)
