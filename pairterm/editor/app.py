"""The editor application: file, engine, ghost text, saving, recovery, and the status bar.

Every model call runs in an exclusive thread worker; a keystroke bumps `version`, which both
cancels the running decode (checked between tokens) and marks its result stale.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.timer import Timer
from textual.widgets import Static, TextArea

from pairterm.config import EngineConfig
from pairterm.editor.accepted_spans import AcceptedSpans
from pairterm.editor.ghost_area import GhostTextArea
from pairterm.editor.recovery import RecoveryStore
from pairterm.editor.savefile import DiskState, atomic_write
from pairterm.editor.screens import AskPath, Confirm
from pairterm.editor.suggestions import SuggestionController
from pairterm.engine import Engine
from pairterm.errors import UserError
from pairterm.interaction_log import RECENT_S, InteractionLog
from pairterm.project_context import gather, relative_name
from pairterm.syntax_guard import LANGUAGES

HIGHLIGHT_LIMIT = 1_000_000  # characters; tree-sitter re-highlighting gets sluggish beyond
RECOVERY_DELAY_S = 2.0
RECOVERY_MAX_WAIT_S = 10.0  # someone typing without pause still gets a recovery copy

EngineFactory = Callable[[EngineConfig], Engine]


def language_for(path: Path | None, size: int) -> str | None:
    if path is None or size > HIGHLIGHT_LIMIT:
        return None
    return LANGUAGES.get(path.suffix.lower())


class PairtermApp(App[None]):
    TITLE = "pairterm"
    CSS = """
    #editor { height: 1fr; border: none; }
    #status { height: 1; background: $panel; color: $text-muted; padding: 0 1; }
    """
    BINDINGS = [
        Binding("ctrl+s", "save", "Save", priority=True),
        Binding("ctrl+q", "quit_guarded", "Quit", priority=True),
    ]

    def __init__(
        self,
        path: Path | None,
        text: str,
        config: EngineConfig,
        *,
        log: InteractionLog,
        recovery: RecoveryStore,
        engine_factory: EngineFactory = Engine,
    ) -> None:
        super().__init__()
        self.path = path
        self.initial_text = text
        self.config = config
        self.ilog = log
        self.recovery = recovery
        self.engine_factory = engine_factory
        self.engine: Engine | None = None
        self.suggestions = SuggestionController(
            self, lambda: self.editor, log, lambda: self.config.debounce_ms, self._engine_failed,
            self.refresh_status,
        )
        self.engine_state = "loading model…"
        self.disk_state = DiskState.of(path) if path else None
        self.dirty = False
        self.spans = AcceptedSpans(RECENT_S)
        self._recovery_timer: Timer | None = None
        self._recovery_pending_since: float | None = None

    # -- layout ----------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        area = GhostTextArea.code_editor(
            self.initial_text,
            language=language_for(self.path, len(self.initial_text)),
            tab_behavior="indent",
            soft_wrap=False,
            id="editor",
        )
        yield area
        yield Static(id="status")

    @property
    def paused(self) -> bool:
        """Esc was pressed: nothing new is proposed until the next edit."""
        return self.suggestions.paused

    @property
    def editor(self) -> GhostTextArea:
        return self.query_one("#editor", GhostTextArea)

    def on_mount(self) -> None:
        self.sub_title = str(self.path) if self.path else "untitled"
        self.editor.focus()
        self._offer_recovery()
        self._load_engine()
        self.refresh_status()

    def refresh_status(self) -> None:
        area = self.editor
        row, col = area.cursor_location
        name = self.path.name if self.path else "untitled"
        eta = "off" if math.isinf(self.config.eta) else f"{self.config.eta:g} bits"
        last_ms = self.suggestions.last_latency_ms
        latency = f"{last_ms:.0f} ms" if last_ms is not None else "– ms"
        model = self.engine.model_name if self.engine else (self.config.model or "default model")
        if isinstance(model, Path):
            model = model.name
        if self.engine and self.engine.adapter_name:
            default = self.config.adapter_source == "shipped"
            model = f"{model} + {'Empower adapter' if default else self.engine.adapter_name}"
        paused = self.suggestions.paused and self.engine
        state = "paused until next edit (Esc)" if paused else self.engine_state
        if self.ilog.failure:
            state += f"; {self.ilog.failure}"
        parts = [f"{name}{' ●' if self.dirty else ''}", f"Ln {row + 1}, Col {col + 1}",
                 str(model), f"η {eta}", latency, state]
        if area.language is None and len(self.initial_text) > HIGHLIGHT_LIMIT:
            parts.append("highlighting off (large file)")
        self.query_one("#status", Static).update(" │ ".join(parts))

    # -- engine ----------------------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="load")
    def _load_engine(self) -> None:
        try:
            engine = self.engine_factory(self.config)
        except UserError as exc:
            self.call_from_thread(self._engine_failed, str(exc))
            return
        except Exception as exc:  # the editor must outlive any failure of the model
            self.call_from_thread(self._engine_failed, f"{type(exc).__name__}: {exc}")
            return
        self.call_from_thread(self._engine_ready, engine)

    def _engine_ready(self, engine: Engine) -> None:
        if not self.is_running:
            engine.close()
            return
        self.engine = engine
        self.suggestions.attach(engine)
        self.engine_state = "suggestions on"
        self.ilog.model = engine.model_name
        self.ilog.adapter = engine.adapter_name
        self._refresh_context()
        self.refresh_status()

    def _refresh_context(self) -> None:
        """The file's name (its language decides the syntax check) and, for a FIM model, the
        project files it sees, read off the UI thread; on open and on each save."""
        if self.engine is not None and self.engine.fim is not None:
            self._gather_context(self.path, self.editor.text)  # unchanged files: no new prefill
        else:
            self.suggestions.set_context([], relative_name(self.path))

    @work(thread=True, exclusive=True, group="context")
    def _gather_context(self, path: Path | None, text: str) -> None:
        try:
            files = gather(path, text) if self.config.context_tokens > 0 else []
        except OSError:  # an unreadable project never stops editing
            files = []
        self.call_from_thread(self.suggestions.set_context, files, relative_name(path))

    def _engine_failed(self, reason: str) -> None:
        if self.engine is not None:
            self.suggestions.detach()
            self.engine.close()
            self.engine = None
        self.engine_state = f"suggestions off: {reason}"
        self.refresh_status()

    # -- editing events --------------------------------------------------------------------------
    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        self.dirty = True
        if self.path is not None:
            now = time.monotonic()
            if self._recovery_pending_since is None:
                self._recovery_pending_since = now
            if now - self._recovery_pending_since < RECOVERY_MAX_WAIT_S:
                if self._recovery_timer is not None:
                    self._recovery_timer.stop()
                self._recovery_timer = self.set_timer(RECOVERY_DELAY_S, self._save_recovery)
        self.refresh_status()

    def on_ghost_text_area_edited(self, event: GhostTextArea.Edited) -> None:
        now = time.time()
        hit, hit_id = self.spans.apply_edit(event.top, event.bottom, event.inserted, event.deleted, now)
        if event.deleted:
            self.ilog.write("deleted", chars=len(event.deleted), accepted_chars=hit, id=hit_id)
        if event.accepted:
            self.spans.add(event.top, event.inserted, now, self.suggestions.current_id)
            return
        if event.inserted:
            self.ilog.write("typed", chars=len(event.inserted))
        if event.consumed:
            if not self.editor.ghost:  # typed all of it: look further ahead
                self.suggestions.schedule()
            return
        self.suggestions.edited()

    def on_ghost_text_area_accepted(self, event: GhostTextArea.Accepted) -> None:
        self.ilog.write("accepted", id=self.suggestions.current_id, chars=len(event.text),
                        full=event.full)
        if event.full:
            self.suggestions.schedule()

    def on_ghost_text_area_reverted(self, event: GhostTextArea.Reverted) -> None:
        self.spans.spans.clear()  # undo moves text in ways the spans cannot follow
        self.suggestions.edited()

    def on_ghost_text_area_dismissed(self, event: GhostTextArea.Dismissed) -> None:
        if event.had_ghost:
            self.ilog.write("dismissed", id=self.suggestions.current_id, how=event.how)
        if event.how == "esc":
            self.suggestions.pause()
            self.refresh_status()

    def on_text_area_selection_changed(self, event: TextArea.SelectionChanged) -> None:
        area = self.editor
        if area.ghost and area.cursor_location != area.ghost_anchor:
            area.clear_ghost("moved")
        self.refresh_status()

    # -- recovery --------------------------------------------------------------------------------
    def _offer_recovery(self) -> None:
        if self.path is None:
            return
        found = self.recovery.load(self.path)
        if found is None or found.text == self.initial_text:
            return
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(found.saved_at))

        def answer(recover: bool | None) -> None:
            if recover:
                self.editor.load_text(found.text)
                self.dirty = True
                self.refresh_status()
            elif recover is False:  # Esc (None) keeps the copy for next time
                self.recovery.clear(self.path)  # type: ignore[arg-type]

        self.push_screen(
            Confirm(f"Unsaved edits to {self.path.name} from {when} were recovered. Restore them?",
                    yes="Restore", no="Discard"),
            answer,
        )

    def _save_recovery(self) -> None:
        self._recovery_pending_since = None
        if self.path is not None and self.dirty:
            self._write_recovery(self.path, self.editor.text)

    @work(thread=True, exclusive=True, group="recovery")
    def _write_recovery(self, path: Path, text: str) -> None:
        try:
            self.recovery.write(path, text)
        except OSError as exc:
            self.call_from_thread(
                self.notify, f"Recovery copy not written: {exc.strerror or exc}",
                severity="warning", timeout=6,
            )

    # -- save and quit ---------------------------------------------------------------------------
    def action_save(self) -> None:
        if self.path is None:
            self.push_screen(AskPath(), self._save_as)
            return
        now = DiskState.of(self.path)
        if self.disk_state is not None and now is not None and now != self.disk_state:
            self._confirm_overwrite(self.path, "changed on disk since it was opened")
            return
        self._write_file(self.path)

    def _confirm_overwrite(self, path: Path, why: str) -> None:
        self.push_screen(
            Confirm(f"{path.name} {why}. Overwrite it?", yes="Overwrite", no="Cancel"),
            lambda yes: self._write_file(path) if yes else None,
        )

    def _save_as(self, name: str | None) -> None:
        if not name:
            return
        path = Path(name).expanduser()
        if path.exists():
            self._confirm_overwrite(path, "already exists")
        else:
            self._write_file(path)

    def _write_file(self, path: Path) -> None:
        """Write the buffer to `path`; it becomes the buffer's file only once the write worked."""
        try:
            self.disk_state = atomic_write(path, self.editor.text.encode("utf-8"))
        except OSError as exc:
            self.notify(f"Not saved: {exc.strerror or exc}", severity="error", timeout=8)
            return
        if path != self.path:
            if self.path is not None:
                self.recovery.clear(self.path)
            self.path = path
            self.sub_title = str(path)
        self.dirty = False
        if self._recovery_timer is not None:
            self._recovery_timer.stop()
        self.recovery.clear(self.path)
        self.notify(f"Saved {self.path.name}", timeout=2)
        self._refresh_context()
        self.refresh_status()

    def action_quit_guarded(self) -> None:
        if not self.dirty:
            self._quit()
            return
        name = self.path.name if self.path else "this buffer"
        self.push_screen(
            Confirm(f"{name} has unsaved edits. Quit without saving?", yes="Quit", no="Stay"),
            lambda yes: self._quit(discard=True) if yes else None,
        )

    def _quit(self, discard: bool = False) -> None:
        if discard and self.path is not None:
            self.recovery.clear(self.path)
        self.workers.cancel_all()
        self.exit()

    def on_unmount(self) -> None:
        if self.engine is not None:
            self.engine.close()
