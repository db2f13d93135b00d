"""Word splitting for accepting a suggestion one word at a time (Ctrl+Right in the editor and
the REPL, and the typing simulation that models them)."""

from __future__ import annotations

import re

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
