"""The simulation core of benchmarks/typing.py (benchmarks/typing_sim.py), driven by scripted
suggestions on a fake clock."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

from pairterm.suggestion import Suggestion

BEFORE = "def add(x, y):\n    "
AFTER = "\n\n\nprint(add(1, 2))\n"


def _load() -> ModuleType:
    # by path: benchmarks/ is a folder of scripts, not a package
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "typing_sim.py"
    spec = importlib.util.spec_from_file_location("pairterm_typing_benchmark", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


sim = _load()

Script = dict[str, tuple[str, float, str]]  # typed so far -> (text, compute seconds, stop reason)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class FakeSource:
    """Scripted answers keyed by what was typed in the region; each costs fake compute, spent
    in steps with the cancellation checked between them, as the engine does between tokens."""

    def __init__(
        self, clock: FakeClock, answers: Script, follow: Script | None = None, heed: bool = True
    ) -> None:
        self.clock, self.answers, self.follow, self.heed = clock, answers, follow or {}, heed
        self.asked: list[str] = []

    def _compute(self, key: str, script: Script, cancelled: Callable[[], bool]) -> Suggestion:
        text, seconds, reason = script.get(key, ("", 0.01, "eta"))
        for _ in range(10):
            if self.heed and cancelled():
                return Suggestion("", 0, 0.0, "cancelled", seconds * 1000, prompt_tokens=5)
            self.clock.now += seconds / 10
        return Suggestion(text, len(text), 1.0, reason, seconds * 1000, prompt_tokens=5)

    def suggest(
        self, before: str, after: str, cancelled: Callable[[], bool] | None = None
    ) -> Suggestion:
        typed = before[len(BEFORE) :]
        self.asked.append(typed)
        return self._compute(typed, self.answers, cancelled or (lambda: False))

    def follow_up(
        self,
        before: str,
        after: str,
        shown: Suggestion,
        cancelled: Callable[[], bool] | None = None,
    ) -> Suggestion | None:
        key = before[len(BEFORE) :] + shown.text
        if key not in self.follow:
            return None
        return self._compute(key, self.follow, cancelled or (lambda: False))


def run(
    target: str, answers: Script, follow: Script | None = None, heed: bool = True
) -> tuple[object, FakeSource]:
    clock = FakeClock()
    source = FakeSource(clock, answers, follow, heed)
    region = sim.Region(BEFORE, target, AFTER)
    stats = sim.simulate_region(
        source, region, clock, cps=5.0, line_pause=1.0, debounce_s=0.12
    )
    return stats, source


def test_accepting_an_exact_suggestion_costs_one_keystroke() -> None:
    stats, _ = run("return x + y", {"": ("return x + y", 0.05, "eta")})
    assert (stats.chars, stats.keystrokes) == (12, 1)
    assert (stats.shown, stats.accepted, stats.accepted_chars) == (1, 1, 12)
    assert stats.saved_share == pytest.approx(1 - 1 / 12)


def test_a_partly_right_suggestion_is_taken_word_by_word() -> None:
    stats, source = run("return x + y", {"": ("return x - y", 0.05, "eta")})
    # "return", " x" (Ctrl+Right each), then " " consumes the ghost, "+", " ", "y" are typed
    assert stats.keystrokes == 6
    assert (stats.shown, stats.accepted, stats.accepted_chars) == (1, 1, len("return x"))
    # what is left of the ghost stays on screen: no request until it is gone
    assert source.asked == ["", "return x +", "return x + "]


def test_typing_through_the_ghost_consumes_it_without_requests() -> None:
    stats, source = run("return 1", {"": ("rex", 0.05, "eta")})
    assert stats.keystrokes == stats.chars == 8
    assert (stats.shown, stats.accepted) == (1, 0)
    assert "r" not in source.asked and "re" not in source.asked and "ret" in source.asked


def test_a_suggestion_not_ready_before_the_next_keystroke_is_not_shown() -> None:
    # the first keystroke comes 1/cps + line pause = 1.2 s after the region opens
    stats, _ = run("return x + y", {"": ("return x + y", 1.5, "eta")})
    assert (stats.shown, stats.keystrokes, stats.cancelled) == (0, 12, 1)
    # mid-line there are 0.2 s - 0.12 s of debounce = 80 ms to compute in
    slow, _ = run("return x + y", {"r": ("eturn x + y", 0.1, "eta")})
    fast, _ = run("return x + y", {"r": ("eturn x + y", 0.06, "eta")})
    assert (slow.shown, slow.keystrokes) == (0, 12)
    assert (fast.shown, fast.keystrokes) == (1, 2)


def test_a_late_result_that_was_not_cancelled_is_still_not_shown() -> None:
    stats, _ = run("return x + y", {"": ("return x + y", 1.5, "eta")}, heed=False)
    assert (stats.shown, stats.keystrokes, stats.late) == (0, 12, 1)
    assert stats.latencies_ms[0] == pytest.approx(1500)


def test_a_call_that_runs_past_the_next_keystroke_delays_the_request_after_it() -> None:
    answers = {"r": ("eturn x + y", 0.01, "eta")}
    quick, _ = run("return x + y", answers)
    assert (quick.shown, quick.keystrokes, quick.waited) == (1, 2, 0)
    # The first call, from 0.12 s, ignores its cancellation and holds the engine until 1.62 s,
    # past the keystrokes at 1.2 s and 1.4 s: the requests after them are cancelled unrun.
    answers[""] = ("return x + y", 1.5, "eta")
    slow, source = run("return x + y", answers, heed=False)
    assert (slow.shown, slow.keystrokes, slow.late) == (0, 12, 1)
    assert (slow.requests, slow.waited, slow.cancelled) == (12, 2, 2)
    assert source.asked[:2] == ["", "ret"]


def test_indentation_is_free_with_help_and_without() -> None:
    target = "if x:\n        y = 1\n\n    z = 2"
    assert sim.keystroke_unit(target, 5) == "\n        "
    assert sim.keystroke_unit(target, 19) == "\n"  # the blank line
    stats, _ = run(target, {})
    # "if x:" 5, Enter 1, "y = 1" 5, Enter 1, Enter 1, "z = 2" 5
    assert stats.chars == stats.keystrokes == 18
    # taking a line break with too little indentation saves nothing: Enter writes it all
    short, _ = run(target, {"if x:": ("\n    ", 0.05, "eta")})
    assert (short.keystrokes, short.shown, short.accepted) == (18, 1, 0)
    # a suggested line is taken with its indentation, which is no saving in itself
    line, _ = run(target, {"if x:": ("\n        y = 1", 0.05, "eta")})
    assert (line.keystrokes, line.accepted_chars) == (18 - 5, len("\n        y = 1"))


def test_the_follow_up_extends_a_suggestion_cut_by_the_time_budget() -> None:
    answers = {"": ("return x", 0.05, "time")}
    stats, _ = run("return x + y", answers, {"return x": (" + y", 0.05, "eta")})
    assert (stats.keystrokes, stats.shown, stats.extended, stats.follow_ups) == (1, 1, 1, 1)
    assert stats.shown_chars == 12
    # a follow-up that is not ready in time leaves the ghost as it was
    slow, _ = run("return x + y", answers, {"return x": (" + y", 2.0, "eta")})
    assert (slow.keystrokes, slow.extended, slow.shown_chars) == (5, 0, 8)


def test_the_follow_up_of_a_finished_suggestion_only_prefetches() -> None:
    answers = {"": ("return x", 0.05, "eta")}
    stats, _ = run("return x + y", answers, {"return x": (" + y", 0.05, "eta")})
    assert (stats.shown, stats.extended, stats.follow_ups, stats.shown_chars) == (1, 0, 1, 8)
