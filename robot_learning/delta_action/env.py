# SPDX-License-Identifier: Apache-2.0
"""The delta-action training environment: replay recorded actions plus delta_a in simulation.

Each episode starts from the recorded real state at a random clip start (subset reset of the
backend to given states), steps with ``a_real + offset(delta_a)`` and is rewarded for tracking
the recorded NEXT state with the reference's Table II terms and the action-norm penalty
``exp(|delta_a|) - 1``. Episodes end with the clip (``horizon_s``, 1.0 s by default); no
other termination (the reference switches them all off). The interface is the one
``rl.vec_env.RslVecEnv`` adapts onto rsl-rl.

Observation groups: ``policy`` (``model.delta_observation``) and ``critic`` (the policy
observation plus the gap to the recorded next state: joints, base position and velocity,
every body position, and the fraction of the clip left).
"""

from __future__ import annotations

import numpy as np

from robot_learning.delta_action.clips import ClipSet
from robot_learning.delta_action.config import DeltaConfig
from robot_learning.delta_action.model import (delta_observation, delta_target_offset, joint_mask,
                                               raw_actions)
from robot_learning.motions.kinematics import BodyKinematics
from robot_learning.robots.registry import load_robot
from robot_learning.rotations import quat_angle, quat_rotate_inverse
from robot_learning.sim.base import SimBackend, SimState
from robot_learning.sim.registry import make_backend
from robot_learning.tasks import rewards as R
from robot_learning.tasks.registry import register_task, TaskSpec

EXPONENT_CAP = 20.0
"""|delta_a| above this is capped inside exp() of the action-norm penalty (overflow guard)."""


class DeltaActionEnv:
    """Batched numpy environment: ``step(delta_a)`` -> observations, rewards, dones, info."""

    def __init__(self, config: DeltaConfig, clips: ClipSet,
                 backend: SimBackend | None = None) -> None:
        self.config = config
        self.clips = clips
        self.robot = load_robot(config.robot)
        self.backend = backend or make_backend(config.backend, self.robot, config.num_envs,
                                               config.sim)
        self.num_envs = self.backend.num_envs
        if config.dynamics:
            self.backend.set_dynamics(np.arange(self.num_envs), dict(config.dynamics))
        self.num_actions = self.robot.num_joints
        self.dt = self.backend.control_dt
        if abs(self.dt - clips.control_dt) > 1e-9:
            raise ValueError(f'the clips are sampled every {clips.control_dt} s, the simulator '
                             f'steps {self.dt} s')
        self.horizon = clips.horizon
        self.max_episode_length = self.horizon
        self.mask = joint_mask(self.robot, config.delta_joints)
        self.kinematics = BodyKinematics(self.robot)
        self.reference_bodies = self.kinematics.positions(clips.base_pos, clips.base_quat,
                                                          clips.joint_pos)
        """(R, B, 3) body positions of every recorded row [m]."""
        robot = self.robot
        mid = (robot.position_upper + robot.position_lower) / 2
        half = (robot.position_upper - robot.position_lower) / 2
        self.soft_lower, self.soft_upper = mid - 0.95 * half, mid + 0.95 * half
        weights = config.rewards
        self.reward_names = [name for name in vars(weights) if getattr(weights, name) != 0.0]
        self.rng = np.random.default_rng(config.seed)
        count, joints = self.num_envs, self.num_actions
        self.start_rows = np.zeros(count, dtype=np.int64)
        self.episode_length = np.zeros(count, dtype=np.int64)
        """(N,) steps counted toward the time-out (rsl-rl may randomize it at the start)."""
        self.episode_steps = np.zeros(count, dtype=np.int64)
        """(N,) steps since the reset: the clip row is start_rows + episode_steps."""
        self.previous_delta = np.zeros((count, joints))
        self.last_targets = np.zeros((count, joints))
        """(N, J) joint targets sent in the last step [rad] (recorded + offset)."""
        self.episode_sums = {name: np.zeros(count) for name in self.reward_names}
        self.episode_error = np.zeros(count)
        self.state: SimState | None = None
        self._reset_envs(np.arange(count))
        self.observations = self._observe(self.state)

    def step(self, actions: np.ndarray) -> tuple[dict, np.ndarray, np.ndarray, np.ndarray, dict]:
        """Apply delta_a (N, J); return observations, rewards, terminated, truncated, info."""
        config = self.config
        delta = np.clip(np.asarray(actions, dtype=float), -config.clip_delta,
                        config.clip_delta) * self.mask
        rows = self.start_rows + self.episode_steps
        targets = self.clips.targets[rows] + delta_target_offset(
            delta, self.robot.action_scale, config.delta_scale, config.clip_delta, self.mask)
        self.last_targets = targets
        self.backend.step(targets)
        state = self.backend.get_state()
        self.episode_length += 1
        self.episode_steps += 1
        nonfinite = ~state.is_finite()
        rows = self.start_rows + self.episode_steps
        rewards, body_error = self._rewards(state, rows, delta)
        rewards[nonfinite] = 0.0
        self.episode_error += np.where(nonfinite, 0.0, body_error)
        self.previous_delta = delta
        terminated = nonfinite
        truncated = ((self.episode_steps >= self.horizon)
                     | (self.episode_length >= self.max_episode_length)) & ~terminated
        done = np.flatnonzero(terminated | truncated)
        log = {'/sim/nonfinite_resets': float(nonfinite.sum())}
        if done.size:
            for name in self.reward_names:
                log[f'/reward/{name}'] = float(np.mean(self.episode_sums[name][done]))
            log['/episode/body_error_mm'] = float(np.mean(
                self.episode_error[done] / np.maximum(self.episode_steps[done], 1)) * 1000.0)
            self._reset_envs(done)
            if nonfinite.any():
                state = self.backend.get_state()
            state = self._merge_reset_state(state, done)
        self.state = state
        self.observations = self._observe(state)
        return self.observations, rewards, terminated, truncated, {'log': log}

    # -- internals --------------------------------------------------------------------------

    def _rewards(self, state: SimState, rows: np.ndarray,
                 delta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        weights, sigmas, clips = self.config.rewards, self.config.sigmas, self.clips
        bodies = self.kinematics.positions(state.base_pos, state.base_quat, state.joint_pos)
        body_sq = np.sum((bodies - self.reference_bodies[rows]) ** 2, axis=-1)
        feet = self.kinematics.feet

        def kernel(error: np.ndarray, sigma: float) -> np.ndarray:
            return np.exp(-error / sigma)

        terms = {
            'body_pos': lambda: kernel(body_sq.mean(axis=1), sigmas.body_pos),
            'feet_pos': lambda: kernel(body_sq[:, feet].mean(axis=1) if feet.size
                                       else np.zeros(len(rows)), sigmas.feet_pos),
            'body_rot': lambda: kernel(quat_angle(state.base_quat, clips.base_quat[rows]) ** 2,
                                       sigmas.body_rot),
            'body_vel': lambda: kernel(np.mean((state.base_lin_vel
                                                - clips.base_lin_vel[rows]) ** 2, axis=1),
                                       sigmas.body_vel),
            'body_ang_vel': lambda: kernel(np.mean((state.base_ang_vel
                                                    - clips.base_ang_vel[rows]) ** 2, axis=1),
                                           sigmas.body_ang_vel),
            'joint_pos': lambda: kernel(np.mean((state.joint_pos - clips.joint_pos[rows]) ** 2,
                                                axis=1), sigmas.joint_pos),
            'joint_vel': lambda: kernel(np.mean((state.joint_vel - clips.joint_vel[rows]) ** 2,
                                                axis=1), sigmas.joint_vel),
            'joint_pos_limits': lambda: R.joint_pos_limits_l1(state.joint_pos, self.soft_lower,
                                                              self.soft_upper),
            'torque_limits': lambda: np.sum(np.clip(
                np.abs(state.joint_torque) - self.robot.effort_limit, 0.0, None), axis=1),
            'action_rate': lambda: np.sum((delta - self.previous_delta) ** 2, axis=1),
            'action_norm': lambda: np.expm1(np.minimum(np.linalg.norm(delta, axis=1),
                                                       EXPONENT_CAP)),
        }
        total = np.zeros(self.num_envs)
        for name in self.reward_names:
            value = terms[name]() * getattr(weights, name) * self.dt
            self.episode_sums[name] += value
            total += value
        return total, np.sqrt(body_sq).mean(axis=1)

    def _observe(self, state: SimState) -> dict[str, np.ndarray]:
        rows = self.start_rows + self.episode_steps
        action = raw_actions(self.clips.targets[np.minimum(rows, len(self.clips.targets) - 1)],
                             self.robot)
        policy = delta_observation(state, action, self.previous_delta, self.robot)
        nxt = np.minimum(rows + 1, len(self.clips.targets) - 1)
        clips = self.clips
        bodies = self.kinematics.positions(state.base_pos, state.base_quat, state.joint_pos)
        gap = (self.reference_bodies[nxt] - bodies).reshape(self.num_envs, -1)
        critic = np.concatenate([
            policy, clips.joint_pos[nxt] - state.joint_pos,
            clips.base_pos[nxt] - state.base_pos,
            quat_rotate_inverse(state.base_quat, clips.base_lin_vel[nxt] - state.base_lin_vel),
            gap, (1.0 - self.episode_steps / self.horizon)[:, None]], axis=1)
        return {'policy': policy, 'critic': critic.astype(np.float32)}

    def _reset_envs(self, env_ids: np.ndarray) -> None:
        starts = self.clips.starts[self.rng.integers(0, self.clips.num_clips, env_ids.size)]
        self.start_rows[env_ids] = starts
        self.backend.reset(env_ids, self.clips.state(starts))
        self.episode_length[env_ids] = 0
        self.episode_steps[env_ids] = 0
        self.previous_delta[env_ids] = 0.0
        self.episode_error[env_ids] = 0.0
        for sums in self.episode_sums.values():
            sums[env_ids] = 0.0
        if self.state is None:
            self.state = self._recorded_state(np.arange(self.num_envs))

    def _recorded_state(self, env_ids: np.ndarray) -> SimState:
        state = self.clips.state(self.start_rows[env_ids])
        contacts = len(self.robot.contact_bodies)
        state.contact_force = np.zeros((env_ids.size, contacts))
        state.contact_pos = np.zeros((env_ids.size, contacts, 3))
        return state

    def _merge_reset_state(self, state: SimState, done: np.ndarray) -> SimState:
        """Return ``state`` with the rows of just-reset environments set to their new start."""
        fresh = self._recorded_state(done)
        for name in vars(state):
            getattr(state, name)[done] = getattr(fresh, name)
        return state


register_task('delta_action', TaskSpec(
    config_cls=DeltaConfig, env_cls=DeltaActionEnv,
    description='ASAP delta-action model: recorded actions plus a learned correction reproduce '
                'the recorded next states', metrics=(), deployable=False))
