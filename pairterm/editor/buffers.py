"""The open files: each a Buffer with its own text area (so its own undo history), file,
encoding, disk state, dirty flag and recovery timing; BufferStack shows the active one."""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.containers import Container
from textual.timer import Timer

from pairterm.editor.accepted_spans import AcceptedSpans
from pairterm.editor.ghost_area import GhostTextArea
from pairterm.editor.recovery import Key, RecoveryStore
from pairterm.editor.savefile import DiskState
from pairterm.interaction_log import RECENT_S
from pairterm.syntax_guard import LANGUAGES
from pairterm.textfile import UTF8

HIGHLIGHT_LIMIT = 1_000_000  # characters; tree-sitter re-highlighting gets sluggish beyond


def language_for(path: Path | None, size: int) -> str | None:
    if path is None or size > HIGHLIGHT_LIMIT:
        return None
    return LANGUAGES.get(path.suffix.lower())


class Buffer:
    def __init__(self, area: GhostTextArea, path: Path | None, encoding: str, number: int,
                 size: int) -> None:
        self.area = area
        self.path = path
        self.encoding = encoding  # what the file is saved back in (see pairterm.textfile)
        self.number = number  # 1 for the first buffer opened, 2 for the next, ...
        self.large = size > HIGHLIGHT_LIMIT
        self.disk_state = DiskState.of(path) if path else None
        self.dirty = False
        self.spans = AcceptedSpans(RECENT_S)
        self.recovery_timer: Timer | None = None
        self.recovery_pending_since: float | None = None
        self._untitled_key = RecoveryStore.untitled_key(number)

    @property
    def name(self) -> str:
        return self.path.name if self.path else "untitled" if self.number == 1 else \
            f"untitled-{self.number}"

    @property
    def recovery_key(self) -> Key:
        return self.path if self.path is not None else self._untitled_key


class BufferStack(Container):
    """Holds every open buffer's text area; only the active one is displayed."""

    DEFAULT_CSS = """
    BufferStack { height: 1fr; }
    """

    def __init__(self) -> None:
        super().__init__(id="buffers")
        self.buffers: list[Buffer] = []
        self.active: Buffer | None = None
        self._opened = 0

    def add(self, path: Path | None, text: str, encoding: str = UTF8) -> Buffer:
        """A new buffer, mounted (hidden) but not yet active."""
        self._opened += 1
        # The first keeps the id "editor" that one-file tests and styles know it by.
        ident = "editor" if self._opened == 1 else f"editor-{self._opened}"
        area = GhostTextArea.code_editor(text, language=language_for(path, len(text)),
                                         tab_behavior="indent", soft_wrap=False, id=ident)
        area.display = False
        buffer = Buffer(area, path, encoding, self._opened, len(text))
        self.buffers.append(buffer)
        if self.is_mounted:
            self.mount(area)
        return buffer

    def compose(self) -> ComposeResult:
        for buffer in self.buffers:  # those added before the stack was mounted
            yield buffer.area

    def activate(self, buffer: Buffer) -> None:
        if self.active is not None and self.active is not buffer:
            self.active.area.clear_ghost()
            self.active.area.display = False
        self.active = buffer
        buffer.area.display = True
        buffer.area.focus()

    def step(self, delta: int) -> Buffer | None:
        """The buffer `delta` places after the active one, wrapping around."""
        if self.active is None or len(self.buffers) < 2:
            return None
        index = self.buffers.index(self.active)
        return self.buffers[(index + delta) % len(self.buffers)]

    def find(self, path: Path) -> Buffer | None:
        target = path.resolve()
        return next((b for b in self.buffers if b.path and b.path.resolve() == target), None)

    def of(self, area: object) -> Buffer | None:
        return next((b for b in self.buffers if b.area is area), None)

    def dirty(self) -> list[Buffer]:
        return [b for b in self.buffers if b.dirty]
