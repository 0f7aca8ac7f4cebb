# SPDX-License-Identifier: Apache-2.0
"""Tracking error of a motion-tracking policy: ASAP's metrics, from simulation or a recording.

Metrics (per motion, then averaged over motions), over the tracked bodies of the motion files:

- ``success``: 1 when the mean body distance to the reference never exceeds 0.5 m;
- ``e_g_mpjpe_mm``: global mean per-body position error [mm];
- ``e_mpjpe_mm``: the same after subtracting the root (pelvis) position of each side [mm];
- ``e_vel_mm``, ``e_acc_mm``: errors of the first and second frame differences [mm/frame,
  mm/frame²];
- ``joint_error_rad``: mean absolute joint-position error [rad].
"""

from __future__ import annotations

import dataclasses
import pathlib

import numpy as np

from robot_learning.motions.kinematics import BodyKinematics
from robot_learning.motions.library import MotionLibrary
from robot_learning.robots.registry import load_robot
from robot_learning.tasks import tracking_rewards as TR

FAILURE_DISTANCE = 0.5
"""A rollout fails when the mean body distance exceeds this [m] (ASAP)."""


def tracking_metrics(body_pos: np.ndarray, ref_body_pos: np.ndarray, joint_pos: np.ndarray,
                     ref_joint_pos: np.ndarray) -> dict[str, float]:
    """ASAP metrics of one rollout: body positions (T, B, 3) [m], joints (T, J) [rad]."""
    distance = TR.mean_body_distance(body_pos, ref_body_pos)
    velocity = np.diff(body_pos, axis=0) - np.diff(ref_body_pos, axis=0)
    acceleration = np.diff(body_pos, 2, axis=0) - np.diff(ref_body_pos, 2, axis=0)
    return {
        'success': float(np.max(distance) <= FAILURE_DISTANCE),
        'max_body_distance_m': float(np.max(distance)),
        'e_g_mpjpe_mm': 1000.0 * float(np.mean(distance)),
        'e_mpjpe_mm': 1000.0 * float(np.mean(
            TR.root_relative_distance(body_pos, ref_body_pos))),
        'e_vel_mm': 1000.0 * float(np.mean(np.linalg.norm(velocity, axis=2))),
        'e_acc_mm': 1000.0 * float(np.mean(np.linalg.norm(acceleration, axis=2))),
        'joint_error_rad': float(np.mean(np.abs(joint_pos - ref_joint_pos))),
    }


def mean_metrics(per_motion: dict[str, dict[str, float]]) -> dict[str, float]:
    """Average every metric over the motions."""
    keys = next(iter(per_motion.values())).keys()
    return {key: float(np.mean([metrics[key] for metrics in per_motion.values()]))
            for key in keys}


def rollout_metrics(library: MotionLibrary, kinematics: BodyKinematics, motion: str,
                    time: np.ndarray, base_pos: np.ndarray, base_quat: np.ndarray,
                    joint_pos: np.ndarray) -> dict[str, float]:
    """Metrics of states (T rows) recorded at motion times ``time`` (T,) [s] of ``motion``."""
    motion_id = library.index(motion)
    inside = np.asarray(time) <= library.durations[motion_id] + 1e-9
    if inside.sum() < 3:
        raise ValueError(f"motion '{motion}': fewer than 3 recorded states inside the motion "
                         f'(0 to {library.durations[motion_id]:.2f} s)')
    time = np.asarray(time)[inside]
    reference = library.reference(np.full(time.size, motion_id), time)
    body_pos = kinematics.positions(base_pos[inside], base_quat[inside], joint_pos[inside])
    return tracking_metrics(body_pos, reference.body_pos, joint_pos[inside],
                            reference.joint_pos)


@dataclasses.dataclass(frozen=True)
class TrackingEvaluationConfig:
    """Closed-loop evaluation of a bundle in simulation, every motion from its start."""

    backend: str = 'mujoco'
    reality: str = ''
    """Reality config (config/reality/) to evaluate on; overrides ``backend``."""
    dynamics: dict = dataclasses.field(default_factory=dict)
    motions: tuple[str, ...] = ()
    """Motions to play (default: the contract's)."""


def evaluate_tracking(bundle: str | pathlib.Path, config: TrackingEvaluationConfig) -> dict:
    """Play every motion once with the bundle (ONNX) in simulation; return the report.

    Each motion runs from its first frame to its end without early termination; the 0.5 m
    rule is applied afterwards to the whole rollout.
    """
    from robot_learning.policies.runtime import PolicyRuntime
    from robot_learning.sim.base import SimConfig
    from robot_learning.sim.reality import load_reality
    from robot_learning.tasks.motion_tracking import MotionTaskConfig, MotionTrackingEnv

    runtime = PolicyRuntime(bundle)
    contract = runtime.contract
    if not contract.motions:
        raise ValueError(f'{bundle}: the contract names no reference motions; it is not a '
                         'motion-tracking policy')
    motions = config.motions or contract.motions
    backend, sim, dynamics = config.backend, SimConfig(
        sim_dt=contract.sim_dt, decimation=round(contract.control_dt / contract.sim_dt),
        num_threads=1), dict(config.dynamics)
    if config.reality:
        reality = load_reality(config.reality)
        backend, sim, dynamics = reality.backend, reality.sim, {**reality.dynamics, **dynamics}
    task = MotionTaskConfig(robot=contract.robot, motions=tuple(motions), backend=backend,
                            num_envs=len(motions), sim=sim, observations=contract.observations,
                            noise_level=0.0, clip_observations=contract.clip_observations,
                            clip_actions=contract.clip_actions, random_start=False,
                            terminate_body_distance=np.inf, dynamics=dynamics)
    env = MotionTrackingEnv(task)
    library = env.library
    steps = np.round(library.durations / env.dt).astype(int)  # states 0..steps-1 per motion
    count = len(motions)
    records = {key: np.zeros((steps.max(), count) + shape) for key, shape in (
        ('base_pos', (3,)), ('base_quat', (4,)), ('joint_pos', (env.num_actions,)))}
    for step in range(steps.max()):
        state = env.state
        records['base_pos'][step] = state.base_pos
        records['base_quat'][step] = state.base_quat
        records['joint_pos'][step] = state.joint_pos
        inputs = env.observation_inputs(state)
        actions = runtime.act(runtime.observe(inputs))
        env.step(actions)
    per_motion = {}
    for index, name in enumerate(library.names):
        frames = steps[index]
        per_motion[name] = rollout_metrics(
            library, env.kinematics, name, np.arange(frames) * env.dt,
            records['base_pos'][:frames, index], records['base_quat'][:frames, index],
            records['joint_pos'][:frames, index])
    robot = load_robot(contract.robot)
    return {'bundle': str(bundle), 'robot': robot.name,
            'backend': backend, 'reality': config.reality, 'dynamics': dynamics,
            'metrics': mean_metrics(per_motion), 'motions': per_motion}
