# SPDX-License-Identifier: Apache-2.0
"""package.xml declares every dependency: rosdep keys, or the pip-only list in its comment.

Every top-level module imported under ``robot_learning/`` (found with ``ast``, also imports
inside functions) that is neither the standard library nor this package must be

- a ROS package named as an ``exec_depend`` (the module name is the package name), also in
  setup.py as its pip wheel ``ros-<name>`` (how rclpy and the messages install here) or, for a
  ROS package published on PyPI under its own name (xacro), as ``<name>``;
- a Python package with a rosdep key (``ROSDEP_PYTHON``) named as an ``exec_depend``;
- or a pip-only package (``PIP_ONLY``), named in package.xml's ``pip-only`` comment.

Python packages must also be requirements of setup.py. The launch files' imports and the
packages of the nodes they start are checked in the same way.
"""

from __future__ import annotations

import ast
import pathlib
import re
import sys
from xml.etree import ElementTree

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
ROSDEP_PYTHON = {
    'numpy': ('python3-numpy', 'numpy'),
    'scipy': ('python3-scipy', 'scipy'),
    'yaml': ('python3-yaml', 'pyyaml'),
    'matplotlib': ('python3-matplotlib', 'matplotlib'),
    'sklearn': ('python3-sklearn', 'scikit-learn'),
    'threadpoolctl': ('python3-sklearn', 'threadpoolctl'),  # a dependency of python3-sklearn
}
"""Module -> (rosdep key, pip distribution in setup.py)."""
PIP_ONLY = {
    'onnxruntime': 'onnxruntime',
    'torch': 'torch',
    'rsl_rl': 'rsl-rl-lib',
    'tensordict': 'tensordict',
    'onnx': 'onnx',
    'mujoco': 'mujoco',
    'mujoco_warp': 'mujoco-warp',
    'warp': 'warp-lang',
    'pybullet': 'pybullet',
    'pybullet_data': 'pybullet',
    'rosbags': 'rosbags',
    'mcap': 'mcap',
    'rich': 'rich',
    'imageio': 'imageio',
    'PIL': 'pillow',
    'torchvision': 'torchvision',
    'ledataset': 'lerobot-dataset',
}
"""Module -> pip distribution, for packages without a rosdep key (package.xml's comment)."""
NO_DEPS = {'lerobot-dataset': '0.4.4'}
"""Distribution -> version that the Makefile installs with ``pip install --no-deps`` instead
of setup.py (its declared requirements would downgrade numpy; setup.py's lerobot extra lists the
modules it does import)."""


def _imports(paths) -> dict[str, set[str]]:
    """Top-level third-party module -> files importing it."""
    found: dict[str, set[str]] = {}
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split('.')[0]
                if top not in sys.stdlib_module_names and top != 'robot_learning':
                    found.setdefault(top, set()).add(path.name)
    return found


def _package_xml() -> tuple[set[str], str]:
    """(exec_depend keys, text of the pip-only comment)."""
    text = (ROOT / 'package.xml').read_text()
    root = ElementTree.fromstring(text)
    depends = {element.text for tag in ('depend', 'exec_depend') for element in root.iter(tag)}
    comment = re.search(r'<!--\s*pip-only:(.*?)-->', text, re.DOTALL)
    assert comment, 'package.xml has no <!-- pip-only: ... --> comment'
    return depends, comment.group(1)


def _setup_requirements() -> set[str]:
    """Distribution names of every requirement string in setup.py (any extra)."""
    names = set()
    for node in ast.walk(ast.parse((ROOT / 'setup.py').read_text())):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            match = re.fullmatch(r'([A-Za-z0-9][A-Za-z0-9._-]*)\s*([<>=!~].*)?', node.value)
            if match:
                names.add(match.group(1).lower())
    return names


PACKAGE_IMPORTS = _imports(sorted((ROOT / 'robot_learning').rglob('*.py')))


def test_imports_are_found():
    # The scan sees the packages the toolkit is built on (guards against an empty scan).
    assert {'numpy', 'rclpy', 'torch', 'onnxruntime', 'rosbags'} <= set(PACKAGE_IMPORTS)


def _unmapped(imports: dict[str, set[str]], depends: set[str], pip_comment: str
              ) -> dict[str, str]:
    """Return module -> why package.xml does not cover it, for every uncovered import."""
    unmapped = {}
    for module, files in sorted(imports.items()):
        if module in ROSDEP_PYTHON:
            key = ROSDEP_PYTHON[module][0]
            if key not in depends:
                unmapped[module] = f'rosdep key {key} is not an exec_depend'
        elif module in PIP_ONLY:
            if not re.search(rf'(?<![\w-]){re.escape(PIP_ONLY[module])}(?![\w-])', pip_comment):
                unmapped[module] = f'{PIP_ONLY[module]} is not in the pip-only comment'
        elif module not in depends:
            unmapped[module] = f'no exec_depend and not pip-only (imported in {sorted(files)})'
    return unmapped


def test_every_third_party_import_is_a_package_xml_dependency_or_pip_only():
    depends, pip_comment = _package_xml()
    unmapped = _unmapped(PACKAGE_IMPORTS, depends, pip_comment)
    assert not unmapped, f'package.xml misses: {unmapped}'


def test_every_python_dependency_is_a_setup_py_requirement():
    requirements = _setup_requirements()
    depends, _ = _package_xml()
    missing = []
    for module in PACKAGE_IMPORTS:
        if module in ROSDEP_PYTHON:
            distribution = ROSDEP_PYTHON[module][1]
        elif module in PIP_ONLY:
            distribution = PIP_ONLY[module]
        elif module in depends:  # a ROS package: its pip wheel ros-<name>, or <name> on PyPI
            wheel = module.replace('_', '-')
            if f'ros-{wheel}' not in requirements and wheel not in requirements:
                missing.append(f'{module} (ros-{wheel} or {wheel})')
            continue
        else:
            continue
        if distribution not in requirements and distribution not in NO_DEPS:
            missing.append(f'{module} ({distribution})')
    assert not missing, f'setup.py does not require: {sorted(missing)}'


def test_no_deps_packages_are_installed_by_the_makefile():
    makefile = (ROOT / 'Makefile').read_text()
    for distribution, version in NO_DEPS.items():
        assert f'pip install --no-deps {distribution}=={version}' in makefile, distribution


@pytest.mark.parametrize('path', sorted((ROOT / 'launch').glob('*.launch.py')),
                         ids=lambda path: path.name)
def test_launch_files_depend_only_on_declared_packages(path):
    depends, _ = _package_xml()
    modules = set(_imports([path]))
    tree = ast.parse(path.read_text())
    packages = {keyword.value.value for node in ast.walk(tree) if isinstance(node, ast.Call)
                for keyword in node.keywords
                if keyword.arg == 'package' and isinstance(keyword.value, ast.Constant)}
    packages.discard('robot_learning')
    assert (modules | packages) - depends == set()


def test_an_unmapped_import_would_be_named(tmp_path):
    # The check can fail: a module importing an undeclared package is reported by name.
    module = tmp_path / 'extra.py'
    module.write_text('import numpy\nfrom made_up_package.sub import thing\nimport os\n')
    depends, pip_comment = _package_xml()
    unmapped = _unmapped(_imports([module]), depends, pip_comment)
    assert list(unmapped) == ['made_up_package'] and 'extra.py' in unmapped['made_up_package']
