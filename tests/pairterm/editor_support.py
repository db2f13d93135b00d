"""A scripted stand-in for the engine, so editor tests know exactly what is proposed."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from pairterm.config import EngineConfig
from pairterm.editor.app import PairtermApp
from pairterm.editor.recovery import RecoveryStore
from pairterm.interaction_log import InteractionLog
from pairterm.suggestion import Suggestion


class ScriptedEngine:
    model_name = "scripted.gguf"
    adapter_name = None
    fim = None

    def __init__(self, propose: Callable[[str, str], str]) -> None:
        self.propose = propose
        self.config = EngineConfig()
        self.calls: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    def suggest(
        self, before: str, after: str = "", cancelled: object = None, **_: object
    ) -> Suggestion:
        with self.lock:
            self.calls.append((before, after))
        text = self.propose(before, after)
        return Suggestion(text=text, tokens=len(text.split()), total_bits=1.0,
                          stop_reason="eta", latency_ms=1.0)

    def close(self) -> None:
        pass


def make_app(tmp_path: Path, text: str, engine: ScriptedEngine | None, name: str = "f.py",
             log: InteractionLog | None = None) -> tuple[PairtermApp, Path]:
    path = tmp_path / name
    path.write_text(text)
    config = EngineConfig(debounce_ms=10)

    def factory(_: EngineConfig) -> ScriptedEngine:
        if engine is None:
            from pairterm.errors import UserError

            raise UserError("model file not found: /nowhere.gguf")
        return engine

    app = PairtermApp(path, text, config, log=log or InteractionLog(None, "editor"),
                      recovery=RecoveryStore(tmp_path / "recovery"), engine_factory=factory)  # type: ignore[arg-type]
    return app, path


class Tmux:
    """A real terminal: the editor runs in its own tmux server, driven by keys, read as text."""

    def __init__(self, width: int = 100, height: int = 30) -> None:
        import tempfile

        # A short socket path: unix sockets allow about 100 bytes, tmp_path can be longer.
        self.folder = Path(tempfile.mkdtemp(prefix="pt-tmux-"))
        self.socket = str(self.folder / "s")
        self.width, self.height = width, height

    def _tmux(self, *args: str) -> str:
        import subprocess

        done = subprocess.run(["tmux", "-S", self.socket, *args], capture_output=True,
                              text=True, timeout=30)
        return done.stdout

    def start(self, argv: list[str], cwd: Path) -> None:
        import os
        import shlex

        env = " ".join(f"{k}={shlex.quote(v)}" for k, v in os.environ.items()
                       if k.startswith(("XDG_", "HF_", "TRANSFORMERS_", "PATH", "HOME")))
        # exec: the pane's process is the editor itself, so a signal to it reaches the editor
        command = f"cd {shlex.quote(str(cwd))} && exec env {env} {shlex.join(argv)}"
        self._tmux("new-session", "-d", "-x", str(self.width), "-y", str(self.height), command)

    def keys(self, *keys: str) -> None:
        """tmux key names: "C-s", "Enter", "NPage", ..."""
        import time

        for key in keys:
            self._tmux("send-keys", "-t", "0", key)
            time.sleep(0.05)

    def type(self, text: str) -> None:
        import time

        for ch in text:  # one at a time, as a person types: each its own event
            self._tmux("send-keys", "-t", "0", "-l", ch)
            time.sleep(0.03)

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p", "-t", "0")

    def styled_screen(self) -> str:
        """The screen with its escape codes: dim ghost text is told apart by its style."""
        return self._tmux("capture-pane", "-p", "-e", "-t", "0")

    def pid(self) -> int:
        return int(self._tmux("display-message", "-p", "-t", "0", "#{pane_pid}").strip())

    def wait_for(self, predicate: Callable[[str], bool], timeout: float = 30.0) -> str:
        import time

        deadline = time.monotonic() + timeout
        while True:
            text = self.screen()
            if predicate(text):
                return text
            if time.monotonic() > deadline:
                raise AssertionError(f"screen never showed what was expected:\n{text}")
            time.sleep(0.1)

    def close(self) -> None:
        import shutil

        self._tmux("kill-server")
        shutil.rmtree(self.folder, ignore_errors=True)
