# SPDX-License-Identifier: Apache-2.0
"""Upgrade a version-1 policy bundle to the self-contained version-2 contract.

A version-1 ``contract.yaml`` named the robot (a registered name or a robot YAML path) and left
the joint limits in the robot's YAML and URDF, and named reference motions by shipped name or
path. The upgrade reads those once, on a machine that has them, and writes a bundle that carries
everything itself: the task name, the limits and the motion files. The ONNX and TorchScript
files are copied unchanged.
"""

from __future__ import annotations

import dataclasses
import pathlib
import shutil

from robot_learning.atomic_write import atomic_folder
from robot_learning.config import ConfigError, from_dict
from robot_learning.policies.contract import (CONTRACT_VERSION, ONNX_FILE, PER_JOINT_FIELDS,
                                              PolicyContract, read_contract_file, save_contract,
                                              TORCHSCRIPT_FILE)
from robot_learning.policies.export import copy_motions
from robot_learning.robots.registry import load_robot
from robot_learning.tasks.registry import task_spec

V1_DROPPED = ('version',)
"""Version-1 keys that are not copied as they are."""


def version1_task(data: dict) -> str:
    """Return the registered task of a version-1 contract.

    The training config in its provenance names it (``task_type``); bundles without one (made
    before provenance recorded the config) were velocity-tracking policies unless they list
    reference motions.
    """
    training = (data.get('provenance') or {}).get('training_config') or {}
    if 'task_type' in training:
        return str(training['task_type'])
    return 'motion_tracking' if data.get('motions') else 'velocity_tracking'


def upgrade_bundle(old: str | pathlib.Path, new: str | pathlib.Path,
                   command: str = '') -> pathlib.Path:
    """Write the version-2 bundle of the version-1 bundle ``old`` to ``new``.

    ``new`` is assembled in a temporary folder and replaces ``new`` only when complete;
    ``old`` may equal ``new`` (upgrade in place).

    Raises:
        ConfigError: ``old`` is not a version-1 bundle, its robot cannot be loaded, or its
            joints differ from the robot's.
    """
    old, new = pathlib.Path(old), pathlib.Path(new)
    path, data = read_contract_file(old)
    version = data.get('version', 1)
    if version != 1:
        raise ConfigError(f'{path}: contract version {version}; only version 1 is upgraded '
                          f'(this package writes version {CONTRACT_VERSION})')
    for name in (ONNX_FILE, TORCHSCRIPT_FILE):
        if not (old / name).is_file():
            raise ConfigError(f'{old}: {name} is missing')
    robot = load_robot(str(data['robot']))
    task = version1_task(data)
    task_spec(task, f'{path}: task')
    fields = {key: value for key, value in data.items() if key not in V1_DROPPED}
    fields.update(
        task=task, robot=robot.name, floating_base=robot.floating_base,
        **{key: [float(v) for v in getattr(robot, key)]
           for key in PER_JOINT_FIELDS if key not in data})
    contract = from_dict(PolicyContract, fields, str(path))
    contract.check_robot(robot)
    provenance = {**contract.provenance,
                  'upgraded': {'from_version': 1, 'command': command,
                               'limits_from_robot': robot.name}}
    with atomic_folder(new) as staging:
        for name in (ONNX_FILE, TORCHSCRIPT_FILE):
            shutil.copy2(old / name, staging / name)
        motions = copy_motions(contract.motions, robot, staging) if contract.motions else ()
        contract = dataclasses.replace(contract, motions=motions, provenance=provenance)
        contract.validate()
        save_contract(contract, staging)
    return new
