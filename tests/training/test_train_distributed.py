"""Data-parallel training (torchrun / accelerate launch) computes what one process computes.

Two CPU processes (gloo) with batch 2 each against one process with batch 4: the same examples per
optimizer step, so with dropout off the adapters agree to float rounding and the reported losses
and token counts are the global ones.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from safetensors.torch import load_file

REPO_ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "OMP_NUM_THREADS": "1"}


def args(repo: Path, base: Path, out: Path, batch: int) -> list[str]:
    return [
        "-m", "training", str(repo), "--out", str(out), "--base", str(base), "--eta", "30",
        "--max-steps", "4", "--batch-size", str(batch), "--grad-accum", "2", "--threads", "1",
        "--lora-dropout", "0", "--quiet",
    ]  # fmt: skip


def test_two_processes_match_one(git_repo: Path, tiny_model: Path, tmp_path: Path) -> None:
    torchrun = Path(sys.executable).with_name("torchrun")
    if not torchrun.exists():
        pytest.skip("torchrun is not installed next to this Python")
    two, one = tmp_path / "two", tmp_path / "one"
    cmd = [
        str(torchrun),
        "--standalone",
        "--nproc_per_node",
        "2",
        *args(git_repo, tiny_model, two, 2),
    ]
    proc = subprocess.run(cmd, cwd=REPO_ROOT, env=ENV, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    proc = subprocess.run(
        [sys.executable, *args(git_repo, tiny_model, one, 4)],
        cwd=REPO_ROOT, env=ENV, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    r2, r1 = (json.loads((r / "report.json").read_text()) for r in (two, one))
    assert r2["processes"] == 2 and r1["processes"] == 1
    assert r2["train_tokens"] == r1["train_tokens"] and r2["target_tokens"] == r1["target_tokens"]
    assert r2["losses"] == pytest.approx(r1["losses"], rel=1e-5)
    w2, w1 = (load_file(r / "adapter" / "adapter_model.safetensors") for r in (two, one))
    assert any(t.abs().max() > 1e-5 for k, t in w1.items() if "lora_B" in k)
    for name in w1:
        assert (w2[name] - w1[name]).abs().max() < 1e-6, name
