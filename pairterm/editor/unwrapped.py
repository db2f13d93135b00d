"""A line view for a TextArea that never soft-wraps, costing O(1) per edit instead of O(lines).

Textual's WrappedDocument keeps per-line tables (wrap offsets, tab widths, y offsets) and
rebuilds or shifts them on edits and resizes; with hundreds of thousands of lines that made
every keystroke take seconds. Without wrapping, row y *is* line y, so the tables reduce to
identities that can be answered on demand from the document itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import overload

from textual._cells import cell_len
from textual.document._document import Document, DocumentBase, Location
from textual.document._syntax_aware_document import SyntaxAwareDocument
from textual.document._wrapped_document import WrappedDocument
from textual.expand_tabs import expand_tabs_inline, get_tab_widths
from textual.geometry import Offset


class _RowInfo(Sequence[tuple[int, int]]):
    """y offset → (line index, section 0)."""

    def __init__(self, document: DocumentBase) -> None:
        self._document = document

    def __len__(self) -> int:
        return self._document.line_count

    @overload
    def __getitem__(self, y: int) -> tuple[int, int]: ...
    @overload
    def __getitem__(self, y: slice) -> list[tuple[int, int]]: ...
    def __getitem__(self, y: int | slice) -> tuple[int, int] | list[tuple[int, int]]:
        if isinstance(y, slice):
            return [(i, 0) for i in range(*y.indices(len(self)))]
        if y < 0:
            y += len(self)
        if not 0 <= y < len(self):
            raise IndexError(y)
        return (y, 0)


class UnwrappedDocument(WrappedDocument):
    """WrappedDocument's interface for width 0 only (GhostTextArea never soft-wraps)."""

    def __init__(self, document: DocumentBase, width: int = 0, tab_width: int = 4) -> None:
        self.document = document
        self._width = 0
        self._tab_width = tab_width
        self._offset_to_line_info = _RowInfo(document)  # type: ignore[assignment]

    @property
    def wrapped(self) -> bool:
        return False

    def wrap(self, width: int, tab_width: int | None = None) -> None:
        if width:
            raise ValueError("UnwrappedDocument cannot soft-wrap; use Textual's WrappedDocument")
        if tab_width:
            self._tab_width = tab_width

    def wrap_range(self, start: Location, old_end: Location, new_end: Location) -> None:
        return None

    @property
    def lines(self) -> list[list[str]]:
        return [[line] for line in self.document.lines]

    @property
    def height(self) -> int:
        return self.document.line_count

    def get_offsets(self, line_index: int) -> list[int]:
        if not 0 <= line_index < self.document.line_count:
            raise ValueError(f"line index {line_index} is out of bounds")
        return []

    def get_tab_widths(self, line_index: int) -> list[int]:
        return [width for _, width in get_tab_widths(self.document[line_index], self._tab_width)]

    def get_sections(self, line_index: int) -> list[str]:
        return [self.document[line_index]]

    def location_to_offset(self, location: Location) -> Offset:
        row, column = location
        row = max(0, min(row, self.document.line_count - 1))
        line = self.document[row]
        return Offset(cell_len(expand_tabs_inline(line[:column], self._tab_width)), row)

    def offset_to_location(self, offset: Offset) -> Location:
        x, y = offset
        row = max(0, min(y, self.document.line_count - 1))
        column = self.get_target_document_column(row, max(0, x), 0)
        return row, column


class _CachedText:
    """Document.text joins every line; TextArea asks for it on every rendered row. Keep the
    joined text until the next replace_range, the one method through which documents change."""

    _cached_text: str | None = None

    @property
    def text(self) -> str:
        if self._cached_text is None:
            self._cached_text = super().text  # type: ignore[misc]
        return self._cached_text

    def replace_range(self, start: Location, end: Location, text: str):  # type: ignore[no-untyped-def]
        self._cached_text = None
        return super().replace_range(start, end, text)  # type: ignore[misc]


class CachedDocument(_CachedText, Document):
    pass


class CachedSyntaxDocument(_CachedText, SyntaxAwareDocument):
    pass
