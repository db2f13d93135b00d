"""The editor as a person uses it, driven through Textual's Pilot."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from pairterm.interaction_log import InteractionLog

from .editor_support import ScriptedEngine, make_app

GHOST = "\n    return a + b\n\nprint(add(1, 2))"


def propose_body(before: str, after: str) -> str:
    return "\n    return a + b" if before.endswith("def add(a, b):") else ""


async def wait_for(pilot, predicate, tries: int = 100) -> None:  # type: ignore[no-untyped-def]
    for _ in range(tries):
        if predicate():
            return
        await pilot.pause(0.02)
    raise AssertionError("condition not reached")


def screen_lines(app) -> list[str]:  # type: ignore[no-untyped-def]
    area = app.editor
    return [area.render_line(y).text for y in range(area.size.height)]


async def type_text(pilot, text: str) -> None:  # type: ignore[no-untyped-def]
    for ch in text:
        await pilot.press({" ": "space", "\n": "enter", "(": "left_parenthesis",
                           ")": "right_parenthesis", ",": "comma", ":": "colon"}.get(ch, ch))


async def test_ghost_text_appears_and_tab_accepts_all_of_it(tmp_path: Path) -> None:
    engine = ScriptedEngine(propose_body)
    app, _ = make_app(tmp_path, "", engine)
    async with app.run_test(size=(80, 20)) as pilot:
        await wait_for(pilot, lambda: app.engine is not None)
        await type_text(pilot, "def add(a, b):")
        await wait_for(pilot, lambda: app.editor.ghost == "\n    return a + b")
        lines = screen_lines(app)
        assert any("return a + b" in line for line in lines)  # the second line is visible too
        await pilot.press("tab")
        assert app.editor.text == "def add(a, b):\n    return a + b"
        assert app.editor.ghost == ""


async def test_multi_line_ghost_is_drawn_in_full_and_pushes_text_down(tmp_path: Path) -> None:
    engine = ScriptedEngine(lambda b, a: GHOST if b.endswith("def add(a, b):") else "")
    app, _ = make_app(tmp_path, "\nx = 1\n", engine)
    async with app.run_test(size=(80, 20)) as pilot:
        await wait_for(pilot, lambda: app.engine is not None)
        await type_text(pilot, "def add(a, b):")
        await wait_for(pilot, lambda: bool(app.editor.ghost))
        lines = [line.rstrip() for line in screen_lines(app)]
        # Row 0 holds the cursor line; the ghost's other lines follow, then the document's line 2.
        assert lines[1].endswith("    return a + b")
        assert lines[2].strip() == ""
        assert lines[3].endswith("print(add(1, 2))")
        assert lines[4].endswith("x = 1")


async def test_ctrl_right_accepts_one_word_and_keeps_the_rest(tmp_path: Path) -> None:
    engine = ScriptedEngine(lambda b, a: "value = compute(x)" if b.endswith("\n") or b == "" else "")
    app, _ = make_app(tmp_path, "", engine)
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: app.engine is not None)
        await pilot.press("enter")
        await wait_for(pilot, lambda: bool(app.editor.ghost))
        await pilot.press("ctrl+right")
        assert app.editor.text == "\nvalue"
        assert app.editor.ghost == " = compute(x)"


async def test_typing_through_the_ghost_consumes_it_without_a_model_call(tmp_path: Path) -> None:
    engine = ScriptedEngine(propose_body)
    app, _ = make_app(tmp_path, "", engine)
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: app.engine is not None)
        await type_text(pilot, "def add(a, b):")
        await wait_for(pilot, lambda: bool(app.editor.ghost))
        calls = len(engine.calls)
        await pilot.press("enter", "r", "e")  # Enter auto-indents: "\n    " is consumed too
        await pilot.pause(0.1)
        assert app.editor.ghost == "turn a + b"
        assert len(engine.calls) == calls
        await pilot.press("x")  # diverges: the ghost goes and the model is asked again
        assert app.editor.ghost == ""
        await wait_for(pilot, lambda: len(engine.calls) > calls)


async def test_escape_dismisses_and_nothing_is_proposed_until_the_next_edit(tmp_path: Path) -> None:
    engine = ScriptedEngine(lambda b, a: " # comment" if b.rstrip().endswith(")") else "")
    app, _ = make_app(tmp_path, "", engine)
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: app.engine is not None)
        await type_text(pilot, "f(x)")
        await wait_for(pilot, lambda: bool(app.editor.ghost))
        await pilot.press("escape")
        assert app.editor.ghost == ""
        calls = len(engine.calls)
        await pilot.press("left", "right")
        await pilot.pause(0.15)
        assert len(engine.calls) == calls and app.editor.ghost == ""
        await pilot.press("space")
        await wait_for(pilot, lambda: len(engine.calls) > calls)


async def test_tab_indents_when_there_is_no_suggestion(tmp_path: Path) -> None:
    app, _ = make_app(tmp_path, "", ScriptedEngine(lambda b, a: ""))
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: app.engine is not None)
        await pilot.press("tab", "x")
        assert app.editor.text == "    x"


async def test_stale_results_are_dropped_when_the_cursor_moved(tmp_path: Path) -> None:
    engine = ScriptedEngine(lambda b, a: " + 1")
    app, _ = make_app(tmp_path, "", engine)
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: app.engine is not None)
        from pairterm.suggestion import Suggestion

        result = Suggestion(text=" + 1", tokens=2, total_bits=1.0, stop_reason="eta", latency_ms=1)
        app.suggestions._show(app.editor.edit_count - 1, app.editor.cursor_location, result)
        assert app.editor.ghost == ""
        app.suggestions._show(app.editor.edit_count, (5, 5), result)
        assert app.editor.ghost == ""


@pytest.mark.parametrize(("model", "why"), [
    ("nowhere.gguf", "model file not found: nowhere.gguf"),
    ("corrupt.gguf", "model file corrupt.gguf is not a GGUF file"),
])
async def test_missing_model_still_edits_and_says_why(tmp_path: Path, model: str, why: str) -> None:
    """The real engine, a model path that is missing or not a model: what the person sees."""
    from pairterm.config import EngineConfig
    from pairterm.editor.app import PairtermApp
    from pairterm.editor.recovery import RecoveryStore

    (tmp_path / "corrupt.gguf").write_bytes(b"this is not a model\n" * 100)
    path = tmp_path / "f.py"
    path.write_text("a = 1\n")
    app = PairtermApp(path, "a = 1\n", EngineConfig(model=tmp_path / model),
                      log=InteractionLog(None, "editor"), recovery=RecoveryStore(tmp_path / "r"))
    async with app.run_test(size=(80, 20)) as pilot:
        await wait_for(pilot, lambda: "suggestions off" in str(app.query_one("#status").render()),
                       tries=500)
        status = str(app.query_one("#status").render())
        assert f"suggestions off: {why}" in status  # the why fits in 80 columns
        await pilot.press("end", "x", "ctrl+s")
        await pilot.pause(0.1)
        assert path.read_text() == "a = 1x\n" and app.engine is None


async def test_save_is_atomic_and_keeps_the_mode(tmp_path: Path) -> None:
    app, path = make_app(tmp_path, "a = 1\n", ScriptedEngine(lambda b, a: ""))
    os.chmod(path, 0o640)
    async with app.run_test() as pilot:
        await pilot.press("end", "2", "ctrl+s")
        await pilot.pause(0.05)
    assert path.read_text() == "a = 12\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir() if "pairterm-tmp" in p.name] == []


async def test_crlf_files_keep_their_line_endings(tmp_path: Path) -> None:
    app, path = make_app(tmp_path, "a = 1\r\nb = 2\r\n", ScriptedEngine(lambda b, a: ""))
    assert path.read_bytes() == b"a = 1\r\nb = 2\r\n"
    async with app.run_test() as pilot:
        await pilot.press("end", "0", "ctrl+s")
        await pilot.pause(0.05)
    assert path.read_bytes() == b"a = 10\r\nb = 2\r\n"


async def test_asks_before_overwriting_a_file_changed_on_disk(tmp_path: Path) -> None:
    app, path = make_app(tmp_path, "a = 1\n", ScriptedEngine(lambda b, a: ""))
    async with app.run_test() as pilot:
        await pilot.press("end", "2")
        path.write_text("someone else\n")
        os.utime(path, ns=(1, 1))
        await pilot.press("ctrl+s")
        await pilot.pause(0.05)
        assert path.read_text() == "someone else\n"
        await pilot.press("n")
        assert path.read_text() == "someone else\n"
        await pilot.press("ctrl+s")
        await pilot.pause(0.05)
        await pilot.press("y")
        await pilot.pause(0.05)
        assert path.read_text() == "a = 12\n"


async def test_quit_asks_when_there_are_unsaved_edits(tmp_path: Path) -> None:
    app, _ = make_app(tmp_path, "a\n", ScriptedEngine(lambda b, a: ""))
    async with app.run_test() as pilot:
        await pilot.press("x", "ctrl+q")
        await pilot.pause(0.05)
        assert app.is_running
        await pilot.press("n")
        await pilot.pause(0.05)
        assert app.is_running and app.editor.text == "xa\n"
        await pilot.press("ctrl+q")
        await pilot.pause(0.05)
        await pilot.press("y")
        await pilot.pause(0.1)
    assert not app.is_running


async def test_interaction_log_records_the_study_events(tmp_path: Path) -> None:
    log_path = tmp_path / "log.jsonl"
    engine = ScriptedEngine(propose_body)
    app, _ = make_app(tmp_path, "", engine, log=InteractionLog(log_path, "editor"))
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: app.engine is not None)
        await type_text(pilot, "def add(a, b):")
        await wait_for(pilot, lambda: bool(app.editor.ghost))
        await pilot.press("tab", "backspace", "backspace")
        await pilot.pause(0.05)
    events = [json.loads(line) for line in log_path.read_text().splitlines()]
    kinds = [e["event"] for e in events]
    assert "proposed" in kinds and "accepted" in kinds and "typed" in kinds
    accepted = next(e for e in events if e["event"] == "accepted")
    assert accepted["full"] is True and accepted["chars"] == len("\n    return a + b")
    deleted = [e for e in events if e["event"] == "deleted"]
    assert sum(e["accepted_chars"] for e in deleted) == 2
    assert all(e["model"] == "scripted.gguf" for e in events if e["event"] == "proposed")


async def test_real_model_proposes_in_the_editor(tmp_path: Path, default_model: Path) -> None:
    from pairterm.config import EngineConfig
    from pairterm.editor.app import PairtermApp
    from pairterm.editor.recovery import RecoveryStore

    path = tmp_path / "m.py"
    path.write_text("def add(a, b):\n    return a + b\n\n\ndef mul(a, b):\n")
    # No decode time budget: on a loaded machine 200 ms of decoding can yield nothing at all.
    config = EngineConfig(model=default_model, debounce_ms=10, eta=8, max_decode_ms=10**9)
    app = PairtermApp(path, path.read_text(), config,
                      log=InteractionLog(None, "editor"), recovery=RecoveryStore(tmp_path / "r"))
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: app.engine is not None, tries=500)
        await pilot.press("down", "down", "down", "down", "end", "space", "backspace")
        await wait_for(pilot, lambda: bool(app.editor.ghost), tries=500)
        assert app.editor.ghost.startswith("\n    return a")
        await pilot.press("tab")
        assert app.editor.text.startswith("def add(a, b):\n    return a + b\n\n\ndef mul(a, b):\n    return a")


async def test_the_editor_runs_the_shipped_empower_adapter_by_default(tmp_path: Path) -> None:
    import os

    from textual.widgets import Static

    from pairterm.config import build_config
    from pairterm.editor.app import PairtermApp
    from pairterm.editor.recovery import RecoveryStore

    path = tmp_path / "m.py"
    path.write_text("def add(a, b):\n    return a + b\n\n\ndef mul(a, b):\n")
    config = build_config({"eta": 8.0, "debounce_ms": 10, "adapter": "empower",
                           "max_decode_ms": 10**9}, file=Path(os.devnull))  # as above
    app = PairtermApp(path, path.read_text(), config, log=InteractionLog(None, "editor"),
                      recovery=RecoveryStore(tmp_path / "r"))
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: app.engine is not None, tries=500)
        assert app.engine.adapter_name == "default-adapter.gguf"
        await pilot.press("down", "down", "down", "down", "end", "space", "backspace")
        await wait_for(pilot, lambda: bool(app.editor.ghost), tries=500)
        assert app.editor.ghost.startswith("\n    return")
        status = str(app.query_one("#status", Static).render())
        assert "+ Empower" in status  # "adapter" is dropped first when 80 columns are tight


async def test_enter_keeps_indentation_and_indents_after_a_block_opener(tmp_path: Path) -> None:
    app, _ = make_app(tmp_path, "", ScriptedEngine(lambda b, a: ""))
    async with app.run_test() as pilot:
        await type_text(pilot, "def f(x):\nif x:\nreturn 1")
        assert app.editor.text == "def f(x):\n    if x:\n        return 1"
        await type_text(pilot, "\n")
        assert app.editor.text.endswith("return 1\n    ")  # `return` ends the block


async def test_the_first_line_of_a_ghost_wider_than_the_file_is_drawn_in_full(
    tmp_path: Path,
) -> None:
    ghost = ' __name__ == "__main__":'
    engine = ScriptedEngine(lambda b, a: ghost if b.endswith("if") else "")
    app, _ = make_app(tmp_path, "", engine)
    async with app.run_test(size=(80, 20)) as pilot:
        await wait_for(pilot, lambda: app.engine is not None)
        await type_text(pilot, "if")
        await wait_for(pilot, lambda: app.editor.ghost == ghost)
        await pilot.pause()
        assert any(('if' + ghost) in line for line in screen_lines(app))


async def test_the_status_bar_fits_80_columns_with_the_code_model_and_its_adapter(
    tmp_path: Path,
) -> None:
    engine = ScriptedEngine(lambda b, a: "")
    engine.model_name = "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
    engine.adapter_name = "my-project-adapter.gguf"  # type: ignore[assignment]
    app, _ = make_app(tmp_path, "x = 1\n" * 200, engine, name="statistics.py")
    async with app.run_test(size=(80, 20)) as pilot:
        await wait_for(pilot, lambda: app.engine is not None)
        await pilot.press("ctrl+end", "y")

        def shown() -> str:
            bar = app.query_one("#status")
            return "".join(s.text for s in bar.render_line(0))  # what the terminal gets

        await wait_for(pilot, lambda: "suggestions on" in shown())
        assert "Ln 201, Col 2" in shown() and "qwen2.5-coder" in shown()
        await pilot.press("f2")  # automatic suggestions off
        await wait_for(pilot, lambda: "suggestions off" in shown())
        await pilot.press("f2")
        await wait_for(pilot, lambda: "suggestions on" in shown())
        assert len(shown().rstrip()) <= 80
