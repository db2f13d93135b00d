"""pairterm.atomic: the one atomic file write, checked against real failures."""

from __future__ import annotations

import errno
import os
import shutil
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from pairterm import atomic


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_write_replaces_the_file_and_keeps_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "script.py"
    path.write_text("old\n")
    path.chmod(0o751)
    atomic.write_text(path, "new é\n")
    assert path.read_text(encoding="utf-8") == "new é\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o751
    assert _names(tmp_path) == ["script.py"]


def test_a_new_file_gets_the_umask_mode_not_0600(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        atomic.write_bytes(tmp_path / "new.bin", b"\x00\x01")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "new.bin").stat().st_mode) == 0o640


def test_a_symlink_is_written_through_to_its_target(tmp_path: Path) -> None:
    target = tmp_path / "real.txt"
    target.write_text("old")
    link = tmp_path / "link.txt"
    link.symlink_to(target)
    atomic.write_text(link, "new")
    assert link.is_symlink() and target.read_text() == "new"


def test_the_destination_changes_only_when_the_block_completes(tmp_path: Path) -> None:
    path = tmp_path / "model.gguf"
    path.write_bytes(b"old")
    with atomic.replacing(path, suffix=".partial") as tmp:
        assert tmp.parent == tmp_path and tmp.name.endswith(".partial")
        with open(tmp, "wb") as fh:
            for _ in range(4):
                fh.write(b"new-")
        assert path.read_bytes() == b"old"  # a reader still sees the old file whole
    assert path.read_bytes() == b"new-" * 4
    assert _names(tmp_path) == ["model.gguf"]


def test_a_failure_mid_write_leaves_the_old_file_and_no_temp_file(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("precious")
    with pytest.raises(KeyboardInterrupt), atomic.replacing(path) as tmp:
        tmp.write_text("half of the new")
        raise KeyboardInterrupt  # Ctrl+C in the middle of a large write
    assert path.read_text() == "precious"
    assert _names(tmp_path) == ["notes.txt"]


def test_a_write_error_leaves_the_old_file_and_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # /dev/full accepts the open and fails the write with ENOSPC, as a full disk does.
    real_open = open
    monkeypatch.setattr(atomic, "open", lambda _p, mode: real_open("/dev/full", mode), raising=False)
    path = tmp_path / "run.json"
    path.write_text("{}")
    with pytest.raises(OSError) as info:
        atomic.write_bytes(path, b"x" * 100_000)
    assert info.value.errno == errno.ENOSPC
    assert path.read_text() == "{}"
    assert _names(tmp_path) == ["run.json"]


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 64 KiB filesystem (needs root and tmpfs)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)],
                          capture_output=True, check=False)  # fmt: skip
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def test_a_full_disk_leaves_the_old_file_and_no_temp_file(tiny_disk: Path) -> None:
    path = tiny_disk / "big.bin"
    atomic.write_bytes(path, b"a" * 32 * 1024)
    with pytest.raises(OSError) as info:
        atomic.write_bytes(path, b"b" * 48 * 1024)  # old + new do not fit in 64 KiB
    assert info.value.errno == errno.ENOSPC
    assert path.read_bytes() == b"a" * 32 * 1024
    assert _names(tiny_disk) == ["big.bin"]
