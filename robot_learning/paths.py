# SPDX-License-Identifier: Apache-2.0
"""Where the package's data folders (config/, urdf/, policies/, launch/) live."""

from __future__ import annotations

import os
import pathlib
import sys


def share_dir() -> pathlib.Path:
    """Return the folder holding config/ and urdf/.

    In order: ``$ROBOT_LEARNING_SHARE``; the source checkout (the parent of this package); the
    ament/colcon install prefix ``<prefix>/share/robot_learning``.
    """
    override = os.environ.get('ROBOT_LEARNING_SHARE')
    if override:
        return pathlib.Path(override)
    checkout = pathlib.Path(__file__).resolve().parent.parent
    if (checkout / 'config' / 'robots').is_dir():
        return checkout
    installed = pathlib.Path(sys.prefix) / 'share' / 'robot_learning'
    if (installed / 'config').is_dir():
        return installed
    raise FileNotFoundError(
        'cannot find the robot_learning data folders (config/, urdf/); set ROBOT_LEARNING_SHARE')


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
