"""What the person did with the suggestions, for the interaction log (`pairterm stats`).

The Empower paper's user study counts accepted suggestions and the characters of accepted text
deleted soon after; this writes those events, keeping each buffer's accepted spans current so
that a deletion can be traced back to the suggestion it removes.
"""

from __future__ import annotations

import time

from pairterm.editor.accepted_spans import AcceptedSpans
from pairterm.editor.ghost_area import GhostTextArea
from pairterm.interaction_log import InteractionLog


class StudyLog:
    def __init__(self, log: InteractionLog) -> None:
        self.log = log

    def edited(self, spans: AcceptedSpans, event: GhostTextArea.Edited, shown_id: int | None) -> None:
        now = time.time()
        hit, hit_id = spans.apply_edit(event.top, event.bottom, event.inserted, event.deleted, now)
        if event.deleted:
            self.log.write("deleted", chars=len(event.deleted), accepted_chars=hit, id=hit_id)
        if event.accepted:
            spans.add(event.top, event.inserted, now, shown_id)
        elif event.inserted:
            self.log.write("typed", chars=len(event.inserted))

    def accepted(self, event: GhostTextArea.Accepted, shown_id: int | None) -> None:
        self.log.write("accepted", id=shown_id, chars=len(event.text), full=event.full)

    def dismissed(self, event: GhostTextArea.Dismissed, shown_id: int | None) -> None:
        if event.had_ghost:
            self.log.write("dismissed", id=shown_id, how=event.how)

    @staticmethod
    def reverted(spans: AcceptedSpans) -> None:
        spans.spans.clear()  # undo moves text in ways the spans cannot follow
