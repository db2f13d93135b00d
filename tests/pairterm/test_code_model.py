"""The installable code model (Qwen2.5-Coder-0.5B, installed by `make test` with
`pairterm model install`): fill-in-the-middle and project context end to end, on the real GGUF."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pairterm.config import EngineConfig
from pairterm.engine import Engine
from tests.conftest import REAL_DATA_HOME

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("installed_models")]
NAME = "qwen2.5-coder-0.5b"


@pytest.fixture(scope="module")
def code_model() -> Path:
    from pairterm.model_catalog import get

    path = Path(REAL_DATA_HOME) / "pairterm" / "models" / get(NAME).file_name
    if not path.is_file():
        pytest.fail(f"{NAME} is not installed: `make test` installs it (pairterm model install)")
    return path


def engine_for(model: Path, **options: object) -> Engine:
    return Engine(EngineConfig(model=model, adapter=None, threads=2, max_decode_ms=10**6,
                               **options))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def fim_engine(code_model: Path) -> Iterator[Engine]:
    engine = engine_for(code_model)
    yield engine
    engine.close()


def test_fim_reads_the_text_after_the_cursor(fim_engine: Engine, code_model: Path) -> None:
    before = "def describe(user):\n    "
    after = '\n    return f"{name} is {age} years old"\n'
    assert fim_engine.fim is not None
    assert fim_engine.suggest(before, after).text.startswith("name = ")
    plain = engine_for(code_model, fim=False)
    try:
        assert not plain.suggest(before, after).text.startswith("name")  # it cannot know
    finally:
        plain.close()


def test_fim_stops_where_the_code_after_the_cursor_takes_over(fim_engine: Engine) -> None:
    before = "def mean(values):\n    total = sum(values)\n    "
    s = fim_engine.suggest(before, "\n    return total / count\n")
    assert s.text == "count = len(values)"  # and not the return line a second time


def run_pairterm(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pairterm", *args], capture_output=True,
                          text=True, timeout=300)


def test_a_name_defined_only_in_another_project_file_is_completed(
    tmp_path: Path, code_model: Path
) -> None:
    (tmp_path / ".git").mkdir()  # a project root
    (tmp_path / "helpers.py").write_text(
        "def frobnicate_widget(widget, level=3):\n"
        '    """Frobnicate a widget."""\n'
        "    return widget * level\n"
    )
    main = tmp_path / "main.py"
    main.write_text("from helpers import *\n\n\ndef run(w):\n    return frob\n")
    where = ["suggest", str(main), "--line", "5", "--column", "16", "--model", NAME, "--json"]
    with_context = run_pairterm(*where)
    assert with_context.returncode == 0, with_context.stderr
    assert json.loads(with_context.stdout)["text"].startswith("nicate_widget")
    alone = run_pairterm(*where, "--no-context")
    assert not json.loads(alone.stdout)["text"].startswith("nicate_widget")


def test_the_default_is_the_installed_code_model_and_doctor_says_it_has_fim(
    code_model: Path,
) -> None:
    code = run_pairterm("doctor", "--json")
    assert code.returncode == 0, code.stderr
    report = json.loads(code.stdout)
    assert report["model"] == str(code_model)
    assert report["fim"] is True and report["project_context"] is True
    assert report["adapter"] is None
    small = json.loads(run_pairterm("doctor", "--json", "--model", "smollm2-135m").stdout)
    assert small["fim"] is False
    refused = run_pairterm("doctor", "--adapter", "empower")  # SmolLM2's adapter, not this one's
    assert refused.returncode == 2 and "does not fit" in refused.stderr


async def test_the_editor_runs_the_default_code_model_with_fim(tmp_path: Path) -> None:
    import os

    from textual.widgets import Static

    from pairterm.config import build_config
    from pairterm.editor.app import PairtermApp
    from pairterm.editor.recovery import RecoveryStore
    from pairterm.interaction_log import InteractionLog

    from .test_editor import wait_for

    path = tmp_path / "stats.py"
    path.write_text("def mean(values):\n    total = sum(values)\n    \n    return total / count\n")
    # No decode time budget: on a loaded machine a time-cut suggestion would arrive in parts
    # (the continuation follows), and this test is about what the whole suggestion says.
    config = build_config({"max_decode_ms": 10**9}, file=Path(os.devnull))
    app = PairtermApp(path, path.read_text(), config,
                      log=InteractionLog(None, "editor"), recovery=RecoveryStore(tmp_path / "r"))
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: app.engine is not None, tries=1000)
        assert app.engine.model_name.startswith("qwen2.5-coder-0.5b")
        await pilot.press("down", "down", "end", "c")
        await wait_for(pilot, lambda: bool(app.editor.ghost), tries=1000)
        # the code after the cursor decides: `count` is what the return line needs
        assert app.editor.ghost.startswith("ount = len(values)")
        assert "\n" not in app.editor.ghost  # and it stops before repeating that line
        assert "qwen2.5-coder" in str(app.query_one("#status", Static).render())
