"""Layout stops for Python: where a suggestion must end for structural reasons, whatever the gate
says (a markdown fence, the end of the block, a blank line after a finished block). Pure
functions on strings, checked while the engine decodes.
"""

from __future__ import annotations

from pairterm.pytext import bracket_delta

FENCE = "```"


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
