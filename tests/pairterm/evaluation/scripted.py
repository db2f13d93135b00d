"""A scripted assistant and a character tokenizer, so session counts can be worked out by hand."""

from __future__ import annotations


class CharTokens:
    """One character = one token: every count in a test can be worked out by hand."""

    def count(self, text: str) -> int:
        return len(text)

    def head(self, text: str, n: int) -> tuple[str, int]:
        piece = text[:n]
        return piece, len(piece)


class ScriptedAssistant:
    """Proposes the given texts in order, one per round, then nothing; records what it saw."""

    def __init__(self, proposals: list[str]) -> None:
        self.proposals = list(proposals)
        self.seen: list[str] = []

    def propose(self, before: str) -> str:
        self.seen.append(before)
        return self.proposals.pop(0) if self.proposals else ""
