# SPDX-License-Identifier: Apache-2.0
"""The delta-action configuration (``config/delta/<robot>.yaml``): one frozen dataclass tree.

Defaults are the reference's (He et al. 2025, LeCAR-Lab/ASAP): 1.0 s episodes reset to the
recorded real state, Table II tracking terms with ``exp(-mse / sigma)`` kernels, the action-norm
penalty ``exp(|delta_a|) - 1`` at weight -0.1, PPO 5 x 4 epochs/mini-batches, 24 steps per
environment, lr 1e-3 adaptive, MLP 512-256-128 ELU, initial std 0.8.
"""

from __future__ import annotations

import dataclasses

from robot_learning.config import ConfigError
from robot_learning.rl.train_config import NetworkConfig, PpoConfig
from robot_learning.sim.base import SimConfig
from robot_learning.sim.dynamics import PARAMETERS


@dataclasses.dataclass(frozen=True)
class DeltaRewardWeights:
    """Weights of the delta-action reward terms (0 disables one); multiplied by the control dt."""

    body_pos: float = 1.0
    """Global position of every robot body (forward kinematics) vs the recorded state."""
    feet_pos: float = 1.0
    """Global position of the contact bodies (feet)."""
    body_rot: float = 0.5
    """Base orientation."""
    body_vel: float = 0.5
    """Base linear velocity."""
    body_ang_vel: float = 0.5
    """Base angular velocity."""
    joint_pos: float = 0.5
    """Joint positions."""
    joint_vel: float = 0.5
    """Joint velocities."""
    joint_pos_limits: float = -10.0
    """Penalty: L1 excess of the joint positions over 95 % of their limits [rad]."""
    torque_limits: float = -0.1
    """Penalty: summed excess of |joint torque| over the effort limits [N·m]."""
    action_rate: float = -0.01
    """Penalty: squared change of delta_a between control steps."""
    action_norm: float = -0.1
    """``exp(|delta_a|) - 1`` (the reference's ``penalty_minimal_action_norm``, README weight)."""


@dataclasses.dataclass(frozen=True)
class DeltaRewardSigmas:
    """Widths of the tracking kernels ``exp(-mean_squared_error / sigma)`` (units squared)."""

    body_pos: float = 0.03
    """[m²]"""
    feet_pos: float = 0.03
    """[m²]"""
    body_rot: float = 1.0
    """[rad²] (angle of the relative rotation)"""
    body_vel: float = 1.0
    """[(m/s)²]"""
    body_ang_vel: float = 1.0
    """[(rad/s)²]"""
    joint_pos: float = 1.0
    """[rad²]"""
    joint_vel: float = 1.0
    """[(rad/s)²]"""


@dataclasses.dataclass(frozen=True)
class SysIdConfig:
    """System identification: differential evolution over named dynamics parameters."""

    parameters: dict = dataclasses.field(default_factory=lambda: {
        'motor_strength': [0.5, 1.2], 'kp_scale': [0.7, 1.3], 'joint_damping': [0.0, 0.5],
        'action_latency': [0.0, 0.03], 'ground_friction': [0.3, 1.5]})
    """Parameter name -> [lower, upper] search bounds (``sim.dynamics`` names and units)."""
    max_iterations: int = 15
    """Generations of ``scipy.optimize.differential_evolution``."""
    population: int = 6
    """Population size per parameter (scipy's ``popsize``)."""
    max_clips: int = 48
    """Training clips replayed per candidate (evenly spaced; fewer is faster)."""
    joint_weight: float = 1.0
    """Objective = mean body position error [m] + joint_weight * mean joint error [rad]."""


@dataclasses.dataclass(frozen=True)
class DeltaDynamicsConfig:
    """The delta-dynamics baseline: MLP (s, a) -> s_real' - s_sim', multi-step rollout loss."""

    hidden_dims: tuple[int, ...] = (256, 256)
    """ReLU MLP, as the reference's DeltaDynamics_NN."""
    learning_rate: float = 1.0e-3
    """Adam step size."""
    iterations: int = 300
    """Gradient steps; each rolls a batch of clips out in the simulator."""
    batch_clips: int = 64
    """Clips rolled out per gradient step (capped at the number of clips)."""
    rollout_steps: int = 50
    """Largest K of the K-step loss; K grows linearly from 1 over the first half of training."""


@dataclasses.dataclass(frozen=True)
class FinetuneConfig:
    """Fine-tuning of the pre-trained policy in the aligned simulator."""

    iterations: int = 50
    """PPO iterations added to the pre-trained run."""
    num_envs: int = 0
    """Environments (0: the pre-trained run's own number)."""


@dataclasses.dataclass(frozen=True)
class DeltaConfig:
    """Everything ``robot-learning delta fit|finetune|evaluate`` needs."""

    robot: str = 'quadruped'
    """Robot registry name (``config/robots/``) of the clips and of the policy."""
    backend: str = 'mujoco'
    """The training simulator (the one being aligned to the clips)."""
    sim: SimConfig = SimConfig()
    """Physics step and decimation of the training simulator; they must reproduce the clips'
    control period."""
    dynamics: dict = dataclasses.field(default_factory=dict)
    """Dynamics of the training simulator (name -> value); empty = nominal."""
    horizon_s: float = 1.0
    """Episode length of delta-action training and of open-loop evaluation [s]."""
    eval_horizons_s: tuple[float, ...] = (0.25, 0.5, 1.0)
    """Open-loop error reported after these replay lengths [s] (paper Table III)."""
    max_tilt: float = 0.8
    """Recordings are cut where the base first tilts more than this [rad] (a fall); 0 keeps
    everything."""
    clip_stride_s: float = 0.5
    """Spacing of the start times of the fixed evaluation / SysID clips [s]."""
    delta_scale: float = 1.0
    """Joint-target offset of one unit of delta_a, as a multiple of the robot's action scale:
    offset [rad] = delta_scale * action_scale * delta_a. Stored in the model and read back by
    fine-tuning, so training and fine-tuning cannot disagree (the reference's 4x pitfall)."""
    clip_delta: float = 10.0
    """|delta_a| is clipped to this (policy action units) before scaling."""
    delta_joints: tuple[str, ...] = ()
    """Joints that receive a delta (empty: all); the reference's real-robot model used 4 ankle
    joints. Other joints' deltas are zeroed."""
    num_envs: int = 256
    """Environments stepped together during delta-action training."""
    rewards: DeltaRewardWeights = DeltaRewardWeights()
    """Weights of the reward terms (0 disables a term)."""
    sigmas: DeltaRewardSigmas = DeltaRewardSigmas()
    """Widths of the tracking kernels."""
    ppo: PpoConfig = PpoConfig()
    """PPO hyperparameters of pi_delta (defaults: rsl-rl's, as the reference)."""
    network: NetworkConfig = NetworkConfig(init_noise_std=0.8)
    """Actor-critic MLPs of pi_delta (initial action std 0.8, as the reference)."""
    max_iterations: int = 200
    """PPO iterations of delta-action training."""
    save_interval: int = 50
    """Iterations between rsl-rl checkpoints in ``<output>/run``."""
    seed: int = 0
    """Seed of the episode start rows, of PPO (torch, numpy), of the SysID search and of
    delta-dynamics training; the simulator has its own ``sim.seed``."""
    torch_threads: int = 1
    """torch intra-op threads (the machines are shared; 0 leaves torch's default)."""
    sysid: SysIdConfig = SysIdConfig()
    """The SysID baseline (differential evolution over dynamics parameters)."""
    delta_dynamics: DeltaDynamicsConfig = DeltaDynamicsConfig()
    """The delta-dynamics baseline (a learned state correction)."""
    finetune: FinetuneConfig = FinetuneConfig()
    """Fine-tuning of the pre-trained policy through the fitted model."""

    def __post_init__(self) -> None:
        if self.horizon_s <= 0 or self.delta_scale <= 0 or self.clip_delta <= 0:
            raise ConfigError('delta: horizon_s, delta_scale and clip_delta must be positive')
        for name, bounds in self.sysid.parameters.items():
            if name not in PARAMETERS:
                raise ConfigError(f"delta: sysid.parameters: unknown dynamics parameter '{name}'"
                                  f"; valid: {', '.join(PARAMETERS)}")
            if (not isinstance(bounds, (list, tuple)) or len(bounds) != 2
                    or not bounds[0] < bounds[1]):
                raise ConfigError(f'delta: sysid.parameters.{name} must be [lower, upper] with '
                                  f'lower < upper, got {bounds!r}')

    @property
    def control_dt(self) -> float:
        """Control period [s]."""
        return self.sim.sim_dt * self.sim.decimation

    def steps(self, seconds: float) -> int:
        """Return the number of control steps in ``seconds`` (at least 1)."""
        return max(1, int(round(seconds / self.control_dt)))
