"""Line-level reading of Python-like code, shared by the gate and the REPL's auto-indent.

One-line strings and trailing comments are recognised (with backslash escapes); that is enough
for indentation decisions without a parser, which code being typed would not satisfy anyway.
"""

from __future__ import annotations

from collections.abc import Iterator


def _code_chars(line: str) -> Iterator[tuple[int, str, bool]]:
    """(index, character, inside a string) for each character before a trailing `#` comment."""
    quote, escaped = "", False
    for i, ch in enumerate(line):
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                quote = ""
            yield i, ch, True
            continue
        if ch == "#":
            return
        if ch in "'\"":
            quote = ch
            yield i, ch, True
            continue
        yield i, ch, False


def code_part(line: str) -> str:
    """The line without its trailing `#` comment."""
    end = 0
    for i, _, _ in _code_chars(line):
        end = i + 1
    return line[:end]


def bracket_delta(line: str) -> int:
    """Brackets opened minus brackets closed on the line, outside strings and comments."""
    delta = 0
    for _, ch, in_string in _code_chars(line):
        if in_string:
            continue
        if ch in "([{":
            delta += 1
        elif ch in ")]}":
            delta -= 1
    return delta
