"""Helpers, not tests: drive a Repl from a second thread through prompt-toolkit's pipe input."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from prompt_toolkit.input import PipeInput

from pairterm.suggestion import Suggestion

RIGHT = "\x1b[C"
LEFT = "\x1b[D"
CTRL_RIGHT = "\x1b[1;5C"
ALT_F = "\x1bf"
CTRL_E = "\x05"
CTRL_C = "\x03"
CTRL_D = "\x04"
BACKSPACE = "\x7f"
ENTER = "\r"


def wait_for(predicate: Callable[[], Any], timeout: float = 20.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


def drive(run: Callable[[], int], inp: PipeInput, script: Callable[[], None]) -> int:
    """Run the REPL in this thread while `script` types in another; then Ctrl+C (drop any
    unfinished input) and Ctrl+D (leave). An assertion failing in the script is re-raised here
    once the REPL has been shut."""
    errors: list[BaseException] = []

    def feeder() -> None:
        try:
            script()
        except BaseException as exc:  # noqa: B036 - re-raised in the test thread
            errors.append(exc)
        finally:
            inp.send_text(CTRL_C + CTRL_D)

    thread = threading.Thread(target=feeder, daemon=True)
    thread.start()
    rc = run()
    thread.join(30)
    if errors:
        raise errors[0]
    return rc


@dataclass
class Scripted:
    """A stand-in for the engine: `rule(before)` gives the suggestion text; calls are recorded."""

    rule: Callable[[str], str]
    calls: list[tuple[str, str]] = field(default_factory=list)

    def suggest(
        self, before: str, after: str = "", cancelled: Callable[[], bool] | None = None
    ) -> Suggestion:
        self.calls.append((before, after))
        text = self.rule(before)
        return Suggestion(
            text=text, tokens=len(text.split()), total_bits=1.5, stop_reason="eta", latency_ms=12.0
        )
