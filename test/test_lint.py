# SPDX-License-Identifier: Apache-2.0
"""The ament lint profile over all Python code: ament_flake8 and ament_pep257.

test_flake8 runs setup.cfg's [flake8] section (every installed plugin, the Google docstring
convention); test_pep257 adds what ament_pep257 checks beyond it, e.g. D400 (summary ends with
a period) and D401 (imperative mood). The ament ignore list (D100-D107, D203, D212, D404) comes
from setup.cfg.
"""

import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
LINT_PATHS = ('robot_learning', 'test', 'benchmarks')


def _flake8(*options: str) -> subprocess.CompletedProcess:
    paths = [path for path in LINT_PATHS if (ROOT / path).exists()]
    return subprocess.run([sys.executable, '-m', 'flake8', *options, *paths],
                          cwd=ROOT, capture_output=True, text=True, check=False)


@pytest.mark.linter
def test_flake8():
    result = _flake8()
    assert result.returncode == 0, f'flake8 found problems:\n{result.stdout}{result.stderr}'


@pytest.mark.linter
def test_pep257():
    result = _flake8('--select=D', '--docstring-convention=pep257')
    assert result.returncode == 0, (
        f'pydocstyle (pep257 convention) found problems:\n{result.stdout}{result.stderr}')
