"""The assistant on the person's terms, driven through Pilot: a ghost at the bottom of the view,
undo and redo of an accepted suggestion, accepting one line, and switching suggestions off."""

from __future__ import annotations

from pathlib import Path

from .editor_support import ScriptedEngine, make_app
from .test_editor import screen_lines, type_text, wait_for

GHOST = "\n    return a + b\n\nprint(add(1, 2))"


def propose_after_def(before: str, after: str) -> str:
    return GHOST if before.endswith("def add(a, b):") else ""


async def test_a_ghost_on_the_last_visible_row_scrolls_into_view_in_full(tmp_path: Path) -> None:
    filler = "".join(f"x{i} = {i}\n" for i in range(30))
    app, _ = make_app(tmp_path, filler, ScriptedEngine(propose_after_def))
    async with app.run_test(size=(80, 12)) as pilot:
        await wait_for(pilot, lambda: app.engine is not None)
        await pilot.press("ctrl+end")
        await pilot.pause()
        rows = app.editor.scrollable_content_region.height
        assert app.editor.cursor_location == (30, 0)
        await type_text(pilot, "def add(a, b):")
        await wait_for(pilot, lambda: app.editor.ghost == GHOST)
        await pilot.pause()
        lines = [line.rstrip() for line in screen_lines(app)][:rows]
        # Every line the ghost holds is on screen, the cursor line just above them.
        assert lines[-1].endswith("print(add(1, 2))"), lines
        assert lines[-3].endswith("    return a + b")
        assert lines[-4].endswith("def add(a, b):")
        await pilot.press("tab")
        assert app.editor.text == filler + "def add(a, b):" + GHOST


async def test_tab_inserts_only_the_lines_that_fit_on_screen(tmp_path: Path) -> None:
    tall = "".join(f"\n    step_{i}()" for i in range(12))
    engine = ScriptedEngine(lambda b, a: tall if b.endswith("def run():") else "")
    app, _ = make_app(tmp_path, "", engine)
    async with app.run_test(size=(80, 8)) as pilot:
        await wait_for(pilot, lambda: app.engine is not None)
        await type_text(pilot, "def run():")
        await wait_for(pilot, lambda: app.editor.ghost == tall)
        await pilot.pause()
        shown = [line.strip() for line in screen_lines(app)]
        await pilot.press("tab")
        inserted = app.editor.text.split("\n")[1:]
        assert inserted and len(inserted) < 12
        assert all(line.strip() in shown for line in inserted)  # nothing it did not show
        assert tall.startswith(app.editor.text[len("def run():"):])
        assert app.editor.ghost == tall[len(app.editor.text) - len("def run():"):]


async def test_one_undo_takes_back_an_accepted_suggestion_and_redo_brings_it(
    tmp_path: Path,
) -> None:
    app, _ = make_app(tmp_path, "", ScriptedEngine(propose_after_def))
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: app.engine is not None)
        await type_text(pilot, "def add(a, b):")
        await wait_for(pilot, lambda: app.editor.ghost == GHOST)
        await pilot.press("tab")
        assert app.editor.text == "def add(a, b):" + GHOST
        await pilot.press("ctrl+z")
        assert app.editor.text == "def add(a, b):"
        await pilot.press("ctrl+y")
        assert app.editor.text == "def add(a, b):" + GHOST
        await pilot.press("ctrl+z", "ctrl+shift+z")
        assert app.editor.text == "def add(a, b):" + GHOST


async def test_a_one_character_accept_is_its_own_undo_step(tmp_path: Path) -> None:
    engine = ScriptedEngine(lambda b, a: ")" if b.endswith("f(x") else "")
    app, _ = make_app(tmp_path, "", engine)
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: app.engine is not None)
        await type_text(pilot, "f(x")
        await wait_for(pilot, lambda: app.editor.ghost == ")")
        await pilot.press("tab")
        assert app.editor.text == "f(x)"
        await pilot.press("ctrl+z")
        assert app.editor.text == "f(x"  # the typed characters stay


async def test_ctrl_down_accepts_one_line_of_the_ghost(tmp_path: Path) -> None:
    app, _ = make_app(tmp_path, "", ScriptedEngine(propose_after_def))
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: app.engine is not None)
        await type_text(pilot, "def add(a, b):")
        await wait_for(pilot, lambda: app.editor.ghost == GHOST)
        await pilot.press("ctrl+down")
        assert app.editor.text == "def add(a, b):\n    return a + b"
        assert app.editor.ghost == "\n\nprint(add(1, 2))"


async def test_f2_turns_automatic_suggestions_off_and_ctrl_space_asks_anyway(
    tmp_path: Path,
) -> None:
    engine = ScriptedEngine(lambda b, a: " = 1" if b.endswith("x") else "")
    app, _ = make_app(tmp_path, "", engine)
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: app.engine is not None)
        await pilot.press("x")
        await wait_for(pilot, lambda: app.editor.ghost == " = 1")
        await pilot.press("f2")
        assert app.suggestions.automatic is False
        assert app.editor.ghost == ""  # the one on screen goes with them
        calls = len(engine.calls)
        await pilot.press("backspace", "x")
        await pilot.pause(0.2)
        assert len(engine.calls) == calls and app.editor.ghost == ""
        await pilot.press("ctrl+space")
        await wait_for(pilot, lambda: app.editor.ghost == " = 1")
        await pilot.press("escape", "ctrl+@")  # what a terminal sends for Ctrl+Space
        await wait_for(pilot, lambda: app.editor.ghost == " = 1")
        await pilot.press("f2", "backspace", "x")
        assert app.suggestions.automatic is True
        await wait_for(pilot, lambda: app.editor.ghost == " = 1")


async def test_asking_without_a_model_says_so(tmp_path: Path) -> None:
    app, _ = make_app(tmp_path, "", None)
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: "suggestions off" in app.engine_state)
        await pilot.press("ctrl+space")
        await pilot.pause()
        assert any("No model" in str(n.message) for n in app._notifications)
