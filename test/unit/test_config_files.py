# SPDX-License-Identifier: Apache-2.0
"""Every file under ``config/`` loads through the code that reads it.

The files are found by glob, so a new one is covered without editing this test; a file in a
folder (or of a kind) that no loader below reads fails, naming the folder to add here.
"""

from __future__ import annotations

import importlib
import json
import pathlib
import xml.etree.ElementTree as ElementTree

import pytest
import yaml

from robot_learning.ccil.config import CCILConfig, load_ccil_config
from robot_learning.config import load_config
from robot_learning.delta_action.config import DeltaConfig
from robot_learning.rl.train_config import TrainConfig
from robot_learning.robots.registry import load_robot
from robot_learning.sim.reality import load_reality

ROOT = pathlib.Path(__file__).resolve().parents[2]
CONFIG = ROOT / 'config'
FILES = sorted(path for path in CONFIG.rglob('*') if path.is_file())

NODE_MODULES = {
    'policy_node': 'robot_learning.ros.policy_node',
    'sim_bridge': 'robot_learning.ros.sim_bridge_node',
    'recorder': 'robot_learning.ros.recorder_node',
    'search_node': 'robot_learning.ros.search_node',
}
"""``config/nodes/<stem>.yaml`` -> the node module whose ``PROGRAM`` it parameterizes."""


def _train(path: pathlib.Path) -> None:
    config = load_config(TrainConfig, path)
    load_robot(config.task.robot)


def _robot(path: pathlib.Path) -> None:
    robot = load_robot(str(path))
    assert robot.name == path.stem, f'{path}: name {robot.name!r} is not the file stem'


def _reality(path: pathlib.Path) -> None:
    reality = load_reality(path)
    assert reality.name == path.stem, f'{path}: name {reality.name!r} is not the file stem'
    load_robot(reality.robot)


def _ccil(path: pathlib.Path) -> None:
    assert isinstance(load_ccil_config(path), CCILConfig)


def _delta(path: pathlib.Path) -> None:
    config = load_config(DeltaConfig, path)
    load_robot(config.robot)


def _node(path: pathlib.Path) -> None:
    """Check a ROS parameter file against its node's parameter table.

    The top-level key is the node's name, the keys are exactly the table's, and each value is
    the declared default (the file documents the defaults). rclpy is imported, not started.
    """
    assert path.stem in NODE_MODULES, (f'{path}: no node module for this parameter file; add '
                                       'it to NODE_MODULES')
    pytest.importorskip('rclpy')
    program = importlib.import_module(NODE_MODULES[path.stem]).PROGRAM
    data = yaml.safe_load(path.read_text(encoding='utf-8'))
    assert list(data) == [program.name], f'{path}: top-level key must be {program.name!r}'
    values = data[program.name]['ros__parameters']
    table = dict(program.parameters)
    assert set(values) == set(table), (f'{path}: unknown {sorted(set(values) - set(table))}, '
                                       f'missing {sorted(set(table) - set(values))}')
    for name, value in values.items():
        default = table[name][0]
        default = list(default) if isinstance(default, tuple) else default
        if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        assert value == default, f'{path}: {name} = {value!r}, the node declares {default!r}'


def _xml(path: pathlib.Path) -> None:
    ElementTree.parse(path)


def _json(path: pathlib.Path) -> None:
    assert isinstance(json.loads(path.read_text(encoding='utf-8')), dict), (
        f'{path}: expected a JSON object')


LOADERS = {
    'train': _train,
    'robots': _robot,
    'reality': _reality,
    'ccil': _ccil,
    'delta': _delta,
    'nodes': _node,
}
"""YAML folder under config/ -> how the package reads its files."""
OTHER_FILES = {'.xml': _xml, '.json': _json}
"""Non-YAML files (the Fast DDS profile, the Foxglove layout) by suffix: well-formed."""


def test_every_config_folder_has_files():
    assert {path.parent.name for path in FILES if path.suffix == '.yaml'} >= set(LOADERS)


@pytest.mark.parametrize('path', FILES, ids=lambda path: str(path.relative_to(CONFIG)))
def test_config_file_loads(path):
    folder = path.relative_to(CONFIG).parts[0]
    if path.suffix in ('.yaml', '.yml'):
        assert folder in LOADERS, (f'config/{folder}/ has no loader in {__name__}: add one to '
                                   'LOADERS (the dataclass or function that reads the folder)')
        LOADERS[folder](path)
    else:
        assert path.suffix in OTHER_FILES, f'{path}: no loader for {path.suffix!r} files'
        OTHER_FILES[path.suffix](path)
