"""The one auto-indent rule, used by the editor's Enter and by the REPL's.

Enter keeps the line's indentation; in Python it adds one level after a block opener (`:`) or
an unclosed bracket, and takes one away after a statement that ends its block (`return`,
`pass`, `raise`, `break`, `continue`), as Python-aware editors do. Plain functions on text, so
both front ends give the same answer for the same line.
"""

from __future__ import annotations

import re

from pairterm.pytext import bracket_delta, code_part

_ENDS_BLOCK = re.compile(r"(return|pass|raise|break|continue)\b")


def leading_whitespace(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def next_indent(line: str, unit: str = "    ", python: bool = True) -> str:
    """The indentation for the line after `line` (the text before the cursor when Enter is
    pressed). `unit` is one level: four spaces, or a tab."""
    lead = leading_whitespace(line)
    if not python:
        return lead
    code = code_part(line).strip()
    if code.endswith(":") or bracket_delta(line) > 0:
        return lead + unit
    if _ENDS_BLOCK.match(code):
        return dedent(lead, unit)
    return lead


def dedent(lead: str, unit: str) -> str:
    """`lead` one level shallower: one tab, or back to the previous multiple of the unit."""
    if lead.endswith("\t"):
        return lead[:-1]
    spaces = len(lead) - len(lead.rstrip(" "))
    if not spaces:
        return lead
    step = len(unit) if unit and not unit.strip(" ") else 4
    keep = ((spaces - 1) // step) * step
    return lead[: len(lead) - spaces + keep]


def dedent_width(line_before_cursor: str, width: int = 4) -> int:
    """How many spaces Backspace removes at the start of a line: back to the previous stop."""
    if not line_before_cursor or line_before_cursor.strip(" "):
        return 0
    n = len(line_before_cursor)
    return n - ((n - 1) // width) * width
