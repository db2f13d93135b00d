"""When an input is finished, and how the next line is indented (the editor's rule)."""

from __future__ import annotations

import codeop

from pairterm.editor.indent import dedent_width, next_indent

INDENT = 4
__all__ = ["INDENT", "dedent_width", "is_complete", "next_indent"]


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
