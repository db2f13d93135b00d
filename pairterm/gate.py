"""The empowerment gate and the suggestion post-filters: pure functions on numbers and strings.

docs/design.md §3: decode greedily, sum each token's surprise −log2 p (from raw logits), and stop
before the token that would make the sum reach η bits. Low-surprise text is boilerplate the
assistant may write; the first high-surprise token is the programmer's decision.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np

from pairterm.pytext import bracket_delta

LN2 = math.log(2.0)
CLOSING = set(")]}>\"'`;:,. \t")
FENCE = "```"


def greedy_token_bits(logits: np.ndarray) -> tuple[int, float]:
    """The argmax token and its surprise in bits under softmax(logits).

    Runs once per decoded token over the whole vocabulary, so it stays in float32 and does one
    pass of exp: −log2 p(argmax) = log2 Σ exp(l − max).
    """
    logits = np.asarray(logits, dtype=np.float32)
    token = int(np.argmax(logits))
    shifted = np.exp(logits - logits[token])
    return token, float(math.log(float(shifted.sum(dtype=np.float64))) / LN2)


def token_bits(logits: np.ndarray, token: int) -> float:
    """Surprise in bits of a given token under softmax(logits)."""
    logits = np.asarray(logits, dtype=np.float32)
    top = float(logits.max())
    log_z = top + math.log(float(np.exp(logits - top).sum(dtype=np.float64)))
    return (log_z - float(logits[token])) / LN2


def heal_consistent(piece: str, remaining: str) -> bool:
    """May a token with text `piece` be written while `remaining` of the person's whitespace is
    still to be reproduced? It must lie within it, or cover it and go on with visible text
    (not with yet more indentation than they typed)."""
    if not piece:
        return False
    if remaining.startswith(piece):
        return True
    if not piece.startswith(remaining):
        return False
    extra = piece[len(remaining) :]
    return not (remaining[-1] in " \t" and extra[:1] in (" ", "\t"))


def within_budget(total_bits: float, next_bits: float, eta: float) -> bool:
    """True if the next token may be added: the running sum must stay strictly below η."""
    return total_bits + next_bits < eta


def gate_length(surprises: Sequence[float], eta: float) -> int:
    """How many leading tokens the gate keeps for a sequence of per-token surprises (bits)."""
    total = 0.0
    for i, bits in enumerate(surprises):
        if not within_budget(total, bits, eta):
            return i
        total += bits
    return len(surprises)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def logical_line_indent(before: str, max_lines: int = 40) -> int | None:
    """Indentation of the logical line the cursor is on: for a continuation line inside open
    brackets, the line where the bracket opened. None when that line is still blank."""
    lines = before.split("\n")[-max_lines:]
    depth = 0
    start = len(lines) - 1
    for index, line in enumerate(lines):
        if depth <= 0:
            depth, start = 0, index
        depth += bracket_delta(line)
    logical = lines[start]
    return _indent(logical) if logical.strip() else None


def structural_cut(
    line_before: str, suggestion: str, base_indent: int | None = None
) -> tuple[int, str] | None:
    """Where a suggestion must end for structural reasons, and which reason, or None.

    `line_before` is the cursor line up to the cursor; `base_indent` the indentation of its
    logical line when known (see logical_line_indent). Stops: a markdown fence, a line indented
    less than that (the block ended), and a blank line after some content (a finished block).
    A line still being decoded is judged only once it has visible text.
    """
    fence = suggestion.find(FENCE)
    cuts: list[tuple[int, str]] = []
    if fence >= 0:
        cuts.append((fence, "fence"))
    combined = line_before + suggestion
    offset = -len(line_before)  # position in `suggestion` of combined[0]
    lines = combined.split("\n")
    first = lines[0]
    if base_indent is None and first.strip():
        base_indent = _indent(first)
    seen_content = bool(first.strip())
    pos = offset + len(first) + 1
    for line in lines[1:]:
        if line.strip():
            if base_indent is None:
                base_indent = _indent(line)
            elif _indent(line) < base_indent:
                cuts.append((max(pos - 1, 0), "indent"))
                break
            seen_content = True
        elif seen_content and pos + len(line) < len(suggestion):
            # An empty line followed by more text: the block before it is finished.
            cuts.append((max(pos - 1, 0), "blank_line"))
            break
        pos += len(line) + 1
    if not cuts:
        return None
    return min(cuts)


def mid_line_allowed(after_line: str) -> bool:
    """Mid-line, propose only when what follows the cursor is nothing or closing punctuation."""
    return all(ch in CLOSING for ch in after_line)


def postfilter(suggestion: str, before: str, after: str) -> tuple[str, str | None]:
    """Clean a raw suggestion for display; returns (text, reason it was emptied or None)."""
    after_line = after.split("\n", 1)[0]
    text = suggestion
    if after_line.strip():
        if not mid_line_allowed(after_line):
            return "", "mid_line"
        text = text.split("\n", 1)[0]
        tail = after_line.strip()
        # The model often re-closes what is already closed after the cursor: don't double it.
        if tail and text.rstrip().endswith(tail):
            text = text.rstrip()[: -len(tail)]
    text = _cut_at_following(text, after).rstrip()
    if not text.strip():
        return "", "empty"
    if _repeats_following(text, after):
        return "", "repeat"
    return text, None


def _cut_at_following(text: str, after: str) -> str:
    """A suggestion of several lines ends before a line that is the next non-empty line after
    the cursor: models that read the suffix (FIM) tend to write the middle and then the suffix
    again, which would leave it twice in the file."""
    next_line = next((ln.strip() for ln in after.split("\n")[1:] if ln.strip()), "")
    if not next_line or "\n" not in text:
        return text
    pos = text.index("\n")
    while pos >= 0:
        end = text.find("\n", pos + 1)
        line = text[pos + 1 : end if end >= 0 else len(text)]
        if line.strip() == next_line and text[:pos].strip():  # all of it a repeat: dropped later
            return text[:pos]
        pos = end
    return text


def _repeats_following(text: str, after: str) -> bool:
    """The suggestion only restates the text right of the cursor or the next non-empty line."""
    stripped = text.strip()
    if not stripped:
        return False
    following = after.lstrip()
    if following and following.startswith(stripped):
        return True
    first_line = next((ln.strip() for ln in text.split("\n") if ln.strip()), "")
    next_line = next((ln.strip() for ln in after.split("\n")[1:] if ln.strip()), "")
    return bool(first_line) and first_line == next_line


_WORD = re.compile(r"\s*(\w+|[^\w\s]+|\s+)")


def next_word(text: str) -> str:
    """The leading part of `text` that Ctrl+Right accepts: whitespace plus one word or symbol run."""
    if not text:
        return ""
    if text[0] == "\n":
        m = re.match(r"\n[ \t]*", text)
        return m.group(0) if m else text[0]
    m = _WORD.match(text)
    return m.group(0) if m else text
