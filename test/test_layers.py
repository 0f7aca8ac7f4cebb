# SPDX-License-Identifier: Apache-2.0
"""The package's layers: no import points from a lower layer up to a higher one.

Every ``robot_learning`` import (module level or inside a function) is read with ``ast``; each
top-level module or subpackage belongs to one layer of ``LAYERS``, and an import may only reach
its own layer or a lower one.
"""

import ast
import pathlib

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / 'robot_learning'
LAYERS = (
    ('config', 'paths', 'provenance', 'rotations', 'atomic_write'),
    ('robots',),
    ('data',),
    ('sim',),
    ('motions', 'domain_randomization'),
    ('tasks',),
    ('rl',),
    ('policies',),
    ('evaluation',),
    ('impedance_matching', 'delta_action', 'ccil', 'ergodic_search'),
    ('isaaclab',),
    ('ros',),
    ('cli',),
)
"""Lowest first. Reference motions and dynamics distributions are inputs of the tasks; the
methods (impedance matching, ASAP, CCIL, ergodic search) build on training and evaluation."""
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}


def _unit(module: str) -> str:
    """'robot_learning.tasks.registry' -> 'tasks'."""
    return module.split('.')[1]


def _imports(path: pathlib.Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding='utf-8'))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == 'robot_learning':
                found += [f'robot_learning.{alias.name}' for alias in node.names]
            elif node.module.startswith('robot_learning.'):
                found.append(node.module)
        elif isinstance(node, ast.Import):
            found += [alias.name for alias in node.names
                      if alias.name.startswith('robot_learning.')]
    return found


def upward_imports() -> list[str]:
    """Every import that reaches a higher layer, as 'file -> module'."""
    violations = []
    for path in sorted(PACKAGE.rglob('*.py')):
        parts = path.relative_to(PACKAGE).parts
        if parts == ('__init__.py',):
            continue
        source = parts[0].removesuffix('.py')
        for module in _imports(path):
            target = _unit(module)
            if RANK[target] > RANK[source]:
                violations.append(f'{path.relative_to(PACKAGE.parent)} -> {module}')
    return violations


def test_every_module_has_a_layer():
    units = {path.name.removesuffix('.py') for path in PACKAGE.iterdir()
             if (path.suffix == '.py' and path.name != '__init__.py')
             or (path / '__init__.py').is_file()}
    assert units <= set(RANK), f'modules without a layer: {sorted(units - set(RANK))}'


def test_no_import_points_up_a_layer():
    assert upward_imports() == []


def test_only_the_ros_layer_imports_rclpy():
    offenders = []
    for path in PACKAGE.rglob('*.py'):
        if path.relative_to(PACKAGE).parts[0] == 'ros':
            continue
        tree = ast.parse(path.read_text(encoding='utf-8'))
        for node in ast.walk(tree):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                     else [node.module or ''] if isinstance(node, ast.ImportFrom) else [])
            if any(name.split('.')[0] == 'rclpy' for name in names):
                offenders.append(str(path.relative_to(PACKAGE)))
    assert offenders == []
