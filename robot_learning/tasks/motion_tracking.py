# SPDX-License-Identifier: Apache-2.0
"""Phase-conditioned humanoid motion tracking (ASAP / DeepMimic style) over any backend.

Each environment follows one reference motion of a :class:`MotionLibrary` from a random start
time (reference state initialisation): it is reset into the reference state and rewarded with
the tracking terms of ``tasks.tracking_rewards`` against the reference at its motion time. An
episode ends at the end of its motion (a time-out) or when the mean distance of the tracked
bodies from the reference exceeds ``terminate_body_distance`` (a failure). The environment
interface is VelocityTrackingEnv's, so ``rl.vec_env.RslVecEnv`` and ``rl.training`` drive it.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from robot_learning.config import ConfigError
from robot_learning.domain_randomization.randomizer import Randomizer
from robot_learning.motions.kinematics import BodyKinematics
from robot_learning.motions.library import motion_inputs, MotionLibrary, ReferenceState
from robot_learning.robots.registry import load_robot
from robot_learning.robots.spec import RobotSpec
from robot_learning.sim.base import SimBackend, SimConfig, SimState
from robot_learning.tasks import rewards as R
from robot_learning.tasks import tracking_rewards as TR
from robot_learning.tasks.observations import ObservationInputs, ObservationTerm
from robot_learning.tasks.simulated_task import SimulatedTask

DEFAULT_OBSERVATIONS = (
    ObservationTerm('base_ang_vel', (0.25,), 0.2),
    ObservationTerm('projected_gravity', (1.0,), 0.05),
    ObservationTerm('joint_pos_rel', (1.0,), 0.01),
    ObservationTerm('joint_vel', (0.05,), 1.5),
    ObservationTerm('last_action', (1.0,), 0.0),
    ObservationTerm('motion_phase', (1.0,), 0.0),
    ObservationTerm('reference_joint_pos', (1.0,), 0.0),
)
"""ASAP's actor terms (no history) plus the reference joint pose, which tells the motions
apart when one policy tracks several."""


@dataclasses.dataclass(frozen=True)
class TrackingRewardWeights:
    """Weight of each reward term (0 disables it); multiplied by the control dt.

    Defaults are ASAP's Table I (pre-training reward) where the project humanoid has the link:
    ``upper_keypoints`` (torso and elbows) stands in for the VR 3-point term (head and hands).
    """

    upper_body_pos: float = 1.0
    """exp kernel of the upper tracked bodies' position error (``upper_bodies``)."""
    lower_body_pos: float = 0.5
    """exp kernel of the other tracked bodies' position error."""
    upper_keypoints: float = 1.6
    """exp kernel of the keypoints' position error (``keypoints``)."""
    feet_pos: float = 2.1
    """exp kernel of the feet's position error (``feet``)."""
    root_orientation: float = 0.5
    """exp kernel of the squared base rotation angle from the reference."""
    root_ang_vel: float = 0.5
    """exp kernel of the base angular velocity error."""
    root_lin_vel: float = 0.5
    """exp kernel of the base linear velocity error."""
    joint_pos: float = 0.75
    """exp kernel of the joint position error."""
    joint_vel: float = 0.5
    """exp kernel of the joint velocity error."""
    joint_torques_l2: float = -1e-6
    """Sum of squared joint torques [N²·m²]."""
    action_rate_l2: float = -0.5
    """Sum of squared changes of the action between control steps."""
    joint_pos_limits_l1: float = -10.0
    """Sum of the distances [rad] by which joints exceed the soft limits
    (``soft_joint_limit_factor``)."""
    termination: float = -200.0
    """1 on the step an episode fails (tracked bodies beyond ``terminate_body_distance`` or a
    non-finite state)."""


@dataclasses.dataclass(frozen=True)
class TrackingSigmas:
    """Widths of the ``exp(-error / sigma)`` kernels (ASAP's values)."""

    upper_body_pos: float = 0.03
    """[m²]"""
    lower_body_pos: float = 0.1
    """[m²]"""
    upper_keypoints: float = 0.03
    """[m²]"""
    feet_pos: float = 0.03
    """[m²]"""
    root_orientation: float = 1.0
    """[rad²]"""
    root_ang_vel: float = 1.0
    """[rad²/s²]"""
    root_lin_vel: float = 1.0
    """[m²/s²]"""
    joint_pos: float = 1.0
    """[rad²]"""
    joint_vel: float = 1.0
    """[rad²/s²]"""


UPPER_BODIES = ('torso_link', 'left_shoulder_roll_link', 'left_elbow_link',
                'right_shoulder_roll_link', 'right_elbow_link')
KEYPOINTS = ('torso_link', 'left_elbow_link', 'right_elbow_link')


@dataclasses.dataclass(frozen=True)
class MotionTaskConfig:
    """The motion-tracking task: robot, motions, backend, timing, terms and terminations."""

    robot: str = 'humanoid'
    """Registered robot name or path of a robot YAML."""
    motions: tuple[str, ...] = ('squat', 'arm_swing', 'step_in_place', 'kick')
    """Shipped motion names (``motions/<robot>/<name>.npz``) or ``.npz`` paths."""
    backend: str = 'mujoco'
    """Simulation backend name (``sim/registry.py``: 'mujoco', 'pybullet', 'mujoco_warp', ...)."""
    num_envs: int = 256
    """Worlds simulated together."""
    sim: SimConfig = SimConfig()
    """Physics timing (sim_dt [s], decimation) and solver settings."""
    observations: tuple[ObservationTerm, ...] = DEFAULT_OBSERVATIONS
    """Observation terms in order, with scales and training noise (the policy contract stores
    them)."""
    noise_level: float = 1.0
    """Multiplier of every term's training noise in the policy observation (0 = none)."""
    clip_observations: float = 100.0
    """Observations are clipped to +-this after scaling."""
    clip_actions: float = 100.0
    """Raw policy actions are clipped to +-this before scaling."""
    rewards: TrackingRewardWeights = TrackingRewardWeights()
    """Weights of the reward terms (0 disables a term); multiplied by the control period."""
    sigmas: TrackingSigmas = TrackingSigmas()
    """Widths of the tracking kernels exp(-error / sigma)."""
    feet: tuple[str, ...] = ('left_foot', 'right_foot')
    """Tracked bodies rewarded as the feet (feet_pos term)."""
    upper_bodies: tuple[str, ...] = UPPER_BODIES
    """Tracked bodies rewarded as the upper body; the other tracked bodies are the lower."""
    keypoints: tuple[str, ...] = KEYPOINTS
    """Tracked bodies of the upper_keypoints term (torso and elbows, standing in for ASAP's head
    and hands)."""
    soft_joint_limit_factor: float = 0.9
    """Fraction of the joint range inside which no limit penalty applies."""
    terminate_body_distance: float = 0.5
    """Fail an episode when the mean tracked-body distance exceeds this [m] (ASAP: 0.5 m)."""
    random_start: bool = True
    """Start episodes at a random time of a random motion; False: every motion from 0 s,
    environment i playing motion i mod M (evaluation)."""
    start_margin_s: float = 0.5
    """Random starts leave at least this much of the motion to play [s]."""
    dynamics: dict = dataclasses.field(default_factory=dict)
    """Fixed dynamics parameter values for every environment (name -> value)."""
    target_limit_margin: float | None = None
    """Clamp the joint targets (after the action transform) into the position limits shrunk
    by this [rad], as the ROS 2 policy node does (its ``position_margin``, 0.1); None: no
    clamp (how the shipped policy was trained)."""
    seed: int = 0
    """Seed of resets (start motion and time) and observation noise (the simulator's is
    ``sim.seed``)."""


class MotionTrackingEnv(SimulatedTask):
    """Batched numpy environment: ``step(actions)`` -> observations, rewards, dones, info."""

    def __init__(self, config: MotionTaskConfig, backend: SimBackend | None = None,
                 randomizer: Randomizer | None = None, robot: RobotSpec | None = None) -> None:
        """Build the worlds of ``config``.

        ``robot`` replaces ``load_robot(config.robot)``: an evaluation passes the robot with a
        policy contract's gains, limits, action scale and default pose.
        """
        self.config = config
        self.robot: RobotSpec = robot or load_robot(config.robot)
        if not self.robot.floating_base:
            raise ValueError(f"motion tracking needs a floating-base robot; '{self.robot.name}' "
                             'has a fixed base')
        self.library = MotionLibrary.load(config.motions, self.robot)
        names = self.library.body_names
        for key in ('feet', 'upper_bodies', 'keypoints'):
            unknown = [name for name in getattr(config, key) if name not in names]
            if unknown:
                raise ConfigError(f"task.{key}: {', '.join(unknown)} are not tracked bodies of "
                                  f"the motions ({', '.join(names)})")
        self.upper = np.array([names.index(name) for name in config.upper_bodies], dtype=int)
        self.lower = np.array([i for i in range(len(names)) if i not in self.upper], dtype=int)
        self.feet = np.array([names.index(name) for name in config.feet], dtype=int)
        self.keypoints = np.array([names.index(name) for name in config.keypoints], dtype=int)
        self.kinematics = BodyKinematics(self.robot, names)
        self._init_simulation(backend, randomizer)
        self.max_episode_length = math.ceil(float(self.library.durations.max()) / self.dt)
        self.reward_names = [f.name for f in dataclasses.fields(TrackingRewardWeights)
                             if getattr(config.rewards, f.name) != 0.0]
        self.body_pos: np.ndarray
        """(N, B, 3) tracked-body positions of the current state [m]."""

        num_envs, num_joints = self.num_envs, self.num_actions
        self.episode_length = np.zeros(num_envs, dtype=np.int64)
        """(N,) steps counted toward rsl-rl's time-out bookkeeping."""
        self.episode_steps = np.zeros(num_envs, dtype=np.int64)
        self.motion_ids = np.zeros(num_envs, dtype=np.int64)
        """(N,) index of each environment's motion in ``library``."""
        self.motion_time = np.zeros(num_envs)
        """(N,) time of each environment in its motion [s]."""
        self.actions = np.zeros((num_envs, num_joints))
        self.last_actions = np.zeros((num_envs, num_joints))
        self.episode_sums = {name: np.zeros(num_envs) for name in self.reward_names}
        self.episode_body_error = np.zeros(num_envs)
        self.episode_joint_error = np.zeros(num_envs)
        num_randomized = len(randomizer.names) if randomizer is not None else 0
        self.sampled_dynamics = np.zeros((num_envs, num_randomized))
        self.sample_tags = np.zeros(num_envs, dtype=np.int64)
        self._reset_envs(np.arange(num_envs))
        self.state = self.backend.get_state()
        self.body_pos = self.kinematics.positions(self.state.base_pos, self.state.base_quat,
                                                  self.state.joint_pos)
        self.observations = self._observe(self.state)

    # -- public API -------------------------------------------------------------------------

    def reference(self) -> ReferenceState:
        """Return the reference of every environment at its current motion time."""
        return self.library.reference(self.motion_ids, self.motion_time)

    def step(self, actions: np.ndarray) -> tuple[dict, np.ndarray, np.ndarray, np.ndarray, dict]:
        """Apply actions (N, J) for one control step.

        Returns:
            observations: {'policy': (N, D) with noise, 'critic': (N, D) noise-free}.
            rewards: (N,) summed weighted terms times dt.
            terminated: (N,) bool, failure (too far from the reference, non-finite state).
            truncated: (N,) bool, end of the motion.
            info: {'log': {...}, 'episodes': {'env_ids', 'success', 'body_error',
                'joint_error', 'fell', 'complete'}} for the environments that finished.
        """
        config = self.config
        actions, targets = self._joint_targets(actions, self.state)
        self.actions = actions
        if config.target_limit_margin is not None:
            margin = config.target_limit_margin
            targets = np.clip(targets, self.robot.position_lower + margin,
                              self.robot.position_upper - margin)
        self.backend.step(targets)
        self.episode_length += 1
        self.episode_steps += 1
        self.motion_time += self.dt
        state, nonfinite = self._reset_nonfinite(self.backend.get_state())
        reference = self.reference()
        body_pos = self.kinematics.positions(state.base_pos, state.base_quat, state.joint_pos)
        distance = TR.mean_body_distance(body_pos, reference.body_pos)
        terminated = (distance > config.terminate_body_distance) | nonfinite
        truncated = (self.motion_time >= self.library.durations[self.motion_ids] - 1e-9) \
            & ~terminated
        rewards = self._rewards(state, reference, body_pos, terminated)
        rewards[nonfinite] = 0.0
        self.episode_body_error += np.where(nonfinite, 0.0, distance)
        self.episode_joint_error += np.mean(np.abs(state.joint_pos - reference.joint_pos),
                                            axis=1)
        self.last_actions = actions

        done = np.flatnonzero(terminated | truncated)
        episodes = self._finish_episodes(done, terminated)
        info = {'log': self._episode_log(done, nonfinite.sum(), episodes),
                'episodes': episodes}
        if done.size:
            self._reset_envs(done)
            state = self.backend.get_state()
            body_pos[done] = self.kinematics.positions(
                state.base_pos[done], state.base_quat[done], state.joint_pos[done])
        self.state = state
        self.body_pos = body_pos
        self.observations = self._observe(state)
        return self.observations, rewards, terminated, truncated, info

    def observation_inputs(self, state: SimState) -> ObservationInputs:
        """Collect the observation-term inputs for ``state`` at the current motion times."""
        phase, reference_joint_pos = motion_inputs(self.library, self.motion_ids,
                                                   self.motion_time)
        return ObservationInputs(
            base_quat=state.base_quat, base_lin_vel=state.base_lin_vel,
            base_ang_vel=state.base_ang_vel, joint_pos=state.joint_pos,
            joint_vel=state.joint_vel, default_joint_pos=self.robot.default_joint_pos,
            command=np.zeros((self.num_envs, 3)), last_action=self.last_actions,
            motion_phase=phase, reference_joint_pos=reference_joint_pos)

    # -- internals --------------------------------------------------------------------------

    def _rewards(self, state: SimState, reference: ReferenceState, body_pos: np.ndarray,
                 terminated: np.ndarray) -> np.ndarray:
        sigma, weights = self.config.sigmas, self.config.rewards
        ref_body = reference.body_pos
        upper, lower, feet, keys = self.upper, self.lower, self.feet, self.keypoints
        terms = {
            'upper_body_pos': lambda: TR.body_pos_exp(
                body_pos[:, upper], ref_body[:, upper], sigma.upper_body_pos),
            'lower_body_pos': lambda: TR.body_pos_exp(
                body_pos[:, lower], ref_body[:, lower], sigma.lower_body_pos),
            'upper_keypoints': lambda: TR.body_pos_exp(
                body_pos[:, keys], ref_body[:, keys], sigma.upper_keypoints),
            'feet_pos': lambda: TR.body_pos_exp(
                body_pos[:, feet], ref_body[:, feet], sigma.feet_pos),
            'root_orientation': lambda: TR.root_orientation_exp(
                state.base_quat, reference.base_quat, sigma.root_orientation),
            'root_ang_vel': lambda: TR.mean_square_exp(
                state.base_ang_vel, reference.base_ang_vel, sigma.root_ang_vel),
            'root_lin_vel': lambda: TR.mean_square_exp(
                state.base_lin_vel, reference.base_lin_vel, sigma.root_lin_vel),
            'joint_pos': lambda: TR.mean_square_exp(
                state.joint_pos, reference.joint_pos, sigma.joint_pos),
            'joint_vel': lambda: TR.mean_square_exp(
                state.joint_vel, reference.joint_vel, sigma.joint_vel),
            'joint_torques_l2': lambda: R.joint_torques_l2(state.joint_torque),
            'action_rate_l2': lambda: R.action_rate_l2(self.actions, self.last_actions),
            'joint_pos_limits_l1': lambda: R.joint_pos_limits_l1(
                state.joint_pos, self.soft_lower, self.soft_upper),
            'termination': lambda: TR.termination(terminated),
        }
        total = np.zeros(self.num_envs)
        for name in self.reward_names:
            value = terms[name]() * getattr(weights, name) * self.dt
            self.episode_sums[name] += value
            total += value
        return total

    def _finish_episodes(self, done: np.ndarray, terminated: np.ndarray) -> dict:
        """Summarise the episodes of ``done`` (success: never farther than the threshold)."""
        steps = np.maximum(self.episode_steps[done], 1)
        fell = terminated[done]
        success = ~fell
        if self.randomizer is not None and done.size:
            self.randomizer.record(self.sampled_dynamics[done], success, self.sample_tags[done])
        return {'env_ids': done, 'success': success, 'fell': fell,
                'body_error': self.episode_body_error[done] / steps,
                'joint_error': self.episode_joint_error[done] / steps,
                'motion_ids': self.motion_ids[done].copy(),
                'complete': np.ones(done.size, dtype=bool)}

    def _episode_log(self, done: np.ndarray, nonfinite: int,
                     episodes: dict) -> dict[str, float]:
        log = {'/sim/nonfinite_resets': float(nonfinite)}
        if done.size == 0:
            return log
        steps = np.maximum(self.episode_steps[done], 1) * self.dt
        for name in self.reward_names:
            log[f'/reward/{name}'] = float(np.mean(self.episode_sums[name][done] / steps))
        log['/episode/body_error'] = float(np.mean(episodes['body_error']))
        log['/episode/joint_error'] = float(np.mean(episodes['joint_error']))
        log['/episode/fall_rate'] = float(np.mean(episodes['fell']))
        log['/episode/success_rate'] = float(np.mean(episodes['success']))
        return log

    def _reset_envs(self, env_ids: np.ndarray) -> None:
        """Put ``env_ids`` into the reference state of a (random) motion time."""
        config, count = self.config, env_ids.size
        if self.randomizer is not None:
            values, tags = self.randomizer.sample(count, self.rng)
            self.sampled_dynamics[env_ids] = values
            self.sample_tags[env_ids] = tags
            if values.shape[1]:
                self.backend.set_dynamics(env_ids, self.randomizer.box.as_dict(values))
        num_motions = len(self.library.names)
        if config.random_start:
            motion_ids = self.rng.integers(0, num_motions, count)
            latest = np.maximum(self.library.durations[motion_ids] - config.start_margin_s, 0.0)
            # Whole control steps, so that every episode ends exactly at its motion's end.
            steps = np.floor(self.rng.uniform(0.0, 1.0, count) * latest / self.dt)
            times = steps * self.dt
        else:
            motion_ids = env_ids % num_motions
            times = np.zeros(count)
        self.motion_ids[env_ids] = motion_ids
        self.motion_time[env_ids] = times
        reference = self.library.reference(motion_ids, times)
        state = self.backend.default_state(count)
        state.base_pos = reference.base_pos
        state.base_quat = reference.base_quat
        state.base_lin_vel = reference.base_lin_vel
        state.base_ang_vel = reference.base_ang_vel
        state.joint_pos = reference.joint_pos
        state.joint_vel = reference.joint_vel
        self.backend.reset(env_ids, state)
        self.episode_length[env_ids] = 0
        self.episode_steps[env_ids] = 0
        self.actions[env_ids] = 0.0
        self.last_actions[env_ids] = 0.0
        self.episode_body_error[env_ids] = 0.0
        self.episode_joint_error[env_ids] = 0.0
        for sums in self.episode_sums.values():
            sums[env_ids] = 0.0
