# SPDX-License-Identifier: Apache-2.0
"""CCIL task: the project 7-DoF arm reaching a random goal, scripted operational-space expert.

State (13,) = joint positions relative to the home pose (7) [rad], peg-tip position (3) and
goal position (3) in the base frame [m]; the tip position comes from forward kinematics of the
measured joint angles. Joint velocities are left out: the expert does not use them and a clone
that sees them latches onto spurious correlations (the stiff PD joints make the arm
quasi-static at the control rate, so the state stays close to Markov). Action (7,) = joint
target offsets from the home pose in action units (target = home + 0.1 action [rad]). (Targets
relative to the measured joints clone better without disturbances but make the closed loop an
integrator that any noise drives away: a clone then fails under every perturbation.)

Goals are drawn uniformly in a box in front of the arm. The expert is resolved-rate
operational-space control: tip velocity v = clip(k (goal - tip), v_max), joint velocity
dq = J^T (J J^T + lambda^2 I)^-1 v plus a null-space pull toward the home posture (J = peg-tip
Jacobian from ``mj_jacSite``), target = q + dq * lead + g(q) / k_p (gravity torque from
``mj_rne`` over the PD stiffness, so the position-controlled joints do not sag). Reward: 1 for
every step with the tip within ``SUCCESS_RADIUS`` of the goal; score = the fraction of the
initial tip-goal distance closed by the end of the episode, clip(1 - d_T / d_0, 0, 1) (the
expert scores about 0.99). Pushes kick every joint velocity by U(-v, v) [rad/s].
"""

from __future__ import annotations

import mujoco
import numpy as np

from robot_learning.ccil.tasks import Perturbation, Task
from robot_learning.robots.registry import load_robot
from robot_learning.sim.base import SimConfig
from robot_learning.sim.registry import make_backend

TIP_SITE = 'contact_peg_tip'
GOAL_LOW = np.array([0.40, -0.30, 0.15])
GOAL_HIGH = np.array([0.70, 0.30, 0.45])
"""Goal box in the base frame [m]."""
SUCCESS_RADIUS = 0.05
"""[m]"""
EPISODE_S = 3.0
GAIN = 4.0
"""k of the tip velocity command [1/s]."""
MAX_SPEED = 0.5
"""v_max [m/s]."""
LEAD = 0.1
"""Look-ahead of the joint target [s]."""
DAMPING = 0.05
"""lambda of the damped least-squares inverse [m]."""
NULLSPACE_GAIN = 1.0
"""Pull toward the home posture in the null space [1/s]."""


class ArmReachTask(Task):
    """See the module docstring."""

    name = 'arm_reach'
    robot = 'arm'
    score_name = 'fraction of the initial tip-goal distance closed (0-1)'
    episode_s = EPISODE_S

    def __init__(self, num_envs: int, seed: int = 0,
                 perturbation: Perturbation = Perturbation()) -> None:
        super().__init__(num_envs, seed, perturbation)
        self.spec = load_robot(self.robot)
        self.backend = make_backend('mujoco', self.spec, num_envs,
                                    SimConfig(num_threads=1, seed=seed))
        self.model = self.backend.nominal_model
        self.data = mujoco.MjData(self.model)
        self.site = self.model.site(TIP_SITE).id
        self.home = self.spec.default_joint_pos.copy()
        self.scale = self.spec.action_scale.copy()
        self.goals = np.zeros((num_envs, 3))
        self.initial_distance = np.ones(num_envs)
        """(N,) tip-goal distance at the start of the episode [m]."""
        self.steps = 0
        self._jacobian = np.zeros((3, self.model.nv))
        self._noise = np.concatenate([np.full(7, 0.01), np.full(6, 0.01)])

    @property
    def control_dt(self) -> float:
        """Control period [s]."""
        return self.backend.control_dt

    @property
    def observation_noise_scale(self) -> np.ndarray:
        """(13,) 0.01 rad, 0.01 m."""
        return self._noise

    @property
    def action_noise_scale(self) -> np.ndarray:
        """(7,) one action unit (0.1 rad)."""
        return np.ones(self.spec.num_joints)

    def reset(self) -> np.ndarray:
        """Home pose at rest with a new goal; return (N, 13) states."""
        self.backend.reset(np.arange(self.num_envs))
        self.goals = self.rng.uniform(GOAL_LOW, GOAL_HIGH, (self.num_envs, 3))
        self.steps = 0
        states = self._states()
        self.initial_distance = np.linalg.norm(states[:, 7:10] - self.goals, axis=1)
        return states

    def _states(self) -> np.ndarray:
        state = self.backend.get_state()
        tip = np.array([self._kinematics(q)[0] for q in state.joint_pos])
        return np.concatenate([state.joint_pos - self.home, tip, self.goals], axis=1)

    def _kinematics(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return the tip position (3,) [m], its Jacobian (3, 7) and gravity torques (7,) at q."""
        model, data = self.model, self.data
        data.qpos[:7] = q
        data.qvel[:] = 0.0
        mujoco.mj_kinematics(model, data)
        mujoco.mj_comPos(model, data)
        mujoco.mj_jacSite(model, data, self._jacobian, None, self.site)
        gravity = np.zeros(model.nv)
        mujoco.mj_rne(model, data, 0, gravity)
        return (data.site_xpos[self.site].copy(), self._jacobian[:, :7].copy(),
                gravity[:7].copy())

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Step with actions (N, 7)."""
        self.backend.step(self.home + self.scale * np.asarray(actions))
        self.steps += 1
        push = self.perturbation
        if push.push_interval > 0 and push.push_velocity > 0:
            every = max(1, int(round(push.push_interval / self.control_dt)))
            if self.steps % every == 0:
                state = self.backend.get_state()
                state.joint_vel = state.joint_vel + self.rng.uniform(
                    -push.push_velocity, push.push_velocity, state.joint_vel.shape)
                self.backend.reset(np.arange(self.num_envs), state)
        states = self._states()
        distance = np.linalg.norm(states[:, 7:10] - self.goals, axis=1)
        failed = ~np.isfinite(states).all(axis=1)
        return states, (distance < SUCCESS_RADIUS).astype(float), failed

    def expert(self, states: np.ndarray) -> np.ndarray:
        """Resolved-rate operational-space actions (N, 7) for clean states (N, 13)."""
        actions = np.zeros((len(states), 7))
        for row, state in enumerate(states):
            q = self.home + state[:7]
            tip, jacobian, gravity = self._kinematics(q)
            error = state[10:13] - tip
            velocity = GAIN * error
            speed = np.linalg.norm(velocity)
            if speed > MAX_SPEED:
                velocity *= MAX_SPEED / speed
            inverse = jacobian.T @ np.linalg.inv(jacobian @ jacobian.T
                                                 + DAMPING ** 2 * np.eye(3))
            nullspace = (np.eye(7) - inverse @ jacobian) @ (NULLSPACE_GAIN * (self.home - q))
            target = q + (inverse @ velocity + nullspace) * LEAD + gravity / self.spec.kp
            actions[row] = (target - self.home) / self.scale
        return actions

    def score(self, returns: np.ndarray, final_states: np.ndarray,
              failed: np.ndarray) -> np.ndarray:
        """Return clip(1 - d_T / d_0, 0, 1); 0 for a failed (non-finite) episode."""
        distance = np.linalg.norm(final_states[:, 7:10] - final_states[:, 10:13], axis=1)
        closed = np.clip(1.0 - distance / np.maximum(self.initial_distance, 1e-6), 0.0, 1.0)
        return np.where(failed, 0.0, closed)

    def close(self) -> None:
        """Close the backend."""
        self.backend.close()
