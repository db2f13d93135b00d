"""F1 lists every key the editor answers to, and the README's key table is that same list."""

from __future__ import annotations

from pathlib import Path

from pairterm.editor.commands import COMMAND_BINDINGS
from pairterm.editor.ghost_area import GhostTextArea
from pairterm.editor.help_screen import KeysScreen
from pairterm.editor.keys import KeyRow, effective, gather, key_label

from .editor_support import ScriptedEngine, make_app

README = Path(__file__).resolve().parents[2] / "README.md"
MARKER = "<!-- keys:"  # the comment line right above the table


def readme_rows() -> list[KeyRow]:
    lines = README.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(MARKER))
    rows = []
    for line in lines[start + 3 :]:  # past the marker, the header and the rule
        if not line.startswith("|"):
            break
        keys, action = (cell.strip() for cell in line.strip().strip("|").split(" | "))
        rows.append(KeyRow(keys, action))
    return rows


async def test_f1_shows_every_key_and_the_readme_lists_the_same(tmp_path: Path) -> None:
    app, _ = make_app(tmp_path, "x = 1\n", ScriptedEngine(lambda b, a: ""))
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.press("f1")
        screen = app.screen
        assert isinstance(screen, KeysScreen)
        shown = screen.rows
        actions = {row.action: row.keys for row in shown}
        # The app's own keys, the text area's and the editor's commands are all there.
        assert actions["Save"] == "Ctrl+S"
        assert actions["Copy"] == "Ctrl+C, Super+C"
        assert actions["Find"] == "Ctrl+F"
        assert actions["Comment or uncomment the lines"] == "Ctrl+/"
        assert actions["Accept the whole suggestion; without one, indent"] == "Tab"
        assert actions["Replace all (find bar)"] == "Ctrl+L"
        assert readme_rows() == shown, "README.md's key table differs from F1's list"
        await pilot.press("escape")
        assert not isinstance(app.screen, KeysScreen)
        assert app.editor.has_focus


async def test_a_key_bound_later_shows_up_in_f1_by_itself(tmp_path: Path) -> None:
    app, _ = make_app(tmp_path, "", ScriptedEngine(lambda b, a: ""))
    async with app.run_test() as pilot:
        app.editor._bindings.bind("ctrl+t", "transpose", "Swap two characters")
        await pilot.press("f1")
        assert KeyRow("Ctrl+T", "Swap two characters") in app.screen.rows  # type: ignore[attr-defined]


async def test_no_editor_command_is_shadowed_by_another_binding(tmp_path: Path) -> None:
    """Two parts of the editor binding one key would silently lose one of the two actions."""
    app, _ = make_app(tmp_path, "", ScriptedEngine(lambda b, a: ""))
    async with app.run_test():
        acting = {(key, b.action) for key, b in effective(app, app.editor)}
        for binding in [*COMMAND_BINDINGS, *GhostTextArea.BINDINGS]:
            for key in binding.key.split(","):
                assert (key, binding.action) in acting, f"{key} does not reach {binding.action}"
        # Within one place (the editor, or one bar) no key does two things.
        by_place: dict[str, list[str]] = {}
        for row in gather(app, app.editor):
            place = row.action.rsplit(" (", 1)[1] if row.action.endswith(" bar)") else "editor"
            by_place.setdefault(place, []).extend(row.keys.split(", "))
        for place, keys in by_place.items():
            assert len(keys) == len(set(keys)), place


def test_key_labels_read_as_people_say_them() -> None:
    assert key_label("ctrl+shift+z") == "Ctrl+Shift+Z"
    assert key_label("f3") == "F3"
    assert key_label("ctrl+underscore") == key_label("ctrl+slash") == "Ctrl+/"
    assert key_label("ctrl+@") == key_label("ctrl+space") == "Ctrl+Space"
    assert key_label("pagedown") == "PgDn"


async def test_f1_works_from_the_find_bar_too(tmp_path: Path) -> None:
    app, _ = make_app(tmp_path, "x = 1\n", ScriptedEngine(lambda b, a: ""))
    async with app.run_test() as pilot:
        await pilot.press("ctrl+f", "f1")
        assert isinstance(app.screen, KeysScreen)


async def test_the_command_palette_shows_the_keys_too(tmp_path: Path) -> None:
    import io

    from rich.console import Console
    from textual.widgets import HelpPanel

    app, _ = make_app(tmp_path, "x = 1\n", ScriptedEngine(lambda b, a: ""))
    async with app.run_test(size=(120, 50)) as pilot:
        await pilot.press("ctrl+p")
        for ch in "keys":
            await pilot.press(ch)
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause(0.3)
        panel = app.screen.query_one(HelpPanel)
        console = Console(width=120, record=True, file=io.StringIO())
        for table in panel.query("KeyPanel BindingsTable"):
            console.print(table.render())
        text = console.export_text()
        assert "Find" in text and "Ask for a suggestion now" in text
