# SPDX-License-Identifier: Apache-2.0
"""One name per node: console script = ``robot-learning node NAME`` = ROS node name = YAML key."""

from __future__ import annotations

import argparse
import ast
import importlib
import pathlib

import pytest
import yaml

from robot_learning.cli.main import build_parser, node_name, NODES

ROOT = pathlib.Path(__file__).resolve().parents[3]


def _node_scripts() -> dict[str, str]:
    """Return the console scripts of setup.py (name -> module:function) but robot-learning."""
    scripts = {}
    for node in ast.walk(ast.parse((ROOT / 'setup.py').read_text())):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and ' = ' in node.value:
            name, target = (part.strip() for part in node.value.split(' = ', 1))
            if ':' in target and name != 'robot-learning':
                scripts[name] = target
    return scripts


def test_node_command_takes_exactly_the_console_scripts():
    assert NODES == _node_scripts()
    assert sorted(NODES) == ['excitation_node', 'policy_node', 'recorder', 'search_node',
                             'sim_bridge']


@pytest.mark.parametrize('name', sorted(NODES))
def test_the_ros_node_is_named_as_its_console_script(name):
    module = importlib.import_module(NODES[name].split(':')[0])
    assert module.PROGRAM.name == name
    assert build_parser().parse_args(['node', name, '--ros-args']).name == name


def test_parameter_files_are_keyed_by_node_name():
    files = sorted((ROOT / 'config' / 'nodes').glob('*.yaml'))
    assert len(files) == 4
    for path in files:
        assert path.stem in NODES and list(yaml.safe_load(path.read_text())) == [path.stem]


def test_earlier_short_names_still_start_the_node(capsys):
    assert node_name('policy') == 'policy_node' and node_name('excite') == 'excitation_node'
    assert "'policy' is now called 'policy_node'" in capsys.readouterr().err
    with pytest.raises(argparse.ArgumentTypeError, match="unknown node 'policy_nod'; the "
                                                         'nodes: excitation_node, policy_node'):
        node_name('policy_nod')
