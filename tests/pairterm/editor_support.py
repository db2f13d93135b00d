"""A scripted stand-in for the engine, so editor tests know exactly what is proposed."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from pairterm.config import EngineConfig
from pairterm.editor.app import PairtermApp
from pairterm.editor.recovery import RecoveryStore
from pairterm.engine import Suggestion
from pairterm.interaction_log import InteractionLog


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
