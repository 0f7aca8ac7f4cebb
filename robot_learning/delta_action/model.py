# SPDX-License-Identifier: Apache-2.0
"""The delta-action model pi_delta(s, a) -> delta_a, its observation, scaling and transform.

One function, :func:`delta_target_offset`, turns delta_a into a joint-target offset, and the
scale it uses is stored in the saved model (``delta.yaml``). Delta-action training
(``DeltaActionEnv``), replay and fine-tuning (:class:`DeltaActionTransform`) all go through it,
so the reference code's pitfall (delta_a scaled by 0.25 in training and unscaled in
fine-tuning, a 4x mismatch) cannot happen here.

Observation (ASAP's 108-D actor input in its alphabetical key order, for any robot; J joints,
C contact bodies): previous delta_a (J), recorded raw action a_real (J), base angular velocity
x0.25 (3, base frame), base linear velocity x2.0 (3, base frame), base height (1), joint
positions minus the default pose (J), joint velocities x0.05 (J), contact normal forces x0.01
(C), projected gravity (3): 4J + C + 10 values (108 for the G1: J = 23, C = 6).
"""

from __future__ import annotations

import os
import pathlib

import numpy as np
import torch
import yaml

from robot_learning.atomic_write import atomic_path, atomic_write_text
from robot_learning.robots.spec import RobotSpec
from robot_learning.rotations import projected_gravity, quat_rotate_inverse
from robot_learning.sim.base import SimState

MODEL_FILE = 'delta.pt'
"""TorchScript actor (observation normalization included): (N, D) -> (N, J) delta_a."""
META_FILE = 'delta.yaml'


def observation_dim(num_joints: int, num_contacts: int) -> int:
    """Return the observation width 4J + C + 10."""
    return 4 * num_joints + num_contacts + 10


def raw_actions(targets: np.ndarray, robot: RobotSpec) -> np.ndarray:
    """Invert the action term: joint targets [rad] (N, J) -> raw policy actions (N, J)."""
    return (np.asarray(targets) - robot.default_joint_pos) / robot.action_scale


def delta_observation(state: SimState, action: np.ndarray, previous_delta: np.ndarray,
                      robot: RobotSpec) -> np.ndarray:
    """Build the (N, 4J + C + 10) float32 observation of pi_delta.

    Args:
        state: the state the action is applied in (N environments).
        action: raw policy actions a (N, J) (``raw_actions`` of the joint targets).
        previous_delta: delta_a of the previous step (N, J), zero after a reset.
        robot: the robot (default pose, number of contact bodies).
    """
    count = state.joint_pos.shape[0]
    contacts = state.contact_force
    if contacts.shape[1] != len(robot.contact_bodies):
        contacts = np.zeros((count, len(robot.contact_bodies)))
    parts = (previous_delta, action, state.base_ang_vel * 0.25,
             quat_rotate_inverse(state.base_quat, state.base_lin_vel) * 2.0,
             state.base_pos[:, 2:3], state.joint_pos - robot.default_joint_pos,
             state.joint_vel * 0.05, contacts * 0.01, projected_gravity(state.base_quat))
    return np.concatenate(parts, axis=1).astype(np.float32)


def delta_target_offset(delta: np.ndarray, action_scale: np.ndarray, delta_scale: float,
                        clip: float, mask: np.ndarray | None = None) -> np.ndarray:
    """Return the joint-target offset [rad] (N, J) of delta_a (N, J).

    offset = delta_scale * action_scale * clip(delta_a, +-clip), zero outside ``mask`` (J,).
    """
    offset = delta_scale * np.asarray(action_scale) * np.clip(delta, -clip, clip)
    if mask is not None:
        offset = offset * mask
    return offset


def joint_mask(robot: RobotSpec, joints: tuple[str, ...]) -> np.ndarray:
    """Return the (J,) 0/1 mask of the joints that get a delta (all when ``joints`` is empty)."""
    if not joints:
        return np.ones(robot.num_joints)
    unknown = [name for name in joints if name not in robot.joint_names]
    if unknown:
        raise ValueError(f"delta_joints: {unknown} are not joints of '{robot.name}'; joints: "
                         f"{', '.join(robot.joint_names)}")
    return np.array([1.0 if name in joints else 0.0 for name in robot.joint_names])


class DeltaActionModel:
    """A trained pi_delta: TorchScript actor plus the metadata that fixes its scaling."""

    def __init__(self, actor: torch.nn.Module, robot: RobotSpec, delta_scale: float,
                 clip_delta: float, mask: np.ndarray, metadata: dict | None = None) -> None:
        self.actor = actor
        self.robot = robot
        self.delta_scale = float(delta_scale)
        self.clip_delta = float(clip_delta)
        self.mask = np.asarray(mask, dtype=float)
        self.metadata = dict(metadata or {})

    def __call__(self, observations: np.ndarray) -> np.ndarray:
        """Return delta_a (N, J) for observations (N, D) (deterministic: the actor's mean)."""
        with torch.inference_mode():
            delta = self.actor(torch.as_tensor(observations, dtype=torch.float32))
        return delta.numpy().astype(float) * self.mask

    def offset(self, delta: np.ndarray) -> np.ndarray:
        """Return the joint-target offset [rad] of delta_a with this model's stored scale."""
        return delta_target_offset(delta, self.robot.action_scale, self.delta_scale,
                                   self.clip_delta, self.mask)

    def save(self, folder: str | os.PathLike) -> pathlib.Path:
        """Write ``delta.pt`` and ``delta.yaml`` into ``folder`` (each atomically)."""
        folder = pathlib.Path(folder)
        with atomic_path(folder / MODEL_FILE) as temporary:
            torch.jit.save(torch.jit.script(self.actor) if not isinstance(
                self.actor, torch.jit.ScriptModule) else self.actor, str(temporary))
        meta = {'robot': self.robot.name, 'joint_names': list(self.robot.joint_names),
                'delta_scale': self.delta_scale, 'clip_delta': self.clip_delta,
                'mask': self.mask.tolist(),
                'observation_dim': observation_dim(self.robot.num_joints,
                                                   len(self.robot.contact_bodies)),
                **self.metadata}
        atomic_write_text(folder / META_FILE, yaml.safe_dump(meta, sort_keys=False))
        return folder

    @classmethod
    def load(cls, folder: str | os.PathLike, robot: RobotSpec) -> DeltaActionModel:
        """Load a saved model for ``robot``.

        Raises:
            FileNotFoundError: no ``delta.pt`` / ``delta.yaml`` in ``folder``.
            ValueError: the model was trained for other joints.
        """
        folder = pathlib.Path(folder)
        for name in (MODEL_FILE, META_FILE):
            if not (folder / name).is_file():
                raise FileNotFoundError(f'{folder}: no {name} (not a delta-action model)')
        meta = yaml.safe_load((folder / META_FILE).read_text(encoding='utf-8'))
        if tuple(meta['joint_names']) != tuple(robot.joint_names):
            raise ValueError(f"{folder}: trained for joints {meta['joint_names']}, robot "
                             f"'{robot.name}' has {list(robot.joint_names)}")
        actor = torch.jit.load(str(folder / MODEL_FILE), map_location='cpu')
        actor.eval()
        extra = {k: v for k, v in meta.items() if k not in (
            'robot', 'joint_names', 'delta_scale', 'clip_delta', 'mask', 'observation_dim')}
        return cls(actor, robot, meta['delta_scale'], meta['clip_delta'], meta['mask'], extra)


class DeltaActionTransform:
    """``fn(state, joint_targets) -> joint_targets + offset(pi_delta(s, a))`` for N environments.

    Plugged into a task environment with ``env.set_action_transform`` (fine-tuning), or into
    open-loop replay. It remembers each environment's previous delta_a (an observation term);
    ``reset(env_ids)`` zeroes it.
    """

    def __init__(self, model: DeltaActionModel, num_envs: int) -> None:
        self.model = model
        self.previous = np.zeros((num_envs, model.robot.num_joints))
        joints = model.robot.num_joints
        self.offset_abs_sum = np.zeros(joints)
        """(J,) sum of |offset| [rad] over every call and environment (``input_statistics``)."""
        self.action_abs_sum = np.zeros(joints)
        """(J,) sum of |a| (pi_delta's raw-action input) over every call and environment."""
        self.samples = 0
        """Environment steps summed into the two sums."""

    def reset(self, env_ids: np.ndarray | None = None) -> None:
        """Zero the previous delta_a of ``env_ids`` (all when None)."""
        if env_ids is None:
            self.previous[:] = 0.0
        else:
            self.previous[np.asarray(env_ids)] = 0.0

    def __call__(self, state: SimState, joint_targets: np.ndarray) -> np.ndarray:
        """Return the corrected joint targets (N, J) [rad]."""
        robot = self.model.robot
        action = raw_actions(joint_targets, robot)
        observation = delta_observation(state, action, self.previous, robot)
        delta = self.model(observation)
        self.previous = np.clip(delta, -self.model.clip_delta, self.model.clip_delta) \
            * self.model.mask
        offset = self.model.offset(delta)
        self.offset_abs_sum += np.abs(offset).sum(axis=0)
        self.action_abs_sum += np.abs(action).sum(axis=0)
        self.samples += offset.shape[0]
        return joint_targets + offset

    def input_statistics(self) -> dict:
        """Return the mean |offset| [rad] and mean |a| seen so far, overall and per joint.

        Compared between the held-out replay (``delta evaluate``) and the fine-tuning rollouts
        (``finetune.yaml``), they show whether fine-tuning drives pi_delta out of the range of
        the recordings it was trained on.
        """
        count = max(self.samples, 1)
        names = self.model.robot.joint_names
        offset, action = self.offset_abs_sum / count, self.action_abs_sum / count
        return {'samples': int(self.samples),
                'offset_abs_mean_rad': float(offset.mean()),
                'action_abs_mean': float(action.mean()),
                'offset_abs_mean_rad_per_joint': dict(zip(names, map(float, offset))),
                'action_abs_mean_per_joint': dict(zip(names, map(float, action)))}
