"""The REPL itself: a prompt-toolkit PromptSession, ghost text, a persistent namespace."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TextIO

from prompt_toolkit import PromptSession
from prompt_toolkit.application import get_app
from prompt_toolkit.auto_suggest import ThreadedAutoSuggest
from prompt_toolkit.buffer import Buffer
from prompt_toolkit.filters import Condition
from prompt_toolkit.history import History, InMemoryHistory
from prompt_toolkit.input import Input
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
from prompt_toolkit.output import Output

from pairterm.interaction_log import InteractionLog
from pairterm.repl._input import INDENT, dedent_width, is_complete, next_indent
from pairterm.repl._runner import Runner
from pairterm.repl._suggest import EngineAutoSuggest, GhostText, Suggester
from pairterm.repl._tracker import Tracker
from pairterm.words import next_word

PROMPT = ">>> "
CONTINUATION = "... "


class Repl:
    def __init__(
        self,
        suggester: Suggester | None,
        log: InteractionLog | None = None,
        *,
        history: History | None = None,
        input: Input | None = None,
        output: Output | None = None,
        stdout: TextIO | None = None,
        stderr: TextIO | None = None,
        debounce_s: float = 0.0,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        self.runner = Runner(stdout=self.stdout, stderr=self.stderr)
        self.inputs: list[str] = []
        self.log = log or InteractionLog(None, "repl")
        self.tracker = Tracker(self.log, clock) if clock else Tracker(self.log)
        self.error: BaseException | None = None
        self._error_reported = False
        self.auto_suggest: EngineAutoSuggest | None = None
        threaded = None
        if suggester is not None:
            self.auto_suggest = EngineAutoSuggest(
                suggester,
                self.context,
                debounce_s,
                on_error=self._suggest_failed,
                finished=lambda: self.session.app.is_done,
            )
            threaded = ThreadedAutoSuggest(self.auto_suggest)
        self.session: PromptSession[str] = PromptSession(
            PROMPT,
            multiline=True,
            prompt_continuation=CONTINUATION,
            auto_suggest=threaded,
            history=history or InMemoryHistory(),
            key_bindings=self._bindings(),
            input=input,
            output=output,
        )
        self.buffer = self.session.default_buffer
        self._history_pos = self._history_position()
        self.buffer.on_suggestion_set += self._on_suggestion_set
        self.buffer.on_text_changed += self._on_text_changed

    # -- model context --------------------------------------------------------------------
    def context(self) -> str:
        """What the model sees before the current input: this session's earlier inputs."""
        return "".join(text.rstrip() + "\n" for text in self.inputs)

    # -- the loop -------------------------------------------------------------------------
    def run(self) -> int:
        while True:
            try:
                text = self.session.prompt(pre_run=self._prompt_started)
            except KeyboardInterrupt:
                self.tracker.finish()
                print("KeyboardInterrupt", file=self.stderr)
                continue
            except EOFError:
                self.tracker.finish()
                break
            finally:
                self._report_error()
            self.tracker.finish()
            if not text.strip():
                continue
            self.inputs.append(text)
            self.runner.run(text)
        # The log writes in the background; whoever reads it next must find this session.
        self.log.flush()
        return 0

    def _prompt_started(self) -> None:
        # The prompt has reset the buffer (and its history position): start counting afresh.
        self._history_pos = self._history_position()
        self.tracker.reset(self.buffer.text)

    def _suggest_failed(self, exc: BaseException) -> None:
        if self.error is None:
            self.error = exc

    def _report_error(self) -> None:
        if self.error is not None and not self._error_reported:
            self._error_reported = True
            print(f"pairterm repl: a suggestion failed: {self.error}", file=self.stderr)

    # -- buffer events --------------------------------------------------------------------
    def _on_suggestion_set(self, buffer: Buffer) -> None:
        suggestion = buffer.suggestion
        if not isinstance(suggestion, GhostText) or suggestion.shown is not None:
            return
        meta = suggestion.meta
        suggestion.shown = self.tracker.shown(
            chars=len(suggestion.text),
            tokens=int(getattr(meta, "tokens", 0)),
            bits=float(getattr(meta, "total_bits", 0.0)),
            latency_ms=float(getattr(meta, "latency_ms", 0.0)),
            stop=str(getattr(meta, "stop_reason", "")),
        )

    def _history_position(self) -> int:
        """How far back in history the buffer is. History loads in the background by
        prepending entries, which moves `working_index` but not this distance from the end."""
        lines = getattr(self.buffer, "_working_lines", None)
        return self.buffer.working_index - (len(lines) if lines is not None else 0)

    def _on_text_changed(self, buffer: Buffer) -> None:
        position = self._history_position()
        if position != self._history_pos:
            # History navigation swaps the whole text: nothing was typed or deleted.
            self._history_pos = position
            self.tracker.reset(buffer.text)
            return
        self.tracker.changed(buffer.text)

    # -- keys -----------------------------------------------------------------------------
    def accept(self, buffer: Buffer, whole: bool) -> None:
        suggestion = buffer.suggestion
        if not isinstance(suggestion, GhostText) or suggestion.shown is None:
            if suggestion is not None:
                buffer.insert_text(suggestion.text)
            return
        piece = suggestion.text if whole else next_word(suggestion.text)
        rest = suggestion.text[len(piece) :]
        self.tracker.accept(suggestion.shown, len(piece))
        buffer.insert_text(piece)
        if rest:
            # Keep showing the remainder so that word-by-word acceptance needs no new request.
            buffer.suggestion = GhostText(rest, suggestion.meta, suggestion.shown)

    def newline(self, buffer: Buffer) -> None:
        line = buffer.document.current_line_before_cursor
        buffer.insert_text("\n", fire_event=False)
        indent = next_indent(line)
        if indent:
            self.tracker.auto()
            buffer.insert_text(indent)

    def _bindings(self) -> KeyBindings:
        kb = KeyBindings()

        @Condition
        def ghost_text() -> bool:
            buffer = get_app().current_buffer
            return bool(buffer.suggestion and buffer.suggestion.text) and (
                buffer.document.is_cursor_at_the_end
            )

        @Condition
        def in_indent() -> bool:
            document = get_app().current_buffer.document
            return dedent_width(document.current_line_before_cursor) > 1

        @kb.add("right", filter=ghost_text)
        @kb.add("c-e", filter=ghost_text)
        @kb.add("c-f", filter=ghost_text)
        def _accept_all(event: KeyPressEvent) -> None:
            self.accept(event.current_buffer, whole=True)

        @kb.add("c-right", filter=ghost_text)
        @kb.add("escape", "f", filter=ghost_text)
        def _accept_word(event: KeyPressEvent) -> None:
            self.accept(event.current_buffer, whole=False)

        @kb.add("enter")
        def _enter(event: KeyPressEvent) -> None:
            buffer = event.current_buffer
            if is_complete(buffer.text):
                buffer.validate_and_handle()
            else:
                self.newline(buffer)

        @kb.add("escape", "enter")
        def _run_now(event: KeyPressEvent) -> None:
            event.current_buffer.validate_and_handle()

        @kb.add("tab")
        def _tab(event: KeyPressEvent) -> None:
            event.current_buffer.insert_text(" " * INDENT)

        @kb.add("backspace", filter=in_indent)
        def _dedent(event: KeyPressEvent) -> None:
            buffer = event.current_buffer
            buffer.delete_before_cursor(dedent_width(buffer.document.current_line_before_cursor))

        return kb


def describe(engine: Any) -> str:
    """One line naming the model behind the suggestions."""
    name = getattr(engine, "model_name", "?")
    adapter = getattr(engine, "adapter_name", None)
    eta = getattr(getattr(engine, "config", None), "eta", None)
    parts = [f"model {name}"]
    if adapter:
        parts.append(f"adapter {adapter}")
    if eta is not None:
        parts.append(f"eta {eta:g} bits")
    return ", ".join(parts)
