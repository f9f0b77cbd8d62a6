"""Files only the server's user may read (secret.key, the database password).

They are written whole or not at all: the content goes to a temporary file in
the same directory, created 0600 with O_EXCL from the start (there is no moment
when it is readable by others), flushed to disk, then moved into place
atomically.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def write_private(path: Path, data: bytes, *, replace: bool) -> bool:
    """Writes `data` to `path` with mode 0600, atomically.

    With ``replace=False`` an existing file is kept (another server may have
    created it first) and False is returned; otherwise True.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    # mkstemp opens with O_CREAT | O_EXCL and mode 0600.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if replace:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)  # fails if the file exists: never overwrites
            except FileExistsError:
                return False
        _fsync_dir(path.parent)
        return True
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
