"""Saving without ever leaving a half-written file: temp file beside it, fsync, rename."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pairterm import atomic


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
    atomic.write_bytes(path, data)
    state = DiskState.of(path)
    assert state is not None
    return state
