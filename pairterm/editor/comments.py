"""Toggling line comments: the marker of each language, and the rule that adds or removes it.

The rule is the common editors' one: if every non-blank line is already commented, remove one
marker (and the space after it) from each; otherwise add the marker at the smallest indentation
among them, so that a commented block stays aligned. Blank lines are left alone.
"""

from __future__ import annotations

from collections.abc import Sequence

from pairterm.editor.indent import leading_whitespace

# Keyed by the names pairterm.syntax_guard.LANGUAGES gives a file's suffix.
LINE_COMMENT: dict[str, str] = {
    "python": "#", "bash": "#", "toml": "#", "yaml": "#",
    "javascript": "//", "typescript": "//", "rust": "//", "go": "//", "java": "//",
    "c": "//", "cpp": "//", "css": "", "json": "", "markdown": "", "html": "", "xml": "",
    "sql": "--",
}


def marker_for(language: str | None) -> str | None:
    """The line-comment marker, or None where the language has none (or is unknown)."""
    return LINE_COMMENT.get(language or "") or None


def _is_commented(line: str, marker: str) -> bool:
    return line.lstrip(" \t").startswith(marker)


def toggle(lines: Sequence[str], marker: str) -> tuple[list[str], list[tuple[int, int]]]:
    """The lines with their comment toggled, and for each line (column, change in length) at
    which its text moved, so that a cursor or selection can follow."""
    content = [line for line in lines if line.strip()]
    if not content:
        return list(lines), [(0, 0)] * len(lines)
    if all(_is_commented(line, marker) for line in content):
        out: list[str] = []
        moves: list[tuple[int, int]] = []
        for line in lines:
            if not line.strip():
                out.append(line)
                moves.append((0, 0))
                continue
            at = len(leading_whitespace(line))
            cut = len(marker) + (1 if line[at + len(marker) : at + len(marker) + 1] == " " else 0)
            out.append(line[:at] + line[at + cut :])
            moves.append((at, -cut))
        return out, moves
    column = min(len(leading_whitespace(line)) for line in content)
    added = marker + " "
    out = [line[:column] + added + line[column:] if line.strip() else line for line in lines]
    moves = [(column, len(added)) if line.strip() else (0, 0) for line in lines]
    return out, moves


def moved(location: tuple[int, int], first_row: int,
          moves: Sequence[tuple[int, int]]) -> tuple[int, int]:
    """Where `location` is after the toggle that made `moves` (for rows from `first_row`)."""
    row, col = location
    index = row - first_row
    if not 0 <= index < len(moves):
        return location
    at, delta = moves[index]
    if col < at:
        return location
    return row, max(at, col + delta)
