# SPDX-License-Identifier: Apache-2.0
"""CCIL task: a torque-limited pendulum swinging up and balancing (the reference's pendulum_cont).

A reproduction task: smooth, low-dimensional dynamics where the CCIL reference (Ke et al.,
``correct_il/envs/pendulum_env.py``) works, built here from an MJCF string (no registered
robot). A point mass ``MASS`` [kg] on a massless rod of ``LENGTH`` [m] turns about a hinge;
theta [rad] is measured from upright (positive = gravity pushes it further), torque limited to
``MAX_TORQUE`` (< m g l, so the expert must pump energy over several swings). MuJoCo's
semi-implicit Euler with ``TIMESTEP`` and ``SUBSTEPS`` per control step makes the dynamics
analytic (``analytic_step``)::

    w <- w + h (m g l sin(theta) + u) / I,    theta <- theta + h w    (per substep h)

State (3,) = (cos theta, sin theta, theta_dot [rad/s]) as in the reference; action (1,) = the
hinge torque [N m] (clipped to +-MAX_TORQUE by the actuator). Episodes start hanging down,
theta = pi + U(-0.5, 0.5), theta_dot = U(-1, 1), and last ``EPISODE_S``.

Expert: energy pumping u = k_E (E_up - E) theta_dot with E = I w^2 / 2 + m g l (cos theta - 1)
(E_up = 0 upright at rest) blended, by a weight that goes from 0 at |theta| = ``BLEND[1]``
to 1 at ``BLEND[0]``, into the balance law u = -K_p theta - K_d w; the torque is clipped.
Reward: 1 per step in the second half of the episode with |theta| < ``UPRIGHT``; score = the
fraction of the second half spent upright (0-1; the expert scores 1). Pushes kick theta_dot
by U(-v, v) [rad/s].
"""

from __future__ import annotations

import math

import mujoco
import numpy as np
import torch

from robot_learning.ccil.tasks import Perturbation, Task

MASS = 1.0
"""[kg]"""
LENGTH = 1.0
"""[m]"""
GRAVITY = 9.81
"""[m/s^2]"""
COM_INERTIA = 1e-3
"""Inertia of the bob about its centre [kg m^2]; I = m l^2 + COM_INERTIA about the hinge."""
INERTIA = MASS * LENGTH ** 2 + COM_INERTIA
"""[kg m^2]"""
MAX_TORQUE = 3.0
"""[N m] (m g l = 9.81 N m: several swings are needed)."""
TIMESTEP = 0.01
"""MuJoCo timestep h [s]."""
SUBSTEPS = 2
"""MuJoCo steps per control step (control period 0.02 s, as the reference)."""
EPISODE_S = 10.0
UPRIGHT = 0.25
"""|theta| below which the pendulum counts as upright [rad]."""
ENERGY_GAIN = 2.0
"""k_E [N m per (J rad/s)]."""
BALANCE_GAINS = (25.0, 6.0)
"""(K_p [N m/rad], K_d [N m s/rad])."""
BLEND = (0.3, 0.6)
"""|theta| [rad] where the balance law takes over fully / starts to blend in."""

MJCF = f"""
<mujoco model="pendulum">
  <option timestep="{TIMESTEP}" gravity="0 0 {-GRAVITY}" integrator="Euler"/>
  <worldbody>
    <body name="pole">
      <joint name="hinge" type="hinge" axis="0 1 0"/>
      <inertial pos="0 0 {LENGTH}" mass="{MASS}"
                diaginertia="{COM_INERTIA} {COM_INERTIA} {COM_INERTIA}"/>
      <geom type="capsule" fromto="0 0 0 0 0 {LENGTH}" size="0.02" contype="0"
            conaffinity="0" mass="0"/>
    </body>
  </worldbody>
  <actuator>
    <motor joint="hinge" gear="1" ctrllimited="true"
           ctrlrange="{-MAX_TORQUE} {MAX_TORQUE}"/>
  </actuator>
</mujoco>
"""
"""The model: a hinge about y at the origin, the bob ``LENGTH`` above it at qpos = 0."""


def analytic_step(states: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    """Return the next states (N, 3) of the MuJoCo model for states (N, 3), torques (N, 1).

    Defined on all of R^3, not only the unit circle: (cos, sin) is rotated by h w per substep
    and the gravity torque uses the sin entry, so the map is smooth and invertible
    (``analytic_inverse``) and equals MuJoCo's step on the circle.
    """
    c, s, w = states[:, 0], states[:, 1], states[:, 2]
    u = actions[:, 0].clamp(-MAX_TORQUE, MAX_TORQUE)
    for _ in range(SUBSTEPS):
        w = w + TIMESTEP * (MASS * GRAVITY * LENGTH * s + u) / INERTIA
        turn = TIMESTEP * w
        c, s = c * torch.cos(turn) - s * torch.sin(turn), s * torch.cos(turn) + c * torch.sin(turn)
    return torch.stack([c, s, w], dim=1)


def analytic_residual(states: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    """Return the true f(s, a) = s' - s (N, 3), the quantity the CCIL model learns."""
    return analytic_step(states, actions) - states


def analytic_inverse(following: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    """Return the states (N, 3) from which torques (N, 1) lead to ``following`` (N, 3).

    The exact BackTrack label on the true dynamics: undo each substep (rotate back by h w,
    then remove the velocity change).
    """
    c, s, w = following[:, 0], following[:, 1], following[:, 2]
    u = actions[:, 0].clamp(-MAX_TORQUE, MAX_TORQUE)
    for _ in range(SUBSTEPS):
        turn = -TIMESTEP * w
        c, s = c * torch.cos(turn) - s * torch.sin(turn), s * torch.cos(turn) + c * torch.sin(turn)
        w = w - TIMESTEP * (MASS * GRAVITY * LENGTH * s + u) / INERTIA
    return torch.stack([c, s, w], dim=1)


class PendulumSwingupTask(Task):
    """See the module docstring."""

    name = 'pendulum_swingup'
    robot = 'pendulum'
    score_name = 'fraction of the second half of the episode upright (0-1)'
    episode_s = EPISODE_S

    def __init__(self, num_envs: int, seed: int = 0,
                 perturbation: Perturbation = Perturbation()) -> None:
        super().__init__(num_envs, seed, perturbation)
        self.model = mujoco.MjModel.from_xml_string(MJCF)
        self.data = [mujoco.MjData(self.model) for _ in range(num_envs)]
        self.steps = 0
        self._noise = np.array([0.01, 0.01, 0.05])

    @property
    def control_dt(self) -> float:
        """Control period [s]."""
        return TIMESTEP * SUBSTEPS

    @property
    def observation_noise_scale(self) -> np.ndarray:
        """(3,) 0.01 on cos and sin, 0.05 rad/s."""
        return self._noise

    @property
    def action_noise_scale(self) -> np.ndarray:
        """(1,) 0.3 N m (a tenth of the torque limit)."""
        return np.array([0.1 * MAX_TORQUE])

    def reset(self) -> np.ndarray:
        """Hang down with a small random angle and speed; return (N, 3) states."""
        angles = math.pi + self.rng.uniform(-0.5, 0.5, self.num_envs)
        speeds = self.rng.uniform(-1.0, 1.0, self.num_envs)
        for data, angle, speed in zip(self.data, angles, speeds):
            mujoco.mj_resetData(self.model, data)
            data.qpos[0], data.qvel[0] = angle, speed
        self.steps = 0
        return self._states()

    def _states(self) -> np.ndarray:
        return np.array([[math.cos(d.qpos[0]), math.sin(d.qpos[0]), d.qvel[0]]
                         for d in self.data])

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Step with torques (N, 1) [N m]."""
        actions = np.asarray(actions, dtype=np.float64).reshape(self.num_envs, 1)
        for data, torque in zip(self.data, actions[:, 0]):
            data.ctrl[0] = torque
            for _ in range(SUBSTEPS):
                mujoco.mj_step(self.model, data)
        self.steps += 1
        push = self.perturbation
        if push.push_interval > 0 and push.push_velocity > 0:
            every = max(1, int(round(push.push_interval / self.control_dt)))
            if self.steps % every == 0:
                for data in self.data:
                    data.qvel[0] += self.rng.uniform(-push.push_velocity, push.push_velocity)
        states = self._states()
        upright = np.abs(np.arctan2(states[:, 1], states[:, 0])) < UPRIGHT
        counted = self.steps > self.episode_steps // 2
        failed = ~np.isfinite(states).all(axis=1)
        return states, (upright & counted).astype(float), failed

    def expert(self, states: np.ndarray) -> np.ndarray:
        """Energy pumping blended into a PD balance law; torques (N, 1) for states (N, 3)."""
        states = np.asarray(states, dtype=np.float64)
        c, s, w = states[:, 0], states[:, 1], states[:, 2]
        theta = np.arctan2(s, c)
        energy = 0.5 * INERTIA * w ** 2 + MASS * GRAVITY * LENGTH * (c - 1.0)
        swing = ENERGY_GAIN * (0.0 - energy) * w
        balance = -BALANCE_GAINS[0] * theta - BALANCE_GAINS[1] * w
        weight = np.clip((BLEND[1] - np.abs(theta)) / (BLEND[1] - BLEND[0]), 0.0, 1.0)
        torque = weight * balance + (1.0 - weight) * swing
        return np.clip(torque, -MAX_TORQUE, MAX_TORQUE)[:, None]

    def score(self, returns: np.ndarray, final_states: np.ndarray,
              failed: np.ndarray) -> np.ndarray:
        """Return the fraction of the second half upright; 0 for a failed episode."""
        counted = self.episode_steps - self.episode_steps // 2
        return np.where(failed, 0.0, returns / counted)
