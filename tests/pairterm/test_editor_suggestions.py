"""The editor's suggestion path (SuggestionController) against engines that take their time and
honour `cancelled`, as llama.cpp does between tokens."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from pairterm.suggestion import Suggestion

from .editor_support import ScriptedEngine, make_app
from .test_editor import wait_for


class SlowEngine(ScriptedEngine):
    """Thinks for `think_s`, checking `cancelled` every 5 ms, then proposes " = 1"."""

    def __init__(self, think_s: float) -> None:
        super().__init__(lambda b, a: " = 1")
        self.think_s = think_s
        self.outcomes: list[tuple[str, str]] = []  # (text before the cursor, finished|cancelled)
        self.running = threading.Event()

    def suggest(self, before: str, after: str = "", cancelled=None, **_: object) -> Suggestion:  # type: ignore[no-untyped-def,override]
        self.running.set()
        end = time.monotonic() + self.think_s
        while time.monotonic() < end:
            if cancelled is not None and cancelled():
                self.outcomes.append((before, "cancelled"))
                return Suggestion("", 0, 0.0, "cancelled", 1.0)
            time.sleep(0.005)
        self.outcomes.append((before, "finished"))
        return Suggestion(" = 1", 2, 1.0, "eta", self.think_s * 1000)


async def test_typing_cancels_the_running_request_and_only_the_last_is_shown(
    tmp_path: Path,
) -> None:
    engine = SlowEngine(think_s=0.4)
    app, _ = make_app(tmp_path, "", engine)
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: app.engine is not None)
        await pilot.press("a")
        await wait_for(pilot, lambda: engine.running.is_set())
        started = time.monotonic()
        await pilot.press("b")  # while the model still thinks about "a"
        await wait_for(pilot, lambda: app.editor.ghost == " = 1")
        assert engine.outcomes[0] == ("a", "cancelled")
        # The stale request gave way at once: the new one did not wait behind its 0.4 s.
        assert time.monotonic() - started < 0.8
        assert [o for o in engine.outcomes if o[1] == "finished"] == [("ab", "finished")]
        assert app.editor.text == "ab"


class CutEngine(ScriptedEngine):
    """Answers in two parts, as the engine does when its decode time budget runs out."""

    def __init__(self) -> None:
        super().__init__(lambda b, a: "")
        self.etas: list[float | None] = []

    def suggest(self, before: str, after: str = "", cancelled=None, *, eta=None, **_: object) -> Suggestion:  # type: ignore[no-untyped-def,override]
        self.etas.append(eta)
        if before.endswith("total = "):
            return Suggestion("sum(", 2, 0.5, "time", 5.0)
        if before.endswith("total = sum("):
            return Suggestion("values)", 2, 0.5, "eta", 5.0)
        return Suggestion("", 0, 0.0, "eta", 1.0)


async def test_a_suggestion_cut_by_the_time_budget_grows_on_screen(tmp_path: Path) -> None:
    engine = CutEngine()
    app, _ = make_app(tmp_path, "", engine)
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: app.engine is not None)
        for key in "total = ":
            await pilot.press("space" if key == " " else key)
        await wait_for(pilot, lambda: app.editor.ghost == "sum(values)")
        # The continuation spent only what the first part left of η.
        assert app.config.eta - 0.5 in engine.etas
        await pilot.press("tab")
        assert app.editor.text == "total = sum(values)"


class TokenEngine(ScriptedEngine):
    """Decodes " = compute(1)" in four pieces, checking `cancelled` between them, and after
    the second waits (up to 5 s) for the person; a cancelled call leaves what it had decoded,
    as the engine does."""

    PIECES = (" =", " compute", "(1", ")")

    def __init__(self) -> None:
        super().__init__(lambda b, a: "")
        self.two_pieces = threading.Event()

    def suggest(self, before: str, after: str = "", cancelled=None, **_: object) -> Suggestion:  # type: ignore[no-untyped-def,override]
        with self.lock:
            self.calls.append((before, after))
        if not before.endswith("x"):
            return Suggestion("", 0, 0.0, "eta", 1.0, prompt_tokens=5)
        text = ""
        for i, piece in enumerate(self.PIECES):
            end = time.monotonic() + (5.0 if i == 2 else 0.05)
            while time.monotonic() < end:
                if cancelled is not None and cancelled():
                    return Suggestion("", i, 1.0, "cancelled", 1.0, partial=text, prompt_tokens=5)
                time.sleep(0.005)
            text += piece
            if i == 1:
                self.two_pieces.set()
        return Suggestion(text, 4, 2.0, "eta", 600.0, prompt_tokens=5)


async def test_typing_the_start_of_an_unfinished_suggestion_shows_the_rest_at_once(
    tmp_path: Path,
) -> None:
    engine = TokenEngine()
    app, _ = make_app(tmp_path, "", engine)
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: app.engine is not None)
        await pilot.press("x")
        await wait_for(pilot, lambda: engine.two_pieces.is_set())
        await pilot.press("space")  # the start of what the model was writing: " = compute"
        await wait_for(pilot, lambda: app.editor.ghost == "= compute")
        # the model was not asked again at "x ": the rest came from the cancelled call
        assert ("x ", "") not in engine.calls
        await pilot.press("tab")
        assert app.editor.text == "x = compute"
