"""The interaction log: written off the caller's thread in batches, nothing lost at exit,
rotated by month and size, an old single-file log kept."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pairterm import cli, interaction_log
from pairterm.interaction_log import InteractionLog, log_files


def events(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_writes_leave_the_callers_thread_and_go_to_disk_in_batches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "state" / "log.jsonl"
    log = InteractionLog(path, "editor")
    disk_threads: list[str] = []
    disk_writes: list[int] = []
    release = threading.Event()
    real_open, real_write = os.open, os.write

    def spy_open(*args: object, **kw: object) -> int:
        disk_threads.append(threading.current_thread().name)
        return real_open(*args, **kw)  # type: ignore[arg-type]

    def slow_write(fd: int, data: bytes) -> int:
        disk_threads.append(threading.current_thread().name)
        if not disk_writes:  # a stalled disk: events keep coming while the first write waits
            release.wait(2)
        disk_writes.append(bytes(data).count(b"\n"))
        return real_write(fd, data)

    monkeypatch.setattr(interaction_log.os, "open", spy_open)
    monkeypatch.setattr(interaction_log.os, "write", slow_write)
    started = time.monotonic()
    for i in range(500):  # a burst of keystrokes
        log.write("typed", chars=i)
    assert time.monotonic() - started < 1.5  # never waited for the stalled disk
    release.set()
    log.flush()
    main = threading.current_thread().name
    assert disk_threads and main not in disk_threads  # the UI thread never touched the disk
    assert sum(disk_writes) == 500 and len(disk_writes) <= 3  # not one write per keystroke
    assert [e["chars"] for e in events(path)] == list(range(500))


SCRIPT = """
import os, signal, sys, time
from pathlib import Path
from pairterm.interaction_log import InteractionLog
log = InteractionLog(Path(sys.argv[1]), "editor")
for i in range(2000):
    log.write("typed", chars=i)
if sys.argv[2] == "crash":
    time.sleep(1.5)
    log.write("typed", chars=-1)  # the last instant before the crash may be lost
    os.kill(os.getpid(), signal.SIGKILL)
"""


def test_nothing_is_lost_at_a_normal_exit_and_a_crash_loses_at_most_the_last_second(
    tmp_path: Path,
) -> None:
    for how in ("exit", "crash"):
        path = tmp_path / how / "log.jsonl"
        proc = subprocess.run([sys.executable, "-c", SCRIPT, str(path), how], timeout=60)
        assert proc.returncode == (0 if how == "exit" else -9)
        chars = [e["chars"] for e in events(path)]
        assert chars[:2000] == list(range(2000)) and len(chars) <= 2001


def line(ts: float, **kw: object) -> bytes:
    record = {"v": 1, "ts": ts, "event": "typed", "source": "editor", "session": "s",
              "model": None, "adapter": None, "chars": 1, **kw}  # fmt: skip
    return json.dumps(record).encode() + b"\n"


def test_an_old_single_file_log_is_archived_whole_when_a_new_month_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    path = tmp_path / "interactions.jsonl"
    start = datetime(2025, 3, 10, tzinfo=UTC).timestamp()
    old = b"".join(line(start + day * 86400) for day in range(200))  # March to September
    path.write_bytes(old)
    log = InteractionLog(path, "editor")
    log.write("typed", chars=7)
    log.flush()
    archive = tmp_path / "interactions-2025-03.jsonl"
    assert archive.read_bytes() == old  # the old log, byte for byte
    assert [e["chars"] for e in events(path)] == [7]  # this month's file starts afresh
    assert log_files(path) == [archive, path]
    assert cli.main(["stats", "--json", "--log", str(path)]) == 0
    assert json.loads(capsys.readouterr().out)["events"] == 201  # nothing the user had is lost
    monkeypatch.undo()
    time.tzset()


def test_a_full_file_is_rotated_within_the_month(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(interaction_log, "MAX_FILE_BYTES", 4000)
    path = tmp_path / "interactions.jsonl"
    log = InteractionLog(path, "editor")
    for i in range(100):  # about 20 kB
        log.write("typed", chars=i)
        log.flush()
    files = log_files(path)
    month = interaction_log.month_of(time.time())
    assert files[0].name == f"interactions-{month}.jsonl"
    assert files[1].name == f"interactions-{month}-2.jsonl" and files[-1] == path
    assert all(f.stat().st_size <= 4000 for f in files)
    assert [e["chars"] for f in files for e in events(f)] == list(range(100))


def test_a_log_that_cannot_be_written_switches_itself_off(tmp_path: Path) -> None:
    log = InteractionLog(tmp_path / "log.jsonl", "editor")
    (tmp_path / "file").write_text("")
    log.path = tmp_path / "file" / "log.jsonl"  # a file where a directory should be
    log.write("typed", chars=1)
    log.flush()
    assert log.path is None and log.failure and "interaction log off" in log.failure
    log.write("typed", chars=2)  # still harmless


def test_an_unexpected_error_in_the_writer_switches_the_log_off_instead_of_stalling(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A writer thread that died silently would leave events piling up and make every flush (and
    # so every editor quit) wait out its timeout.
    log = InteractionLog(tmp_path / "log.jsonl", "editor")

    def broken(*_: object) -> None:
        raise ValueError("unexpected")

    monkeypatch.setattr(log, "_prepare", broken)
    log.write("typed", chars=1)
    started = time.monotonic()
    log.flush()
    assert time.monotonic() - started < 1.0
    assert log.path is None and log.failure == "interaction log off: unexpected"
    log.write("typed", chars=2)
    started = time.monotonic()
    log.flush()
    assert time.monotonic() - started < 1.0
