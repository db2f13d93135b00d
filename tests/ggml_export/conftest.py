"""Tiny real models and runs, built once per session (a few seconds on 2 cores)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.ggml_export.builders import build_hf_model, build_run


@pytest.fixture(scope="session")
def tiny_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    import torch

    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("tiny")
    runs = {}
    for arch in ("llama", "qwen2"):
        base = build_hf_model(root / f"{arch}-base", arch)
        runs[arch], _ = build_run(root / f"{arch}-run", base, "hf")
    return runs
