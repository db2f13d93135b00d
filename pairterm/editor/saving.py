"""Saving and quitting without losing work: ask before overwriting a file changed on disk or
another file, keep the buffer's encoding, and ask about every unsaved buffer on quit."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from pairterm.editor.buffers import Buffer, BufferStack
from pairterm.editor.recovery import RecoveryKeeper
from pairterm.editor.savefile import DiskState, atomic_write
from pairterm.editor.screens import AskPath, Confirm
from pairterm.errors import UserError
from pairterm.textfile import encode_for_save

if TYPE_CHECKING:
    from textual.app import App


class SaveFlow:
    def __init__(self, app: App[None], stack: BufferStack, keeper: RecoveryKeeper,
                 after_save: Callable[[Buffer], None]) -> None:
        self.app = app
        self.stack = stack
        self.keeper = keeper
        self.after_save = after_save

    def save(self, buffer: Buffer) -> None:
        if buffer.path is None:
            self.app.push_screen(AskPath(), lambda name: self.save_as(buffer, name))
            return
        now = DiskState.of(buffer.path)
        if buffer.disk_state is not None and now is not None and now != buffer.disk_state:
            self._confirm_overwrite(buffer, buffer.path, "changed on disk since it was opened")
            return
        self.write(buffer, buffer.path)

    def _confirm_overwrite(self, buffer: Buffer, path: Path, why: str) -> None:
        self.app.push_screen(
            Confirm(f"{path.name} {why}. Overwrite it?", yes="Overwrite", no="Cancel"),
            lambda yes: self.write(buffer, path) if yes else None,
        )

    def save_as(self, buffer: Buffer, name: str | None) -> None:
        if not name:
            return
        path = Path(name).expanduser()
        if path.exists():
            self._confirm_overwrite(buffer, path, "already exists")
        else:
            self.write(buffer, path)

    def write(self, buffer: Buffer, path: Path) -> None:
        """Write the buffer to `path`; it becomes the buffer's file only once the write worked."""
        try:
            data, encoding = encode_for_save(buffer.area.text, buffer.encoding)
            buffer.disk_state = atomic_write(path, data)
        except UserError as exc:
            self.app.notify(f"Not saved: {exc}", severity="error", timeout=10)
            return
        except OSError as exc:
            self.app.notify(f"Not saved: {exc.strerror or exc}", severity="error", timeout=8)
            return
        if encoding != buffer.encoding:
            self.app.notify(f"{path.name} is now saved as {encoding}: {buffer.encoding} cannot "
                            "hold what was typed; every byte it had is unchanged", timeout=6)
            buffer.encoding = encoding
        old_key = buffer.recovery_key
        buffer.path = path
        buffer.dirty = False
        self.keeper.saved(buffer, old_key)
        self.app.notify(f"Saved {path.name}", timeout=2)
        self.after_save(buffer)

    def quit(self) -> None:
        dirty = self.stack.dirty()
        if not dirty:
            self._exit()
            return
        names = ", ".join(b.name for b in dirty)
        question = (f"{names} has unsaved edits. Quit without saving?" if len(dirty) == 1 else
                    f"{len(dirty)} buffers have unsaved edits: {names}. Quit without saving them?")
        self.app.push_screen(Confirm(question, yes="Quit", no="Stay"),
                             lambda yes: self._exit(dirty) if yes else None)

    def _exit(self, discarded: list[Buffer] | None = None) -> None:
        for buffer in discarded or []:  # the person chose to drop these edits: no copy to offer
            self.keeper.discard(buffer)
        self.app.workers.cancel_all()
        self.app.exit()
