"""Unsaved edits survive a SIGKILL: a real editor process is killed, then the file reopened."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from pairterm.config import EngineConfig
from pairterm.editor.app import PairtermApp
from pairterm.editor.recovery import RecoveryStore
from pairterm.editor.screens import Confirm
from pairterm.interaction_log import InteractionLog

CHILD = textwrap.dedent(
    """
    import asyncio, sys, time
    from pathlib import Path
    from pairterm.config import EngineConfig
    from pairterm.editor.app import PairtermApp
    from pairterm.editor.recovery import RecoveryStore
    from pairterm.errors import UserError
    from pairterm.interaction_log import InteractionLog

    path, rec = Path(sys.argv[1]), Path(sys.argv[2])

    def no_model(_):
        raise UserError("no model in this test")

    async def main():
        app = PairtermApp(path, path.read_text(), EngineConfig(), log=InteractionLog(None, "editor"),
                          recovery=RecoveryStore(rec), engine_factory=no_model)
        async with app.run_test() as pilot:
            await pilot.press("end", "enter", *"unsaved", "space", *"work")
            while not any(rec.glob("*.json")):
                await pilot.pause(0.1)
            print("READY", flush=True)
            time.sleep(600)  # killed long before this ends

    asyncio.run(main())
    """
)


async def test_unsaved_edits_survive_sigkill(tmp_path: Path) -> None:
    path = tmp_path / "notes.py"
    path.write_text("first = 1\n")
    rec = tmp_path / "recovery"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(path), str(rec)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        line = ""
        while time.monotonic() < deadline and "READY" not in line:
            line = child.stdout.readline() if child.stdout else ""
            if child.poll() is not None:
                break
        assert "READY" in line, child.stderr.read() if child.stderr else ""
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == -signal.SIGKILL
    assert path.read_text() == "first = 1\n"  # the file itself was never touched

    app = PairtermApp(path, path.read_text(), EngineConfig(), log=InteractionLog(None, "editor"),
                      recovery=RecoveryStore(rec), engine_factory=_no_model)
    async with app.run_test() as pilot:
        await pilot.pause(0.1)
        assert isinstance(app.screen, Confirm)
        await pilot.press("y")
        await pilot.pause(0.05)
        assert app.editor.text == "first = 1\nunsaved work\n"
        await pilot.press("ctrl+s")
        await pilot.pause(0.1)
    assert "unsaved work" in path.read_text()
    assert not any(rec.glob("*.json"))  # saved: nothing left to recover


async def test_discarding_recovery_removes_it(tmp_path: Path) -> None:
    path = tmp_path / "a.py"
    path.write_text("x\n")
    store = RecoveryStore(tmp_path / "rec")
    store.write(path, "x\nmore\n")
    app = PairtermApp(path, "x\n", EngineConfig(), log=InteractionLog(None, "editor"),
                      recovery=store, engine_factory=_no_model)
    async with app.run_test() as pilot:
        await pilot.pause(0.1)
        await pilot.press("n")
        await pilot.pause(0.05)
        assert app.editor.text == "x\n"
    assert store.load(path) is None


def _no_model(_: EngineConfig) -> object:
    from pairterm.errors import UserError

    raise UserError("no model in this test")
