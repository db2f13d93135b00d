"""Where accepted suggestion text sits in the document, so that deleting it can be counted.

The Empower paper's user study measured characters of accepted text that the person deleted
soon afterwards. Spans are kept as (row, column) locations and moved along with every edit,
which costs O(spans) per edit instead of an O(document) index computation.
"""

from __future__ import annotations

from dataclasses import dataclass

Location = tuple[int, int]


def end_of_insert(top: Location, text: str) -> Location:
    """The location just after `text` inserted at `top`."""
    newlines = text.count("\n")
    if not newlines:
        return (top[0], top[1] + len(text))
    return (top[0] + newlines, len(text) - text.rfind("\n") - 1)


def move_point(p: Location, top: Location, bottom: Location, inserted: str) -> Location:
    """Where location `p` ends up after [top, bottom) is replaced by `inserted`."""
    if p <= top:
        return p
    new_end = end_of_insert(top, inserted)
    if p < bottom:
        return new_end  # inside the replaced text: collapse to the end of the insertion
    if p[0] == bottom[0]:
        return (new_end[0], new_end[1] + p[1] - bottom[1])
    return (p[0] + new_end[0] - bottom[0], p[1])


@dataclass
class Span:
    start: Location
    end: Location
    when: float
    suggestion_id: int | None


class AcceptedSpans:
    def __init__(self, keep_seconds: float) -> None:
        self.keep_seconds = keep_seconds
        self.spans: list[Span] = []

    def add(self, top: Location, text: str, when: float, suggestion_id: int | None) -> None:
        self.spans.append(Span(top, end_of_insert(top, text), when, suggestion_id))

    def apply_edit(
        self, top: Location, bottom: Location, inserted: str, deleted: str, now: float
    ) -> tuple[int, int | None]:
        """Move spans for an edit; return (deleted characters that were recently accepted text,
        the suggestion id they came from)."""
        self.spans = [s for s in self.spans if now - s.when <= self.keep_seconds]
        hit, hit_id = 0, None
        if deleted:
            for span in self.spans:
                n = _overlap(top, deleted, span)
                if n:
                    hit += n
                    hit_id = span.suggestion_id
        moved = []
        for span in self.spans:
            start = move_point(span.start, top, bottom, inserted)
            end = move_point(span.end, top, bottom, inserted)
            if start < end:
                moved.append(Span(start, end, span.when, span.suggestion_id))
        self.spans = moved
        return hit, hit_id


def _overlap(top: Location, deleted: str, span: Span) -> int:
    """How many characters of `deleted` (which started at `top`) lay inside `span`."""
    row, col = top
    count = 0
    for ch in deleted:
        if span.start <= (row, col) < span.end:
            count += 1
        if ch == "\n":
            row, col = row + 1, 0
        else:
            col += 1
    return count
