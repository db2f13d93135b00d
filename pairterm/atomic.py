"""The one way pairterm replaces a file: write a temp file beside it, fsync, rename over it.

A reader (or a crash, a full disk, a Ctrl+C) sees either the old file whole or the new one
whole, never a half-written file. The temp file sits in the destination's folder because a
rename is only atomic within one filesystem, and is removed whenever the write fails. The new
file keeps the old one's permission bits (a saved script stays executable); a new file gets the
mode the umask allows, not mkstemp's 0600. A symlink is written through, to its target.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path


def write_bytes(path: Path, data: bytes) -> None:
    """Replace `path` with `data`, atomically."""
    with replacing(path) as tmp, open(tmp, "wb") as fh:
        fh.write(data)


def write_text(path: Path, text: str) -> None:
    """Replace `path` with `text` in UTF-8, atomically."""
    write_bytes(path, text.encode("utf-8"))


@contextlib.contextmanager
def replacing(
    path: Path, *, prefix: str | None = None, suffix: str = ".pairterm-tmp"
) -> Iterator[Path]:
    """Yield a fresh temp path beside `path` for the block to write (large files are streamed
    into it); when the block completes, it is flushed to disk and renamed over `path`. If the
    block raises, the temp file is removed and `path` is untouched.

    `prefix`/`suffix` name the temp file: hidden by default, and a suffix a reader will not
    mistake for the real file (or one a writer such as matplotlib needs for its format).
    """
    path = Path(path)
    path = path.resolve() if path.exists() else path.absolute()
    mode = _mode_for(path)
    fd, name = tempfile.mkstemp(
        prefix=prefix if prefix is not None else f".{path.name}.", suffix=suffix, dir=path.parent
    )
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        _fsync_file(tmp)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    fsync_dir(path.parent)


def fsync_dir(folder: Path) -> None:
    """Make a rename in `folder` survive a power cut. Best effort: the new file is already in
    place, and some filesystems refuse to fsync a directory."""
    try:
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        pass


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _mode_for(path: Path) -> int:
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask
