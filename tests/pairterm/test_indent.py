"""One auto-indent rule for the editor and the REPL, on fixed inputs and through the editor."""

from __future__ import annotations

from pathlib import Path

import pytest
import textual.widgets._text_area as text_area_module

from pairterm.editor.indent import dedent, next_indent
from pairterm.repl import _input

from .editor_support import ScriptedEngine, make_app
from .test_editor import type_text

CASES = [
    ("def f(x):", "    "),
    ("    if x:  # a comment", "        "),
    ("    total = compute(a,", "        "),
    ("        return x", "    "),
    ("        return(x)", "    "),
    ("    pass", ""),
    ("    raise ValueError('no')", ""),
    ("        break", "    "),
    ("        continue  # next", "    "),
    ("    return_value = 3", "    "),  # a name that starts like a keyword is not one
    ("    passes = 2", "    "),
    ("    raise ValueError(", "        "),  # an open bracket wins
    ("    x = 1", "    "),
    ("s = 'a:'", ""),
    ("x = 1  # not a block:", ""),
    ("return", ""),
    ("\t\treturn x", "\t"),
]


@pytest.mark.parametrize(("line", "indent"), CASES)
def test_the_rule_on_fixed_lines(line: str, indent: str) -> None:
    unit = "\t" if line.startswith("\t") else "    "
    assert next_indent(line, unit) == indent


def test_the_repl_uses_the_same_rule() -> None:
    assert _input.next_indent is next_indent
    for line, indent in CASES:
        if not line.startswith("\t"):
            assert _input.next_indent(line) == indent


def test_other_languages_keep_the_indentation_only() -> None:
    assert next_indent("    if (x) {", python=False) == "    "
    assert next_indent("\treturn;", "\t", python=False) == "\t"
    assert dedent("      ", "    ") == "    "  # back to the previous stop


async def test_enter_in_the_editor_dedents_after_return_and_indents_after_a_block(
    tmp_path: Path,
) -> None:
    app, _ = make_app(tmp_path, "", ScriptedEngine(lambda b, a: ""))
    async with app.run_test() as pilot:
        await type_text(pilot, "def f(x):\nif x:\nreturn 1\ny = 2")
        assert app.editor.text == "def f(x):\n    if x:\n        return 1\n    y = 2"


async def test_the_editor_leaves_textuals_module_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The editor's O(1) document views are its own: while a file loads, the names Textual's
    TextArea builds documents from stay Textual's, so no other TextArea can get ours."""
    originals = (text_area_module.Document, text_area_module.WrappedDocument,
                 text_area_module.SyntaxAwareDocument)
    seen: list[tuple[type, ...]] = []
    navigator = text_area_module.DocumentNavigator

    def spy(wrapped):  # type: ignore[no-untyped-def]
        seen.append((text_area_module.Document, text_area_module.WrappedDocument,
                     text_area_module.SyntaxAwareDocument))
        return navigator(wrapped)

    monkeypatch.setattr(text_area_module, "DocumentNavigator", spy)
    app, _ = make_app(tmp_path, "x = 1\n", ScriptedEngine(lambda b, a: ""))
    async with app.run_test() as pilot:
        area = app.editor
        area.load_text("y = 2\n")
        assert type(area.document).__name__ == "CachedSyntaxDocument"
        assert type(area.wrapped_document).__name__ == "UnwrappedDocument"
        await pilot.press("z")
        assert area.text == "zy = 2\n"
    assert seen and all(names == originals for names in seen)


async def test_a_file_opens_with_every_line_drawn_in_full(tmp_path: Path) -> None:
    """The document views are built for the real text, and measured for it (a view measured
    on an empty text cut every line to a few cells until the first edit)."""
    text = "total = compute(values, weights)\nprint(total)\n"
    app, _ = make_app(tmp_path, text, ScriptedEngine(lambda b, a: ""))
    async with app.run_test(size=(80, 10)) as pilot:
        await pilot.pause()
        area = app.editor
        lines = [area.render_line(y).text for y in range(2)]
        assert "total = compute(values, weights)" in lines[0]
        assert "print(total)" in lines[1]
