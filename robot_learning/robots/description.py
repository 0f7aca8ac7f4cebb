# SPDX-License-Identifier: Apache-2.0
"""The robot description: a robot's URDF as one text, as ROS publishes it on /robot_description.

The text is the URDF the robot spec was loaded from (``RobotSpec.urdf_path``: a
``pybullet_data:`` file resolved to its place on disk, a ``.xacro`` file already expanded).
Mesh file names relative to the URDF's folder (as pybullet_data writes them) are made absolute
``file://`` URIs, so a viewer that reads the text from a topic or a bag (RViz, Foxglove) finds
the meshes on this machine; ``package://`` and other URIs and absolute paths are kept as they
are. Nothing else in the text changes.
"""

from __future__ import annotations

import pathlib
import re

from robot_learning.config import ConfigError

_MESH_FILENAME = re.compile(r'(<mesh\b[^>]*?\bfilename\s*=\s*)(["\'])(.*?)\2', re.DOTALL)
"""A ``<mesh ... filename="...">`` attribute: (prefix, quote, file name)."""


def robot_description(urdf_path: pathlib.Path | str) -> str:
    """Return the URDF text of ``urdf_path`` with relative mesh file names made absolute URIs.

    Args:
        urdf_path: the URDF file (``RobotSpec.urdf_path``).

    Returns:
        The file's text; each relative ``<mesh filename>`` replaced by
        ``file://<the URDF's folder>/<filename>``.

    Raises:
        ConfigError: the file does not exist or is not UTF-8 text with a ``<robot>`` element.
    """
    path = pathlib.Path(urdf_path).resolve()
    try:
        text = path.read_text(encoding='utf-8')
    except FileNotFoundError:
        raise ConfigError(f'robot description: URDF file not found: {path}') from None
    except UnicodeDecodeError as error:
        raise ConfigError(f'robot description: {path} is not UTF-8 text ({error})') from None
    if '<robot' not in text:
        raise ConfigError(f'robot description: {path} has no <robot> element, not a URDF')

    def absolute(match: re.Match) -> str:
        prefix, quote, filename = match.groups()
        if '://' in filename or pathlib.Path(filename).is_absolute():
            return match.group(0)
        return f'{prefix}{quote}{(path.parent / filename).resolve().as_uri()}{quote}'

    return _MESH_FILENAME.sub(absolute, text)
