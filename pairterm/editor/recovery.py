"""Unsaved edits survive a crash: a copy of each dirty buffer in the state dir.

A file's copy is keyed by its absolute path. An untitled buffer's copy is keyed by the folder
pairterm ran in, the process and the buffer's number; a later `pairterm` without a file in that
folder offers back the newest copy whose process is gone. The folder is private (0700) and each
copy 0600: a copy must never be more readable than the file it holds unsaved text of.

A copy the person chose not to restore yet (Esc, or a copy older than its file) is moved aside to
`<digest>.kept-<time>.json`, a name no session writes to, so this session's own copies, saves and
quits cannot destroy it.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from pairterm.atomic import fsync_dir
from pairterm.editor.screens import Confirm

if TYPE_CHECKING:
    from textual.app import App
    from textual.timer import Timer

    from pairterm.editor.ghost_area import GhostTextArea

RECOVERY_DELAY_S = 2.0  # a pause in typing this long writes the copy
RECOVERY_MAX_WAIT_S = 10.0  # someone typing without pause still gets a copy this often
PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
UNTITLED = "untitled:"

Key = Path | str  # a file, or an untitled buffer's key from `untitled_key`


@dataclass(frozen=True)
class Recovered:
    text: str
    saved_at: float


def _write_staged(path: Path, data: bytes) -> None:
    """The copy's private temp file (0600 from its first moment); `write` renames it into place."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)


@functools.cache
def _boot_id() -> str | None:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:  # not Linux: the process check alone
        return None


def _start_time(pid: int) -> str | None:
    """When `pid` started (clock ticks since boot), so a reused pid is told from the original."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rpartition(")")[2].split()[19]  # field 22; the name before ")" may hold spaces


@functools.cache
def _own_start_time() -> str | None:
    return _start_time(os.getpid())


def _process_gone(pid: object, boot: object = None, started: object = None) -> bool:
    """Whether the process that wrote a copy has ended. After a reboot, or once its pid belongs
    to another process, it has, whatever `kill` says (a power cut is what recovery is for)."""
    if not isinstance(pid, int) or pid <= 0:
        return True
    if boot is not None and boot != _boot_id():
        return True
    if started is not None and _start_time(pid) not in (None, started):
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # someone else's process: alive
        return False
    return False


class RecoveryStore:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        # Held while a finished copy is renamed into place and while a copy is removed, so a
        # copy's last-moment `wanted` check cannot interleave with a save clearing it.
        self.lock = threading.RLock()
        self._private = False  # the folder was made private (0700) by this store

    @staticmethod
    def _name(key: Key) -> str:
        return str(key.absolute()) if isinstance(key, Path) else key

    def file_for(self, key: Key) -> Path:
        digest = hashlib.sha256(self._name(key).encode("utf-8")).hexdigest()[:24]
        return self.directory / f"{digest}.json"

    @staticmethod
    def untitled_key(number: int) -> str:
        return f"{UNTITLED}{os.getpid()}:{number}:{Path.cwd()}"

    def _make_private_dir(self) -> None:
        if self._private and self.directory.is_dir():
            return
        missing = [d for d in (self.directory, *self.directory.parents) if not d.exists()]
        for folder in reversed(missing):  # parents first, each private from its first moment
            folder.mkdir(mode=PRIVATE_DIR, exist_ok=True)
        os.chmod(self.directory, PRIVATE_DIR)
        self._private = True

    def write(self, key: Key, text: str, wanted: Callable[[], bool] | None = None) -> bool:
        """Write the copy; with `wanted`, it replaces the old one only if `wanted()` still holds
        once the slow part is done (checked under `lock`). Returns whether it was written."""
        self._make_private_dir()
        record = {"path": self._name(key), "saved_at": time.time(), "text": text,
                  "pid": os.getpid(), "cwd": str(Path.cwd()), "boot": _boot_id(),
                  "started": _own_start_time()}
        target = self.file_for(key)
        staged = target.with_name(f".{target.stem}.{os.getpid()}-{threading.get_ident()}.pending")
        try:
            _write_staged(staged, json.dumps(record, ensure_ascii=False).encode("utf-8"))
            with self.lock:
                if wanted is not None and not wanted():
                    return False
                os.replace(staged, target)
        finally:
            staged.unlink(missing_ok=True)
        fsync_dir(self.directory)
        return True

    def _read(self, file: Path) -> dict[str, object] | None:
        try:
            record = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError, UnicodeDecodeError):
            return None
        if not isinstance(record, dict) or not isinstance(record.get("text"), str):
            return None
        return record

    def load(self, key: Key) -> Recovered | None:
        record = self._read(self.file_for(key))
        if record is None or record.get("path") != self._name(key):
            return None
        return Recovered(str(record["text"]), float(record.get("saved_at", 0.0)))  # type: ignore[arg-type]

    def clear(self, key: Key) -> None:
        with self.lock:
            self.file_for(key).unlink(missing_ok=True)

    def keep_aside(self, key: Key) -> Path:
        """Move the copy to a name no session writes to; returns where it now is."""
        source = self.file_for(key)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        with self.lock:
            kept = source.with_name(f"{source.stem}.kept-{stamp}.json")
            n = 1
            while kept.exists():  # never over an earlier kept copy
                n += 1
                kept = source.with_name(f"{source.stem}.kept-{stamp}-{n}.json")
            os.replace(source, kept)
        os.chmod(kept, PRIVATE_FILE)
        return kept

    def orphaned_untitled(self, cwd: Path) -> list[tuple[str, Recovered]]:
        """Copies of untitled buffers started in `cwd` by processes that are gone, newest first."""
        found: list[tuple[str, Recovered]] = []
        for file in self.directory.glob("*.json") if self.directory.is_dir() else []:
            if ".kept-" in file.name:  # set aside on purpose: not offered again
                continue
            record = self._read(file)
            if record is None:
                continue
            key = str(record.get("path", ""))
            if (key.startswith(UNTITLED) and record.get("cwd") == str(cwd)
                    and _process_gone(record.get("pid"), record.get("boot"),
                                      record.get("started"))):
                found.append((key, Recovered(str(record["text"]),
                                             float(record.get("saved_at", 0.0)))))  # type: ignore[arg-type]
        return sorted(found, key=lambda item: item[1].saved_at, reverse=True)


class Recoverable(Protocol):
    """What the keeper needs of a buffer."""

    area: GhostTextArea
    dirty: bool
    recovery_timer: Timer | None
    recovery_pending_since: float | None

    @property
    def recovery_key(self) -> Key: ...

    @property
    def name(self) -> str: ...


class RecoveryKeeper:
    """When each buffer's copy is written, cleared, and offered back."""

    def __init__(self, app: App[None], store: RecoveryStore) -> None:
        self.app = app
        self.store = store
        # Per copy: bumped by each write asked for, each save and each discard. A write still
        # running in a worker lands only if its ticket is current, so neither an older text nor a
        # copy of text already saved can appear after the fact.
        self._tickets: dict[str, int] = {}

    def _next_ticket(self, key: Key) -> int:
        with self.store.lock:
            name = self.store.file_for(key).name
            self._tickets[name] = self._tickets.get(name, 0) + 1
            return self._tickets[name]

    def _forget(self, key: Key) -> None:
        with self.store.lock:
            self._next_ticket(key)
            self.store.clear(key)

    def changed(self, buffer: Recoverable) -> None:
        now = time.monotonic()
        if buffer.recovery_pending_since is None:
            buffer.recovery_pending_since = now
        if now - buffer.recovery_pending_since < RECOVERY_MAX_WAIT_S:
            if buffer.recovery_timer is not None:
                buffer.recovery_timer.stop()
            buffer.recovery_timer = self.app.set_timer(RECOVERY_DELAY_S,
                                                       lambda: self.write_now(buffer))

    def _stop(self, buffer: Recoverable) -> None:
        # Both, or a save followed by steady typing would never write a copy again.
        if buffer.recovery_timer is not None:
            buffer.recovery_timer.stop()
            buffer.recovery_timer = None
        buffer.recovery_pending_since = None

    def write_now(self, buffer: Recoverable) -> None:
        self._stop(buffer)
        if buffer.dirty:
            key, text = buffer.recovery_key, buffer.area.text
            ticket = self._next_ticket(key)
            self.app.run_worker(lambda: self._write(key, text, ticket), thread=True,
                                group=f"recovery-{self.store.file_for(key).name}", exclusive=True)

    def _write(self, key: Key, text: str, ticket: int) -> None:
        name = self.store.file_for(key).name
        try:
            self.store.write(key, text, wanted=lambda: self._tickets.get(name) == ticket)
        except OSError as exc:
            self.app.call_from_thread(
                self.app.notify, f"Recovery copy not written: {exc.strerror or exc}",
                severity="warning", timeout=6,
            )

    def saved(self, buffer: Recoverable, old_key: Key | None = None) -> None:
        """The buffer is on disk: its copy (under its old key too, after Save As) is not needed."""
        self._stop(buffer)
        if old_key is not None and old_key != buffer.recovery_key:
            self._forget(old_key)
        self._forget(buffer.recovery_key)

    def discard(self, buffer: Recoverable) -> None:
        self._stop(buffer)
        self._forget(buffer.recovery_key)

    def _keep_aside(self, key: Key, what: str) -> None:
        try:
            kept = self.store.keep_aside(key)
        except OSError as exc:
            self.app.notify(f"Recovered edits to {what} could not be set aside: "
                            f"{exc.strerror or exc}", severity="warning", timeout=10)
            return
        self.app.notify(f"Recovered edits to {what} kept in {kept}", timeout=10)

    def offer(self, buffer: Recoverable, on_restore: Callable[[Recoverable, str], None]) -> None:
        """Ask whether to restore the copy left by a crash. Enter restores (the safe answer),
        unless the file changed on disk after the copy was made: then Enter keeps the file."""
        key: Key = buffer.recovery_key
        found = self.store.load(key)
        if isinstance(key, str) and found is None:
            orphans = self.store.orphaned_untitled(Path.cwd())
            if not orphans:
                return
            key, found = orphans[0]
        if found is None or found.text == buffer.area.text:
            return
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(found.saved_at))
        what = buffer.name if isinstance(key, Path) else "an untitled buffer (in this folder)"
        recovered, old_key = found, key
        stale = isinstance(key, Path) and _modified_after(key, found.saved_at)

        def answer(restore: bool | None) -> None:
            if restore:
                on_restore(buffer, recovered.text)
                if old_key != buffer.recovery_key:  # adopt it: our own copy replaces it
                    try:
                        self.store.write(buffer.recovery_key, recovered.text)
                    except OSError:
                        return  # keep the old copy rather than none
                    self.store.clear(old_key)
            elif restore is False and not stale:
                self.store.clear(old_key)
            elif old_key == buffer.recovery_key:
                # This session's own copies would overwrite it and its save or quit delete it.
                self._keep_aside(old_key, what)
            # else: an orphan's key is never written by us, so it waits there for next time

        if stale:
            question = Confirm(
                f"Unsaved edits to {what} from {when} were recovered, but {buffer.name} changed "
                "on disk after this copy was made. Restore the older copy over it?",
                yes="Restore", no="Keep file", safe="no")
        else:
            question = Confirm(f"Unsaved edits to {what} from {when} were recovered. "
                               "Restore them?", yes="Restore", no="Discard", safe="yes")
        self.app.push_screen(question, answer)


def _modified_after(path: Path, moment: float) -> bool:
    try:
        return path.stat().st_mtime > moment
    except OSError:  # gone or unreadable: nothing on disk to protect
        return False
