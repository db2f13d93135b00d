"""Fixtures for training tests, built once per session (seconds on 2 cores)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.training.helpers import build_tiny_model, make_repo, python_source


@pytest.fixture(scope="session")
def git_repo(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("repo")
    make_repo(root)
    return root


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    corpus = [python_source(s) for s in range(12)]
    return build_tiny_model(tmp_path_factory.mktemp("tiny-llama"), corpus)


@pytest.fixture(scope="session")
def tiny_fim_model(tmp_path_factory) -> Path:
    corpus = [python_source(s) for s in range(12)]
    return build_tiny_model(tmp_path_factory.mktemp("tiny-fim-llama"), corpus, fim=True)
