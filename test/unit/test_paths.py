# SPDX-License-Identifier: Apache-2.0
"""The share folder's search order: $ROBOT_LEARNING_SHARE, the checkout, the ament index, prefix.

The ament branch is exercised with a real ament index layout in a temporary prefix (the marker
file ``share/ament_index/resource_index/packages/robot_learning`` that setup.py installs); the
colcon-installed package is tested end to end in test/integration/test_colcon_install.py.
"""

from __future__ import annotations

import pathlib

import pytest

from robot_learning import paths

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _ament_prefix(root: pathlib.Path, with_data: bool = True) -> pathlib.Path:
    """Lay out ``root`` as an install prefix that registers robot_learning in the ament index."""
    marker = root / 'share' / 'ament_index' / 'resource_index' / 'packages' / 'robot_learning'
    marker.parent.mkdir(parents=True)
    marker.write_text('')
    if with_data:
        (root / 'share' / 'robot_learning' / 'config' / 'robots').mkdir(parents=True)
    return root


@pytest.fixture
def clean_env(monkeypatch):
    monkeypatch.delenv(paths.SHARE_ENV, raising=False)
    monkeypatch.delenv('AMENT_PREFIX_PATH', raising=False)
    return monkeypatch


def test_checkout_is_found_from_the_package_folder(clean_env):
    assert paths.share_dir() == ROOT
    assert paths.search_share(ROOT / 'robot_learning') == ROOT


def test_environment_variable_wins_even_over_the_checkout(clean_env, tmp_path):
    clean_env.setenv(paths.SHARE_ENV, str(tmp_path))
    clean_env.setenv('AMENT_PREFIX_PATH', str(_ament_prefix(tmp_path / 'prefix')))
    assert paths.share_dir() == tmp_path  # an empty folder hides config/ and urdf/
    assert paths.resolve_asset('urdf/quadruped.urdf') == tmp_path / 'urdf' / 'quadruped.urdf'


def test_environment_variable_that_is_no_folder_is_refused(clean_env, tmp_path):
    clean_env.setenv(paths.SHARE_ENV, str(tmp_path / 'missing'))
    with pytest.raises(FileNotFoundError, match='ROBOT_LEARNING_SHARE=.*missing is not a folder'):
        paths.share_dir()


def test_installed_package_finds_its_share_through_the_ament_index(clean_env, tmp_path):
    prefix = _ament_prefix(tmp_path / 'install' / 'robot_learning')
    site = tmp_path / 'install' / 'robot_learning' / 'lib' / 'python3' / 'site-packages'
    clean_env.setenv('AMENT_PREFIX_PATH', f'{tmp_path / "other"}:{prefix}')
    found = paths.search_share(site / 'robot_learning')
    assert found == prefix / 'share' / 'robot_learning'


def test_nothing_found_names_every_place_searched(clean_env, tmp_path):
    site = tmp_path / 'site-packages'
    with pytest.raises(FileNotFoundError) as error:
        paths.search_share(site / 'robot_learning')
    message = str(error.value)
    assert f'the source checkout ({site})' in message
    assert 'AMENT_PREFIX_PATH is not set' in message
    assert 'the Python prefix' in message and 'ROBOT_LEARNING_SHARE' in message
    # A registered package whose share lacks the data is reported as such.
    prefix = _ament_prefix(tmp_path / 'prefix', with_data=False)
    clean_env.setenv('AMENT_PREFIX_PATH', str(prefix))
    with pytest.raises(FileNotFoundError, match='has no config/robots/'):
        paths.search_share(site / 'robot_learning')
    clean_env.setenv('AMENT_PREFIX_PATH', str(tmp_path / 'elsewhere'))
    with pytest.raises(FileNotFoundError, match='no robot_learning'):
        paths.search_share(site / 'robot_learning')
