"""Find, replace, go to line and toggle comment, as a person uses them (Pilot), and the search
rules on fixed inputs."""

from __future__ import annotations

from pathlib import Path

import pytest

from pairterm.editor import search
from pairterm.editor.comments import toggle
from pairterm.editor.goto import parse_target

from .editor_support import ScriptedEngine, make_app
from .test_editor import type_text

TEXT = "total = 0\nfor Item in items:\n    total += item\nprint(total)\n"


def quiet(tmp_path: Path, text: str, name: str = "f.py"):  # type: ignore[no-untyped-def]
    return make_app(tmp_path, text, ScriptedEngine(lambda b, a: ""), name=name)


async def test_ctrl_f_finds_as_you_type_and_f3_walks_the_matches_round_the_end(
    tmp_path: Path,
) -> None:
    app, _ = quiet(tmp_path, TEXT)
    async with app.run_test() as pilot:
        await pilot.press("ctrl+f")
        await type_text(pilot, "tot")
        area = app.editor
        assert area.selection == ((0, 0), (0, 3))  # found while typing
        await type_text(pilot, "al")
        assert area.selected_text == "total"
        await pilot.press("enter")
        assert area.selection == ((2, 4), (2, 9))
        await pilot.press("down")
        assert area.selection == ((3, 6), (3, 11))
        await pilot.press("up")
        assert area.selection == ((2, 4), (2, 9))
        await pilot.press("escape")
        assert area.has_focus
        await pilot.press("f3", "f3")
        assert area.selection == ((0, 0), (0, 5))  # wrapped round the end
        await pilot.press("shift+f3")
        assert area.selection == ((3, 6), (3, 11))  # and back round the top


async def test_search_is_smart_about_case(tmp_path: Path) -> None:
    app, _ = quiet(tmp_path, TEXT)
    async with app.run_test() as pilot:
        await pilot.press("ctrl+f")
        await type_text(pilot, "item")
        assert app.editor.selection == ((1, 4), (1, 8))  # "Item": lower case matches any case
        await pilot.press("ctrl+a", "ctrl+k")
        await type_text(pilot, "Item")
        await pilot.press("enter")
        assert app.editor.selection == ((1, 4), (1, 8))  # a capital: exact case only
        await pilot.press("ctrl+a", "ctrl+k")
        await type_text(pilot, "nothing")
        assert "no match" in str(app.screen.query_one("#message").render())


async def test_replace_one_then_all_and_undo_takes_all_back_at_once(tmp_path: Path) -> None:
    app, path = quiet(tmp_path, TEXT)
    async with app.run_test() as pilot:
        await pilot.press("ctrl+h")
        await type_text(pilot, "total")
        await pilot.press("tab")  # to the replacement box
        await type_text(pilot, "sum")
        await pilot.press("enter")
        assert app.editor.text == TEXT.replace("total", "sum", 1)
        assert app.editor.selection == ((2, 4), (2, 9))  # the next one, waiting
        await pilot.press("ctrl+l")
        assert app.editor.text == TEXT.replace("total", "sum")
        await pilot.press("escape", "ctrl+z")
        assert app.editor.text == TEXT.replace("total", "sum", 1)
        await pilot.press("ctrl+r")  # the same bar from the key every terminal sends
        assert app.screen.query_one("#replace")


async def test_ctrl_g_goes_to_a_line_and_column_and_refuses_nonsense(tmp_path: Path) -> None:
    text = "".join(f"line {i}\n" for i in range(1, 101))
    app, _ = quiet(tmp_path, text)
    async with app.run_test(size=(80, 20)) as pilot:
        await pilot.press("ctrl+g")
        await type_text(pilot, "abc")
        await pilot.press("enter")
        assert "not a line number" in str(app.screen.query_one("#message").render())
        await pilot.press("ctrl+a", "ctrl+k")
        await type_text(pilot, "500")
        await pilot.press("enter")
        assert "past the end" in str(app.screen.query_one("#message").render())
        await pilot.press("ctrl+a", "ctrl+k")
        await type_text(pilot, "80:3")
        await pilot.press("enter")
        area = app.editor
        assert area.cursor_location == (79, 2)
        assert area.has_focus
        top = area.scroll_offset.y
        assert top <= 79 < top + area.size.height  # and it is on screen


@pytest.mark.parametrize("key", ["ctrl+underscore", "ctrl+slash"])
async def test_toggle_comment_on_a_selection_and_back(tmp_path: Path, key: str) -> None:
    text = "def f():\n    a = 1\n\n    b = 2\n"
    app, _ = quiet(tmp_path, text)
    async with app.run_test() as pilot:
        await pilot.press("down", "shift+down", "shift+down", "shift+down")
        await pilot.press(key)
        assert app.editor.text == "def f():\n    # a = 1\n\n    # b = 2\n"
        await pilot.press(key)
        assert app.editor.text == text


async def test_toggle_comment_uses_the_languages_marker(tmp_path: Path) -> None:
    app, _ = quiet(tmp_path, "let x = 1;\n", name="f.rs")
    async with app.run_test() as pilot:
        await pilot.press("end", "ctrl+underscore")
        assert app.editor.text == "// let x = 1;\n"
        assert app.editor.cursor_location == (0, 13)  # the cursor stays after the same text
        await pilot.press("ctrl+underscore")
        assert app.editor.text == "let x = 1;\n"
        assert app.editor.cursor_location == (0, 10)


def test_search_rules_on_fixed_inputs() -> None:
    lines = ["ab ab", "xx", "AB"]
    lower = search.compile_query("ab")
    upper = search.compile_query("AB")
    assert lower is not None and upper is not None
    assert search.find_next(lines, lower, (0, 1)) == ((0, 3), (0, 5))
    assert search.find_next(lines, lower, (2, 1)) == ((0, 0), (0, 2))  # wraps
    assert search.find_next(lines, upper, (0, 0)) == ((2, 0), (2, 2))
    assert search.find_previous(lines, lower, (0, 0)) == ((2, 0), (2, 2))  # wraps
    assert search.count_matches(lines, lower) == 3
    assert search.find_next(["x"], lower, (0, 0)) is None
    assert search.compile_query("") is None
    assert search.replace_all(lines, lower, r"\1") == (0, 2, [r"\1 \1", "xx", r"\1"], 3)


def test_goto_parse_and_comment_rules_on_fixed_inputs() -> None:
    assert parse_target("12", 20) == (11, 0)
    assert parse_target(" 3:7 ", 20) == (2, 6)
    assert "not a line number" in str(parse_target("x", 20))
    assert "count from 1" in str(parse_target("0", 20))
    assert "past the end" in str(parse_target("21", 20))
    assert toggle(["  a", "", "    b"], "#")[0] == ["  # a", "", "  #   b"]
    assert toggle(["  # a", "", "  #   b"], "#")[0] == ["  a", "", "    b"]
    assert toggle(["# a", "b"], "#")[0] == ["# # a", "# b"]  # mixed: comment all
