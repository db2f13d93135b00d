"""One picture of multi-line ghost text, compared with the stored SVG snapshot."""

from __future__ import annotations

from pathlib import Path

from .editor_support import ScriptedEngine, make_app

BODY = "\n    total = 0\n    for x in items:\n        total += x\n    return total"


def test_ghost_text_snapshot(snap_compare, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    engine = ScriptedEngine(lambda before, after: BODY if before.endswith("(items):") else "")
    app, _ = make_app(tmp_path, "def total(items):\n\nprint(total([1, 2]))\n", engine, name="demo.py")

    async def ghost_shown(pilot) -> None:  # type: ignore[no-untyped-def]
        for _ in range(100):
            if app.engine is not None:
                break
            await pilot.pause(0.02)
        await pilot.press("end", "space", "backspace")
        for _ in range(100):
            if app.editor.ghost:
                break
            await pilot.pause(0.02)
        await pilot.pause(0.1)
        assert app.editor.ghost == BODY

    assert snap_compare(app, terminal_size=(60, 12), run_before=ghost_shown)
