"""What else of the project the model reads: gathered off the UI thread on open, on save and on
switching buffers (never per keystroke), and handed to the suggestion controller.

For a model with fill-in-the-middle tokens that is the project files `project_context.gather`
picks (the other open buffers' unsaved text among them); for any model it is the file's name,
whose language decides the syntax check.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from textual.app import App

from pairterm.editor.suggestions import SuggestionController
from pairterm.engine import Engine
from pairterm.project_context import gather, project_root, relative_name


class ContextFeed:
    def __init__(self, app: App[None], suggestions: SuggestionController,
                 context_tokens: Callable[[], int]) -> None:
        self.app = app
        self.suggestions = suggestions
        self.context_tokens = context_tokens

    def refresh(self, engine: Engine | None, path: Path | None, text: str,
                others: Sequence[tuple[Path, str]]) -> None:
        if engine is not None and engine.fim is not None:
            others = list(others)
            self.app.run_worker(lambda: self._gather(path, text, others), thread=True,
                                exclusive=True, group="context")
        else:
            self.suggestions.set_context([], relative_name(path))

    def _gather(self, path: Path | None, text: str, others: list[tuple[Path, str]]) -> None:
        root = project_root(path) if path is not None else None
        try:
            files = gather(path, text, others, root=root) if self.context_tokens() > 0 else []
        except OSError:  # an unreadable project never stops editing
            files = []
        self.app.call_from_thread(self.suggestions.set_context, files, relative_name(path, root))
