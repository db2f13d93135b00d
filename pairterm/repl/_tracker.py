"""Turns what happens in the REPL's input buffer into interaction-log events.

Pure bookkeeping, no prompt-toolkit: the session calls `shown`, `accept` and `changed`, and
`finish` when an input ends. Typed and deleted characters are summed per input (one `typed`
and one `deleted` line each), because a line per keystroke would swamp the log. Each character
of the buffer remembers whether it came from an accepted suggestion and when, so that deleting
it within RECENT_S seconds counts as "characters deleted after acceptance" (the Empower study's
measure).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from pairterm.interaction_log import RECENT_S, InteractionLog


@dataclass
class Shown:
    """One suggestion as the user saw it; `accepted` counts the characters taken so far."""

    id: int
    chars: int
    accepted: int = 0


@dataclass
class _Pending:
    shown: Shown
    chars: int


def diff(old: str, new: str) -> tuple[int, int, int]:
    """(start, removed, inserted): `new` is `old` with old[start:start+removed] replaced by
    new[start:start+inserted]; the common prefix and suffix are as long as possible."""
    limit = min(len(old), len(new))
    start = 0
    while start < limit and old[start] == new[start]:
        start += 1
    end = 0
    while end < limit - start and old[-1 - end] == new[-1 - end]:
        end += 1
    return start, len(old) - start - end, len(new) - start - end


class Tracker:
    def __init__(self, log: InteractionLog, clock: Callable[[], float] = time.time) -> None:
        self.log = log
        self.clock = clock
        self.current: Shown | None = None
        self._pending: _Pending | None = None
        self._auto = False
        self.reset()

    # -- one input ------------------------------------------------------------------------
    def reset(self, text: str = "") -> None:
        """Start tracking a buffer that holds `text`, none of it typed or accepted."""
        self.text = text
        self._origin: list[tuple[int, float] | None] = [None] * len(text)
        self.typed = 0
        self.deleted = 0
        self.deleted_accepted = 0
        self._deleted_id: int | None = None

    def finish(self) -> None:
        """The input was run or abandoned: a suggestion still showing was dismissed."""
        self._dismiss()
        if self.typed:
            self.log.write("typed", chars=self.typed)
        if self.deleted:
            self.log.write(
                "deleted",
                chars=self.deleted,
                accepted_chars=self.deleted_accepted,
                id=self._deleted_id,
            )
        self.reset()

    # -- suggestions ----------------------------------------------------------------------
    def shown(self, chars: int, tokens: int, bits: float, latency_ms: float, stop: str) -> Shown:
        self._dismiss()
        shown = Shown(id=self.log.new_id(), chars=chars)
        self.log.write(
            "proposed",
            id=shown.id,
            chars=chars,
            tokens=tokens,
            bits=round(bits, 4),
            latency_ms=round(latency_ms, 2),
            stop_reason=stop,
        )
        self.current = shown
        return shown

    def accept(self, shown: Shown, chars: int) -> None:
        """Called just before `chars` characters of `shown` are inserted into the buffer."""
        shown.accepted += chars
        full = shown.accepted >= shown.chars
        self.log.write("accepted", id=shown.id, chars=chars, full=full)
        self._pending = _Pending(shown, chars)
        self.current = None if full else shown

    def auto(self) -> None:
        """The next change is inserted by the REPL itself (auto-indentation), not typed."""
        self._auto = True

    def _dismiss(self) -> None:
        if self.current is not None:
            self.log.write("dismissed", id=self.current.id)
            self.current = None

    # -- buffer changes -------------------------------------------------------------------
    def changed(self, new: str) -> None:
        now = self.clock()
        start, removed, inserted = diff(self.text, new)
        pending, self._pending = self._pending, None
        auto, self._auto = self._auto, False
        if pending is None and self.current is not None:
            self._dismiss()  # the text changed under a suggestion without taking it
        for origin in self._origin[start : start + removed]:
            if origin is not None and now - origin[1] < RECENT_S:
                self.deleted_accepted += 1
                self._deleted_id = origin[0]
        self.deleted += removed
        tag: tuple[int, float] | None = None
        if pending is not None and inserted == pending.chars:
            tag = (pending.shown.id, now)
        elif not auto:
            self.typed += inserted
        self._origin[start : start + removed] = [tag] * inserted
        self.text = new
