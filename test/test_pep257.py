# SPDX-License-Identifier: Apache-2.0
"""Docstrings must also pass ament_pep257: pydocstyle's pep257 checks minus ament's ignores.

test_flake8 checks the Google convention (setup.cfg ``docstring-convention``); this adds what
ament_pep257 checks beyond it, e.g. D400 (summary ends with a period) and D401 (imperative
mood). The ament ignore list (D100-D107, D203, D212, D404) comes from setup.cfg.
"""

import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
LINT_PATHS = ('robot_learning', 'test', 'benchmarks')


@pytest.mark.linter
def test_pep257():
    paths = [path for path in LINT_PATHS if (ROOT / path).exists()]
    result = subprocess.run(
        [sys.executable, '-m', 'flake8', '--select=D', '--docstring-convention=pep257', *paths],
        cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, (
        f'pydocstyle (pep257 convention) found problems:\n{result.stdout}{result.stderr}')
