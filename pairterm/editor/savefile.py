"""Saving without ever leaving a half-written file: temp file beside it, fsync, rename."""

from __future__ import annotations

import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class DiskState:
    """What the file on disk looked like when we last read or wrote it."""

    mtime_ns: int
    size: int

    @classmethod
    def of(cls, path: Path) -> DiskState | None:
        try:
            st = path.stat()
        except FileNotFoundError:
            return None
        return cls(st.st_mtime_ns, st.st_size)


def atomic_write(path: Path, data: bytes) -> DiskState:
    """Replace `path` with `data` atomically, keeping its permission bits; returns the new state."""
    path = path.resolve() if path.exists() else path.absolute()
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".pairterm-tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # the rename itself must survive a power cut
    finally:
        os.close(dir_fd)
    state = DiskState.of(path)
    assert state is not None
    return state
