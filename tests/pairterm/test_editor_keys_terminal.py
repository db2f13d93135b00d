"""The editor's keys as a real terminal sends them (tmux): Ctrl+/ arrives as 0x1f, Ctrl+Space as
0x00, F-keys as escape sequences; the result is checked on disk."""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

import pytest

from .editor_support import Tmux

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")


def escape(term: Tmux) -> None:
    # A key sent right after Esc would arrive as Alt+key: wait out the terminal's Esc timeout.
    term.keys("Escape")
    time.sleep(0.4)


def test_find_go_to_comment_replace_help_and_ask_in_a_real_terminal(tmp_path: Path) -> None:
    source = tmp_path / "f.py"
    source.write_text("total = 0\nfor x in xs:\n    total += x\nprint(total)\n")
    for name in ("XDG_STATE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME"):
        os.environ[name] = str(tmp_path / name.lower())
    editor = Path(sys.executable).with_name("pairterm")
    term = Tmux(90, 24)
    # A model that is not there: editing goes on, and Ctrl+Space has no one to ask.
    term.start([str(editor), "f.py", "--no-log", "--model", "/nowhere.gguf"], tmp_path)
    try:
        term.wait_for(lambda s: "suggestions off" in s)
        term.keys("C-f")
        term.type("total")  # selects the first "total", in line 1
        escape(term)
        term.keys("F3")  # the next one, in line 3
        term.type("grand")
        term.wait_for(lambda s: "grand += x" in s)
        term.keys("C-g")
        term.type("4")
        term.keys("Enter")
        term.keys("C-_")  # what the terminal sends for Ctrl+/
        term.wait_for(lambda s: "# print(total)" in s)
        term.keys("C-r")  # replace (Ctrl+H is Backspace to this terminal)
        term.type("total")
        term.keys("Tab")
        term.type("sum")
        term.keys("C-l")
        term.wait_for(lambda s: "replaced 2" in s)
        escape(term)
        term.keys("F1")
        term.wait_for(lambda s: "Keys (Esc closes)" in s and "Accept the whole" in s)
        escape(term)
        term.keys("C-Space")
        term.wait_for(lambda s: "No model is loaded" in s)
        term.keys("C-s")
        deadline = time.monotonic() + 20
        while source.read_text().startswith("total") and time.monotonic() < deadline:
            time.sleep(0.1)
        term.keys("C-q")
    finally:
        term.close()
    assert source.read_text() == "sum = 0\nfor x in xs:\n    grand += x\n# print(sum)\n"
