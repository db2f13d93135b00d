"""The editor application: it wires the parts together and routes the text areas' events.

Each part has one job: BufferStack and Buffer (the open files), StatusBar, EngineHost (the
model's life), SuggestionController (when to ask the model and what it sees), ContextFeed (the
rest of the project it reads), StudyLog (the interaction log's events), RecoveryKeeper (copies
that survive a crash), SaveFlow (saving and quitting) and the Ctrl+O file finder.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.command import CommandPalette
from textual.screen import Screen
from textual.widgets import TextArea

from pairterm.config import EngineConfig
from pairterm.editor.buffers import Buffer, BufferStack
from pairterm.editor.context_feed import ContextFeed
from pairterm.editor.engine_host import EngineFactory, EngineHost, load_engine
from pairterm.editor.file_finder import BufferSwitcher, FileFinder, folder_of
from pairterm.editor.ghost_area import GhostTextArea
from pairterm.editor.recovery import Recoverable, RecoveryKeeper, RecoveryStore
from pairterm.editor.saving import SaveFlow
from pairterm.editor.status_bar import (
    StatusBar,
    StatusFields,
    describe_eta,
    describe_latency,
    describe_model,
    describe_state,
)
from pairterm.editor.study_log import StudyLog
from pairterm.editor.suggestions import SuggestionController
from pairterm.engine import Engine
from pairterm.errors import UserError
from pairterm.interaction_log import InteractionLog
from pairterm.textfile import UTF8, read_document


class PairtermApp(App[None]):
    TITLE = "pairterm"
    # App CSS outranks TextArea's own focus border, which DEFAULT_CSS would not.
    CSS = "BufferStack > GhostTextArea { height: 1fr; border: none; }"
    BINDINGS = [
        Binding("ctrl+s", "save", "Save", priority=True),
        Binding("ctrl+q", "quit_guarded", "Quit", priority=True),
        Binding("ctrl+o", "open_file", "Open file", priority=True),
        Binding("ctrl+pagedown", "next_buffer", "Next buffer", priority=True),
        Binding("ctrl+pageup", "previous_buffer", "Previous buffer", priority=True),
    ]

    def __init__(
        self,
        path: Path | None,
        text: str,
        config: EngineConfig,
        *,
        log: InteractionLog,
        recovery: RecoveryStore,
        engine_factory: EngineFactory = load_engine,
        encoding: str = UTF8,
        more: Sequence[tuple[Path, str, str]] = (),
    ) -> None:
        """`path` (None: untitled) with its `text` and `encoding` is shown first; `more` are
        further files opened as buffers, each as (path, text, encoding)."""
        super().__init__()
        self.config = config
        self.ilog = log
        self.recovery = recovery
        self.stack = BufferStack()
        first = self.stack.add(path, text, encoding)
        for other in more:
            self.stack.add(*other)
        first.area.display = True
        self.stack.active = first
        self.host = EngineHost(self, engine_factory, self._engine_ready, self._engine_failed,
                               lambda: self.suggestions.detach())
        self.suggestions = SuggestionController(
            self, lambda: self.editor, log, lambda: self.config.debounce_ms, self._engine_failed,
            self.refresh_status,
        )
        self.context = ContextFeed(self, self.suggestions, lambda: self.config.context_tokens)
        self.study = StudyLog(log)
        self.keeper = RecoveryKeeper(self, recovery)
        self.saving = SaveFlow(self, self.stack, self.keeper, self._saved)

    def compose(self) -> ComposeResult:
        yield self.stack
        yield StatusBar()

    # -- what the rest of the editor reads ------------------------------------------------------
    @property
    def buffer(self) -> Buffer:
        """The active buffer."""
        assert self.stack.active is not None
        return self.stack.active

    @property
    def editor(self) -> GhostTextArea:
        """The active buffer's text area."""
        return self.buffer.area

    @property
    def path(self) -> Path | None:
        return self.buffer.path

    @property
    def dirty(self) -> bool:
        return self.buffer.dirty

    @property
    def engine(self) -> Engine | None:
        return self.host.engine

    @property
    def engine_state(self) -> str:
        return self.host.state

    @property
    def paused(self) -> bool:
        """Esc was pressed: nothing new is proposed until the next edit."""
        return self.suggestions.paused

    def on_mount(self) -> None:
        self.switch_to(self.buffer)
        for buffer in reversed(self.stack.buffers):  # the first one's question on top
            self.keeper.offer(buffer, self._restore)
        self.host.load(self.config)
        self.refresh_status()

    def refresh_status(self) -> None:
        buffer, engine, suggestions = self.buffer, self.engine, self.suggestions
        row, col = buffer.area.cursor_location
        model = describe_model(
            engine.model_name if engine else (self.config.model or "default model"),
            engine.adapter_name if engine else None, self.config.adapter_source == "shipped")
        state = describe_state(self.host.state, engine is not None, suggestions.automatic,
                               suggestions.paused, self.ilog.failure)
        count = len(self.stack.buffers)
        self.query_one(StatusBar).show(StatusFields(
            name=buffer.name, dirty=buffer.dirty, row=row, col=col, model=model,
            eta=describe_eta(self.config.eta),
            latency=describe_latency(suggestions.last_latency_ms), state=state,
            encoding=None if buffer.encoding == UTF8 else buffer.encoding,
            position=f"{self.stack.buffers.index(buffer) + 1}/{count}" if count > 1 else None,
            notes=["highlighting off (large file)"] if buffer.large else [],
        ))

    # -- the engine ----------------------------------------------------------------------------
    def _engine_ready(self, engine: Engine) -> None:
        self.suggestions.attach(engine)
        self.ilog.model = engine.model_name
        self.ilog.adapter = engine.adapter_name
        self._refresh_context()
        self.refresh_status()

    def _engine_failed(self, reason: str) -> None:
        self.host.failed(reason)
        self.notify(f"Suggestions off: {reason}", severity="warning", timeout=8)  # in full
        self.refresh_status()

    def _refresh_context(self) -> None:
        others = [(b.path, b.area.text) for b in self.stack.buffers
                  if b.path is not None and b is not self.buffer]
        self.context.refresh(self.engine, self.buffer.path, self.editor.text, others)

    # -- editing events ------------------------------------------------------------------------
    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        buffer = self.stack.of(event.text_area)
        if buffer is None:
            return
        buffer.dirty = True
        self.keeper.changed(buffer)
        self.refresh_status()

    def on_ghost_text_area_edited(self, event: GhostTextArea.Edited) -> None:
        self.study.edited(self.buffer.spans, event, self.suggestions.current_id)
        if event.accepted:
            return
        if event.consumed:
            if not self.editor.ghost:  # typed all of it: look further ahead
                self.suggestions.schedule()
            return
        self.suggestions.edited()

    def on_ghost_text_area_accepted(self, event: GhostTextArea.Accepted) -> None:
        self.study.accepted(event, self.suggestions.current_id)
        if event.full:
            self.suggestions.schedule()

    def on_ghost_text_area_reverted(self, event: GhostTextArea.Reverted) -> None:
        self.study.reverted(self.buffer.spans)
        self.suggestions.edited()

    def on_ghost_text_area_dismissed(self, event: GhostTextArea.Dismissed) -> None:
        self.study.dismissed(event, self.suggestions.current_id)
        if event.how == "esc":
            self.suggestions.pause()
            self.refresh_status()

    def on_text_area_selection_changed(self, event: TextArea.SelectionChanged) -> None:
        area = self.editor
        if event.text_area is not area:
            return
        if area.ghost and area.cursor_location != area.ghost_anchor:
            area.clear_ghost("moved")
        self.refresh_status()

    def _restore(self, buffer: Recoverable, text: str) -> None:
        buffer.area.load_text(text)
        buffer.dirty = True
        self.refresh_status()

    # -- buffers -------------------------------------------------------------------------------
    def open_buffers(self) -> list[Buffer]:
        return list(self.stack.buffers)

    def project_folder(self) -> Path:
        return folder_of(self.buffer.path)

    def switch_to(self, buffer: Buffer) -> None:
        if buffer is not self.stack.active:
            self.suggestions.cancel()
        self.stack.activate(buffer)
        self.sub_title = str(buffer.path) if buffer.path else buffer.name
        if self.engine is not None:
            self._refresh_context()
        self.refresh_status()

    def open_file(self, path: Path) -> None:
        """Show `path`, opening it as a new buffer unless it is open already."""
        existing = self.stack.find(path)
        if existing is not None:
            self.switch_to(existing)
            return
        try:
            decoded = read_document(path)
        except UserError as exc:
            self.notify(str(exc), severity="error", timeout=8)
            return
        buffer = self.stack.add(path, decoded.text, decoded.encoding)
        self.call_after_refresh(self.switch_to, buffer)
        self.call_after_refresh(self.keeper.offer, buffer, self._restore)

    def action_open_file(self) -> None:
        self.push_screen(CommandPalette(providers=[FileFinder], placeholder="Open file…"))

    def action_switch_buffer(self) -> None:
        self.push_screen(CommandPalette(providers=[BufferSwitcher], placeholder="Switch to…"))

    def action_next_buffer(self) -> None:
        target = self.stack.step(1)
        if target is not None:
            self.switch_to(target)

    def action_previous_buffer(self) -> None:
        target = self.stack.step(-1)
        if target is not None:
            self.switch_to(target)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Open file", "Find a file of the project (Ctrl+O)",
                            self.action_open_file)
        yield SystemCommand("Switch buffer", "Show another open file (Ctrl+PageDown/PageUp)",
                            self.action_switch_buffer)

    # -- save and quit -------------------------------------------------------------------------
    def action_save(self) -> None:
        self.saving.save(self.buffer)

    def _saved(self, buffer: Buffer) -> None:
        if buffer is self.buffer:
            self.sub_title = str(buffer.path)
            self._refresh_context()
        self.refresh_status()

    def action_quit_guarded(self) -> None:
        self.saving.quit()

    def on_unmount(self) -> None:
        # Whoever reads the log next (stats, a test) must find every event of this session.
        self.ilog.flush()
        self.host.close()
