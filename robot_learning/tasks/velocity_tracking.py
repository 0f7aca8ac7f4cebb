# SPDX-License-Identifier: Apache-2.0
"""Legged velocity tracking (legged_gym / Isaac Lab style) over any simulation backend.

Observations, rewards and terminations are the pure terms of ``observations``, ``rewards`` and
``terminations``; this module only holds the episode bookkeeping. Environments that finish are
reset inside ``step`` and the returned observation is the first of their next episode (Isaac
Lab semantics, which rsl-rl-lib expects).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from robot_learning.config import require_positive
from robot_learning.domain_randomization.randomizer import Randomizer
from robot_learning.robots.registry import load_robot
from robot_learning.robots.spec import RobotSpec
from robot_learning.rotations import quat_rotate_inverse, yaw_quat
from robot_learning.sim.base import SimBackend, SimConfig, SimState
from robot_learning.tasks import rewards as R
from robot_learning.tasks import terminations as T
from robot_learning.tasks.commands import sample_velocity_commands, VelocityCommandConfig
from robot_learning.tasks.observations import ObservationInputs, ObservationTerm
from robot_learning.tasks.simulated_task import SimulatedTask
from robot_learning.tasks.success import velocity_tracking_success

DEFAULT_OBSERVATIONS = (
    ObservationTerm('base_lin_vel', (2.0,), 0.1),
    ObservationTerm('base_ang_vel', (0.25,), 0.2),
    ObservationTerm('projected_gravity', (1.0,), 0.05),
    ObservationTerm('velocity_command', (2.0, 2.0, 0.25), 0.0),
    ObservationTerm('joint_pos_rel', (1.0,), 0.01),
    ObservationTerm('joint_vel', (0.05,), 1.5),
    ObservationTerm('last_action', (1.0,), 0.0),
)
"""legged_gym's 48-D observation (12 joints) with its scales and noise half-widths."""


@dataclasses.dataclass(frozen=True)
class RewardWeights:
    """Weight of each reward term (0 disables it); multiplied by the control dt."""

    track_lin_vel_xy_exp: float = 1.0
    """exp(-|v_xy - cmd_xy|² / tracking_sigma), base frame."""
    track_ang_vel_z_exp: float = 0.5
    """exp(-(w_z - cmd_yaw)² / tracking_sigma)."""
    lin_vel_z_l2: float = -2.0
    """Squared vertical base velocity (base frame) [m²/s²]."""
    ang_vel_xy_l2: float = -0.05
    """Squared roll and pitch rates [rad²/s²]."""
    flat_orientation_l2: float = -1.0
    """Squared xy components of gravity in the base frame (0 when level)."""
    joint_torques_l2: float = -2e-4
    """Sum of squared joint torques [N²·m²]."""
    joint_acc_l2: float = -2.5e-7
    """Sum of squared finite-difference joint accelerations [rad²/s⁴]."""
    action_rate_l2: float = -0.01
    """Sum of squared changes of the action between control steps."""
    joint_pos_limits_l1: float = -10.0
    """Sum of the distances [rad] by which joints exceed the soft limits
    (``soft_joint_limit_factor``)."""
    feet_air_time: float = 1.0
    """Sum over feet touching down of (air time - feet_air_time_threshold) [s]; 0 for a zero
    command."""
    stand_still_l1: float = 0.0
    """Sum of the deviations from the default pose [rad] under a (near) zero command."""
    is_alive: float = 0.0
    """1 for each step an environment does not fail."""


@dataclasses.dataclass(frozen=True)
class VelocityTaskConfig:
    """The velocity-tracking task: robot, backend, timing, commands, terms and resets."""

    robot: str = 'quadruped'
    """Registered robot name or path of a robot YAML."""
    backend: str = 'mujoco'
    """Simulation backend: 'mujoco' or 'pybullet'."""
    num_envs: int = 1024
    """Worlds simulated together."""
    sim: SimConfig = SimConfig()
    """Physics timing (sim_dt [s], decimation) and solver settings."""
    episode_length_s: float = 20.0
    """Episode length before a time-out [s]."""
    commands: VelocityCommandConfig = VelocityCommandConfig()
    """Ranges [m/s, m/s, rad/s] and resampling of the base-velocity commands."""
    fixed_command: tuple[float, ...] = ()
    """When set, (vx, vy, yaw rate) used for every environment instead of sampled commands."""
    observations: tuple[ObservationTerm, ...] = DEFAULT_OBSERVATIONS
    """Observation terms in order, with scales and training noise (the policy contract stores
    them)."""
    noise_level: float = 1.0
    """Multiplier of every term's training noise in the policy observation (0 = none)."""
    clip_observations: float = 100.0
    """Observations are clipped to +-this after scaling."""
    clip_actions: float = 100.0
    """Raw policy actions are clipped to +-this before scaling."""
    rewards: RewardWeights = RewardWeights()
    """Weights of the reward terms (0 disables a term); multiplied by the control period."""
    tracking_sigma: float = 0.25
    """Width of the exponential tracking kernels [(m/s)²]."""
    feet_air_time_threshold: float = 0.5
    """Air time that earns no reward [s]."""
    soft_joint_limit_factor: float = 0.9
    """Fraction of the joint range inside which no limit penalty applies."""
    only_positive_rewards: bool = True
    """Clip the summed step reward at zero (legged_gym)."""
    min_base_height: float = 0.12
    """Terminate when the base origin is lower than this [m]."""
    max_base_tilt: float = 1.0
    """Terminate when the base tilts more than this [rad]."""
    contact_force_threshold: float = 1.0
    """A contact body touches the ground above this normal force [N]."""
    reset_joint_pos_scale: tuple[float, float] = (0.5, 1.5)
    """Reset joint positions = default pose * U(lo, hi)."""
    reset_base_velocity: float = 0.5
    """Reset base linear/angular velocity ~ U(-v, v) per axis [m/s, rad/s]."""
    dynamics: dict = dataclasses.field(default_factory=dict)
    """Fixed dynamics parameter values for every environment (name -> value); randomized
    parameters come from the run's ``randomization`` block instead."""
    success_speed_error: float = 0.25
    """An episode succeeds when it does not fall and its mean speed error stays below this
    [m/s] (``tasks.success.velocity_tracking_success``)."""
    seed: int = 0
    """Seed of resets, commands and observation noise (the simulator's is ``sim.seed``)."""

    def __post_init__(self) -> None:
        """Reject a non-positive or non-finite episode length."""
        require_positive('VelocityTaskConfig', episode_length_s=self.episode_length_s)


class VelocityTrackingEnv(SimulatedTask):
    """Batched numpy environment: ``step(actions)`` -> observations, rewards, dones, info.

    With a ``randomizer``, every reset draws the environment's dynamics from it and every
    finished episode is reported back to it with its success.
    """

    def __init__(self, config: VelocityTaskConfig, backend: SimBackend | None = None,
                 randomizer: Randomizer | None = None, robot: RobotSpec | None = None) -> None:
        """Build the worlds of ``config``.

        ``robot`` replaces ``load_robot(config.robot)``: an evaluation passes the robot with a
        policy contract's gains, limits, action scale and default pose.
        """
        self.config = config
        self.robot: RobotSpec = robot or load_robot(config.robot)
        if not self.robot.floating_base:
            raise ValueError(f"velocity tracking needs a legged robot; '{self.robot.name}' "
                             'has a fixed base')
        self._init_simulation(backend, randomizer)
        self.max_episode_length = math.ceil(config.episode_length_s / self.dt)
        robot = self.robot
        self.reward_names = [f.name for f in dataclasses.fields(RewardWeights)
                             if getattr(config.rewards, f.name) != 0.0]

        num_envs, num_joints = self.num_envs, self.num_actions
        num_contacts = len(robot.contact_bodies)
        self.episode_length = np.zeros(num_envs, dtype=np.int64)
        """(N,) steps counted toward the time-out (rsl-rl may randomize it at the start)."""
        self.episode_steps = np.zeros(num_envs, dtype=np.int64)
        """(N,) steps actually taken since the environment's last reset."""
        self.commands = np.zeros((num_envs, 3))
        self.command_time = np.zeros(num_envs)
        self.actions = np.zeros((num_envs, num_joints))
        self.last_actions = np.zeros((num_envs, num_joints))
        self.last_joint_vel = np.zeros((num_envs, num_joints))
        self.air_time = np.zeros((num_envs, num_contacts))
        self.last_contact = np.zeros((num_envs, num_contacts), dtype=bool)
        self.episode_sums = {name: np.zeros(num_envs) for name in self.reward_names}
        self.episode_speed_error = np.zeros(num_envs)
        num_randomized = len(randomizer.names) if randomizer is not None else 0
        self.sampled_dynamics = np.zeros((num_envs, num_randomized))
        """(N, D) dynamics the randomizer drew for each environment's current episode."""
        self.sample_tags = np.zeros(num_envs, dtype=np.int64)
        self._reset_envs(np.arange(num_envs))
        self.state = self.backend.get_state()
        self.observations = self._observe(self.state)

    # -- public API -------------------------------------------------------------------------

    def step(self, actions: np.ndarray) -> tuple[dict, np.ndarray, np.ndarray, np.ndarray, dict]:
        """Apply actions (N, J) for one control step.

        Returns:
            observations: {'policy': (N, D) with noise, 'critic': (N, D) noise-free}.
            rewards: (N,) summed weighted terms times dt.
            terminated: (N,) bool, failure (fall, tilt, non-finite state).
            truncated: (N,) bool, time-out.
            info: {'log': {'/reward/<term>': ..., '/episode/...': ...}} filled when envs reset;
                'episodes': the finished episodes, {'env_ids', 'success', 'speed_error',
                'fell', 'complete'}, arrays of shape (done,).
        """
        config = self.config
        actions, targets = self._joint_targets(actions, self.state)
        self.actions = actions
        self.backend.step(targets)
        self.episode_length += 1
        self.episode_steps += 1
        state, nonfinite = self._reset_nonfinite(self.backend.get_state())

        terminated = (T.base_height_below(state.base_pos, config.min_base_height)
                      | T.base_tilt_above(state.base_quat, config.max_base_tilt) | nonfinite)
        truncated = T.time_out(self.episode_length, self.max_episode_length) & ~terminated
        rewards = self._rewards(state, terminated)
        rewards[nonfinite] = 0.0
        speed_error = np.linalg.norm(
            self.commands[:, :2] - _body_velocity(state)[:, :2], axis=1)
        self.episode_speed_error += speed_error

        self.last_actions = actions
        self.last_joint_vel = state.joint_vel

        self._update_commands()
        done = np.flatnonzero(terminated | truncated)
        episodes = self._finish_episodes(done, terminated)
        info = {'log': self._episode_log(done, nonfinite.sum(), episodes),
                'episodes': episodes}
        if done.size:
            self._reset_envs(done)
            state = self.backend.get_state()
        self.state = state
        self.observations = self._observe(state)
        return self.observations, rewards, terminated, truncated, info

    def set_commands(self, commands: np.ndarray) -> None:
        """Overwrite the current commands (N, 3) (e.g. from a joystick or an evaluation)."""
        self.commands[:] = commands

    # -- internals --------------------------------------------------------------------------

    def observation_inputs(self, state: SimState) -> ObservationInputs:
        """Collect the observation-term inputs for ``state`` and the current commands."""
        return ObservationInputs(
            base_quat=state.base_quat, base_lin_vel=state.base_lin_vel,
            base_ang_vel=state.base_ang_vel, joint_pos=state.joint_pos,
            joint_vel=state.joint_vel, default_joint_pos=self.robot.default_joint_pos,
            command=self.commands, last_action=self.last_actions)

    def _rewards(self, state: SimState, terminated: np.ndarray) -> np.ndarray:
        config, weights = self.config, self.config.rewards
        contact = state.contact_force > config.contact_force_threshold
        contact_filtered = contact | self.last_contact
        first_contact = (self.air_time > 0.0) & contact_filtered
        self.air_time += self.dt
        air_time = self.air_time.copy()
        self.air_time *= ~contact_filtered
        self.last_contact = contact

        terms = {
            'track_lin_vel_xy_exp': lambda: R.track_lin_vel_xy_exp(
                state.base_quat, state.base_lin_vel, self.commands, config.tracking_sigma),
            'track_ang_vel_z_exp': lambda: R.track_ang_vel_z_exp(
                state.base_ang_vel, self.commands, config.tracking_sigma),
            'lin_vel_z_l2': lambda: R.lin_vel_z_l2(state.base_quat, state.base_lin_vel),
            'ang_vel_xy_l2': lambda: R.ang_vel_xy_l2(state.base_ang_vel),
            'flat_orientation_l2': lambda: R.flat_orientation_l2(state.base_quat),
            'joint_torques_l2': lambda: R.joint_torques_l2(state.joint_torque),
            'joint_acc_l2': lambda: R.joint_acc_l2(state.joint_vel, self.last_joint_vel,
                                                   self.dt),
            'action_rate_l2': lambda: R.action_rate_l2(self.actions, self.last_actions),
            'joint_pos_limits_l1': lambda: R.joint_pos_limits_l1(
                state.joint_pos, self.soft_lower, self.soft_upper),
            'feet_air_time': lambda: R.feet_air_time(
                first_contact, air_time, self.commands, config.feet_air_time_threshold),
            'stand_still_l1': lambda: R.stand_still_l1(
                state.joint_pos, self.robot.default_joint_pos, self.commands),
            'is_alive': lambda: R.is_alive(terminated),
        }
        total = np.zeros(self.num_envs)
        for name in self.reward_names:
            value = terms[name]() * getattr(weights, name) * self.dt
            self.episode_sums[name] += value
            total += value
        if config.only_positive_rewards:
            total = np.clip(total, 0.0, None)
        return total

    def _update_commands(self) -> None:
        self.command_time += self.dt
        due = np.flatnonzero(self.command_time >= self.config.commands.resample_time)
        self._resample_commands(due)

    def _resample_commands(self, env_ids: np.ndarray) -> None:
        if env_ids.size == 0:
            return
        self.command_time[env_ids] = 0.0
        if self.config.fixed_command:
            self.commands[env_ids] = np.asarray(self.config.fixed_command, dtype=float)
        else:
            self.commands[env_ids] = sample_velocity_commands(
                self.config.commands, env_ids.size, self.rng)

    def _finish_episodes(self, done: np.ndarray, terminated: np.ndarray) -> dict:
        """Summarise the episodes of ``done`` and report the complete ones to the randomizer.

        An episode is complete when its time-out counter was not moved (rsl-rl starts training
        with random episode lengths, so the first episodes time out early and prove nothing).
        """
        steps = self.episode_steps[done]
        speed_error = self.episode_speed_error[done] / np.maximum(steps, 1)
        fell = terminated[done]
        success = velocity_tracking_success(speed_error, fell, self.config.success_speed_error)
        complete = steps == self.episode_length[done]
        if self.randomizer is not None and np.any(complete):
            self.randomizer.record(self.sampled_dynamics[done[complete]], success[complete],
                                   self.sample_tags[done[complete]])
        return {'env_ids': done, 'success': success, 'speed_error': speed_error, 'fell': fell,
                'complete': complete}

    def _episode_log(self, done: np.ndarray, nonfinite: int,
                     episodes: dict) -> dict[str, float]:
        log = {'/sim/nonfinite_resets': float(nonfinite)}
        if done.size == 0:
            return log
        for name in self.reward_names:
            log[f'/reward/{name}'] = float(np.mean(self.episode_sums[name][done])
                                           / self.config.episode_length_s)
        log['/episode/speed_error'] = float(np.mean(episodes['speed_error']))
        log['/episode/fall_rate'] = float(np.mean(episodes['fell']))
        complete = episodes['complete']
        if np.any(complete):
            log['/episode/success_rate'] = float(np.mean(episodes['success'][complete]))
        return log

    def _reset_envs(self, env_ids: np.ndarray) -> None:
        config, robot = self.config, self.robot
        count = env_ids.size
        if self.randomizer is not None:
            values, tags = self.randomizer.sample(count, self.rng)
            self.sampled_dynamics[env_ids] = values
            self.sample_tags[env_ids] = tags
            if values.shape[1]:
                self.backend.set_dynamics(env_ids, self.randomizer.box.as_dict(values))
        state = self.backend.default_state(count)
        state.base_quat = yaw_quat(self.rng.uniform(-np.pi, np.pi, count))
        low, high = config.reset_joint_pos_scale
        joint_pos = robot.default_joint_pos * self.rng.uniform(low, high, (count, 1))
        state.joint_pos = np.clip(joint_pos, robot.position_lower, robot.position_upper)
        v = config.reset_base_velocity
        state.base_lin_vel = self.rng.uniform(-v, v, (count, 3))
        state.base_ang_vel = self.rng.uniform(-v, v, (count, 3))
        self.backend.reset(env_ids, state)
        self.episode_length[env_ids] = 0
        self.episode_steps[env_ids] = 0
        self.actions[env_ids] = 0.0
        self.last_actions[env_ids] = 0.0
        self.last_joint_vel[env_ids] = 0.0
        self.air_time[env_ids] = 0.0
        self.last_contact[env_ids] = False
        self.episode_speed_error[env_ids] = 0.0
        for sums in self.episode_sums.values():
            sums[env_ids] = 0.0
        self._resample_commands(env_ids)


def _body_velocity(state: SimState) -> np.ndarray:
    """Return the base linear velocity in the base frame, (N, 3) [m/s]."""
    return quat_rotate_inverse(state.base_quat, state.base_lin_vel)
