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

import pathlib
from typing import Callable

import numpy as np

from robot_learning.config import ConfigError
from robot_learning.evaluation.setup import EvaluationConfig, simulation_robot, simulation_setup
from robot_learning.motions.kinematics import BodyKinematics
from robot_learning.motions.library import MotionLibrary
from robot_learning.policies.runtime import PolicyRuntime
from robot_learning.sim.base import SimState
from robot_learning.tasks import tracking_rewards as TR
from robot_learning.tasks.motion_tracking import MotionTaskConfig, MotionTrackingEnv

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


def evaluate_motions(bundle: str | pathlib.Path, config: EvaluationConfig,
                     observer: Callable[[SimState], None] | None = None) -> dict:
    """Play every motion once with the bundle (ONNX) in simulation; return the report.

    The motions are the bundle's own files (``config.motions`` selects some by name). Each
    motion runs from its first frame to its end without early termination; the 0.5 m rule is
    applied afterwards to the whole rollout. ``observer``, when given, is called with the
    (batched) state of every control step, one environment per motion.
    """
    runtime = PolicyRuntime(bundle)
    contract = runtime.contract
    paths = dict(zip(contract.motions, contract.motion_paths(bundle)))
    unknown = [name for name in config.motions if name not in paths]
    if unknown:
        raise ConfigError(f"{bundle}: no motion(s) {', '.join(unknown)} in the bundle; it holds "
                          f"{', '.join(paths)}")
    motions = tuple(str(paths[name]) for name in (config.motions or contract.motions))
    setup = simulation_setup(contract, config)
    task = MotionTaskConfig(robot=contract.robot, motions=motions, backend=setup.backend,
                            num_envs=len(motions), sim=setup.sim,
                            observations=contract.observations, noise_level=0.0,
                            clip_observations=contract.clip_observations,
                            clip_actions=contract.clip_actions, random_start=False,
                            terminate_body_distance=np.inf, dynamics=setup.dynamics)
    env = MotionTrackingEnv(task, robot=simulation_robot(contract))
    library = env.library
    steps = np.round(library.durations / env.dt).astype(int)  # states 0..steps-1 per motion
    count = len(motions)
    records = {key: np.zeros((steps.max(), count) + shape) for key, shape in (
        ('base_pos', (3,)), ('base_quat', (4,)), ('joint_pos', (env.num_actions,)))}
    for step in range(steps.max()):
        state = env.state
        if observer is not None:
            observer(state)
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
    return {'bundle': str(bundle), 'robot': contract.robot, 'backend': setup.backend,
            'reality': config.reality, 'dynamics': setup.dynamics,
            'metrics': mean_metrics(per_motion), 'motions': per_motion}
