# SPDX-License-Identifier: Apache-2.0
"""The one checked reader of user ``.npz`` files (trajectories, demonstrations, motions, labels).

Every array is read into memory inside the check, so a truncated or corrupt file fails here, with
the file's name, rather than later on first access to one array. Pickled (object) arrays are
refused: a data file must not be able to run code.
"""

from __future__ import annotations

import os
import pathlib
from typing import Iterable

import numpy as np


class NpzError(ValueError):
    """An ``.npz`` file is unreadable (corrupt, truncated, not an archive) or lacks an array."""


def load_npz(path: str | os.PathLike, required: Iterable[str] = (), what: str = '.npz file',
             error: type[Exception] = NpzError, hint: str = '') -> dict[str, np.ndarray]:
    """Read every array of an ``.npz`` file and check that the ``required`` ones are there.

    Args:
        path: The file.
        required: Names of arrays the file must hold.
        what: What the file is, for messages (e.g. 'trajectory file').
        error: The exception class raised for an unreadable file or a missing array (a
            caller's own ValueError subclass, so its callers catch one type).
        hint: Appended to the missing-array message (e.g. which command writes such files).

    Returns:
        name -> array, for every array in the file.

    Raises:
        FileNotFoundError: No such file (names ``what`` and the path).
        NpzError: (or ``error``) the file is not a readable ``.npz`` archive (corrupt,
            truncated, empty, a pickle, an object array), or lacks required arrays (names the
            file, the missing arrays and the ones present).
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f'{what} not found: {path}')
    try:
        data = np.load(path, allow_pickle=False)
        if not isinstance(data, np.lib.npyio.NpzFile):
            raise ValueError('a single .npy array, not an .npz archive')
        with data:
            arrays = {name: data[name] for name in data.files}
    except Exception as cause:  # zipfile, zlib, EOF and format errors all mean "unreadable"
        raise error(f'{path}: not a readable {what} (corrupt or truncated .npz?): '
                    f'{type(cause).__name__}: {cause}') from cause
    require_arrays(arrays, required, path, what, error, hint)
    return arrays


def require_arrays(arrays: dict[str, np.ndarray], required: Iterable[str],
                   path: str | os.PathLike, what: str = '.npz file',
                   error: type[Exception] = NpzError, hint: str = '') -> None:
    """Check that ``arrays`` (read by :func:`load_npz`) hold every ``required`` name.

    For names known only after reading the file (e.g. one array per joint listed in metadata).

    Raises:
        NpzError: (or ``error``) naming the file, the missing arrays and the ones present.
    """
    missing = [name for name in required if name not in arrays]
    if missing:
        extra = f'; {hint}' if hint else ''
        raise error(f'{path}: not a {what}; it lacks {missing} (it holds {sorted(arrays)})'
                    f'{extra}')
