"""Token healing: the prompt ends before the person's last partial word, and decoding must first
write that text again with whichever tokens the model likes best.

A prompt that ends inside a word (`return frob`) or after an opening quote sits at a token
boundary the model rarely saw in training: it then continues as if the word were complete
(`frob` + `icate_widget` instead of `frob` + `nicate_widget`). Backing up to before the word and
constraining the first tokens to reproduce it lets the model pick `frobnicate` as one token.
"""

from __future__ import annotations

import bisect
import re

import numpy as np

from pairterm.gate import heal_consistent

# The last word, or a short run of punctuation such as an opening quote, with the whitespace
# before it; at most this many characters are rewritten by the model.
_TAIL = re.compile(r"\s*(?:\w{1,32}|[^\w\s]{1,2})$")


def split_tail(typed: str) -> tuple[str, str]:
    """(prompt, heal): `typed` without its last word or punctuation run (and the whitespace
    before it), and that text, which decoding must reproduce. Nothing is split off when the
    prompt would become empty."""
    tail = typed[-80:]  # searching the whole prompt for an anchored pattern costs O(length)
    match = _TAIL.search(tail)
    if match is None:
        return typed, ""
    start = len(typed) - len(tail) + match.start()
    if start == 0:
        return typed, ""
    return typed[:start], typed[start:]


class VocabIndex:
    """Every token's text, indexed to find the tokens that may write the start of a string."""

    def __init__(self, pieces: list[str]) -> None:
        self.pieces = pieces
        self.by_text: dict[str, list[int]] = {}
        for token, piece in enumerate(pieces):
            if piece:
                self.by_text.setdefault(piece, []).append(token)
        self.sorted_texts = sorted(self.by_text)

    def consistent(self, remaining: str) -> np.ndarray:
        """Ids of tokens that may be written while `remaining` is still to be reproduced: those
        whose text is a prefix of it, and those that cover it and go on (see heal_consistent)."""
        ids: list[int] = []
        for end in range(1, len(remaining) + 1):
            ids += self.by_text.get(remaining[:end], [])
        texts = self.sorted_texts
        index = bisect.bisect_right(texts, remaining)
        while index < len(texts) and texts[index].startswith(remaining):
            if heal_consistent(texts[index], remaining):
                ids += self.by_text[texts[index]]
            index += 1
        return np.asarray(ids, dtype=np.int64)
