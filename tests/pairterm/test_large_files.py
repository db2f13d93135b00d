"""Large files: the editor's own line view must agree with Textual's, and big files edit."""

from __future__ import annotations

from pathlib import Path

from textual.document._document import Document
from textual.document._wrapped_document import WrappedDocument
from textual.geometry import Offset

from pairterm.editor.unwrapped import CachedDocument, UnwrappedDocument

from .editor_support import ScriptedEngine, make_app

TEXT = "def f():\n\treturn 1\n\n  x\t= [1,\t2]  # é 漢字\n\n"


def test_unwrapped_view_answers_like_textuals_at_width_zero() -> None:
    document = Document(TEXT)
    ours, theirs = UnwrappedDocument(document, tab_width=4), WrappedDocument(document, tab_width=4)
    assert ours.height == theirs.height
    assert ours.lines == theirs.lines
    for row in range(document.line_count):
        assert ours.get_offsets(row) == theirs.get_offsets(row)
        assert ours.get_sections(row) == theirs.get_sections(row)
        assert ours.get_tab_widths(row) == theirs.get_tab_widths(row)
        assert ours._offset_to_line_info[row] == theirs._offset_to_line_info[row]
        for col in range(len(document[row]) + 1):
            assert ours.location_to_offset((row, col)) == theirs.location_to_offset((row, col))
        for x in range(0, 30):
            assert ours.offset_to_location(Offset(x, row)) == theirs.offset_to_location(Offset(x, row))


def test_cached_text_follows_every_edit() -> None:
    document = CachedDocument("a\nb\n")
    assert document.text == "a\nb\n"
    document.replace_range((1, 0), (1, 1), "XY\nZ")
    assert document.text == "a\nXY\nZ\n"


async def test_a_large_file_opens_edits_and_saves_byte_for_byte(tmp_path: Path) -> None:
    line = "    value = compute(index, 'some text to make the line long enough')  # comment\n"
    text = line * 60_000  # about 5 MB
    app, path = make_app(tmp_path, text, ScriptedEngine(lambda b, a: ""), name="big.py")
    async with app.run_test() as pilot:
        assert app.editor.language is None  # highlighting is off for files this large
        assert app.editor.document.line_count == 60_001
        await pilot.press("ctrl+end", "x", "up", "end", "y", "ctrl+home", "z", "ctrl+s")
        await pilot.pause(0.1)
    expected = "z" + text[:-1] + "y\nx"
    assert path.read_text() == expected
