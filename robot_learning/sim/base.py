# SPDX-License-Identifier: Apache-2.0
"""The batched simulation protocol that every backend implements."""

from __future__ import annotations

import abc
import dataclasses

import numpy as np

from robot_learning.config import require_non_negative, require_positive
from robot_learning.robots.spec import RobotSpec
from robot_learning.sim.dynamics import check_values, DynamicsBatch, nominal_batch


class SimulationError(RuntimeError):
    """A backend that cannot load a model or cannot go on stepping."""


@dataclasses.dataclass(frozen=True)
class SimConfig:
    """Timing and engine options shared by all backends."""

    sim_dt: float = 0.005
    """Physics time step [s]."""
    decimation: int = 4
    """Physics steps per control step (control dt = sim_dt * decimation)."""
    num_threads: int = 0
    """Worker threads for batched stepping; 0 means one per CPU core."""
    integrator: str = 'implicitfast'
    """MuJoCo integrator: 'euler', 'implicitfast' or 'rk4' (other engines ignore it)."""
    solver_iterations: int = 10
    """Constraint solver iterations per physics step."""
    line_search_iterations: int = 10
    """MuJoCo line-search iterations per solver iteration."""
    friction_cone: str = 'pyramidal'
    """MuJoCo friction cone: 'pyramidal' (fast; soft contacts creep slowly under static load)
    or 'elliptic' (with ``impratio``: stiffer friction, about 1.5-2x slower)."""
    impratio: float = 1.0
    """MuJoCo ratio of frictional to normal constraint impedance (elliptic cones)."""
    seed: int = 0
    """Seed of the backend's own random draws (sensor noise, pushes)."""

    def __post_init__(self) -> None:
        """Reject a non-positive or non-finite time step and sub-step count."""
        require_positive('SimConfig', sim_dt=self.sim_dt, decimation=self.decimation,
                         solver_iterations=self.solver_iterations, impratio=self.impratio)
        require_non_negative('SimConfig', num_threads=self.num_threads)


@dataclasses.dataclass
class SimState:
    """Batched robot state; N = num_envs, J = num_joints, C = number of contact bodies.

    Positions and velocities of the base are in the world frame, except ``base_ang_vel``,
    which is in the base frame (what an IMU gyroscope measures). Quaternions are (w, x, y, z).
    Fixed-base robots report their (constant) base pose and zero base velocities.
    """

    base_pos: np.ndarray
    """(N, 3) [m]"""
    base_quat: np.ndarray
    """(N, 4) base orientation, (w, x, y, z)."""
    base_lin_vel: np.ndarray
    """(N, 3) [m/s], world frame."""
    base_ang_vel: np.ndarray
    """(N, 3) [rad/s], base frame."""
    joint_pos: np.ndarray
    """(N, J) [rad]"""
    joint_vel: np.ndarray
    """(N, J) [rad/s]"""
    joint_torque: np.ndarray
    """(N, J) actuator torque applied over the last physics step [N·m]."""
    contact_force: np.ndarray
    """(N, C) normal contact force on each contact body [N]."""
    contact_pos: np.ndarray
    """(N, C, 3) world position of each contact body [m]."""

    def select(self, env_ids: np.ndarray) -> SimState:
        """Return the state of a subset of environments (copies)."""
        return SimState(**{field.name: getattr(self, field.name)[env_ids].copy()
                           for field in dataclasses.fields(self)})

    def is_finite(self) -> np.ndarray:
        """(N,) bool: True where every quantity of an environment is finite."""
        finite = np.ones(self.base_pos.shape[0], dtype=bool)
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            finite &= np.isfinite(value.reshape(value.shape[0], -1)).all(axis=1)
        return finite


class SimBackend(abc.ABC):
    """``num_envs`` copies of one robot stepped together.

    PD control (``tau = motor_strength * (kp (q* - q) - kd q_dot)``, clipped to the effort
    limits) runs at the physics rate inside the backend; one call to ``step`` advances
    ``decimation`` physics steps. Joint targets reach the PD loop after the per-environment
    ``action_latency``.
    """

    robot: RobotSpec
    config: SimConfig
    num_envs: int

    def __init__(self, robot: RobotSpec, num_envs: int, config: SimConfig) -> None:
        if num_envs < 1:
            raise ValueError(f'num_envs must be at least 1, got {num_envs}')
        self.robot = robot
        self.num_envs = num_envs
        self.config = config
        self.dynamics: DynamicsBatch = nominal_batch(num_envs)
        self.rng = np.random.default_rng(config.seed)

    @property
    def control_dt(self) -> float:
        """Time between two calls of ``step`` [s]."""
        return self.config.sim_dt * self.config.decimation

    @property
    def num_joints(self) -> int:
        """Number of actuated joints J."""
        return self.robot.num_joints

    def set_dynamics(self, env_ids: np.ndarray, values: dict[str, np.ndarray | float]) -> None:
        """Set named dynamics parameters for ``env_ids``; values are scalars or shape (len(ids),).

        Takes effect from the next ``step``; unnamed parameters keep their values.
        """
        check_values(values)
        env_ids = np.asarray(env_ids, dtype=np.int64)
        for name, value in values.items():
            self.dynamics[name][env_ids] = value
        self._apply_dynamics(env_ids)

    @abc.abstractmethod
    def _apply_dynamics(self, env_ids: np.ndarray) -> None:
        """Push ``self.dynamics`` of ``env_ids`` into the engine."""

    def reset(self, env_ids: np.ndarray, state: SimState | None = None) -> None:
        """Reset ``env_ids`` to ``state`` (a SimState with len(env_ids) rows) or to the default.

        The default is the robot's default joint pose at ``init_base_height``, at rest. Joint
        targets and the latency buffer of the reset environments are set to the new joint pose.
        """
        env_ids = np.asarray(env_ids, dtype=np.int64)
        if env_ids.size:
            self._reset(env_ids, state if state is not None else
                        self.default_state(env_ids.size))

    @abc.abstractmethod
    def _reset(self, env_ids: np.ndarray, state: SimState) -> None:
        """Write ``state`` into the engine for the (non-empty) ``env_ids``."""

    @abc.abstractmethod
    def step(self, joint_targets: np.ndarray) -> None:
        """Advance every environment by one control step toward ``joint_targets`` (N, J) [rad]."""

    @abc.abstractmethod
    def get_state(self) -> SimState:
        """Return the measured state (sensor noise applied) after the last step."""

    def close(self) -> None:
        """Release engine resources."""

    def default_state(self, count: int) -> SimState:
        """Return the default reset state of ``count`` environments (nominal pose, at rest)."""
        robot = self.robot
        base_pos = np.zeros((count, 3))
        base_pos[:, 2] = robot.init_base_height
        base_quat = np.zeros((count, 4))
        base_quat[:, 0] = 1.0
        num_contacts = len(robot.contact_bodies)
        return SimState(
            base_pos=base_pos, base_quat=base_quat,
            base_lin_vel=np.zeros((count, 3)), base_ang_vel=np.zeros((count, 3)),
            joint_pos=np.tile(robot.default_joint_pos, (count, 1)),
            joint_vel=np.zeros((count, robot.num_joints)),
            joint_torque=np.zeros((count, robot.num_joints)),
            contact_force=np.zeros((count, num_contacts)),
            contact_pos=np.zeros((count, num_contacts, 3)))
