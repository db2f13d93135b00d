"""What the model reads: the prompt laid out so that llama.cpp's prefix cache survives typing.

Two layouts. A model without fill-in-the-middle tokens sees the text before the cursor (a window
whose start moves in coarse steps). A model with them sees, in this order:

    [project files]  <fim_prefix> PREFIX <fim_suffix> SUFFIX <fim_middle> MIDDLE

PREFIX is the text before the last few lines, SUFFIX the text after the cursor line, MIDDLE the
last few lines up to the cursor. What a keystroke changes is in MIDDLE, at the very end, so each
keystroke re-evaluates a handful of tokens; PREFIX and SUFFIX move only when the cursor crosses a
block of `MIDDLE_BLOCK` lines, and the project files only when the project changes. (llama.vim
does the same with the cursor line alone after the FIM-middle token; a block of lines makes the
costly re-evaluation of SUFFIX happen once per block instead of once per Enter.)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pairterm.project_context import ContextFile

MIDDLE_BLOCK = 8  # lines; PREFIX ends on a multiple of this, counted from the window's start
MAX_MIDDLE_LINES = 64  # a kept split is given up when MIDDLE grows past this
SUFFIX_CHARS = 600  # after the cursor line; the nearest code matters most, and it costs prefill
PROJECT_NAME = "project"


@dataclass(frozen=True)
class FimTokens:
    """The special tokens of a model trained for fill-in-the-middle (ids in its vocabulary).
    `rep` and `sep` (repository name, file separator) exist only in models trained on
    repository-level data, such as Qwen2.5-Coder; without `sep` no project files are shown."""

    pre: int
    suf: int
    mid: int
    pad: int | None = None
    rep: int | None = None
    sep: int | None = None

    def stops(self) -> frozenset[int]:
        """Tokens that end a suggestion: any of these means the model has left the middle."""
        ids = (self.pre, self.suf, self.mid, self.pad, self.rep, self.sep)
        return frozenset(t for t in ids if t is not None)


def prompt_window(before: str, window_chars: int, step: int) -> str:
    """The tail of `before` the model sees: at most `window_chars`, starting at a multiple of
    `step` (then at the next line start), so the start stays put while the user types on."""
    n = len(before)
    if n <= window_chars:
        return before
    step = max(1, min(step, window_chars))
    start = ((n - window_chars) // step + 1) * step
    newline = before.find("\n", start, n - 1)
    if newline != -1:
        start = newline + 1
    return before[start:]


def split_heal(before: str) -> tuple[str, str]:
    """Split off trailing whitespace the model must reproduce rather than continue from.

    A prompt ending in spaces, or on a blank or indentation-only line, sits at an unnatural
    token boundary: models then add a second space or re-indent. So the prompt ends before
    that whitespace (and before the newline of an indentation-only line), the decode must
    first write exactly it, and only what comes after is suggested.
    """
    line = before.rsplit("\n", 1)[-1]
    stripped = before.rstrip() if not line.strip() else before.rstrip(" \t")
    if not stripped.strip():
        return before, ""
    return stripped, before[len(stripped):]


def fim_split(
    window: str, after: str, keep: tuple[str, str] | None = None
) -> tuple[str, str, str]:
    """(PREFIX, SUFFIX, MIDDLE) for a window of text before the cursor and the text after it.

    SUFFIX starts at the line after the cursor's (the rest of the cursor line is what the
    suggestion may complete) and is cut at a line end. MIDDLE starts at a line whose number
    (within the window) is a multiple of MIDDLE_BLOCK. `keep` is the (PREFIX, SUFFIX) of the last
    prompt: while the person types on below it (the window still starts with that PREFIX, the
    SUFFIX is the same, MIDDLE stays under MAX_MIDDLE_LINES lines), it is kept, so that typing
    line after line never makes llama.cpp evaluate SUFFIX again.
    """
    starts = [0]
    starts.extend(i + 1 for i, ch in enumerate(window) if ch == "\n")
    cursor_line = len(starts) - 1
    middle_at = starts[(cursor_line // MIDDLE_BLOCK) * MIDDLE_BLOCK]
    newline = after.find("\n")
    suffix = after[newline + 1 :] if newline >= 0 else ""
    if len(suffix) > SUFFIX_CHARS:
        cut = suffix.rfind("\n", 0, SUFFIX_CHARS)
        suffix = suffix[: cut + 1] if cut > 0 else suffix[:SUFFIX_CHARS]
    if keep is not None:
        kept_prefix, kept_suffix = keep
        middle = window[len(kept_prefix) :]
        if (kept_suffix == suffix and window.startswith(kept_prefix) and len(kept_prefix) <= middle_at
                and middle.count("\n") < MAX_MIDDLE_LINES):
            return kept_prefix, suffix, middle
    return window[:middle_at], suffix, window[middle_at:]


Tokenize = Callable[[str], list[int]]


def project_tokens(
    tokenize: Tokenize, fim: FimTokens, files: Sequence[ContextFile], path: str | None, budget: int
) -> list[int]:
    """The repository preamble: files in the model's own format, within `budget` tokens, ending
    with the separator that names the file being edited. Empty without a file-separator token.

    The budget goes first to each file's lead (what the edited file uses of it),
    in the order given, then to the rest of each file in that order; a part that does not fit
    whole is cut at a line end. So a file that imports from many others sees what it takes from
    each of them, not the whole outline of the first."""
    if fim.sep is None or budget <= 0:
        return []
    head = ([fim.rep] + tokenize(PROJECT_NAME + "\n")) if fim.rep is not None else []
    current = [fim.sep] + tokenize((path or "untitled") + "\n")
    room = budget - len(head) - len(current)
    bodies: list[list[int]] = [[] for _ in files]
    headers: list[list[int] | None] = [None for _ in files]
    parts = [(i, item.text[: item.lead]) for i, item in enumerate(files) if item.lead > 0]
    parts += [(i, item.text[item.lead :]) for i, item in enumerate(files)]
    for i, text in parts:
        if room <= 0:
            break
        if not text.strip():
            continue
        header = headers[i] or [fim.sep] + tokenize(files[i].path + "\n")
        cost = 0 if headers[i] else len(header)
        body = tokenize(text.rstrip("\n") + "\n")
        if cost + len(body) > room:
            body = _cut_to_lines(tokenize, text, room - cost)
            if not body:
                continue
        headers[i] = header
        bodies[i] += body
        room -= cost + len(body)
    out = list(head)
    for header, body in zip(headers, bodies, strict=True):
        if header is not None:
            out += header + body
    return out + current if len(out) > len(head) else []


def _cut_to_lines(tokenize: Tokenize, text: str, room: int) -> list[int]:
    """The tokens of the longest run of whole leading lines of `text` that fits in `room`."""
    if room <= 0:
        return []
    lines = text.splitlines(keepends=True)
    low, high = 0, len(lines)
    best: list[int] = []
    while low < high:  # tokens grow with lines, so a binary search finds the longest fit
        mid = (low + high + 1) // 2
        tokens = tokenize("".join(lines[:mid]))
        if len(tokens) <= room:
            best, low = tokens, mid
        else:
            high = mid - 1
    return best


def fim_tokens(
    tokenize: Tokenize,
    fim: FimTokens,
    split: tuple[str, str, str],
    preamble: list[int],
    room: int,
) -> list[int]:
    """The whole FIM prompt for a (PREFIX, SUFFIX, MIDDLE) split in token ids, at most `room`
    long. When it does not fit, the project files go first, then the start of PREFIX (rare:
    the window is sized to fit)."""
    prefix, suffix, middle = split
    pre = tokenize(prefix)
    tail = [fim.suf] + tokenize(suffix) + [fim.mid] + tokenize(middle)
    if len(preamble) + 1 + len(pre) + len(tail) > room:
        preamble = []
    if 1 + len(pre) + len(tail) > room:
        pre = pre[len(pre) + len(tail) + 1 - room :] if room > len(tail) + 1 else []
    if len(tail) + 1 > room:
        tail = tail[len(tail) + 1 - room :]
    return preamble + [fim.pre] + pre + tail
