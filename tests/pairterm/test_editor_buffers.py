"""Several files in one session: Ctrl+O's finder, switching, and each buffer's own state."""

from __future__ import annotations

from pathlib import Path

import pytest

from pairterm.cli import main
from pairterm.config import EngineConfig
from pairterm.editor.app import PairtermApp
from pairterm.editor.recovery import RecoveryStore
from pairterm.editor.screens import Confirm
from pairterm.interaction_log import InteractionLog

from .editor_support import ScriptedEngine
from .test_editor import wait_for


def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    (root / "pkg").mkdir(parents=True)
    (root / ".git").mkdir()  # the project root marker; no git needed
    (root / "pkg" / "alpha.py").write_text("a = 1\n")
    (root / "pkg" / "beta_module.py").write_text("b = 2\n")
    (root / "README.md").write_text("# readme\n")
    (root / ".git" / "config").write_text("")  # never offered
    return root


def app_for(root: Path, name: str, engine: ScriptedEngine | None = None,
            more: list[str] = ()) -> PairtermApp:  # type: ignore[assignment]
    path = root / name
    extra = [(root / m, (root / m).read_text(), "utf-8") for m in more]
    return PairtermApp(path, path.read_text(), EngineConfig(debounce_ms=10),
                       log=InteractionLog(None, "editor"), recovery=RecoveryStore(root.parent / "rec"),
                       engine_factory=lambda c: engine or ScriptedEngine(lambda b, a: ""),  # type: ignore[arg-type,return-value]
                       more=extra)


async def open_with_finder(pilot, query: str) -> None:  # type: ignore[no-untyped-def]
    from textual.command import CommandPalette

    await pilot.press("ctrl+o")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, CommandPalette))
    for ch in query:
        await pilot.press(ch)
    await pilot.pause(0.3)  # the palette searches in the background
    await pilot.press("enter")
    await wait_for(pilot, lambda: not isinstance(pilot.app.screen, CommandPalette))
    await pilot.pause(0.05)


async def test_ctrl_o_finds_a_project_file_fuzzily_and_opens_it_as_a_buffer(tmp_path: Path) -> None:
    root = project(tmp_path)
    app = app_for(root, "README.md")
    async with app.run_test() as pilot:
        await open_with_finder(pilot, "btmod")  # b..t..mod: only beta_module.py matches
        assert app.path == root / "pkg" / "beta_module.py"
        assert app.editor.text == "b = 2\n" and app.editor.has_focus
        assert len(app.stack.buffers) == 2
        assert "[2/2]" in str(app.query_one("#status").render())
        await open_with_finder(pilot, "readme")  # already open: shown, not opened twice
        assert app.path == root / "README.md" and len(app.stack.buffers) == 2


def test_the_finder_lists_project_files_but_not_tool_folders(tmp_path: Path) -> None:
    from pairterm.editor.file_finder import project_files

    root = project(tmp_path)
    (root / "__pycache__").mkdir()
    (root / "__pycache__" / "x.pyc").write_bytes(b"")
    assert project_files(root) == [Path("README.md"), Path("pkg/alpha.py"),
                                   Path("pkg/beta_module.py")]


async def test_each_buffer_has_its_own_undo_dirty_state_and_recovery_copy(tmp_path: Path) -> None:
    root = project(tmp_path)
    app = app_for(root, "pkg/alpha.py", more=["pkg/beta_module.py"])
    async with app.run_test() as pilot:
        await pilot.press("x")
        app.keeper.write_now(app.buffer)
        await pilot.press("ctrl+pagedown")
        assert app.path == root / "pkg" / "beta_module.py" and not app.dirty
        await pilot.press("y")
        await pilot.press("ctrl+z")  # undoes y here, never the x in the other buffer
        assert app.editor.text == "b = 2\n"
        await pilot.press("z")
        app.keeper.write_now(app.buffer)
        await pilot.press("ctrl+pageup")
        assert app.path == root / "pkg" / "alpha.py" and app.editor.text == "xa = 1\n"
        assert app.dirty
        await pilot.pause(0.2)
        store = app.recovery
        assert store.load(root / "pkg" / "alpha.py").text == "xa = 1\n"  # type: ignore[union-attr]
        assert store.load(root / "pkg" / "beta_module.py").text == "zb = 2\n"  # type: ignore[union-attr]
        await pilot.press("ctrl+s")  # saves the active buffer only
        await pilot.pause(0.05)
        assert (root / "pkg" / "alpha.py").read_text() == "xa = 1\n"
        assert (root / "pkg" / "beta_module.py").read_text() == "b = 2\n"
        assert store.load(root / "pkg" / "alpha.py") is None
        assert store.load(root / "pkg" / "beta_module.py") is not None


async def test_quit_names_every_unsaved_buffer(tmp_path: Path) -> None:
    root = project(tmp_path)
    app = app_for(root, "pkg/alpha.py", more=["pkg/beta_module.py", "README.md"])
    async with app.run_test() as pilot:
        await pilot.press("x", "ctrl+pagedown", "ctrl+pagedown", "y")  # alpha and README dirty
        await pilot.press("ctrl+pagedown")  # back on alpha
        await pilot.press("ctrl+q")
        await pilot.pause(0.05)
        assert isinstance(app.screen, Confirm)
        question = str(app.screen.query_one("#question").render())
        assert "alpha.py" in question and "README.md" in question
        assert "beta_module.py" not in question
        await pilot.press("enter")  # the safe answer: stay
        await pilot.pause(0.05)
        assert app.is_running
        await pilot.press("ctrl+q")
        await pilot.pause(0.05)
        await pilot.press("y")
        await pilot.pause(0.1)
    assert not app.is_running


async def test_switch_buffer_is_a_palette_command(tmp_path: Path) -> None:
    from textual.command import CommandPalette

    root = project(tmp_path)
    app = app_for(root, "pkg/alpha.py", more=["README.md"])
    async with app.run_test() as pilot:
        app.action_switch_buffer()
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette))
        for ch in "readme":
            await pilot.press(ch)
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause(0.1)
        assert app.path == root / "README.md"


async def test_the_model_sees_the_other_open_buffers(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from pairterm.editor import context_feed

    seen: list[list[tuple[Path, str]]] = []

    def fake_gather(path, text, open_buffers=(), root=None):  # type: ignore[no-untyped-def]
        seen.append(list(open_buffers))
        return []

    monkeypatch.setattr(context_feed, "gather", fake_gather)
    engine = ScriptedEngine(lambda b, a: "")
    engine.fim = object()  # type: ignore[assignment]
    root = project(tmp_path)
    app = app_for(root, "pkg/alpha.py", engine=engine, more=["pkg/beta_module.py"])
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: app.engine is not None and bool(seen))
        await pilot.press("z")  # unsaved text is what the model sees of a buffer
        await pilot.press("ctrl+pagedown")
        await wait_for(pilot, lambda: len(seen) >= 2)
    assert seen[0] == [(root / "pkg" / "beta_module.py", "b = 2\n")]
    assert seen[-1] == [(root / "pkg" / "alpha.py", "za = 1\n")]


def test_several_files_on_the_command_line_open_as_buffers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = project(tmp_path)
    started: list[PairtermApp] = []
    monkeypatch.setattr(PairtermApp, "run", lambda self: started.append(self))
    a, b = root / "pkg" / "alpha.py", root / "pkg" / "beta_module.py"
    assert main([str(a), str(b), str(root / "new.py")]) == 0
    [app] = started
    assert [buf.path for buf in app.stack.buffers] == [a, b, root / "new.py"]
    assert app.path == a
    (root / "bin.dat").write_bytes(b"\x00\x01")
    assert main([str(a), str(root / "bin.dat")]) == 2  # refused before the screen opens
    err = capsys.readouterr().err
    assert "binary" in err and err.count("\n") == 1 and len(started) == 1


async def test_a_file_opened_later_offers_its_recovery_copy_too(tmp_path: Path) -> None:
    root = project(tmp_path)
    beta = root / "pkg" / "beta_module.py"
    app = app_for(root, "README.md")
    app.recovery.write(beta, "b = 2\nunsaved = 3\n")
    async with app.run_test() as pilot:
        await open_with_finder(pilot, "beta")
        await wait_for(pilot, lambda: isinstance(app.screen, Confirm))
        await pilot.press("enter")  # Restore is the focused answer
        await pilot.pause(0.05)
        assert app.path == beta and app.editor.text == "b = 2\nunsaved = 3\n" and app.dirty
