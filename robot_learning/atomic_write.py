# SPDX-License-Identifier: Apache-2.0
"""Atomic file and folder writes: a reader (or a rerun after a kill) never sees half a file.

Everything the package writes for a user (reports, models, trajectories, labels, plots, bundles)
goes through here. A file is written to a temporary name in the same folder (so the final rename
stays on one file system), flushed to disk with fsync, then renamed over the target with
:func:`os.replace`, which is atomic on POSIX and Windows. On an exception the temporary file is
removed and the target is left as it was. The result gets ordinary permissions (0o666 minus the
umask), not the 0o600 of :mod:`tempfile`.

- :func:`atomic_path`: a temporary path for libraries that write by file name
  (``np.savez``, ``torch.save``, ``figure.savefig``, ``torch.jit.save``);
- :func:`atomic_open`: a temporary file object (``json.dump``, ``np.savez`` into a stream);
- :func:`atomic_write_text` / :func:`atomic_write_bytes`: a whole file at once;
- :func:`atomic_folder`: a temporary folder that replaces a whole output folder.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import shutil
import tempfile
from typing import IO, Iterator


def _umask() -> int:
    """Return the process umask (read without changing it where /proc allows)."""
    try:
        with open('/proc/self/status', encoding='ascii') as status:
            for line in status:
                if line.startswith('Umask:'):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fsync_folder(folder: pathlib.Path) -> None:
    """Flush a folder's entries (the rename) to disk; a no-op where folders cannot be opened."""
    try:
        handle = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[pathlib.Path]:
    """Yield a temporary path beside ``path`` that replaces ``path`` when the block succeeds.

    The temporary name keeps ``path``'s suffix (``.hello.npz.k3j9.tmp.npz``), so writers that
    pick a format from it (matplotlib) or append one (``np.savez``) write the same file. The
    parent folder is created. The temporary file exists (empty) when the block starts.

    Raises:
        Whatever the block raises; the temporary file is removed and ``path`` is untouched.
    """
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f'.{path.name}.',
                                    suffix=f'.tmp{path.suffix}')
    os.close(handle)
    temporary = pathlib.Path(name)
    try:
        yield temporary
        with open(temporary, 'rb') as written:
            os.fsync(written.fileno())
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = 'w',
                encoding: str | None = 'utf-8') -> Iterator[IO]:
    """Yield a file object (``mode`` 'w' text or 'wb' binary) whose file replaces ``path``.

    The file is flushed, fsynced and closed before the rename (see :func:`atomic_path`).
    """
    if mode not in ('w', 'wb'):
        raise ValueError(f"atomic_open mode must be 'w' or 'wb', not {mode!r}")
    with atomic_path(path) as temporary:
        if mode == 'wb':
            stream = open(temporary, 'wb')
        else:
            stream = open(temporary, 'w', encoding=encoding)
        with stream:
            yield stream
            stream.flush()


def atomic_write_text(path: str | os.PathLike, text: str,
                      encoding: str = 'utf-8') -> pathlib.Path:
    """Write ``text`` to ``path`` atomically; return the path."""
    with atomic_open(path, 'w', encoding=encoding) as stream:
        stream.write(text)
    return pathlib.Path(path)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> pathlib.Path:
    """Write ``data`` to ``path`` atomically; return the path."""
    with atomic_open(path, 'wb') as stream:
        stream.write(data)
    return pathlib.Path(path)


@contextlib.contextmanager
def atomic_folder(output: str | os.PathLike) -> Iterator[pathlib.Path]:
    """Yield an empty folder beside ``output`` that replaces ``output`` when the block succeeds.

    An exception (or a kill) inside the block leaves ``output`` as it was: never half written.
    An existing ``output`` is removed just before the rename, so a kill between the two steps
    can lose the old folder, never leave a mixed one.
    """
    output = pathlib.Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    staging = pathlib.Path(tempfile.mkdtemp(dir=output.parent, prefix=f'.{output.name}.'))
    try:
        yield staging
        staging.chmod(0o777 & ~_umask())
        if output.exists():
            shutil.rmtree(output)
        staging.rename(output)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _fsync_folder(output.parent)
