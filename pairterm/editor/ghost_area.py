"""A TextArea that shows a multi-line suggestion ("ghost text") at the cursor.

Textual's own `suggestion` draws one line at the cursor and nothing below it. We keep the whole
suggestion in `ghost`, let Textual draw its first line through `suggestion`, and draw the
remaining lines ourselves as virtual rows under the cursor, pushing the document down while the
ghost is shown. So a suggestion of several lines is visible in full before it is accepted.

Keys: Tab (or Right) accepts all, Ctrl+Right the next word, Esc dismisses; typing characters
that match the ghost consumes them without asking the model again.
"""

from __future__ import annotations

from rich.segment import Segment
from textual import events
from textual._cells import cell_len
from textual.binding import Binding
from textual.document._document import Location
from textual.events import MouseEvent
from textual.geometry import Offset, Size
from textual.message import Message
from textual.reactive import reactive
from textual.strip import Strip
from textual.widgets import TextArea
from textual.widgets.text_area import Edit, EditResult

from pairterm.editor.unwrapped import CachedDocument, CachedSyntaxDocument, UnwrappedDocument
from pairterm.gate import next_word
from pairterm.pytext import bracket_delta, code_part


class GhostTextArea(TextArea):
    BINDINGS = [
        Binding("ctrl+home", "document_start", "Start of file", show=False),
        Binding("ctrl+end", "document_end", "End of file", show=False),
    ]
    ghost: reactive[str] = reactive("", always_update=True)

    class Accepted(Message):
        def __init__(self, text: str, full: bool) -> None:
            self.text = text
            self.full = full
            super().__init__()

    class Dismissed(Message):
        """The ghost went away unaccepted, or (how="esc") the person asked for quiet."""

        def __init__(self, how: str, had_ghost: bool = True) -> None:
            self.how = how
            self.had_ghost = had_ghost
            super().__init__()

    class Reverted(Message):
        """Undo or redo changed the document (these bypass `edit()`)."""

    class Edited(Message):
        """Any edit through `edit()`: the replaced range, the texts, and where it came from
        (`accepted`: inserted by accepting ghost text; `consumed`: typed text the ghost showed)."""

        def __init__(
            self,
            top: tuple[int, int],
            bottom: tuple[int, int],
            inserted: str,
            deleted: str,
            accepted: bool,
            consumed: bool,
        ) -> None:
            self.top = top
            self.bottom = bottom
            self.inserted = inserted
            self.deleted = deleted
            self.accepted = accepted
            self.consumed = consumed
            super().__init__()

    def __init__(self, text: str = "", **kwargs: object) -> None:
        # TextArea's constructor would build its O(lines) tables for `text`; start empty and
        # load the text through our own _set_document instead.
        super().__init__("", **kwargs)  # type: ignore[arg-type]
        self.consuming = False  # the current edit only takes text the ghost already showed
        # Bumped synchronously by every change, so a result computed for an older document is
        # recognised even before the Changed message reaches the app.
        self.edit_count = 0
        self._accepting = False
        # Where the cursor was when the ghost was last set; a cursor elsewhere means the person
        # moved away. Set synchronously, since selection messages can arrive before ours.
        self.ghost_anchor: tuple[int, int] | None = None
        self._widest: int | None = None  # widest line in cells, kept up to date on edits
        if text:
            self._set_document(text, self.language)

    # -- large documents -----------------------------------------------------------------------
    def _set_document(self, text: str, language: str | None) -> None:
        # Swap in the O(1) line view for the one TextArea would build (O(lines) per edit).
        import textual.widgets._text_area as text_area_module

        swaps = {"WrappedDocument": UnwrappedDocument, "Document": CachedDocument,
                 "SyntaxAwareDocument": CachedSyntaxDocument}
        originals = {name: getattr(text_area_module, name) for name in swaps}
        for name, replacement in swaps.items():
            setattr(text_area_module, name, replacement)
        try:
            self._widest = None
            super()._set_document(text, language)
        finally:
            for name, original in originals.items():
                setattr(text_area_module, name, original)

    def _line_cells(self, row: int) -> int:
        return cell_len(self.document[row].expandtabs(self.indent_width))

    def _refresh_size(self) -> None:
        # TextArea measures every line on every edit; we measure all lines once, then only
        # the lines an edit touched (a shrinking maximum is left as is: a little extra scroll).
        if self._widest is None:
            tab = self.indent_width
            self._widest = max((cell_len(line.expandtabs(tab)) for line in self.document.lines),
                               default=0)
        widest = self._widest
        if self.suggestion:  # the ghost's first line is drawn past the end of the cursor line
            row = self.cursor_location[0]
            widest = max(widest, self._line_cells(row) + cell_len(self.suggestion))
        self.virtual_size = Size(widest + self.gutter_width + 1, self.document.line_count)
        self._refresh_scrollbars()

    # -- state ---------------------------------------------------------------------------------
    def watch_ghost(self, ghost: str) -> None:
        self.ghost_anchor = self.cursor_location if ghost else None
        self.suggestion = ghost.split("\n", 1)[0]
        if self._widest is not None:
            self._refresh_size()  # or the part of the ghost past the widest line is cut off
        self.refresh()

    def clear_ghost(self, how: str | None = None) -> None:
        if self.ghost:
            self.ghost = ""
            if how:
                self.post_message(self.Dismissed(how))

    def _extra_rows(self) -> list[str]:
        if not self.ghost or (self.hide_suggestion_on_blur and not self.has_focus):
            return []
        return self.ghost.split("\n")[1:]

    # -- keys ----------------------------------------------------------------------------------
    async def _on_key(self, event: events.Key) -> None:
        if self.ghost and event.key == "tab":
            event.stop()
            event.prevent_default()
            self.accept(full=True)
            return
        if event.key == "escape":
            event.stop()
            event.prevent_default()
            had_ghost = bool(self.ghost)
            self.ghost = ""
            self.post_message(self.Dismissed("esc", had_ghost))
            return
        if event.key == "enter" and not self.read_only:
            event.stop()
            event.prevent_default()
            self.replace("\n" + self._next_line_indent(), *self.selection)
            return
        # Textual calls TextArea._on_key itself after this (it walks the class hierarchy).

    def _next_line_indent(self) -> str:
        """Enter keeps the line's indentation, one level more after a Python block opener or
        an open bracket."""
        row, col = self.selection.start
        line = self.document[row][:col]
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        if self.language == "python" and (
            code_part(line).rstrip().endswith(":") or bracket_delta(line) > 0
        ):
            indent += "\t" if self.indent_type == "tabs" else " " * self.indent_width
        return indent

    def action_cursor_right(self, select: bool = False) -> None:
        if self.ghost and not select:
            self.accept(full=True)
            return
        self.clear_ghost("moved")
        super().action_cursor_right(select)

    def action_document_start(self) -> None:
        self.move_cursor((0, 0))

    def action_document_end(self) -> None:
        self.move_cursor(self.document.end)

    def action_cursor_word_right(self, select: bool = False) -> None:
        if self.ghost and not select:
            self.accept(full=False)
            return
        super().action_cursor_word_right(select)

    def undo(self) -> None:
        self.clear_ghost("typed")
        super().undo()
        self.edit_count += 1
        self.post_message(self.Reverted())

    def redo(self) -> None:
        self.clear_ghost("typed")
        super().redo()
        self.edit_count += 1
        self.post_message(self.Reverted())

    def accept(self, full: bool) -> None:
        ghost = self.ghost
        text = ghost if full else next_word(ghost)
        if not text:
            return
        self.post_message(self.Accepted(text, full=text == ghost))
        self._accepting = True
        try:
            self.insert(text)
        finally:
            self._accepting = False

    # -- edits ---------------------------------------------------------------------------------
    def edit(self, edit: Edit) -> EditResult:
        ghost = self.ghost
        top, bottom = edit.top, edit.bottom
        deleted = self.document.get_text_range(edit.top, edit.bottom) if edit.top != edit.bottom else ""
        at_cursor = edit.top == edit.bottom == self.cursor_location and self.selection.is_empty
        consumed = bool(ghost) and at_cursor and bool(edit.text) and ghost.startswith(edit.text)
        self.consuming = consumed
        self.edit_count += 1
        result = super().edit(edit)
        if self._widest is not None:
            rows = range(result.end_location[0] - edit.text.count("\n"), result.end_location[0] + 1)
            widest = max(self._line_cells(r) for r in rows)
            if widest > self._widest:
                self._widest = widest
                self._refresh_size()
        if consumed:
            self.ghost = ghost[len(edit.text) :]
        else:
            if ghost:
                self.ghost = ""
                self.post_message(self.Dismissed("typed"))
        self.post_message(
            self.Edited(top, bottom, edit.text, deleted, self._accepting, consumed)
        )
        return result

    # -- drawing -------------------------------------------------------------------------------
    def _cursor_row_on_screen(self) -> int:
        offset = self.wrapped_document.location_to_offset(self.cursor_location)
        return offset.y - self.scroll_offset.y

    def render_line(self, y: int) -> Strip:
        extra = self._extra_rows()
        if not extra:
            return super().render_line(y)
        row = self._cursor_row_on_screen()
        if row < y <= row + len(extra):
            return self._ghost_strip(extra[y - row - 1])
        if y > row + len(extra):
            return super().render_line(y - len(extra))
        return super().render_line(y)

    def get_target_document_location(self, event: MouseEvent) -> Location:
        # Rows below the cursor are pushed down by the ghost's extra lines: undo that shift.
        extra = len(self._extra_rows())
        y = event.y - self.gutter.top
        row = self._cursor_row_on_screen()
        if extra and y > row:
            y -= min(extra, y - row)
        scroll_x, scroll_y = self.scroll_offset
        x = event.x - self.gutter_width + scroll_x - self.gutter.left
        return self.wrapped_document.offset_to_location(Offset(x, y + scroll_y))

    def _ghost_strip(self, text: str) -> Strip:
        width = self.size.width
        gutter = self.gutter_width
        style = self.get_component_rich_style("text-area--suggestion")
        base = self.rich_style
        visible = text.expandtabs(self.indent_width)[self.scroll_offset.x :]
        segments = [Segment(" " * gutter, base), Segment(visible, style)]
        return Strip(segments).extend_cell_length(width, base).crop(0, width)
