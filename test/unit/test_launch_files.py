# SPDX-License-Identifier: Apache-2.0
"""Launch files name only installed executables and existing config files.

``launch`` and ``launch_ros`` are not installable here, so each launch file is parsed (not run):
every ``Node(package='robot_learning', executable=...)`` must be a console script of setup.py
(a node of another package, e.g. controller_manager, must be an exec_depend of package.xml),
and every ``PathJoinSubstitution([FindPackageShare('robot_learning'), ...])`` of string parts
must point at a file or folder of this repository (installed by setup.py's data_files).
"""

from __future__ import annotations

import ast
import pathlib
from xml.etree import ElementTree

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
LAUNCH_FILES = sorted((ROOT / 'launch').glob('*.launch.py'))


def _console_scripts() -> set[str]:
    tree = ast.parse((ROOT / 'setup.py').read_text())
    scripts = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and ' = ' in node.value:
            name, target = node.value.split(' = ', 1)
            if ':' in target:
                scripts.add(name.strip())
    return scripts


def _exec_depends() -> set[str]:
    root = ElementTree.parse(ROOT / 'package.xml').getroot()
    return {element.text for tag in ('depend', 'exec_depend') for element in root.iter(tag)}


def _keyword(call: ast.Call, name: str):
    for keyword in call.keywords:
        if keyword.arg == name and isinstance(keyword.value, ast.Constant):
            return keyword.value.value
    return None


def _calls(tree: ast.AST, function: str) -> list[ast.Call]:
    return [node for node in ast.walk(tree) if isinstance(node, ast.Call)
            and getattr(node.func, 'id', getattr(node.func, 'attr', None)) == function]


def test_there_are_the_three_launch_files():
    names = {path.name for path in LAUNCH_FILES}
    assert names >= {'policy_deploy.launch.py', 'sim_to_sim.launch.py', 'record.launch.py'}


@pytest.mark.parametrize('path', LAUNCH_FILES, ids=lambda p: p.name)
def test_launch_file_executables_and_paths_exist(path):
    tree = ast.parse(path.read_text())
    assert any(isinstance(node, ast.FunctionDef) and node.name == 'generate_launch_description'
               for node in tree.body)
    scripts = _console_scripts()
    nodes = _calls(tree, 'Node')
    assert nodes, f'{path.name} starts no node'
    for call in nodes:
        package = _keyword(call, 'package')
        if package != 'robot_learning':  # another package: package.xml must depend on it
            assert package in _exec_depends(), f'{path.name}: {package} not in package.xml'
            continue
        executable = _keyword(call, 'executable')
        assert executable in scripts, f'{path.name}: {executable} is not a console script'
        name = _keyword(call, 'name')
        assert name == executable, f'{path.name}: node {name} runs {executable} (one name each)'
    for call in _calls(tree, 'PathJoinSubstitution'):  # installed files a launch file names
        parts = call.args[0].elts
        assert getattr(parts[0].func, 'id', None) == 'FindPackageShare'
        relative = [part.value for part in parts[1:]]
        assert all(isinstance(part, str) for part in relative)
        assert (ROOT.joinpath(*relative)).exists(), f'{path.name}: {relative} does not exist'
    for call in _calls(tree, 'DeclareLaunchArgument'):
        assert any(k.arg == 'description' for k in call.keywords), 'undocumented argument'
