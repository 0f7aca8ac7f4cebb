# SPDX-License-Identifier: Apache-2.0
"""The ament_flake8 profile (setup.cfg [flake8], every installed plugin) over all Python code."""

import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
LINT_PATHS = ('robot_learning', 'test', 'benchmarks')


@pytest.mark.linter
def test_flake8():
    paths = [path for path in LINT_PATHS if (ROOT / path).exists()]
    result = subprocess.run(
        [sys.executable, '-m', 'flake8', *paths],
        cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, f'flake8 found problems:\n{result.stdout}{result.stderr}'
