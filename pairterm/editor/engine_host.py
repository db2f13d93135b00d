"""The model's life in the editor: loaded in a thread worker, then ready or failed.

The editor never waits for it and outlives any failure of it: a missing or broken model turns
suggestions off with the reason in the status bar, and editing goes on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from pairterm.config import EngineConfig
from pairterm.engine import Engine
from pairterm.errors import UserError

if TYPE_CHECKING:
    from textual.app import App

EngineFactory = Callable[[EngineConfig], Engine]


def load_engine(config: EngineConfig) -> Engine:
    """The real engine, with what healing needs built now, in the loading worker, so that the
    first suggestion does not pay for a pass over the vocabulary."""
    engine = Engine(config)
    engine.warm()
    return engine


class EngineHost:
    def __init__(
        self,
        app: App[None],
        factory: EngineFactory,
        on_ready: Callable[[Engine], None],
        on_failed: Callable[[str], None],
        on_stopped: Callable[[], None],
    ) -> None:
        self.app = app
        self.factory = factory
        self.on_ready = on_ready
        self.on_failed = on_failed  # loading failed: the reason is for the person
        self.on_stopped = on_stopped  # the engine is gone (failed): stop using it
        self.engine: Engine | None = None
        self.state = "loading model…"

    def load(self, config: EngineConfig) -> None:
        self.app.run_worker(lambda: self._load(config), thread=True, exclusive=True,
                            group="load")

    def _load(self, config: EngineConfig) -> None:
        try:
            engine = self.factory(config)
        except UserError as exc:
            self.app.call_from_thread(self.on_failed, str(exc))
            return
        except Exception as exc:  # the editor must outlive any failure of the model
            self.app.call_from_thread(self.on_failed, f"{type(exc).__name__}: {exc}")
            return
        self.app.call_from_thread(self._ready, engine)

    def _ready(self, engine: Engine) -> None:
        if not self.app.is_running:
            engine.close()
            return
        self.engine = engine
        self.state = "suggestions on"
        self.on_ready(engine)

    def failed(self, reason: str) -> None:
        if self.engine is not None:
            self.on_stopped()
            self.engine.close()
            self.engine = None
        self.state = f"suggestions off: {reason}"

    def close(self) -> None:
        if self.engine is not None:
            self.engine.close()
            self.engine = None
