"""Ghost text for the REPL: a prompt-toolkit AutoSuggest backed by the suggestion engine."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

from prompt_toolkit.auto_suggest import AutoSuggest
from prompt_toolkit.auto_suggest import Suggestion as PTSuggestion
from prompt_toolkit.buffer import Buffer
from prompt_toolkit.document import Document

from pairterm.repl._tracker import Shown


class Suggester(Protocol):
    """What the REPL needs from pairterm.engine.Engine (tests pass a scripted one)."""

    def suggest(
        self, before: str, after: str = "", cancelled: Callable[[], bool] | None = None
    ) -> Any: ...


class GhostText(PTSuggestion):
    """A suggestion with the engine's figures, and once shown, its log entry."""

    def __init__(self, text: str, meta: Any = None, shown: Shown | None = None) -> None:
        super().__init__(text)
        self.meta = meta
        self.shown = shown


class EngineAutoSuggest(AutoSuggest):
    """Asks the engine for the rest of the current line. Meant to run in a worker thread
    (wrap it in ThreadedAutoSuggest): it waits `debounce_s` first and gives up as soon as the
    buffer no longer holds the document it was asked about, so stale work stops early;
    prompt-toolkit itself drops a result whose document has changed."""

    def __init__(
        self,
        suggester: Suggester,
        context: Callable[[], str],
        debounce_s: float = 0.0,
        on_error: Callable[[BaseException], None] | None = None,
        finished: Callable[[], bool] = lambda: False,
    ) -> None:
        self.suggester = suggester
        self.context = context
        self.debounce_s = debounce_s
        self.on_error = on_error
        self.finished = finished

    def get_suggestion(self, buffer: Buffer, document: Document) -> GhostText | None:
        if not document.is_cursor_at_the_end:
            return None  # prompt-toolkit only draws ghost text at the end of the input

        def cancelled() -> bool:
            # The prompt keeps its text after Enter, so "finished" is checked too: the prompt
            # waits for this thread before it returns and the input can run.
            return (
                self.finished()
                or buffer.text != document.text
                or buffer.cursor_position != len(document.text)
            )

        deadline = time.monotonic() + self.debounce_s
        while time.monotonic() < deadline:
            if cancelled():
                return None
            time.sleep(0.01)
        if cancelled():
            return None
        # The engine itself heals whitespace typed at the cursor (see engine.split_heal).
        before = self.context() + document.text
        try:
            result = self.suggester.suggest(before, document.text_after_cursor, cancelled)
        except Exception as exc:  # a failing model must not take the prompt down
            if self.on_error is not None:
                self.on_error(exc)
            return None
        # Only the rest of the current line: the REPL's Enter key (with auto-indent) is how
        # input moves to the next line.
        text = (result.text or "").split("\n", 1)[0].rstrip()
        if not text.strip() or cancelled():
            return None
        return GhostText(text, result)
