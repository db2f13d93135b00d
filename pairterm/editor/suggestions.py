"""The editor's one owner of suggestions: when to ask (debounce), what the model reads
(windowing), which answer is still current (versioning), stopping stale work (cancellation),
continuing and prefetching (SuggestionSource), and what the interaction log records.

Every model call runs in an exclusive thread worker. An edit bumps the text area's `edit_count`,
which both cancels the running call (checked between tokens) and marks its result stale.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from textual.timer import Timer
from textual.worker import get_current_worker

from pairterm.engine import Engine
from pairterm.interaction_log import InteractionLog
from pairterm.project_context import ContextFile
from pairterm.suggestion import Suggestion
from pairterm.suggestion_source import MAX_CONTINUATIONS, SuggestionSource

if TYPE_CHECKING:
    from textual.app import App

    from pairterm.editor.ghost_area import GhostTextArea

CONTEXT_BLOCK_LINES = 100  # the text before the cursor starts on a multiple of this line
AFTER_LINES = 40  # lines after the cursor (a FIM model reads some of them)


def text_around(area: GhostTextArea, row: int, col: int) -> tuple[str, str]:
    """The text before and after the cursor that the engine gets. Only these lines are joined,
    not the document (which may be megabytes); the start moves in blocks of lines so that the
    engine's own character window, and with it llama.cpp's cache, stays put while typing."""
    doc = area.document
    start_row = max(0, (row // CONTEXT_BLOCK_LINES - 1) * CONTEXT_BLOCK_LINES)
    before = doc.get_text_range((start_row, 0), (row, col))
    end_row = min(row + AFTER_LINES, doc.line_count - 1)
    after = doc.get_text_range((row, col), (end_row, len(doc.get_line(end_row))))
    return before, after


class SuggestionController:
    def __init__(
        self,
        app: App[None],
        area: Callable[[], GhostTextArea],
        log: InteractionLog,
        debounce_ms: Callable[[], int],
        on_failure: Callable[[str], None],
        on_change: Callable[[], None],
    ) -> None:
        self.app = app
        self.area = area
        self.log = log
        self.debounce_ms = debounce_ms  # read at each keystroke: the config may be replaced
        self.on_failure = on_failure
        self.on_change = on_change  # something the status bar shows changed
        self.source: SuggestionSource | None = None
        self.paused = False  # Esc: nothing new until the next edit
        # F2: off means the model is asked only when the person asks (Ctrl+Space); the status
        # bar reads this.
        self.automatic = True
        self.current_id: int | None = None
        self.last_latency_ms: float | None = None
        self._debounce: Timer | None = None

    # -- the engine's life ------------------------------------------------------------------------
    def attach(self, engine: Engine) -> None:
        self.source = SuggestionSource(engine)

    def detach(self) -> None:
        self.cancel()
        self.source = None

    def set_context(self, files: Sequence[ContextFile], path: str | None) -> None:
        if self.source is not None:
            self.source.set_context(files, path)

    # -- what edits do ----------------------------------------------------------------------------
    def edited(self) -> None:
        """A real edit: whatever was running is stale; ask again once typing pauses."""
        self.paused = False
        self.cancel()
        self.schedule()

    def pause(self) -> None:
        self.paused = True
        self.cancel()

    def cancel(self) -> None:
        self.app.workers.cancel_group(self.app, "suggest")

    def schedule(self) -> None:
        if self._debounce is not None:
            self._debounce.stop()
        if self.automatic:
            self._debounce = self.app.set_timer(self.debounce_ms() / 1000.0, self._request)

    def set_automatic(self, on: bool) -> None:
        """Turn automatic suggestions on or off; off also takes away the one on screen."""
        self.automatic = on
        if not on:
            if self._debounce is not None:
                self._debounce.stop()
            self.cancel()
            self.area().clear_ghost("off")
        self.on_change()

    def request_now(self) -> bool:
        """Ask the model at once, even when automatic suggestions are off or Esc paused them;
        False when there is no model to ask."""
        if self.source is None:
            return False
        if self._debounce is not None:
            self._debounce.stop()
        self.paused = False
        self._request(asked=True)
        self.on_change()
        return True

    def _request(self, asked: bool = False) -> None:
        area = self.area()
        if self.source is None or not area.selection.is_empty:
            return
        if not asked and (self.paused or not self.automatic):
            return
        row, col = area.cursor_location
        before, after = text_around(area, row, col)
        version = area.edit_count
        self.app.run_worker(
            lambda: self._work(self.source, version, (row, col), before, after),
            thread=True, exclusive=True, group="suggest",
        )

    # -- the worker -------------------------------------------------------------------------------
    def _work(self, source: SuggestionSource | None, version: int, cursor: tuple[int, int],
              before: str, after: str) -> None:
        if source is None:
            return
        worker = get_current_worker()
        area = self.area()

        def cancelled() -> bool:
            return worker.is_cancelled or area.edit_count != version

        call = self.app.call_from_thread
        try:
            result = source.suggest(before, after, cancelled)
            if cancelled():
                return
            call(self._show, version, cursor, result)
            # While the person reads it: the rest of a suggestion the time budget cut short
            # (shown as it arrives), else the next one, cached for when they accept this one.
            shown = result
            for _ in range(MAX_CONTINUATIONS):
                if shown.stop_reason != "time":
                    break
                more = source.follow_up(before, after, shown, cancelled)
                if more is None or cancelled() or not more.text:
                    break
                call(self._extend, version, cursor, shown.text, more)
                shown = shown.extended_by(more)
            if shown.text and shown.stop_reason != "time":
                source.follow_up(before, after, shown, cancelled)
        except Exception as exc:  # e.g. llama_decode failing: turn suggestions off, keep editing
            call(self.on_failure, f"{type(exc).__name__}: {exc}")

    def _current(self, version: int, cursor: tuple[int, int]) -> bool:
        area = self.area()
        return version == area.edit_count and area.cursor_location == cursor and not self.paused

    def _show(self, version: int, cursor: tuple[int, int], result: Suggestion) -> None:
        if not self._current(version, cursor):
            return  # the document or cursor moved on while the model was thinking
        self.last_latency_ms = result.latency_ms
        if result.text:
            self.current_id = self.log.new_id()
            self.area().ghost = result.text
            self.log.write(
                "proposed", id=self.current_id, chars=len(result.text), tokens=result.tokens,
                bits=round(result.total_bits, 3), latency_ms=round(result.latency_ms, 1),
                stop_reason=result.stop_reason,
            )
        self.on_change()

    def _extend(self, version: int, cursor: tuple[int, int], shown: str, more: Suggestion) -> None:
        """Append the continuation of a suggestion that is still on screen, untouched."""
        area = self.area()
        if not self._current(version, cursor) or area.ghost != shown:
            return
        area.ghost = shown + more.text
        self.log.write("extended", id=self.current_id, chars=len(more.text), tokens=more.tokens,
                       latency_ms=round(more.latency_ms, 1), stop_reason=more.stop_reason)
