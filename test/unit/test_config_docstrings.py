# SPDX-License-Identifier: Apache-2.0
"""Every field of every config dataclass has an attribute docstring directly under it.

A config dataclass is one whose name ends with ``Config``, or one such a config holds by default
(reward weights, kernel widths, observation terms).
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import pkgutil
import textwrap

import pytest

import robot_learning

SKIPPED_PACKAGES = ('robot_learning.ros', 'robot_learning.isaaclab')
"""rclpy and Isaac Lab are not importable everywhere the unit tests run."""


def _modules() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(robot_learning.__path__, 'robot_learning.'):
        if not info.name.startswith(SKIPPED_PACKAGES):
            names.append(info.name)
    return sorted(names)


def _nested(cls: type) -> list[type]:
    """Dataclasses a config holds by default (reward weights, kernel widths, terms)."""
    nested = []
    for field in dataclasses.fields(cls):
        values = field.default if isinstance(field.default, tuple) else (field.default,)
        nested += [type(value) for value in values
                   if dataclasses.is_dataclass(value) and not isinstance(value, type)]
    return nested


def _config_classes() -> list[type]:
    """Every ``*Config`` dataclass of the package, and the dataclasses they nest."""
    found = {}
    for name in _modules():
        module = importlib.import_module(name)
        for value in vars(module).values():
            if (inspect.isclass(value) and dataclasses.is_dataclass(value)
                    and value.__name__.endswith('Config')
                    and value.__module__.startswith('robot_learning.')
                    and not value.__module__.startswith(SKIPPED_PACKAGES)):
                found[f'{value.__module__}.{value.__qualname__}'] = value
    todo = list(found.values())
    while todo:
        for value in _nested(todo.pop()):
            key = f'{value.__module__}.{value.__qualname__}'
            if key not in found and value.__module__.startswith('robot_learning.'):
                found[key] = value
                todo.append(value)
    return [found[key] for key in sorted(found)]


def _documented_fields(cls: type) -> tuple[set[str], set[str]]:
    """Return (fields assigned in ``cls``'s own body, those followed by a string literal)."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    body = tree.body[0].body
    assigned, documented = set(), set()
    for index, node in enumerate(body):
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            assigned.add(node.target.id)
            following = body[index + 1] if index + 1 < len(body) else None
            if (isinstance(following, ast.Expr) and isinstance(following.value, ast.Constant)
                    and isinstance(following.value.value, str)
                    and following.value.value.strip()):
                documented.add(node.target.id)
    return assigned, documented


CONFIGS = _config_classes()


def test_the_walk_finds_the_known_configs():
    names = {cls.__name__ for cls in CONFIGS}
    assert {'TrainConfig', 'PpoConfig', 'NetworkConfig', 'DeltaConfig', 'SimConfig',
            'RandomizationConfig', 'CCILConfig', 'SearchEvaluationConfig', 'RewardWeights',
            'TrackingSigmas', 'ObservationTerm'} <= names


@pytest.mark.parametrize('cls', CONFIGS, ids=lambda cls: f'{cls.__module__}.{cls.__qualname__}')
def test_every_config_field_has_an_attribute_docstring(cls):
    undocumented = []
    for field in dataclasses.fields(cls):
        owner = next(base for base in cls.__mro__ if dataclasses.is_dataclass(base)
                     and field.name in _documented_fields(base)[0])
        if field.name not in _documented_fields(owner)[1]:
            undocumented.append(f'{owner.__qualname__}.{field.name}')
    assert not undocumented, ('fields without a docstring directly under them (add a string '
                              f'literal line, with the unit where physical): {undocumented}')
