"""The editor in a real terminal (tmux): a process a person starts, types into and kills."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import time
from pathlib import Path

import pytest

from .editor_support import Tmux

PAIRTERM = str(Path(sys.executable).parent / "pairterm")
pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")


@pytest.fixture
def tmux() -> object:
    session = Tmux()
    yield session
    session.close()


def _recovered_texts() -> list[str]:
    folder = Path(os.environ["XDG_STATE_HOME"]) / "pairterm" / "recovery"
    return [json.loads(f.read_text())["text"] for f in folder.glob("*.json")]


def _wait(predicate, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_edits_after_a_save_survive_sigkill(tmux: Tmux, tmp_path: Path) -> None:
    path = tmp_path / "notes.py"
    path.write_text("start = 1\n")
    tmux.start([PAIRTERM, "--no-log", "notes.py"], cwd=tmp_path)
    tmux.wait_for(lambda s: "notes.py │" in s and "start = 1" in s)
    tmux.type("ab")
    tmux.keys("C-s")
    assert _wait(lambda: path.read_text() == "abstart = 1\n", 10)
    time.sleep(10.5)  # past the longest wait for a copy (recovery.RECOVERY_MAX_WAIT_S)
    tmux.type("cd")
    # the copy is due two seconds after typing stops; give a loaded machine more
    assert _wait(lambda: _recovered_texts() == ["abcdstart = 1\n"], 20), _recovered_texts()
    os.kill(tmux.pid(), signal.SIGKILL)
    assert _wait(lambda: "notes.py" not in tmux.screen(), 10)
    assert path.read_text() == "abstart = 1\n"  # the saved text, and the rest in the copy
    assert _recovered_texts() == ["abcdstart = 1\n"]


MAIN = "def add(a, b):\n    return a + b\n\n\ndef mul(a, b):\n"
UTIL = "count = 0\n\n\ndef bump():\n    global count\n    count += 1\n"
NOTES = "# Notes\n\nfirst idea\nsecond idea\n"


def _ghost_under_mul(screen: str) -> bool:
    """A suggestion is on screen: the row under `def mul` shows text the file does not have."""
    rows = screen.splitlines()
    at = next((i for i, row in enumerate(rows) if "def mul(a, b):" in row), None)
    return at is not None and at + 1 < len(rows) and "return" in rows[at + 1]


def _escape(tmux: Tmux) -> None:
    tmux.keys("Escape")
    time.sleep(0.4)  # a key right after Esc would arrive as Alt+key


def test_a_working_session_on_three_files_of_a_project(tmux: Tmux, tmp_path: Path) -> None:
    """Issue #12's day in the editor: open three files, replace in one, jump to a line in
    another, accept a suggestion and undo it, save each, quit; the files on disk show it."""
    root = tmp_path / "proj"
    (root / "app").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'proj'\n")
    main, util, notes = root / "app" / "main.py", root / "app" / "util.py", root / "notes.md"
    main.write_text(MAIN)
    util.write_text(UTIL)
    notes.write_text(NOTES)
    # No decode time budget: on a loaded test machine 200 ms can cut a suggestion to nothing.
    config = Path(os.environ["XDG_CONFIG_HOME"]) / "pairterm" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text("eta = 8.0\nmax_decode_ms = 20000\n")
    tmux.start([PAIRTERM, "--no-log", "app/main.py"], cwd=root)
    tmux.wait_for(lambda s: "main.py │" in s and "suggestions on" in s, timeout=90)

    tmux.keys("C-o")  # the finder, fuzzy: "utl" is enough for app/util.py
    tmux.wait_for(lambda s: "Open file" in s)
    tmux.type("utl")
    time.sleep(0.5)
    tmux.keys("Enter")
    tmux.wait_for(lambda s: "util.py [2/2]" in s)

    tmux.keys("C-r")  # replace (Ctrl+H is Backspace in most terminals)
    tmux.type("count")
    tmux.keys("Tab")
    tmux.type("total")
    tmux.keys("C-l")  # replace all
    tmux.wait_for(lambda s: "replaced 3" in s)
    _escape(tmux)
    tmux.keys("C-s")
    assert _wait(lambda: util.read_text() == UTIL.replace("count", "total"), 10)

    tmux.keys("C-o")
    tmux.wait_for(lambda s: "Open file" in s)
    tmux.type("notes")
    time.sleep(0.5)
    tmux.keys("Enter")
    tmux.wait_for(lambda s: "notes.md [3/3]" in s)
    tmux.keys("C-g")  # go to line
    tmux.type("4")
    tmux.keys("Enter")
    tmux.wait_for(lambda s: "Ln 4, Col 1" in s)
    tmux.type("a ")
    tmux.keys("C-s")
    assert _wait(lambda: notes.read_text() == NOTES.replace("second", "a second"), 10)

    tmux.keys("C-NPage")  # the next buffer, wrapping round to the first
    tmux.wait_for(lambda s: "main.py [1/3]" in s)
    tmux.keys("C-g")
    tmux.type("5:15")
    tmux.keys("Enter")
    tmux.wait_for(lambda s: "Ln 5, Col 15" in s)
    tmux.type(" ")
    tmux.keys("BSpace")  # an edit at the end of `def mul(a, b):` asks the model
    tmux.wait_for(_ghost_under_mul, timeout=120)
    tmux.keys("Tab")
    tmux.keys("C-s")
    assert _wait(lambda: main.read_text().startswith(MAIN + "    return a"), 10), main.read_text()
    tmux.keys("C-z")  # the whole accepted suggestion is one step
    tmux.keys("C-s")
    assert _wait(lambda: main.read_text() == MAIN, 10), main.read_text()

    tmux.keys("C-q")  # every buffer is saved: no question
    assert _wait(lambda: "main.py" not in tmux.screen(), 15)
    assert util.read_text() == UTIL.replace("count", "total")
    assert notes.read_text() == NOTES.replace("second", "a second")
    assert main.read_text() == MAIN
