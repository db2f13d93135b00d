"""When an input is finished and how the next line is indented: pure functions on text."""

from __future__ import annotations

import codeop

from pairterm.pytext import bracket_delta, code_part

INDENT = 4
_DEDENT_AFTER = ("return", "pass", "break", "continue", "raise")


def is_complete(text: str) -> bool:
    """True when Enter should run `text` rather than start a new line.

    Like the standard REPL: a block (a line ending in ':' or open brackets, a decorator, an
    unterminated triple-quoted string) continues until an empty line; a simple statement runs at
    once. Input that cannot compile also counts as complete, so that its SyntaxError is shown.
    """
    if not text.strip():
        return True
    lines = text.split("\n")
    if len(lines) > 1 and not lines[-1].strip():
        return True
    try:
        code = codeop.compile_command(text, "<input>", "single")
    except (SyntaxError, OverflowError, ValueError):
        return True
    return code is not None


def next_indent(line: str) -> str:
    """The indentation for the line after `line` (the line the cursor leaves on Enter)."""
    width = len(line) - len(line.lstrip(" "))
    code = code_part(line).rstrip()
    if code.endswith(":") or bracket_delta(line) > 0:
        width += INDENT
    elif code.strip().split(" ", 1)[0] in _DEDENT_AFTER:
        width = max(0, width - INDENT)
    return " " * width


def dedent_width(line_before_cursor: str) -> int:
    """How many spaces Backspace removes at the start of a line: back to the previous stop."""
    if not line_before_cursor or line_before_cursor.strip(" "):
        return 0
    n = len(line_before_cursor)
    return n - ((n - 1) // INDENT) * INDENT
