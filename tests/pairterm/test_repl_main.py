"""`pairterm repl` end to end: the real engine with the default model, and without a model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from prompt_toolkit.application import create_app_session
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from pairterm import cli, paths
from pairterm.repl import main
from tests.pairterm.test_repl_driver import ENTER, RIGHT, drive, wait_for


def _events() -> list[dict]:
    log = paths.log_file()
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines()]


@pytest.mark.slow
def test_real_engine_suggests_and_the_accepted_code_runs(
    default_model: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with create_pipe_input() as inp, create_app_session(input=inp, output=DummyOutput()):

        def script() -> None:
            inp.send_text("import os" + ENTER + "def add(a, b):" + ENTER)
            wait_for(
                lambda: any(e["event"] == "proposed" for e in _events()),
                timeout=60,
                what="a suggestion from the model",
            )
            inp.send_text(RIGHT)
            wait_for(lambda: any(e["event"] == "accepted" for e in _events()), what="accept")
            inp.send_text(ENTER + ENTER + "add(2, 3)" + ENTER)

        # the bare model: the shipped adapter stays silent right after `def add(a, b):`
        assert drive(lambda: main(["--adapter", "none"]), inp, script) == 0
    out = capsys.readouterr().out
    assert "Suggestions from model SmolLM2-135M-Instruct.Q4_1.gguf" in out
    assert out.rstrip().endswith("5")  # the model wrote the body; it ran
    events = _events()
    proposed = next(e for e in events if e["event"] == "proposed")
    accepted = next(e for e in events if e["event"] == "accepted")
    assert proposed["source"] == "repl" and proposed["model"] == default_model.name
    assert proposed["latency_ms"] > 0 and proposed["tokens"] > 0
    assert accepted["id"] == proposed["id"] and accepted["full"] is True
    history = (paths.state_dir() / "repl_history").read_text()
    assert "def add(a, b):" in history and "add(2, 3)" in history


def test_without_a_loadable_model_the_repl_runs_and_says_why_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"not a model")
    with create_pipe_input() as inp, create_app_session(input=inp, output=DummyOutput()):

        def script() -> None:
            inp.send_text("6 * 7" + ENTER + "x = 1" + ENTER)

        assert drive(lambda: main(["--model", str(bad)]), inp, script) == 0
    captured = capsys.readouterr()
    assert "42" in captured.out.splitlines()
    assert captured.err.count("suggestions are off") == 1
    assert "is not a GGUF file" in captured.err
    assert _events() == []


def test_a_bad_flag_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["repl", "--eta", "-1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--eta" in err
