# SPDX-License-Identifier: Apache-2.0
"""Where the package's data folders (config/, urdf/, policies/, motions/, launch/) live.

``share_dir()`` looks in this order and takes the first hit:

1. ``$ROBOT_LEARNING_SHARE``, when set and not empty: an explicit choice wins over discovery
   (a test can point it at an empty folder to hide the repository's data). It must be a folder;
   it is used as is, without checking what it holds.
2. The source checkout that holds the imported ``robot_learning`` package (its parent folder,
   when that has ``config/robots/``): a pip editable install, a ``--symlink-install`` colcon
   build or a plain clone. This is keyed on the running code's own location, so it can never
   shadow an installed package; and a sourced workspace cannot shadow the checkout being edited.
3. The ament index (``ament_index_python.get_package_share_directory('robot_learning')``): a
   colcon/ament install, with the workspace's ``install/setup.bash`` sourced.
4. ``<sys.prefix>/share/robot_learning``: a pip install of a wheel (setup.py's data_files).

The issue that asked for this named the ament index first; the checkout goes first here because
it only ever matches when the running code *is* that checkout, whose data then matches the code.
"""

from __future__ import annotations

import os
import pathlib
import sys

PACKAGE = 'robot_learning'
SHARE_ENV = 'ROBOT_LEARNING_SHARE'
"""Environment variable that overrides the discovery of the share folder."""


def _has_data(folder: pathlib.Path) -> bool:
    return (folder / 'config' / 'robots').is_dir()


def _ament_share() -> tuple[pathlib.Path | None, str]:
    """Return the ament index's share folder of this package (or None) and where it looked."""
    try:
        from ament_index_python.packages import (get_package_share_directory,
                                                 PackageNotFoundError)
    except ImportError:
        return None, 'the ament index (ament_index_python is not installed)'
    prefixes = os.environ.get('AMENT_PREFIX_PATH', '')
    if not prefixes:
        return None, 'the ament index (AMENT_PREFIX_PATH is not set: source install/setup.bash)'
    try:
        share = pathlib.Path(get_package_share_directory(PACKAGE, print_warning=False))
    except (PackageNotFoundError, OSError, ValueError):
        return None, f'the ament index (AMENT_PREFIX_PATH={prefixes}: no {PACKAGE})'
    return share, f'the ament index ({share})'


def search_share(package_folder: pathlib.Path) -> pathlib.Path:
    """Return the share folder for the ``robot_learning`` package found at ``package_folder``.

    Args:
        package_folder: folder of the imported ``robot_learning`` Python package.

    Returns:
        The first folder of the module docstring's search order.

    Raises:
        FileNotFoundError: ``$ROBOT_LEARNING_SHARE`` is not a folder, or no place has the data;
            the message lists every place searched.
    """
    override = os.environ.get(SHARE_ENV)
    if override:
        path = pathlib.Path(override).expanduser()
        if not path.is_dir():
            raise FileNotFoundError(f'{SHARE_ENV}={override} is not a folder')
        return path
    checkout = package_folder.resolve().parent
    if _has_data(checkout):
        return checkout
    searched = [f'the source checkout ({checkout})']
    installed, where = _ament_share()
    if installed is not None and _has_data(installed):
        return installed
    searched.append(where + (' has no config/robots/' if installed is not None else ''))
    prefix = pathlib.Path(sys.prefix) / 'share' / PACKAGE
    if _has_data(prefix):
        return prefix
    searched.append(f'the Python prefix ({prefix})')
    raise FileNotFoundError(
        f'cannot find the {PACKAGE} data folders (config/, urdf/); searched '
        f"{'; '.join(searched)}. Source the colcon workspace's install/setup.bash, or set "
        f'{SHARE_ENV} to the folder that holds config/ and urdf/')


def share_dir() -> pathlib.Path:
    """Return the folder holding config/, urdf/, policies/ and motions/ (see the module doc)."""
    return search_share(pathlib.Path(__file__).parent)


def resolve_asset(path: str) -> pathlib.Path:
    """Resolve an asset path from a config.

    ``pybullet_data:<rel>`` points inside the pybullet_data package; a relative path is taken from
    the share folder; an absolute path is used as is.
    """
    if path.startswith('pybullet_data:'):
        import pybullet_data
        return pathlib.Path(pybullet_data.getDataPath()) / path.split(':', 1)[1]
    candidate = pathlib.Path(os.path.expanduser(path))
    if candidate.is_absolute():
        return candidate
    return share_dir() / candidate
