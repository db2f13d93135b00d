"""A TextArea that shows a multi-line suggestion ("ghost text") at the cursor.

Textual's own `suggestion` draws one line at the cursor and nothing below it. We keep the whole
suggestion in `ghost`, let Textual draw its first line through `suggestion`, and draw the
remaining lines ourselves as virtual rows under the cursor, pushing the document down while the
ghost is shown. So a suggestion of several lines is visible in full before it is accepted.

Keys: Tab (or Right) accepts all, Ctrl+Right the next word, Ctrl+Down the next line, Esc
dismisses; typing characters that match the ghost consumes them without asking the model again.
A ghost is only ever accepted as far as it is on screen: when it appears, the view scrolls to
show all of it, and what still does not fit stays a ghost after Tab.
"""

from __future__ import annotations

from rich.segment import Segment
from textual import events
from textual._cells import cell_len
from textual._tree_sitter import get_language
from textual.binding import Binding
from textual.document._document import Location
from textual.document._document_navigator import DocumentNavigator
from textual.events import MouseEvent
from textual.geometry import Offset, Size
from textual.message import Message
from textual.reactive import reactive
from textual.strip import Strip
from textual.widgets import TextArea
from textual.widgets.text_area import Edit, EditResult
from tree_sitter import Query

from pairterm.editor.commands import COMMAND_BINDINGS, EditorCommands
from pairterm.editor.indent import next_indent
from pairterm.editor.unwrapped import CachedDocument, CachedSyntaxDocument, UnwrappedDocument
from pairterm.words import next_word

# One compiled highlight query per language for the life of the process, never freed:
# tree-sitter 0.26.1 frees the JavaScript and JSON queries twice (a segfault whenever a text area
# replaced or dropped one), and 0.25 crashes when a parse is cut short, which the syntax guard
# relies on. Compiling each once is also cheaper than once per opened file.
_QUERIES: dict[str, Query] = {}


def _highlight_query(language: str, document: CachedSyntaxDocument) -> Query | None:
    if language not in _QUERIES:
        source = TextArea._get_builtin_highlight_query(language)
        if not source:
            return None
        _QUERIES[language] = document.prepare_query(source)
    return _QUERIES[language]


def next_line(ghost: str) -> str:
    """The ghost up to the end of its first line with text (a ghost often starts with "\n")."""
    end = ghost.find("\n")
    while end != -1 and not ghost[:end].strip():
        end = ghost.find("\n", end + 1)
    return ghost if end == -1 else ghost[:end]


class GhostTextArea(EditorCommands, TextArea):
    BINDINGS = [
        Binding("ctrl+home", "document_start", "Start of file", show=False),
        Binding("ctrl+end", "document_end", "End of file", show=False),
        Binding("right", "cursor_right", "Cursor right; with a suggestion, accept all of it"),
        Binding("ctrl+right", "cursor_word_right",
                "Cursor word right; with a suggestion, accept one word"),
        Binding("ctrl+down", "accept_line", "Accept one line of the suggestion"),
        Binding("ctrl+z,super+z", "undo", "Undo (an accepted suggestion is one step)"),
        Binding("ctrl+shift+z", "redo", "Redo"),
        *COMMAND_BINDINGS,
    ]
    # Keys its _on_key handles before any binding could (listed by F1 and the README).
    OTHER_KEYS = (
        ("tab", "Accept the whole suggestion; without one, indent"),
        ("escape", "Dismiss the suggestion; none until the next edit"),
        ("enter", "New line, auto-indented"),
    )
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
        # TextArea would build Textual's documents, whose tables cost O(lines) per edit. It
        # still resolves the language and highlight query, on an empty text (cheap); the text
        # itself goes into the O(1) views, built here rather than by swapping the names
        # TextArea looks up in its module (which changed them for every TextArea at once).
        self._widest = None
        # Plain, so that Textual compiles no highlight query of its own (see _QUERIES).
        super()._set_document("", None)
        self._widest = None  # measured again for the real text (the empty one measured 0)
        grammar = get_language(language) if language else None
        document: CachedDocument | CachedSyntaxDocument
        if grammar is not None:
            document = CachedSyntaxDocument(text, grammar)
            self._highlight_query = _highlight_query(language or "", document)
        else:
            document = CachedDocument(text)
        self.document = document
        self.wrapped_document = UnwrappedDocument(document, tab_width=self.indent_width)
        self.navigator = DocumentNavigator(self.wrapped_document)
        self._build_highlight_map()
        self.move_cursor((0, 0))
        self._rewrap_and_refresh_virtual_size()

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
        # The ghost's further lines are rows too: the view can scroll to show the last of them.
        height = self.document.line_count + len(self._extra_rows())
        self.virtual_size = Size(widest + self.gutter_width + 1, height)
        self._refresh_scrollbars()

    # -- state ---------------------------------------------------------------------------------
    def watch_ghost(self, ghost: str) -> None:
        self.ghost_anchor = self.cursor_location if ghost else None
        self.suggestion = ghost.split("\n", 1)[0]
        if self._widest is not None:
            self._refresh_size()  # or the part of the ghost past the widest line is cut off
            self._reveal_ghost()
        self.refresh()

    def _reveal_ghost(self) -> None:
        """Scroll so that the ghost's last line is on screen (the cursor line stays on it)."""
        extra = len(self._extra_rows())
        height = self.scrollable_content_region.height
        row = self._cursor_row_on_screen()
        overflow = row + extra - (height - 1)
        if extra and height > 0 and overflow > 0 and row > 0:
            self.scroll_to(y=self.scroll_offset.y + min(overflow, row), animate=False,
                           immediate=True)

    def _visible_ghost(self) -> str:
        """The part of the ghost that is on screen: all that Tab may insert."""
        lines = self.ghost.split("\n")
        room = self.scrollable_content_region.height - 1 - self._cursor_row_on_screen()
        if room < 0 or room >= len(lines) - 1:
            return self.ghost
        return "\n".join(lines[: room + 1])

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
        row, col = self.selection.start
        unit = "\t" if self.indent_type == "tabs" else " " * self.indent_width
        return next_indent(self.document[row][:col], unit, python=self.language == "python")

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

    def action_accept_line(self) -> None:
        if self.ghost:
            self.accept_text(next_line(self.ghost))
        else:
            self.action_cursor_down()

    def accept(self, full: bool) -> None:
        self.accept_text(self._visible_ghost() if full else next_word(self.ghost))

    def accept_text(self, text: str) -> None:
        """Insert `text`, the start of the ghost, as one undo step of its own."""
        if not text or not self.ghost.startswith(text):
            return
        self.post_message(self.Accepted(text, full=text == self.ghost))
        self._accepting = True
        self.history.checkpoint()
        try:
            self.insert(text)
        finally:
            self._accepting = False
            self.history.checkpoint()

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
