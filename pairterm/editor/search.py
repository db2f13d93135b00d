"""Finding and replacing text in a document, line by line: pure functions the find bar calls.

Case is smart, as in vim's `smartcase` and ripgrep's `-S`: a query in lower case matches any
case, a query with a capital letter matches exactly. Matches never span lines (the query is one
line of input), so a search reads only the lines it passes, never a joined copy of the file.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

Location = tuple[int, int]
Match = tuple[Location, Location]


def compile_query(query: str) -> re.Pattern[str] | None:
    if not query:
        return None
    flags = 0 if any(ch.isupper() for ch in query) else re.IGNORECASE
    return re.compile(re.escape(query), flags)


def _spans(line: str, pattern: re.Pattern[str]) -> Iterator[tuple[int, int]]:
    for m in pattern.finditer(line):
        if m.end() > m.start():
            yield m.start(), m.end()


def find_next(lines: Sequence[str], pattern: re.Pattern[str], start: Location) -> Match | None:
    """The first match at or after `start`, wrapping round the end of the document."""
    row, col = start
    count = len(lines)
    for step in range(count + 1):
        r = (row + step) % count
        line = lines[r]
        for a, b in _spans(line, pattern):
            if step == 0 and a < col:
                continue
            if step == count and a >= col:
                break  # back where we began: the part after `col` was searched first
            return (r, a), (r, b)
    return None


def find_previous(lines: Sequence[str], pattern: re.Pattern[str], start: Location) -> Match | None:
    """The last match that begins before `start`, wrapping round the top of the document."""
    row, col = start
    count = len(lines)
    for step in range(count + 1):
        r = (row - step) % count
        spans = list(_spans(lines[r], pattern))
        if step == 0:
            spans = [s for s in spans if s[0] < col]
        elif step == count:
            spans = [s for s in spans if s[0] >= col]
        if spans:
            a, b = spans[-1]
            return (r, a), (r, b)
    return None


def count_matches(lines: Sequence[str], pattern: re.Pattern[str]) -> int:
    return sum(1 for line in lines for _ in _spans(line, pattern))


def replace_all(lines: Sequence[str], pattern: re.Pattern[str],
                replacement: str) -> tuple[int, int, list[str], int] | None:
    """(first row, last row, the new text of those rows, how many replaced), or None when
    nothing matches; one range, so that the replacement is one edit and one undo step."""
    first = last = -1
    total = 0
    new: list[str] = []
    for r, line in enumerate(lines):
        changed, n = pattern.subn(lambda _: replacement, line)
        if n:
            if first < 0:
                first = r
            else:
                new.extend(lines[last + 1 : r])
            new.append(changed)
            last = r
            total += n
    if first < 0:
        return None
    return first, last, new, total
