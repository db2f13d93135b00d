"""The assistance environment (the Empower paper §3/§5.2) and the replay human.

Each round the assistant proposes a completion of the document (or nothing); the human accepts,
rejects or finishes; then, unless done, the human appends its own next K_H tokens. At most
`max_rounds` rounds. The loop only counts; who the human is (a replay of real text or a language
model) and who the assistant is (the engine, or a script in tests) are plugged in.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

from pairterm.evaluation.corpus import Document
from pairterm.evaluation.metrics import DocumentResult


class Assistant(Protocol):
    def propose(self, before: str) -> str:
        """Ghost text for a cursor at the end of `before` ('' for nothing)."""
        ...


class Tokens(Protocol):
    """The token measure used for K_H and for tokens read/written (the engine's tokenizer)."""

    def count(self, text: str) -> int: ...

    def head(self, text: str, n: int) -> tuple[str, int]:
        """The prefix of `text` made of its first `n` tokens, and how many tokens that is."""
        ...


class Human(Protocol):
    def begin(self, doc: Document) -> None: ...

    def finished(self, state: str) -> bool: ...

    def review(self, state: str, suggestion: str) -> tuple[str, str]:
        """('accept' | 'reject' | 'finish', text to insert when accepting)."""
        ...

    def write(self, state: str) -> tuple[str, int, bool]:
        """(text typed, tokens typed, whether the human considers the program finished)."""
        ...

    def correct(self, state: str) -> bool: ...


@dataclass(frozen=True)
class Rules:
    human_tokens: int = 10  # K_H
    max_rounds: int = 50
    lenient_whitespace: bool = False


def _strip_line_ends(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.split("\n")).rstrip()


def match_length(suggestion: str, remaining: str, lenient: bool = False) -> int | None:
    """How many characters of `remaining` the suggestion stands for, or None if it is not
    exactly the next text. Lenient: trailing whitespace of each line (and of the whole
    suggestion) does not count."""
    if not lenient:
        return len(suggestion) if suggestion and remaining.startswith(suggestion) else None
    lines = suggestion.rstrip().split("\n")
    if not lines[-1]:
        return None
    pos = 0
    for line in lines[:-1]:
        newline = remaining.find("\n", pos)
        if newline == -1 or remaining[pos:newline].rstrip() != line.rstrip():
            return None
        pos = newline + 1
    last = lines[-1]
    return pos + len(last) if remaining.startswith(last, pos) else None


class ReplayHuman:
    """Writes a known text: accepts a suggestion iff it is the next characters of that text,
    and otherwise types the text's next K_H tokens."""

    def __init__(self, tokens: Tokens, rules: Rules) -> None:
        self.tokens = tokens
        self.rules = rules
        self.full = ""

    def begin(self, doc: Document) -> None:
        self.full = doc.start + doc.target

    def _remaining(self, state: str) -> str:
        # The replay human only ever appends pieces of its own text, so `state` is a prefix.
        return self.full[len(state) :]

    def finished(self, state: str) -> bool:
        rest = self._remaining(state)
        return not (rest.strip() if self.rules.lenient_whitespace else rest)

    def review(self, state: str, suggestion: str) -> tuple[str, str]:
        rest = self._remaining(state)
        n = match_length(suggestion, rest, self.rules.lenient_whitespace)
        # Leniently accepted text is inserted as the human would have written it.
        return ("accept", rest[:n]) if n else ("reject", "")

    def write(self, state: str) -> tuple[str, int, bool]:
        text, n = self.tokens.head(self._remaining(state), self.rules.human_tokens)
        return text, n, False

    def correct(self, state: str) -> bool:
        if self.rules.lenient_whitespace:
            return _strip_line_ends(state) == _strip_line_ends(self.full)
        return state == self.full


def run_session(
    doc: Document, assistant: Assistant, human: Human, tokens: Tokens, rules: Rules
) -> tuple[DocumentResult, str]:
    """Play one document to its end; returns the counters and the final text."""
    start = time.perf_counter()
    result = DocumentResult(doc_id=doc.doc_id)
    human.begin(doc)
    state = doc.start
    end = ""
    while not end:
        if human.finished(state):
            end = "complete"
            break
        if result.rounds >= rules.max_rounds:
            end = "round_cap"
            break
        result.rounds += 1
        suggestion = assistant.propose(state)
        if suggestion.strip():  # whitespace alone is never shown, as in the editor
            result.proposed += 1
            result.tokens_read += tokens.count(suggestion)
            result.suggestion_chars += len(suggestion)
            action, insert = human.review(state, suggestion)
            if action == "finish":
                end = "finish"
                break
            if action == "accept":
                result.accepted += 1
                result.chars_accepted += len(insert)
                state += insert
                if human.finished(state):
                    end = "complete"
                    break
        typed, n_tokens, done = human.write(state)
        result.tokens_written += n_tokens
        result.chars_typed += len(typed)
        state += typed
        if done:
            end = "finish"
    result.end = end
    result.correct = human.correct(state)
    result.seconds = time.perf_counter() - start
    return result, state
