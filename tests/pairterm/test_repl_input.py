"""The REPL's pure parts: when Enter runs the input, indentation, and event bookkeeping."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from pairterm.interaction_log import RECENT_S, InteractionLog
from pairterm.repl._input import dedent_width, is_complete, next_indent
from pairterm.repl._runner import Runner
from pairterm.repl._tracker import Tracker, diff


@pytest.mark.parametrize(
    ("text", "complete"),
    [
        ("x = 1", True),
        ("", True),
        ("if x:", False),
        ("def f():\n    return 1", False),
        ("def f():\n    return 1\n", True),
        ("def f():\n    return 1\n    ", True),  # an indentation-only last line is empty
        ("xs = [1,", False),
        ("xs = [1,\n    2]", True),
        ('s = """abc', False),
        ("@decorator", False),
        ("1 +", True),  # a syntax error runs, so that it is shown
        ("x = 1\ny = 2", True),
    ],
)
def test_is_complete(text: str, complete: bool) -> None:
    assert is_complete(text) is complete


@pytest.mark.parametrize(
    ("line", "indent"),
    [
        ("def f(x):", 4),
        ("    if x:  # comment", 8),
        ("    total = compute(a,", 8),
        ("        return x", 4),
        ("    pass", 0),
        ("    x = 1", 4),
        ("s = 'a:'", 0),
        ("x = 1  # not a block:", 0),
    ],
)
def test_next_indent(line: str, indent: int) -> None:
    assert next_indent(line) == " " * indent


def test_dedent_width_goes_back_to_the_previous_stop() -> None:
    assert dedent_width("        ") == 4
    assert dedent_width("      ") == 2
    assert dedent_width("    x") == 0
    assert dedent_width("") == 0


def test_diff() -> None:
    assert diff("abc", "abXc") == (2, 0, 1)
    assert diff("aaa", "aa") == (2, 1, 0)
    assert diff("return x", "return y + 1") == (7, 1, 5)
    assert diff("", "") == (0, 0, 0)


def _events(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_tracker_counts_deleted_accepted_text_only_while_recent(tmp_path: Path) -> None:
    now = [1000.0]
    log = InteractionLog(tmp_path / "log.jsonl", "repl", model="m.gguf")
    tracker = Tracker(log, clock=lambda: now[0])
    tracker.changed("x = ")
    shown = tracker.shown(chars=6, tokens=2, bits=1.0, latency_ms=10.0, stop="eta")
    tracker.accept(shown, 6)
    tracker.changed("x = foo(1)")
    now[0] += 5
    tracker.changed("x = foo(")  # two accepted characters deleted 5 s after acceptance
    tracker.changed("x = foo(2)")  # typed
    now[0] += RECENT_S
    tracker.changed("x = ")  # deleted long after: counts as deleted, not as accepted-deleted
    tracker.finish()
    log.flush()  # the log writes on its own thread
    events = _events(tmp_path / "log.jsonl")
    assert [e["event"] for e in events] == ["proposed", "accepted", "typed", "deleted"]
    assert events[1] == {**events[1], "id": shown.id, "chars": 6, "full": True}
    assert events[2]["chars"] == 4 + 2
    assert events[3] == {**events[3], "chars": 2 + 6, "accepted_chars": 2, "id": shown.id}


def test_tracker_dismisses_a_suggestion_typed_over_and_one_left_at_submit(tmp_path: Path) -> None:
    log = InteractionLog(tmp_path / "log.jsonl", "repl")
    tracker = Tracker(log)
    first = tracker.shown(chars=3, tokens=1, bits=0.5, latency_ms=1.0, stop="eos")
    tracker.changed("a")
    second = tracker.shown(chars=3, tokens=1, bits=0.5, latency_ms=1.0, stop="eos")
    tracker.accept(second, 1)  # one word of three: partial, still showing the rest
    tracker.changed("ab")
    tracker.finish()
    log.flush()  # the log writes on its own thread
    events = [(e["event"], e.get("id"), e.get("full")) for e in _events(tmp_path / "log.jsonl")]
    assert events == [
        ("proposed", first.id, None),
        ("dismissed", first.id, None),
        ("proposed", second.id, None),
        ("accepted", second.id, False),
        ("dismissed", second.id, None),
        ("typed", None, None),
    ]


def test_runner_echoes_the_last_expression_and_keeps_names() -> None:
    out, err = io.StringIO(), io.StringIO()
    runner = Runner(stdout=out, stderr=err)
    assert runner.run("x = 2\nx * 3")
    assert runner.run("print(x + 1)")
    assert runner.run("None")  # None is not echoed, like python -i
    assert out.getvalue() == "6\n3\n"
    assert runner.namespace["_"] == 6


def test_runner_survives_every_exception_and_shows_the_users_line() -> None:
    out, err = io.StringIO(), io.StringIO()
    runner = Runner(stdout=out, stderr=err)
    assert not runner.run("def boom():\n    return 1 / 0\nboom()")
    assert not runner.run("raise KeyboardInterrupt")
    assert not runner.run("raise SystemExit(3)")
    assert not runner.run("x = (")
    assert runner.run("'alive'")
    text = err.getvalue()
    assert "ZeroDivisionError: division by zero" in text
    assert "return 1 / 0" in text  # the source line, from the registered input
    assert "KeyboardInterrupt" in text and "SystemExit: 3" in text
    assert "SyntaxError" in text
    assert "_runner.py" not in text  # the REPL's own frame is not shown
    assert out.getvalue() == "'alive'\n"
