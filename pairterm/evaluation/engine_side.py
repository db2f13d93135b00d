"""The real assistant and token measure: the editor's own engine.

One Engine serves every round of a document in turn, so llama.cpp's prefix cache holds the
document's prompt and each round only prefills what was appended since the last one.
"""

from __future__ import annotations

import math

from pairterm.engine import Engine

# Enough characters for K_H tokens of ordinary code; tokenizing the whole rest of a long
# document every round would make the replay cost grow with document length.
_HEAD_CHARS_PER_TOKEN = 24


class EngineAssistant:
    """Proposes what the editor would show for a cursor at the end of the text."""

    def __init__(self, engine: Engine, eta: float | None = None, max_tokens: int | None = None):
        self.engine = engine
        self.eta = eta
        self.max_tokens = max_tokens
        self.latencies_ms: list[float] = []

    def propose(self, before: str) -> str:
        # The simulated human waits for each suggestion: no decode time budget here.
        s = self.engine.suggest(before, "", eta=self.eta, max_tokens=self.max_tokens,
                                max_decode_ms=math.inf)
        self.latencies_ms.append(s.latency_ms)
        return s.text


class EngineTokens:
    """Token counts and K_H-token prefixes with the engine's tokenizer."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _ids(self, text: str) -> list[int]:
        return self.engine.tokenize(text, add_bos=False)

    def count(self, text: str) -> int:
        return len(self._ids(text)) if text else 0

    def head(self, text: str, n: int) -> tuple[str, int]:
        if not text or n <= 0:
            return "", 0
        window = text[: max(64, n * _HEAD_CHARS_PER_TOKEN)]
        ids = self._ids(window)
        if len(ids) <= n and len(window) == len(text):
            return text, len(ids)
        if len(ids) <= n:  # the window ran out first: it is the whole prefix we can vouch for
            return window, len(ids)
        piece = self.engine.detokenize(ids[:n])
        if piece and text.startswith(piece):
            return piece, n
        # Detokenizing may not reproduce the text (e.g. a token splits a character): keep the
        # part that matches, and at least one character so the human always makes progress.
        common = 0
        for a, b in zip(piece, text, strict=False):
            if a != b:
                break
            common += 1
        common = max(common, 1)
        return text[:common], max(1, self.count(text[:common]))
