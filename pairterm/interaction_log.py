"""The local interaction log: one JSON object per line in the platform state dir.

Schema version 1. Every line has:
  v        1 (the schema version; readers refuse or adapt to others)
  ts       unix time, float seconds
  event    proposed | accepted | dismissed | typed | deleted
  source   "editor" | "repl" | "eval"
  session  random id shared by the lines of one run of the program
  model    model file name;  adapter: adapter file name or null
Per event:
  proposed   id (int, unique in the session), chars, tokens, bits, latency_ms, stop_reason
  accepted   id, chars (characters taken), full (bool: the whole suggestion or only part)
  dismissed  id
  typed      chars (characters the person typed themselves)
  deleted    chars (all characters deleted), accepted_chars (of those, how many were text
             accepted from a suggestion less than RECENT_S seconds earlier), id (that suggestion
             or null)
These are the events the Empower paper's user study logged, so acceptance rate and characters
deleted after acceptance can be computed later (`pairterm stats`).

Files: events go to `interactions.jsonl`; when a new month starts (or the file passes
MAX_FILE_BYTES) it is renamed to `interactions-YYYY-MM.jsonl`, the month of its first event
(`-2`, `-3`... when one month fills several). A log from before rotation existed is the current
file and is archived the same way, so nothing already logged is lost.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import threading
import time
import uuid
import weakref
from pathlib import Path
from typing import Any

from pairterm.paths import ensure_dir

SCHEMA_VERSION = 1
EVENTS = ("proposed", "extended", "accepted", "dismissed", "typed", "deleted")
RECENT_S = 30.0
MAX_FILE_BYTES = 64 * 1024**2
CLOSE_TIMEOUT_S = 5.0
IDLE_EXIT_S = 30.0  # an idle writer thread ends; the next event starts another


def month_of(ts: float) -> str:
    return time.strftime("%Y-%m", time.localtime(ts))


def archive_path(current: Path, month: str, n: int = 1) -> Path:
    tail = "" if n == 1 else f"-{n}"
    return current.with_name(f"{current.stem}-{month}{tail}{current.suffix}")


def log_files(current: Path) -> list[Path]:
    """Every file of the log whose current file is `current`: archives oldest first, then it."""
    pattern = re.compile(
        re.escape(current.stem) + r"-(\d{4})-(\d{2})(?:-(\d+))?" + re.escape(current.suffix)
    )
    found: list[tuple[tuple[str, str, int], Path]] = []
    try:
        entries = list(current.parent.iterdir())
    except OSError:
        entries = []
    for entry in entries:
        m = pattern.fullmatch(entry.name)
        if m and entry.is_file():
            found.append(((m[1], m[2], int(m[3] or 1)), entry))
    out = [p for _, p in sorted(found)]
    if current.is_file():
        out.append(current)
    return out


def _first_month(path: Path) -> str | None:
    """The month of a log file's first event, from its first line only."""
    try:
        with path.open("rb") as fh:
            record = json.loads(fh.readline(65536).decode("utf-8"))
        return month_of(float(record["ts"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


_live: weakref.WeakSet[InteractionLog] = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    # A normal exit never loses what the writer thread still holds.
    for log in list(_live):
        log.close()


class InteractionLog:
    """Appends events; a disabled log (path None) accepts calls and writes nothing.

    `write` only queues the event: a background thread appends everything queued in one write()
    of whole lines, so the editor's UI thread never touches the disk and concurrent writers
    never interleave. `flush` waits for the queue; `close` (run at exit too) drains it.
    """

    def __init__(
        self,
        path: Path | None,
        source: str,
        model: str | None = None,
        adapter: str | None = None,
    ) -> None:
        self.path = path
        self.source = source
        self.model = model
        self.adapter = adapter
        self.session = uuid.uuid4().hex[:12]
        self._lock = threading.Lock()
        self._next_id = 0
        self.failure: str | None = None
        self._cond = threading.Condition()
        self._pending: list[tuple[float, bytes]] = []  # (time, JSON line)
        self._queued = 0  # events handed to write()
        self._handled = 0  # of those, written (or dropped once the log switched itself off)
        self._closed = False
        self._thread: threading.Thread | None = None
        self._fd: int | None = None
        self._fd_path: Path | None = None
        self._month: str | None = None  # month of the current file's first event
        self._size = 0
        if path is not None:
            ensure_dir(path.parent, "state directory")

    @property
    def enabled(self) -> bool:
        return self.path is not None

    def new_id(self) -> int:
        with self._lock:
            self._next_id += 1
            return self._next_id

    def write(self, event: str, **fields: Any) -> None:
        if event not in EVENTS:
            raise ValueError(f"unknown event {event!r}")
        if self.path is None:
            return
        record = {
            "v": SCHEMA_VERSION,
            "ts": time.time(),
            "event": event,
            "source": self.source,
            "session": self.session,
            "model": self.model,
            "adapter": self.adapter,
            **fields,
        }
        # Serialised here, so a field that is not JSON fails in the caller, as it always did.
        line = (record["ts"], (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8"))
        with self._cond:
            if self._closed and self._thread is None:  # at shutdown: nothing to batch with
                self._write_or_switch_off([line])
                self._close_fd()
                return
            self._pending.append(line)
            self._queued += 1
            if self._thread is None:
                _live.add(self)
                self._thread = threading.Thread(
                    target=self._run, name="pairterm-interaction-log", daemon=True
                )
                self._thread.start()
            self._cond.notify_all()

    def flush(self, timeout: float = CLOSE_TIMEOUT_S) -> None:
        """Wait until every event written so far is on disk (or dropped: see `failure`)."""
        with self._cond:
            target = self._queued
            self._cond.wait_for(lambda: self._handled >= target or self._thread is None, timeout)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            thread = self._thread
            self._cond.notify_all()
        if thread is not None and thread is not threading.current_thread():
            thread.join(CLOSE_TIMEOUT_S)

    # -- the writer thread ------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: bool(self._pending) or self._closed, IDLE_EXIT_S)
                batch, self._pending = self._pending, []
                if not batch:  # closed, or idle long enough to give the thread and file back
                    self._close_fd()
                    self._thread = None
                    self._cond.notify_all()
                    return
            # Outside the lock: write() from the UI thread never waits for the disk.
            self._write_or_switch_off(batch)
            with self._cond:
                self._handled += len(batch)
                self._cond.notify_all()

    def _write_or_switch_off(self, batch: list[tuple[float, bytes]]) -> None:
        try:
            self._write_batch(batch)
        except Exception as exc:  # noqa: BLE001 - a dead writer would stall every flush
            # The log is a convenience: a full disk, a read-only state dir or a bug here must
            # never take the editor down. Stop logging and remember why.
            self.failure = f"interaction log off: {getattr(exc, 'strerror', None) or exc}"
            self.path = None
            self._close_fd()

    def _write_batch(self, batch: list[tuple[float, bytes]]) -> None:
        path = self.path
        if path is None:
            return
        ts, data = batch[0][0], b"".join(line for _, line in batch)
        self._prepare(path, ts, len(data))
        assert self._fd is not None
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view) :]
        self._size += len(data)
        if self._month is None:
            self._month = month_of(ts)

    def _prepare(self, path: Path, ts: float, nbytes: int) -> None:
        """An open current file, rotated first when `ts` starts a new month or it is full."""
        if self._fd is not None and (self._fd_path != path or not self._still_current(path)):
            self._close_fd()  # the path changed, or another process rotated the file
        if self._fd is None:
            self._open(path)
        new_month = self._month is not None and self._month != month_of(ts)
        if self._size and (new_month or self._size + nbytes > MAX_FILE_BYTES):
            self._rotate(path)

    def _still_current(self, path: Path) -> bool:
        assert self._fd is not None
        try:
            on_disk, ours = os.stat(path), os.fstat(self._fd)
        except FileNotFoundError:
            return False
        return (on_disk.st_dev, on_disk.st_ino) == (ours.st_dev, ours.st_ino)

    def _open(self, path: Path) -> None:
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._fd_path = path
        self._size = os.fstat(self._fd).st_size
        self._month = _first_month(path) if self._size else None

    def _rotate(self, path: Path) -> None:
        # Two pairterm processes may want to rotate at once: one renames, the other sees
        # (under the directory lock) that the file it holds is no longer the current one.
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            _lock_dir(dir_fd)
            if self._still_current(path):
                month = self._month or month_of(time.time())
                n = 1
                while archive_path(path, month, n).exists():
                    n += 1
                os.rename(path, archive_path(path, month, n))
            self._close_fd()
            self._open(path)
        finally:
            os.close(dir_fd)  # releases the lock

    def _close_fd(self) -> None:
        if self._fd is not None:
            try:
                os.close(self._fd)
            except OSError:
                pass
        self._fd = None


def _lock_dir(fd: int) -> None:
    try:
        import fcntl
    except ImportError:  # not POSIX: one process at a time is all we can hope for
        return
    fcntl.flock(fd, fcntl.LOCK_EX)
