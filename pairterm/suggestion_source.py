"""Where the editor and the benchmarks get suggestions: the engine behind a small cache keyed by
prompt, and a prefetch of the suggestion that follows the one on screen (as llama.vim does).

The cache answers instantly when a person comes back to a place they already were (undo, a
deleted word retyped). The prefetch computes, while the person reads a suggestion, the one that
comes after it; when they accept, the next suggestion is already there. A suggestion cut short by
the decode time budget (stop reason "time") is continued the same way with what is left of η.

A call that a keystroke cancelled leaves what it had decoded; when the person typed the start of
it, the next request answers at once with the rest, as a suggestion cut by the time budget,
which the prefetch then continues. Without that, a model slower than the typing would never
finish a suggestion while the person types on.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence

from pairterm.engine import Engine
from pairterm.postfilter import postfilter
from pairterm.project_context import ContextFile
from pairterm.suggestion import Suggestion

CACHE_SIZE = 64
AFTER_KEY_CHARS = 1000  # more than the engine ever reads after the cursor
MAX_CONTINUATIONS = 8  # a suggestion cut by the decode time budget is continued this often


class SuggestionSource:
    """One per engine. The editor's workers may overlap (a cancelled one finishes its token
    while the next starts), so a call holds a lock from its lookups to what it stores: the next
    request then sees what the cancelled call decoded (the engine serialises calls anyway)."""

    def __init__(self, engine: Engine, cache_size: int = CACHE_SIZE) -> None:
        self.engine = engine
        self.cache_size = cache_size
        self._cache: OrderedDict[tuple[str, str, float, int], Suggestion] = OrderedDict()
        self.context: Sequence[ContextFile] = ()
        self.path: str | None = None
        self._context_key = 0
        # (before, (after, context) key, suggestion) of the last call cancelled with text decoded
        self._partial: tuple[str, tuple[str, int], Suggestion] | None = None
        self._lock = threading.Lock()

    def set_context(self, files: Sequence[ContextFile], path: str | None = None) -> None:
        """Project files the model sees and the edited file's name among them; the cache is
        keyed by them, so a change invalidates it."""
        if tuple(files) != tuple(self.context) or path != self.path:
            self.context, self.path = tuple(files), path
            self._context_key += 1

    def _key(self, before: str, after: str, eta: float) -> tuple[str, str, float, int]:
        window = self.engine.config.window_chars
        return before[-window:], after[:AFTER_KEY_CHARS], eta, self._context_key

    def _cached(self, key: tuple[str, str, float, int]) -> Suggestion | None:
        hit = self._cache.get(key)
        if hit is None:
            return None
        self._cache.move_to_end(key)
        return dataclasses.replace(hit, latency_ms=0.0, decode_ms=0.0, prefill_tokens=0,
                                   cached=True)

    def suggest(
        self,
        before: str,
        after: str,
        cancelled: Callable[[], bool] | None = None,
        *,
        eta: float | None = None,
    ) -> Suggestion:
        """The suggestion at this cursor: from the cache, else from the engine (then cached,
        unless the call was cancelled and its result is partial)."""
        eta = self.engine.config.eta if eta is None else eta
        key = self._key(before, after, eta)
        with self._lock:
            hit = self._cached(key)
            if hit is not None:
                return hit
            resumed = self._resumed(before, after, key)
            if resumed is not None:
                self._store(key, resumed)
                return resumed
            result = self.engine.suggest(
                before, after, cancelled, eta=eta, context=self.context, path=self.path
            )
            if result.stop_reason == "cancelled":
                if result.partial:
                    self._partial = (before, (key[1], key[3]), result)
            else:
                self._store(key, result)
            return result

    def _store(self, key: tuple[str, str, float, int], result: Suggestion) -> None:
        self._cache[key] = result
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)

    def _resumed(self, before: str, after: str, key: tuple[str, str, float, int]) -> Suggestion | None:
        """What is left of the last cancelled call's text, if `before` is its cursor's text
        plus a start of that text, the text after and the project files are the same, and the
        gate at the request's η (in `key`) lets all of it through. The decode is greedy, so the tokens do not depend
        on η: a call cancelled at one η (a prefetch's rest of η, say) serves a request at any
        other η its surprise stays under."""
        if self._partial is None:
            return None
        was, place, cut = self._partial
        _, after_key, eta, context_key = key
        typed = before[len(was) :]
        if (place != (after_key, context_key) or cut.total_bits >= eta or not before.startswith(was)
                or not cut.partial.startswith(typed)):
            return None
        # filtered again at the new cursor: what is left may now repeat the code after it
        rest, _ = postfilter(cut.partial[len(typed) :], before, after)
        if not rest:
            return None
        # the gate charged the typed part too: the continuation gets what is left of η
        return dataclasses.replace(
            cut, text=rest, partial="", stop_reason="time", latency_ms=0.0, decode_ms=0.0,
            prefill_tokens=0, cached=True,
        )  # fmt: skip

    def follow_up(
        self, before: str, after: str, shown: Suggestion, cancelled: Callable[[], bool] | None = None
    ) -> Suggestion | None:
        """What comes after `shown` once it is accepted. A suggestion stopped by the time budget
        continues with the rest of its η (the gate judges the whole text, not each piece); any
        other is followed by a fresh suggestion at full η, cached for when the person accepts."""
        if not shown.text or shown.stop_reason in ("cancelled", "eos", "mid_line"):
            return None
        eta = self.engine.config.eta
        if shown.stop_reason == "time":
            eta = max(0.0, eta - shown.total_bits)
        return self.suggest(before + shown.text, after, cancelled, eta=eta)
