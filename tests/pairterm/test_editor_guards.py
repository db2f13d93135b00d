"""The editor's guards against losing work or crashing: dialogs, Save As, failures, undo."""

from __future__ import annotations

from pathlib import Path

import pytest

from pairterm.cli import main
from pairterm.editor.screens import AskPath, Confirm
from pairterm.interaction_log import InteractionLog
from pairterm.suggestion import Suggestion

from .editor_support import ScriptedEngine, make_app
from .test_editor import type_text, wait_for


def test_files_the_editor_would_rewrite_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name, data in [("ff.py", "a = 1\n\x0c\nb = 2\n"), ("ls.py", 's = "x\u2028y"\n'),
                       ("mixed.py", "a\r\nb\nc\r\n")]:
        path = tmp_path / name
        path.write_bytes(data.encode("utf-8"))
        assert main([str(path)]) == 2
        err = capsys.readouterr().err
        assert "would rewrite" in err and err.count("\n") == 1
        assert path.read_bytes() == data.encode("utf-8")


async def test_enter_in_the_quit_dialog_is_the_safe_answer(tmp_path: Path) -> None:
    app, _ = make_app(tmp_path, "a\n", ScriptedEngine(lambda b, a: ""))
    async with app.run_test() as pilot:
        await pilot.press("x", "ctrl+q")
        await pilot.pause(0.05)
        assert isinstance(app.screen, Confirm)
        await pilot.press("enter")
        await pilot.pause(0.05)
        assert app.is_running and not isinstance(app.screen, Confirm)


async def test_escape_in_the_recovery_dialog_keeps_the_copy(tmp_path: Path) -> None:
    app, path = make_app(tmp_path, "x\n", ScriptedEngine(lambda b, a: ""))
    app.recovery.write(path, "x\nmore\n")
    async with app.run_test() as pilot:
        await pilot.pause(0.1)
        await pilot.press("escape")
        await pilot.pause(0.05)
        assert app.editor.text == "x\n"
    # Moved aside, where this session's own copies and its save cannot reach it.
    [kept] = app.recovery.directory.glob("*.kept-*.json")
    assert "more" in kept.read_text()


async def test_save_as_asks_before_overwriting_and_a_failed_save_keeps_no_name(tmp_path: Path) -> None:
    from pairterm.config import EngineConfig
    from pairterm.editor.app import PairtermApp
    from pairterm.editor.recovery import RecoveryStore

    existing = tmp_path / "main.py"
    existing.write_text("precious\n")
    app = PairtermApp(None, "", EngineConfig(), log=InteractionLog(None, "editor"),
                      recovery=RecoveryStore(tmp_path / "r"),
                      engine_factory=lambda c: ScriptedEngine(lambda b, a: ""))  # type: ignore[arg-type,return-value]
    async with app.run_test() as pilot:
        await pilot.press("n", "e", "w")
        app.saving.save_as(app.buffer, str(tmp_path / "missing-dir" / "x.py"))
        await pilot.pause(0.05)
        assert app.path is None and app.dirty
        app.saving.save_as(app.buffer, str(existing))
        await pilot.pause(0.05)
        assert isinstance(app.screen, Confirm) and existing.read_text() == "precious\n"
        await pilot.press("n")
        await pilot.pause(0.05)
        assert existing.read_text() == "precious\n" and app.path is None
        await pilot.press("ctrl+s")
        await pilot.pause(0.05)
        assert isinstance(app.screen, AskPath)


async def test_a_failing_model_turns_suggestions_off_and_editing_goes_on(tmp_path: Path) -> None:
    class Broken(ScriptedEngine):
        def suggest(self, before: str, after: str = "", cancelled: object = None,
                    **_: object) -> Suggestion:
            raise RuntimeError("llama_decode returned 1")

    app, _ = make_app(tmp_path, "", Broken(lambda b, a: ""))
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: app.engine is not None)
        await pilot.press("a")
        await wait_for(pilot, lambda: "suggestions off: RuntimeError" in app.engine_state)
        await pilot.press("b")
        assert app.is_running and app.editor.text == "ab"


async def test_escape_before_the_suggestion_arrives_still_pauses(tmp_path: Path) -> None:
    engine = ScriptedEngine(lambda b, a: " + 1")
    app, _ = make_app(tmp_path, "", engine)
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: app.engine is not None)
        app.config = app.config.__class__(debounce_ms=300)
        await pilot.press("x", "escape")
        await pilot.pause(0.5)
        assert app.paused and app.editor.ghost == ""


async def test_undo_after_accepting_clears_state_and_asks_again(tmp_path: Path) -> None:
    engine = ScriptedEngine(lambda b, a: "\n    return a + b" if b.endswith("b):") else "")
    app, _ = make_app(tmp_path, "", engine)
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: app.engine is not None)
        await type_text(pilot, "def f(a, b):")
        await wait_for(pilot, lambda: bool(app.editor.ghost))
        await pilot.press("tab")
        await pilot.press("ctrl+z")
        assert app.editor.text == "def f(a, b):"
        # Back where it was: the same suggestion again, from the cache without a model call.
        await wait_for(pilot, lambda: app.editor.ghost == "\n    return a + b")
        assert [b for b, _ in engine.calls].count("def f(a, b):") == 1


async def test_a_click_below_a_multi_line_ghost_lands_on_the_line_shown(tmp_path: Path) -> None:
    engine = ScriptedEngine(lambda b, a: "\n    x = 1\n    y = 2\n    z = 3" if b.endswith("f():") else "")
    app, _ = make_app(tmp_path, "\nline one\nline two\nline three\n", engine)
    async with app.run_test(size=(60, 20)) as pilot:
        await wait_for(pilot, lambda: app.engine is not None)
        await type_text(pilot, "def f():")
        await wait_for(pilot, lambda: bool(app.editor.ghost))
        # Screen rows: 0 cursor line, 1-3 ghost, 4 "line one", 5 "line two".
        await pilot.click("#editor", offset=(app.editor.gutter_width + 2, 5))
        assert app.editor.cursor_location[0] == 2  # "line two"


def test_a_log_that_cannot_be_written_switches_itself_off(tmp_path: Path) -> None:
    log = InteractionLog(tmp_path / "log.jsonl", "editor")
    (tmp_path / "file").write_text("")
    log.path = tmp_path / "file" / "log.jsonl"  # a file where a directory should be
    log.write("typed", chars=1)
    log.flush()  # the write happens on the log's own thread
    assert log.path is None and log.failure and "interaction log off" in log.failure
