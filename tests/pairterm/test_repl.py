"""The REPL driven through prompt-toolkit's pipe input, with a scripted suggester."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from prompt_toolkit.history import InMemoryHistory
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from pairterm.interaction_log import InteractionLog
from pairterm.repl import Repl
from pairterm.stats_core import aggregate, read_log
from tests.pairterm.test_repl_driver import (
    ALT_F,
    BACKSPACE,
    CTRL_E,
    CTRL_RIGHT,
    ENTER,
    LEFT,
    RIGHT,
    Scripted,
    drive,
    wait_for,
)


class Session:
    def __init__(self, repl: Repl, inp, log_path: Path) -> None:
        self.repl, self.inp, self.log_path = repl, inp, log_path
        self.out: io.StringIO = repl.stdout  # type: ignore[assignment]
        self.err: io.StringIO = repl.stderr  # type: ignore[assignment]

    def type(self, text: str) -> None:
        self.inp.send_text(text)

    def wait_text(self, text: str) -> None:
        wait_for(lambda: self.repl.buffer.text == text, what=f"buffer {text!r}")

    def wait_out(self, text: str) -> None:
        wait_for(lambda: text in self.out.getvalue(), what=f"output {text!r}")

    def wait_ghost(self) -> str:
        def shown() -> str | None:
            s = self.repl.buffer.suggestion
            return s.text if s is not None and getattr(s, "shown", None) else None

        return wait_for(shown, what="a suggestion")

    def events(self) -> list[dict]:
        if not self.log_path.exists():
            return []
        return [json.loads(line) for line in self.log_path.read_text().splitlines()]

    def run(self, script: Callable[[], None]) -> int:
        return drive(self.repl.run, self.inp, script)


@contextmanager
def session(tmp_path: Path, suggester: Scripted | None = None) -> Iterator[Session]:
    log_path = tmp_path / "log.jsonl"
    log = InteractionLog(log_path, "repl", model="scripted.gguf")
    with create_pipe_input() as inp:
        repl = Repl(
            suggester,
            log,
            history=InMemoryHistory(),
            input=inp,
            output=DummyOutput(),
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )
        yield Session(repl, inp, log_path)


def test_persistent_namespace_echo_and_multiline_blocks(tmp_path: Path) -> None:
    with session(tmp_path) as s:

        def script() -> None:
            s.type("x = 20" + ENTER + "x + 22" + ENTER)
            s.wait_out("42\n")
            s.type("def f(n):" + ENTER)
            s.wait_text("def f(n):\n    ")  # auto-indented after ':'
            s.type("if n:" + ENTER)
            s.wait_text("def f(n):\n    if n:\n        ")
            s.type("return n * x" + ENTER)  # dedents after return
            s.wait_text("def f(n):\n    if n:\n        return n * x\n    ")
            s.type("return -1" + ENTER)
            s.wait_text("def f(n):\n    if n:\n        return n * x\n    return -1\n")
            s.type(ENTER)  # the empty line ends the block
            s.type("f(2), f(0)" + ENTER)
            s.wait_out("(40, -1)\n")
            s.type("xs = [1," + ENTER)
            s.wait_text("xs = [1,\n    ")  # open bracket: continue, indented
            s.type("2]" + ENTER + "xs" + ENTER)
            s.wait_out("[1, 2]\n")
            s.type("if True:" + ENTER + BACKSPACE)
            s.wait_text("if True:\n")  # Backspace in the indentation removes a whole level

        assert s.run(script) == 0
        assert s.out.getvalue() == "42\n(40, -1)\n[1, 2]\n"
        assert s.repl.inputs[2] == "def f(n):\n    if n:\n        return n * x\n    return -1\n"


def test_exceptions_print_a_traceback_and_the_repl_lives_on(tmp_path: Path) -> None:
    with session(tmp_path) as s:

        def script() -> None:
            s.type("1 / 0" + ENTER)
            s.type("raise KeyboardInterrupt" + ENTER)
            s.type("import sys; sys.exit(3)" + ENTER)
            s.type("def (" + ENTER)
            s.type("'still here'" + ENTER)
            s.wait_out("'still here'")

        assert s.run(script) == 0
        err = s.err.getvalue()
        assert "ZeroDivisionError" in err
        assert "KeyboardInterrupt" in err
        assert "SystemExit: 3" in err and "Ctrl+D leaves" in err
        assert "SyntaxError" in err


def test_accepting_a_whole_suggestion_and_the_model_sees_earlier_inputs(tmp_path: Path) -> None:
    def rule(before: str) -> str:
        # The engine's contract: it is given the typed indentation and heals it itself.
        return "return a + b\n" if before.endswith("def add(a, b):\n    ") else ""

    scripted = Scripted(rule)
    with session(tmp_path, scripted) as s:

        def script() -> None:
            s.type("import math" + ENTER)
            s.wait_text("")
            s.type("def add(a, b):" + ENTER)
            assert s.wait_ghost() == "return a + b"
            s.type(RIGHT)
            s.wait_text("def add(a, b):\n    return a + b")
            s.type(ENTER + ENTER + "add(2, 3)" + ENTER)
            s.wait_out("5\n")

        assert s.run(script) == 0
        # The model saw the session's earlier input before the current one.
        befores = [b for b, _ in scripted.calls if b.endswith("def add(a, b):\n    ")]
        assert befores and befores[0].startswith("import math\n")
        events = s.events()
        proposed = [e for e in events if e["event"] == "proposed"]
        accepted = [e for e in events if e["event"] == "accepted"]
        assert len(proposed) == 1 and proposed[0]["chars"] == len("return a + b")
        assert proposed[0]["latency_ms"] == 12.0 and proposed[0]["source"] == "repl"
        assert accepted == [{**accepted[0], "id": proposed[0]["id"], "chars": 12, "full": True}]
        assert not [e for e in events if e["event"] == "dismissed"]
        typed = sum(e["chars"] for e in events if e["event"] == "typed")
        # What the person typed, without the accepted text and the auto-indentation.
        assert typed == len("import math") + len("def add(a, b):\n") + 1 + len("add(2, 3)")


def test_word_by_word_acceptance_then_the_rest(tmp_path: Path) -> None:
    scripted = Scripted(lambda before: " sum(values) + 1" if before.endswith("total =") else "")
    with session(tmp_path, scripted) as s:

        def script() -> None:
            s.type("total =")
            assert s.wait_ghost() == " sum(values) + 1"
            s.type(CTRL_RIGHT)
            s.wait_text("total = sum")
            assert s.repl.buffer.suggestion.text == "(values) + 1"  # the rest, at once
            s.type(ALT_F)
            s.wait_text("total = sum(")
            s.type(CTRL_E)
            s.wait_text("total = sum(values) + 1")
            s.type(BACKSPACE * 3)  # take back "+ 1"
            s.wait_text("total = sum(values) ")
            s.type(ENTER)

        assert s.run(script) == 0
        assert "NameError" in s.err.getvalue()  # `values` is not defined: it ran
        events = s.events()
        accepted = [(e["chars"], e["full"]) for e in events if e["event"] == "accepted"]
        assert accepted == [(4, False), (1, False), (11, True)]
        assert len([e for e in events if e["event"] == "proposed"]) == 1
        deleted = [e for e in events if e["event"] == "deleted"]
        assert deleted[0]["chars"] == 3 and deleted[0]["accepted_chars"] == 3
        # The same log read back by the stats core: one suggestion, accepted in full.
        total = aggregate(read_log(s.log_path).events).total.to_dict()
        assert total["shown"] == 1 and total["accepted_full"] == 1
        assert total["chars_accepted"] == 16 and total["chars_deleted_after_accept"] == 3


def test_right_arrow_moves_the_cursor_when_nothing_is_suggested(tmp_path: Path) -> None:
    with session(tmp_path, Scripted(lambda before: "")) as s:

        def script() -> None:
            s.type("ab" + LEFT + LEFT + RIGHT + "X")
            s.wait_text("aXb")
            s.type(ENTER)

        s.run(script)
        assert "NameError: name 'aXb'" in s.err.getvalue()


def test_a_stale_suggestion_is_cancelled_and_never_shown(tmp_path: Path) -> None:
    started = threading.Event()
    saw_cancel: list[bool] = []

    class Slow(Scripted):
        def suggest(self, before, after="", cancelled=None):  # type: ignore[no-untyped-def]
            if before.endswith("x = 1"):
                started.set()
                wait_for(cancelled, what="cancellation")
                saw_cancel.append(True)
                return super().suggest(before, after, cancelled)
            return super().suggest(before, after, cancelled)

    slow = Slow(lambda before: "STALE" if before.endswith("x = 1") else " + 3")
    with session(tmp_path, slow) as s:

        def script() -> None:
            s.type("x = 1")
            assert started.wait(10)
            s.type("2")  # the user types on while the model is still working
            assert s.wait_ghost() == " + 3"
            s.type(ENTER)

        s.run(script)
        assert saw_cancel == [True]
        proposed = [e for e in s.events() if e["event"] == "proposed"]
        assert [e["chars"] for e in proposed] == [len(" + 3")]


def test_typing_over_a_suggestion_dismisses_it(tmp_path: Path) -> None:
    scripted = Scripted(lambda before: " 42" if before.endswith("y =") else "")
    with session(tmp_path, scripted) as s:

        def script() -> None:
            s.type("y =")
            s.wait_ghost()
            s.type(" 7" + ENTER + "y" + ENTER)
            s.wait_out("7\n")

        s.run(script)
        events = [(e["event"], e.get("id")) for e in s.events()]
        assert events[:2] == [("proposed", 1), ("dismissed", 1)]
        assert ("accepted", 1) not in events


def test_a_failing_model_call_is_reported_once_and_typing_goes_on(tmp_path: Path) -> None:
    def broken(before: str) -> str:
        raise RuntimeError("llama_decode returned -1")

    scripted = Scripted(broken)
    with session(tmp_path, scripted) as s:

        def script() -> None:
            s.type("a = 1")
            wait_for(lambda: scripted.calls, what="a first model call")
            s.type(ENTER + "b = 2")
            wait_for(lambda: len(scripted.calls) >= 2, what="a second model call")
            s.type(ENTER + "a + b" + ENTER)
            s.wait_out("3\n")

        s.run(script)
        assert s.err.getvalue().count("a suggestion failed: llama_decode returned -1") == 1


def test_the_repl_runs_the_shipped_adapter(capsys, monkeypatch) -> None:
    """The same input, with and without `--adapter empower`: the banner names the adapter, and
    the model the REPL suggests with is the adapted one. The shipped Empower adapter keeps the
    base model's predictions of text and moves probability onto stopping, so what tells them
    apart is how much of it the REPL's own engine puts on stopping over a fixed piece of code."""
    from prompt_toolkit.application import create_app_session

    from pairterm.engine import Engine
    from pairterm.repl import main

    typed = "for i in range(10):"
    code = (Path(__file__).resolve().parents[2] / "pairterm" / "editor" / "indent.py").read_text(
        encoding="utf-8")[:1500]  # fmt: skip
    stop_mass: list[float] = []
    real_suggest = Engine.suggest

    def spy(self, before, after="", cancelled=None, **kw):  # noqa: ANN001, ANN202
        s = real_suggest(self, before, after, cancelled, **kw)
        if before.rstrip().endswith(typed) and s.stop_reason != "cancelled" and not stop_mass:
            stop_mass.append(float(self.score(code)[:, 2].mean()))
        return s

    monkeypatch.setattr(Engine, "suggest", spy)
    measured = {}
    for argv, named in ((["--adapter", "empower"], True), (["--adapter", "none"], False)):
        stop_mass.clear()
        with create_pipe_input() as inp, create_app_session(input=inp, output=DummyOutput()):

            def script() -> None:
                inp.send_text(typed + ENTER)  # the REPL indents the body's first line
                wait_for(lambda: stop_mass, timeout=90, what="a suggestion for the loop body")

            args = ["--no-log", "--threads", "1", *argv]
            assert drive(lambda args=args: main(args), inp, script) == 0
        out = capsys.readouterr().out
        assert "Suggestions from model SmolLM2-135M-Instruct.Q4_1.gguf" in out
        assert ("adapter default-adapter.gguf" in out) is named
        measured[named] = stop_mass[0]
    assert measured[False] < 0.01 < measured[True], measured
