# SPDX-License-Identifier: Apache-2.0
"""The policy contract: everything a runtime needs to feed and read a policy (contract.yaml)."""

from __future__ import annotations

import dataclasses
import pathlib

import numpy as np
import yaml

from robot_learning.config import ConfigError, from_dict, load_yaml, to_dict
from robot_learning.robots.spec import RobotSpec
from robot_learning.tasks.actions import joint_position_targets
from robot_learning.tasks.observations import ObservationTerm, term_size, TERMS

CONTRACT_FILE = 'contract.yaml'
ONNX_FILE = 'policy.onnx'
TORCHSCRIPT_FILE = 'policy.pt'
CONTRACT_VERSION = 1


@dataclasses.dataclass(frozen=True)
class PolicyContract:
    """Interface of an exported policy; all per-joint lists are in ``joint_names`` order.

    The ONNX graph maps ``obs`` (1, observation_dim) float32 -> ``actions`` (1, J); observation
    normalization is baked into the graph. Joint targets are
    ``default_joint_pos + action_scale * clip(action, ±clip_actions)`` [rad].
    """

    robot: str
    """Registered robot name (or robot YAML path) the policy was trained for."""
    robot_class: str
    joint_names: tuple[str, ...]
    observations: tuple[ObservationTerm, ...]
    """Observation terms in order (tasks/observations.py), with scales."""
    observation_dim: int
    clip_observations: float
    action_scale: tuple[float, ...]
    """[rad per unit action]"""
    default_joint_pos: tuple[float, ...]
    """Action offset [rad]."""
    clip_actions: float
    kp: tuple[float, ...]
    """PD stiffness the policy was trained with [N·m/rad]."""
    kd: tuple[float, ...]
    """PD damping the policy was trained with [N·m·s/rad]."""
    effort_limit: tuple[float, ...]
    """[N·m]"""
    control_dt: float
    """Policy period [s]."""
    sim_dt: float
    """Physics period used in training [s]."""
    command_ranges: dict = dataclasses.field(default_factory=dict)
    """Trained command ranges, e.g. {'lin_vel_x': [-0.5, 1.0], ...}."""
    provenance: dict = dataclasses.field(default_factory=dict)
    """How the policy was made: command, config, git revision, checkpoint, date."""
    version: int = CONTRACT_VERSION
    motions: tuple[str, ...] = ()
    """Reference motions of a motion-tracking policy (shipped names or ``.npz`` paths), in
    the order of its training library; the policy node plays one from activation on."""

    @property
    def num_joints(self) -> int:
        """Number of actuated joints J."""
        return len(self.joint_names)

    @property
    def needs_odometry(self) -> bool:
        """True if an observation term needs the base linear velocity (``/odom`` on a robot)."""
        return any(term.name == 'base_lin_vel' for term in self.observations)

    def validate(self) -> None:
        """Check internal consistency; ConfigError says what is wrong."""
        count = self.num_joints
        for key in ('action_scale', 'default_joint_pos', 'kp', 'kd', 'effort_limit'):
            if len(getattr(self, key)) != count:
                raise ConfigError(f'contract: {key} has {len(getattr(self, key))} values for '
                                  f'{count} joints')
        for term in self.observations:
            if term.name not in TERMS:
                raise ConfigError(f"contract: unknown observation term '{term.name}'; valid: "
                                  f"{', '.join(TERMS)}")
        size = sum(term_size(term.name, count) for term in self.observations)
        if size != self.observation_dim:
            raise ConfigError(f'contract: observation terms add up to {size} values, but '
                              f'observation_dim is {self.observation_dim}')

    def check_robot(self, robot: RobotSpec) -> None:
        """Refuse a robot whose joints differ from the contract's; lists the differences."""
        missing = [name for name in self.joint_names if name not in robot.joint_names]
        extra = [name for name in robot.joint_names if name not in self.joint_names]
        if missing or extra or tuple(robot.joint_names) != self.joint_names:
            raise ConfigError(
                f"policy contract does not match robot '{robot.name}': "
                f"joints only in the contract: {missing or 'none'}; joints only on the robot: "
                f"{extra or 'none'}; same set in a different order: "
                f'{not missing and not extra}')


def save_contract(contract: PolicyContract, folder: pathlib.Path) -> pathlib.Path:
    """Write ``contract.yaml`` into ``folder``."""
    path = folder / CONTRACT_FILE
    path.write_text(yaml.safe_dump(to_dict(contract), sort_keys=False), encoding='utf-8')
    return path


def load_contract(folder: str | pathlib.Path) -> PolicyContract:
    """Read and validate ``<folder>/contract.yaml``."""
    path = pathlib.Path(folder) / CONTRACT_FILE
    contract = from_dict(PolicyContract, load_yaml(path), str(path))
    contract.validate()
    return contract


def joint_targets(contract: PolicyContract, action: np.ndarray) -> np.ndarray:
    """Joint position targets [rad] (N, J) from raw policy actions (N, J)."""
    return joint_position_targets(action, contract.default_joint_pos, contract.action_scale,
                                  contract.clip_actions)
