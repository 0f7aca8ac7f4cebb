# SPDX-License-Identifier: Apache-2.0
"""The policy contract: everything a runtime needs to feed and read a policy (contract.yaml).

Version 2 names the registered task the policy was trained for and carries every number a node
on the robot needs (joint order, default pose, position/velocity/effort limits, PD gains, action
scale and clip, observation terms, control period, command ranges, reference motions), so a
bundle folder runs with only the installed package and onnxruntime: it holds no file paths and
nothing is read from the robot's YAML or URDF. Reference motions of a motion-tracking policy are
files inside the bundle (``motions/<name>.npz``).

Version 1 bundles (which named the robot YAML and left the limits in it) are refused with the
command that upgrades them: ``robot-learning bundle upgrade OLD --output NEW``.
"""

from __future__ import annotations

import dataclasses
import math
import pathlib

import numpy as np
import yaml

from robot_learning.atomic_write import atomic_write_text
from robot_learning.config import ConfigError, from_dict, load_yaml, to_dict
from robot_learning.robots.spec import RobotSpec
from robot_learning.tasks.actions import joint_position_targets
from robot_learning.tasks.observations import ObservationTerm, term_size, TERMS
from robot_learning.tasks.registry import task_spec

CONTRACT_FILE = 'contract.yaml'
ONNX_FILE = 'policy.onnx'
TORCHSCRIPT_FILE = 'policy.pt'
MOTIONS_FOLDER = 'motions'
"""Folder of a bundle that holds its reference motions as ``<name>.npz``."""
CONTRACT_VERSION = 2
PER_JOINT_FIELDS = ('default_joint_pos', 'position_lower', 'position_upper', 'velocity_limit',
                    'effort_limit', 'kp', 'kd', 'action_scale')
"""Contract fields with one value per joint, in ``joint_names`` order."""


class ContractVersionError(ConfigError):
    """A contract of an older version: the message names the upgrade command."""


@dataclasses.dataclass(frozen=True)
class PolicyContract:
    """Interface of an exported policy; all per-joint lists are in ``joint_names`` order.

    The ONNX graph maps ``obs`` (B, observation_dim) float32 -> ``actions`` (B, J); observation
    normalization is baked into the graph. Joint targets are
    ``default_joint_pos + action_scale * clip(action, ±clip_actions)`` [rad].
    """

    task: str
    """Registered task the policy was trained for (``tasks/registry.py``)."""
    robot: str
    """Name of the robot it was trained on; for information and for simulation-side tools
    (evaluation, sim-to-sim), never needed by the node."""
    robot_class: str
    """'quadruped', 'humanoid' or 'arm'."""
    floating_base: bool
    """True for legged robots (the node checks base tilt), False for fixed-base arms."""
    joint_names: tuple[str, ...]
    """Actuated joints in policy order; a node picks them by name from ``/joint_states``."""
    default_joint_pos: tuple[float, ...]
    """Action offset and soft-start pose [rad]."""
    position_lower: tuple[float, ...]
    """Lower position limits [rad]."""
    position_upper: tuple[float, ...]
    """Upper position limits [rad]."""
    velocity_limit: tuple[float, ...]
    """Joint speed limits [rad/s]."""
    effort_limit: tuple[float, ...]
    """Joint torque limits [N·m]."""
    kp: tuple[float, ...]
    """PD stiffness the policy was trained with [N·m/rad]."""
    kd: tuple[float, ...]
    """PD damping the policy was trained with [N·m·s/rad]."""
    action_scale: tuple[float, ...]
    """[rad per unit action]"""
    clip_actions: float
    """Raw actions are clipped to ±this before scaling."""
    observations: tuple[ObservationTerm, ...]
    """Observation terms in order (tasks/observations.py), with scales and noise."""
    observation_dim: int
    """Width D of the policy input."""
    clip_observations: float
    """Observations are clipped to ±this after scaling."""
    control_dt: float
    """Policy period [s]."""
    sim_dt: float
    """Physics period used in training [s]."""
    command_ranges: dict = dataclasses.field(default_factory=dict)
    """Trained command ranges, e.g. {'lin_vel_x': [-0.5, 1.0], ...} [m/s, rad/s]; a node clamps
    operator commands into them."""
    motions: tuple[str, ...] = ()
    """Reference motions of a motion-tracking policy, in the order of its training library;
    each is the bundle file ``motions/<name>.npz``."""
    provenance: dict = dataclasses.field(default_factory=dict)
    """How the policy was made: command, config, git revision, checkpoint, date."""
    version: int = CONTRACT_VERSION
    """Contract format version."""

    @property
    def num_joints(self) -> int:
        """Number of actuated joints J."""
        return len(self.joint_names)

    @property
    def needs_odometry(self) -> bool:
        """True if an observation term needs the base linear velocity (``/odom`` on a robot)."""
        return any(term.name == 'base_lin_vel' for term in self.observations)

    def validate(self) -> None:
        """Check internal consistency and values; ConfigError names the bad field."""
        if self.version != CONTRACT_VERSION:
            raise ContractVersionError(f'contract: version {self.version}, this package reads '
                                       f'version {CONTRACT_VERSION}')
        spec = task_spec(self.task, 'contract: task')
        if not spec.deployable:
            raise ConfigError(f"contract: task '{self.task}' is not a deployable policy task")
        count = self.num_joints
        if count == 0 or len(set(self.joint_names)) != count:
            raise ConfigError(f'contract: joint_names must be unique and non-empty, got '
                              f'{list(self.joint_names)}')
        for key in PER_JOINT_FIELDS:
            values = np.asarray(getattr(self, key), dtype=float)
            if values.shape != (count,):
                raise ConfigError(f'contract: {key} has {values.size} values for {count} joints')
            if not np.all(np.isfinite(values)):
                joint = self.joint_names[int(np.argmin(np.isfinite(values)))]
                raise ConfigError(f'contract: {key} of {joint} is not finite')
        for key in ('velocity_limit', 'effort_limit', 'action_scale'):
            values = np.asarray(getattr(self, key), dtype=float)
            if np.any(values <= 0):
                joint = self.joint_names[int(np.argmax(values <= 0))]
                raise ConfigError(f'contract: {key} of {joint} is {values.min():g}; it must be '
                                  'positive')
        for key in ('kp', 'kd'):
            if np.any(np.asarray(getattr(self, key)) < 0):
                raise ConfigError(f'contract: {key} must not be negative')
        lower, upper = np.asarray(self.position_lower), np.asarray(self.position_upper)
        if np.any(lower >= upper):
            joint = self.joint_names[int(np.argmax(lower >= upper))]
            raise ConfigError(f'contract: position_lower >= position_upper for {joint}')
        for key in ('clip_actions', 'clip_observations', 'control_dt', 'sim_dt'):
            value = getattr(self, key)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ConfigError(f'contract: {key} must be a positive number, got {value!r}')
        if self.sim_dt > self.control_dt + 1e-12:
            raise ConfigError(f'contract: sim_dt {self.sim_dt} is longer than control_dt '
                              f'{self.control_dt}')
        for term in self.observations:
            if term.name not in TERMS:
                raise ConfigError(f"contract: unknown observation term '{term.name}'; valid: "
                                  f"{', '.join(TERMS)}")
        size = sum(term_size(term.name, count) for term in self.observations)
        if size != self.observation_dim:
            raise ConfigError(f'contract: observation terms add up to {size} values, but '
                              f'observation_dim is {self.observation_dim}')
        for key, bounds in self.command_ranges.items():
            if (len(bounds) != 2 or not all(math.isfinite(float(b)) for b in bounds)
                    or float(bounds[0]) > float(bounds[1])):
                raise ConfigError(f'contract: command_ranges.{key} must be [low, high], got '
                                  f'{bounds}')
        if spec.operator_input == 'reference_motion' and not self.motions:
            raise ConfigError(f"contract: task '{self.task}' needs reference motions, the "
                              'contract names none')

    def check_joints(self, joint_names: tuple[str, ...] | list[str], owner: str) -> None:
        """Refuse ``owner``'s joints unless they are the contract's, in its order."""
        missing = [name for name in self.joint_names if name not in joint_names]
        extra = [name for name in joint_names if name not in self.joint_names]
        if missing or extra or tuple(joint_names) != self.joint_names:
            raise ConfigError(
                f'policy contract does not match {owner}: '
                f"joints only in the contract: {missing or 'none'}; joints only on {owner}: "
                f"{extra or 'none'}; same set in a different order: "
                f'{not missing and not extra}')

    def check_robot(self, robot: RobotSpec) -> None:
        """Refuse a robot whose joints differ from the contract's; lists the differences."""
        self.check_joints(robot.joint_names, f"robot '{robot.name}'")

    def robot_for_simulation(self, robot: RobotSpec) -> RobotSpec:
        """Return ``robot`` (the simulated model) with the contract's policy interface.

        Joint order is checked; default pose, action scale, PD gains and limits become the
        contract's, so a simulated evaluation runs the policy exactly as a node would and a wrong
        contract does not evaluate as fine.
        """
        self.check_robot(robot)
        values = {key: np.asarray(getattr(self, key), dtype=float) for key in PER_JOINT_FIELDS}
        return dataclasses.replace(robot, **values)

    def robot_for_reality(self, robot: RobotSpec) -> RobotSpec:
        """Return the "real" robot ``robot`` driven through this contract's action mapping.

        A reality keeps its own actuators, gains and limits (it stands for the hardware); only
        what the node does with an action, the default pose and action scale, is the
        contract's.
        """
        self.check_robot(robot)
        return dataclasses.replace(
            robot, default_joint_pos=np.asarray(self.default_joint_pos, dtype=float),
            action_scale=np.asarray(self.action_scale, dtype=float))

    def motion_paths(self, bundle: str | pathlib.Path) -> tuple[pathlib.Path, ...]:
        """Paths of the bundle's reference-motion files, in ``motions`` order."""
        folder = pathlib.Path(bundle) / MOTIONS_FOLDER
        return tuple(folder / f'{name}.npz' for name in self.motions)


def save_contract(contract: PolicyContract, folder: pathlib.Path) -> pathlib.Path:
    """Write ``contract.yaml`` into ``folder``."""
    return atomic_write_text(folder / CONTRACT_FILE,
                             yaml.safe_dump(to_dict(contract), sort_keys=False))


def upgrade_hint(folder: str | pathlib.Path) -> str:
    """Return the command that upgrades the bundle ``folder`` to this contract version."""
    folder = pathlib.Path(folder)
    return (f'robot-learning bundle upgrade {folder} '
            f'--output {folder.parent / (folder.name + "_v2")}')


def read_contract_file(folder: str | pathlib.Path) -> tuple[pathlib.Path, dict]:
    """Return the path of ``<folder>/contract.yaml`` and its mapping, of any version.

    Raises:
        ConfigError: no contract file in ``folder``, or it does not hold a mapping.
    """
    folder = pathlib.Path(folder)
    path = folder / CONTRACT_FILE
    if not path.is_file():
        raise ConfigError(f'{folder}: no {CONTRACT_FILE}; not a policy bundle')
    data = load_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(f'{path}: expected a mapping, got {type(data).__name__}')
    return path, data


def load_contract(folder: str | pathlib.Path) -> PolicyContract:
    """Read and validate ``<folder>/contract.yaml``.

    Raises:
        ContractVersionError: the contract is of an older version (the message names the
            upgrade command).
        ConfigError: the file is missing or a field is wrong (named).
    """
    folder = pathlib.Path(folder)
    path, data = read_contract_file(folder)
    version = data.get('version', 1)
    if version != CONTRACT_VERSION:
        raise ContractVersionError(
            f'{path}: contract version {version}; this package reads version '
            f'{CONTRACT_VERSION}. Upgrade the bundle with: {upgrade_hint(folder)}')
    contract = from_dict(PolicyContract, data, str(path))
    try:
        contract.validate()
    except ConfigError as error:
        raise ConfigError(f'{path}: {error}') from error
    for motion in contract.motion_paths(folder):
        if not motion.is_file():
            raise ConfigError(f'{path}: reference motion {motion.name} is missing from the '
                              f'bundle ({motion})')
    return contract


def joint_targets(contract: PolicyContract, action: np.ndarray) -> np.ndarray:
    """Joint position targets [rad] (N, J) from raw policy actions (N, J)."""
    return joint_position_targets(action, contract.default_joint_pos, contract.action_scale,
                                  contract.clip_actions)
