# SPDX-License-Identifier: Apache-2.0
"""Open-loop replay of recorded clips in the simulator, and its errors against the recording.

Every clip starts from its recorded real state (``backend.reset`` to given states) and steps
with the recorded joint targets, optionally through an action transform (ASAP: targets +
offset(delta_a)) or a state correction (delta dynamics: the simulated next state plus a learnt
residual, written back into the engine). One environment per clip, all clips at once.

Metrics (mean over the steps 1..h of the replay and, for bodies, over all robot bodies):
- ``g_mpjpe_mm``: global body-position error [mm] (ASAP's E_g-mpjpe; bodies by forward
  kinematics of the robot model, for the recording and the simulation alike);
- ``mpjpe_mm``: body-position error relative to the base [mm] (E_mpjpe);
- ``base_pos_mm``: base position error [mm];
- ``joint_rad``: mean absolute joint-position error [rad].
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np

from robot_learning.delta_action.clips import ClipSet
from robot_learning.motions.kinematics import BodyKinematics
from robot_learning.sim.base import SimBackend, SimState

ActionTransform = Callable[[SimState, np.ndarray], np.ndarray]
"""(state (N, ...), joint targets (N, J) [rad]) -> joint targets (N, J) [rad]."""
StateCorrection = Callable[[SimState, np.ndarray, SimState], SimState]
"""(state before, joint targets (N, J), simulated state after) -> corrected state after."""


@dataclasses.dataclass
class Rollout:
    """Simulated states of K clips over H steps (index 0: the recorded initial state)."""

    base_pos: np.ndarray
    """(K, H + 1, 3) [m]"""
    base_quat: np.ndarray
    """(K, H + 1, 4)"""
    joint_pos: np.ndarray
    """(K, H + 1, J) [rad]"""
    targets: np.ndarray
    """(K, H, J) joint targets actually sent to the backend [rad]"""


def replay(backend: SimBackend, clips: ClipSet, starts: np.ndarray,
           transform: ActionTransform | None = None,
           correction: StateCorrection | None = None) -> Rollout:
    """Replay the clips starting at rows ``starts`` (K = backend.num_envs) for the horizon."""
    starts = np.asarray(starts, dtype=np.int64)
    count, horizon = starts.size, clips.horizon
    if backend.num_envs != count:
        raise ValueError(f'replay: the backend has {backend.num_envs} environments for '
                         f'{count} clips')
    env_ids = np.arange(count)
    state = clips.state(starts)
    backend.reset(env_ids, state)
    joints = clips.joint_pos.shape[1]
    out = Rollout(base_pos=np.zeros((count, horizon + 1, 3)),
                  base_quat=np.zeros((count, horizon + 1, 4)),
                  joint_pos=np.zeros((count, horizon + 1, joints)),
                  targets=np.zeros((count, horizon, joints)))
    out.base_pos[:, 0], out.base_quat[:, 0] = state.base_pos, state.base_quat
    out.joint_pos[:, 0] = state.joint_pos
    for step in range(horizon):
        targets = clips.targets[starts + step]
        if transform is not None:
            targets = transform(state, targets)
        backend.step(targets)
        after = backend.get_state()
        if correction is not None:
            after = correction(state, targets, after)
            backend.reset(env_ids, after)
        state = after
        out.targets[:, step] = targets
        out.base_pos[:, step + 1] = state.base_pos
        out.base_quat[:, step + 1] = state.base_quat
        out.joint_pos[:, step + 1] = state.joint_pos
    return out


def recorded(clips: ClipSet, starts: np.ndarray) -> Rollout:
    """Return the recorded counterpart of a replay of the clips at ``starts``."""
    rows = np.asarray(starts, dtype=np.int64)[:, None] + np.arange(clips.horizon + 1)
    return Rollout(base_pos=clips.base_pos[rows], base_quat=clips.base_quat[rows],
                   joint_pos=clips.joint_pos[rows], targets=clips.targets[rows[:, :-1]])


def errors(kinematics: BodyKinematics, simulated: Rollout, real: Rollout) -> dict[str, np.ndarray]:
    """Return per-step errors, each (K, H): body (global, base-relative), base, joint."""
    count, steps = simulated.joint_pos.shape[:2]

    def bodies(rollout: Rollout) -> np.ndarray:
        flat = kinematics.positions(rollout.base_pos.reshape(-1, 3),
                                    rollout.base_quat.reshape(-1, 4),
                                    rollout.joint_pos.reshape(count * steps, -1))
        return flat.reshape(count, steps, -1, 3)

    sim_bodies, real_bodies = bodies(simulated), bodies(real)
    base = kinematics.base
    global_error = np.linalg.norm(sim_bodies - real_bodies, axis=-1).mean(axis=-1)
    relative = np.linalg.norm((sim_bodies - sim_bodies[:, :, base:base + 1])
                              - (real_bodies - real_bodies[:, :, base:base + 1]),
                              axis=-1).mean(axis=-1)
    return {'g_mpjpe_mm': global_error[:, 1:] * 1000.0, 'mpjpe_mm': relative[:, 1:] * 1000.0,
            'base_pos_mm': np.linalg.norm(simulated.base_pos - real.base_pos,
                                          axis=-1)[:, 1:] * 1000.0,
            'joint_rad': np.abs(simulated.joint_pos - real.joint_pos).mean(axis=-1)[:, 1:]}


def summarize(step_errors: dict[str, np.ndarray], horizons: dict[str, int]) -> dict:
    """Return {horizon label: {metric: mean over clips and steps 1..h}}."""
    return {label: {name: float(values[:, :steps].mean()) for name, values in step_errors.items()}
            for label, steps in horizons.items()}
