# SPDX-License-Identifier: Apache-2.0
"""Expert demonstrations for CCIL: per-trajectory states (T, S) and actions (T, A).

Sources:

- a demonstration ``.npz`` (:func:`save_demonstrations` / :func:`load_demonstrations`): arrays
  ``states`` (N, S) and ``actions`` (N, A) of all trajectories stacked, ``lengths`` (K,) with
  sum N, and a JSON ``metadata`` string (robot, state and action names, control_dt, source);
- trajectory ``.npz`` files from the rosbag export (``data/bag_export.py``), turned into
  states and actions by :func:`from_trajectory`: with a policy contract, the states are the
  contract's noise-free observation and the actions the raw policy actions that produced the
  recorded joint targets (so a policy cloned from them runs in the ROS 2 policy node); without
  one, the state is (joint_pos, joint_vel) and the action the joint targets [rad].

Transitions are (s_t, a_t, s_{t+1}) inside each trajectory, never across two.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib

import numpy as np

from robot_learning.atomic_write import atomic_open
from robot_learning.config import ConfigError
from robot_learning.data.npz import load_npz
from robot_learning.data.trajectory import Trajectory
from robot_learning.robots.registry import load_robot
from robot_learning.tasks.observations import compute_observation, ObservationInputs

FORMAT_VERSION = 1
MIN_LENGTH = 2
"""A trajectory needs at least this many samples to give one transition."""
MODEL_ONLY_ROBOTS = ('pendulum',)
"""Robots that exist only as a CCIL task's own MJCF model (``ccil/pendulum_swingup.py``), not
in the robot registry."""


class DemonstrationError(ValueError):
    """Demonstrations that cannot be used; the message names the source and the problem."""


@dataclasses.dataclass(frozen=True, eq=False)
class Demonstrations:
    """K trajectories of one robot; states and actions at the control rate."""

    states: tuple[np.ndarray, ...]
    """Per trajectory (T_k, S) states (units per ``state_names``)."""
    actions: tuple[np.ndarray, ...]
    """Per trajectory (T_k, A) expert actions taken at those states."""
    robot: str
    """Registered robot name (checked against the registry), or one of
    ``MODEL_ONLY_ROBOTS``."""
    control_dt: float
    """Sample period [s]."""
    state_names: tuple[str, ...] = ()
    action_names: tuple[str, ...] = ()
    source: str = ''
    """Where they came from, for messages."""

    def __post_init__(self) -> None:
        object.__setattr__(self, 'states',
                           tuple(np.asarray(s, dtype=np.float64) for s in self.states))
        object.__setattr__(self, 'actions',
                           tuple(np.asarray(a, dtype=np.float64) for a in self.actions))
        object.__setattr__(self, 'state_names', tuple(self.state_names))
        object.__setattr__(self, 'action_names', tuple(self.action_names))

    @property
    def num_trajectories(self) -> int:
        """Number of trajectories K."""
        return len(self.states)

    @property
    def state_dim(self) -> int:
        """State size S."""
        return int(self.states[0].shape[1])

    @property
    def action_dim(self) -> int:
        """Action size A."""
        return int(self.actions[0].shape[1])

    @property
    def num_samples(self) -> int:
        """Total number of (state, action) samples."""
        return int(sum(len(s) for s in self.states))

    def validate(self) -> None:
        """Check the robot, shapes, lengths and finiteness.

        Raises:
            DemonstrationError: The first problem, naming the source and the trajectory.
            ConfigError: Unknown robot (the message lists the registered ones).
        """
        where = self.source or 'demonstrations'
        if self.robot not in MODEL_ONLY_ROBOTS:
            load_robot(self.robot)
        if not self.states:
            raise DemonstrationError(f'{where}: no trajectories')
        if len(self.states) != len(self.actions):
            raise DemonstrationError(f'{where}: {len(self.states)} state trajectories but '
                                     f'{len(self.actions)} action trajectories')
        if not (np.isfinite(self.control_dt) and self.control_dt > 0):
            raise DemonstrationError(f'{where}: control_dt must be positive, got '
                                     f'{self.control_dt}')
        state_dim, action_dim = self.states[0].shape[-1], self.actions[0].shape[-1]
        for index, (states, actions) in enumerate(zip(self.states, self.actions)):
            name = f'{where}: trajectory {index}'
            if states.ndim != 2 or actions.ndim != 2:
                raise DemonstrationError(f'{name}: states and actions must be 2-D (T, S) and '
                                         f'(T, A), got {states.shape} and {actions.shape}')
            if len(states) != len(actions):
                raise DemonstrationError(f'{name}: {len(states)} states but {len(actions)} '
                                         'actions (one action per state)')
            if states.shape[1] != state_dim or actions.shape[1] != action_dim:
                raise DemonstrationError(
                    f'{name}: state/action sizes {states.shape[1]}/{actions.shape[1]} differ '
                    f'from trajectory 0 ({state_dim}/{action_dim})')
            if len(states) < MIN_LENGTH:
                raise DemonstrationError(f'{name}: {len(states)} sample(s); at least '
                                         f'{MIN_LENGTH} are needed for one transition')
            for label, array in (('states', states), ('actions', actions)):
                bad = ~np.isfinite(array)
                if bad.any():
                    row, column = (int(v) for v in np.argwhere(bad)[0])
                    raise DemonstrationError(
                        f'{name}: {int(bad.sum())} non-finite {label}, the first at sample '
                        f'{row} (t={row * self.control_dt:.3f} s), column {column}')
        for label, names, size in (('state_names', self.state_names, state_dim),
                                   ('action_names', self.action_names, action_dim)):
            if names and len(names) != size:
                raise DemonstrationError(f'{where}: {label} has {len(names)} names for {size} '
                                         'columns')

    def transitions(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return (s_t (N, S), a_t (N, A), s_{t+1} (N, S)) within trajectories."""
        states = np.concatenate([s[:-1] for s in self.states])
        actions = np.concatenate([a[:-1] for a in self.actions])
        following = np.concatenate([s[1:] for s in self.states])
        return states, actions, following

    def samples(self) -> tuple[np.ndarray, np.ndarray]:
        """Return every (state (N, S), action (N, A)) pair, for behaviour cloning."""
        return np.concatenate(self.states), np.concatenate(self.actions)

    def subset(self, count: int) -> Demonstrations:
        """Return the first ``count`` trajectories (the demonstration budget)."""
        if not 1 <= count <= self.num_trajectories:
            raise DemonstrationError(f'{self.source}: asked for {count} trajectories of '
                                     f'{self.num_trajectories}')
        return dataclasses.replace(self, states=self.states[:count],
                                   actions=self.actions[:count])


def save_demonstrations(demos: Demonstrations, path: str | os.PathLike) -> pathlib.Path:
    """Validate and write a demonstration ``.npz`` atomically; returns the path."""
    demos.validate()
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    metadata = {'format_version': FORMAT_VERSION, 'robot': demos.robot,
                'control_dt': demos.control_dt, 'state_names': list(demos.state_names),
                'action_names': list(demos.action_names), 'source': demos.source}
    with atomic_open(path, 'wb') as stream:
        np.savez(stream, metadata=np.array(json.dumps(metadata)),
                 states=np.concatenate(demos.states), actions=np.concatenate(demos.actions),
                 lengths=np.array([len(s) for s in demos.states]))
    return path


def load_demonstrations(path: str | os.PathLike) -> Demonstrations:
    """Read and validate a demonstration ``.npz`` written by :func:`save_demonstrations`."""
    path = pathlib.Path(path)
    contents = load_npz(path, ('metadata', 'states', 'actions', 'lengths'), 'demonstration file',
                        DemonstrationError, hint='a trajectory .npz from the bag export goes '
                        'through from_trajectory')
    metadata = json.loads(str(contents['metadata']))
    states, actions = contents['states'], contents['actions']
    lengths = contents['lengths'].astype(int)
    if len(states) != len(actions):
        raise DemonstrationError(f'{path}: {len(states)} states but {len(actions)} actions')
    if lengths.sum() != len(states):
        raise DemonstrationError(f'{path}: lengths add up to {lengths.sum()}, but there are '
                                 f'{len(states)} samples')
    splits = np.cumsum(lengths)[:-1]
    demos = Demonstrations(
        states=tuple(np.split(states, splits)), actions=tuple(np.split(actions, splits)),
        robot=str(metadata['robot']), control_dt=float(metadata['control_dt']),
        state_names=tuple(metadata.get('state_names', ())),
        action_names=tuple(metadata.get('action_names', ())), source=str(path))
    demos.validate()
    return demos


def from_trajectory(trajectories: list[Trajectory], contract=None) -> Demonstrations:
    """Turn exported trajectories (bag export, rollouts) into demonstrations.

    Args:
        trajectories: Trajectories of one robot (e.g. the segments of ``export_bag``).
        contract: A ``PolicyContract``; when given, states are its noise-free observations and
            actions the raw policy actions (targets - default) / action_scale, the previous one
            feeding ``last_action``. When None, states are (joint_pos, joint_vel) and actions
            the joint targets [rad].

    Raises:
        DemonstrationError: No trajectories, different robots, or fields the state needs that
            the recording lacks (names the trajectory source and the field).
    """
    if not trajectories:
        raise DemonstrationError('no trajectories to turn into demonstrations')
    first = trajectories[0]
    states, actions = [], []
    for trajectory in trajectories:
        where = trajectory.source or 'trajectory'
        if trajectory.robot != first.robot or trajectory.joint_names != first.joint_names:
            raise DemonstrationError(f'{where}: robot/joints differ from the first trajectory')
        needed = ['joint_pos', 'joint_vel', 'actions']
        if contract is not None:
            needed += ['base_quat', 'base_ang_vel', 'commands']
            if contract.needs_odometry:
                needed.append('base_lin_vel')
            if tuple(contract.joint_names) != trajectory.joint_names:
                raise DemonstrationError(f'{where}: joint order differs from the contract')
        lacking = [name for name in needed if name in trajectory.missing]
        if lacking:
            raise DemonstrationError(f'{where}: the recording has no {lacking}, which the '
                                     'demonstration state needs')
        if contract is None:
            states.append(np.concatenate([trajectory.joint_pos, trajectory.joint_vel], axis=1))
            actions.append(trajectory.actions)
            continue
        raw = ((trajectory.actions - np.asarray(contract.default_joint_pos))
               / np.asarray(contract.action_scale))
        last = np.vstack([np.zeros((1, raw.shape[1])), raw[:-1]])
        inputs = ObservationInputs(
            base_quat=trajectory.base_quat, base_lin_vel=np.nan_to_num(trajectory.base_lin_vel),
            base_ang_vel=trajectory.base_ang_vel, joint_pos=trajectory.joint_pos,
            joint_vel=trajectory.joint_vel,
            default_joint_pos=np.asarray(contract.default_joint_pos),
            command=trajectory.commands, last_action=last)
        states.append(compute_observation(contract.observations, inputs,
                                          contract.clip_observations).astype(np.float64))
        actions.append(raw)
    if contract is None:
        state_names = tuple(f'{n}.pos' for n in first.joint_names) + tuple(
            f'{n}.vel' for n in first.joint_names)
    else:
        state_names = ()
    demos = Demonstrations(states=tuple(states), actions=tuple(actions), robot=first.robot,
                           control_dt=first.control_dt, state_names=state_names,
                           action_names=tuple(first.joint_names),
                           source=', '.join(t.source for t in trajectories if t.source))
    try:
        demos.validate()
    except ConfigError as error:
        raise DemonstrationError(f'{demos.source}: {error}') from error
    return demos
