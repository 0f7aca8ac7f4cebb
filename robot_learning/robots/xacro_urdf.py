# SPDX-License-Identifier: Apache-2.0
"""Expand a ``.xacro`` robot description into a plain URDF (through ROS's ``xacro`` package)."""

from __future__ import annotations

import hashlib
import pathlib
import tempfile

from robot_learning.atomic_write import atomic_open
from robot_learning.config import ConfigError

CACHE_FOLDER = 'robot_learning-xacro'
"""Folder under the system's temporary folder that holds the expanded URDFs."""


def is_xacro(path: pathlib.Path) -> bool:
    """Return True for ``robot.xacro`` and ``robot.urdf.xacro``."""
    return path.suffix == '.xacro'


def expand_xacro(path: pathlib.Path) -> pathlib.Path:
    """Expand the xacro file ``path`` and return the path of the URDF it gives.

    Relative mesh file names are made absolute (relative to ``path``'s folder), so the URDF
    loads the same meshes from its cache folder. The URDF is named after a hash of its text:
    loading the same description again reuses it, and an edited xacro file gives a new one.

    Raises:
        ConfigError: the file is missing, or xacro cannot expand it (its message is given;
            ``$(find pkg)`` needs that ROS package in the sourced workspace).
    """
    import xacro  # a robot_learning dependency; imported here as only .xacro robots need it

    path = pathlib.Path(path).resolve()
    if not path.is_file():
        raise ConfigError(f'xacro file not found: {path}')
    try:
        document = xacro.process_file(str(path))
    except Exception as error:  # XacroException, and plain ones from $(find) and the XML parser
        raise ConfigError(f'xacro cannot expand {path}: {type(error).__name__}: {error}'
                          ) from error
    for mesh in document.getElementsByTagName('mesh'):
        filename = mesh.getAttribute('filename')
        if filename and '://' not in filename and not pathlib.Path(filename).is_absolute():
            mesh.setAttribute('filename', str(path.parent / filename))
    text = document.toprettyxml(indent='  ')
    digest = hashlib.sha256(text.encode('utf-8')).hexdigest()[:16]
    stem = path.name.removesuffix('.xacro').removesuffix('.urdf')
    urdf = pathlib.Path(tempfile.gettempdir()) / CACHE_FOLDER / f'{stem}-{digest}.urdf'
    if not urdf.is_file():
        with atomic_open(urdf) as stream:
            stream.write(text)
    return urdf
