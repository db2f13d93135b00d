"""An interrupted run, resumed, ends with the same adapter as an uninterrupted one.

Real subprocesses: one runs to the end; another is killed with SIGKILL (or stopped with SIGINT,
as Ctrl+C does) right after its first checkpoint, then continued with `--resume`.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from safetensors.torch import load_file

from training import rundir

REPO_ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONHASHSEED": "0"}


def command(repo: Path, base: Path, out: Path) -> list[str]:
    return [
        sys.executable, "-m", "training", str(repo), "--out", str(out), "--base", str(base),
        "--eta", "30", "--density", "0.2", "--epochs", "2", "--max-steps", "60", "--checkpoint-every", "5",
        "--batch-size", "4", "--grad-accum", "2", "--threads", "1", "--quiet",
    ]  # fmt: skip


def run_to_end(args: list[str]) -> None:
    proc = subprocess.run(args, cwd=REPO_ROOT, env=ENV, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr


def interrupt_after_first_checkpoint(
    args: list[str], out: Path, sig: int
) -> subprocess.CompletedProcess:
    proc = subprocess.Popen(
        args, cwd=REPO_ROOT, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        # A run started from a background job inherits SIGINT ignored, and Python then never
        # turns Ctrl+C into KeyboardInterrupt: give the child the terminal's default back.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    checkpoints = rundir.partial_dir(out) / "checkpoints"
    deadline = time.monotonic() + 240
    while not list(checkpoints.glob("step-*.pt")):
        assert proc.poll() is None, proc.communicate()[1]
        assert time.monotonic() < deadline, "no checkpoint appeared"
        time.sleep(0.01)
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(args, proc.returncode, stdout, stderr)


@pytest.fixture(scope="module")
def uninterrupted(git_repo: Path, tiny_model: Path, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("whole") / "run"
    run_to_end(command(git_repo, tiny_model, out))
    return out


def assert_same_run(a: Path, b: Path) -> None:
    wa = load_file(a / "adapter" / "adapter_model.safetensors")
    wb = load_file(b / "adapter" / "adapter_model.safetensors")
    assert wa.keys() == wb.keys()
    for name in wa:
        assert (wa[name] == wb[name]).all(), name  # bit for bit, not merely close
    ra, rb = (json.loads((r / "report.json").read_text()) for r in (a, b))
    assert ra["steps"] == rb["steps"] == 60
    assert ra["losses"] == rb["losses"]
    assert rb["resumed"] and not ra["resumed"]


def test_sigkill_then_resume_gives_the_same_adapter(
    uninterrupted: Path, git_repo: Path, tiny_model: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    killed = interrupt_after_first_checkpoint(
        command(git_repo, tiny_model, out), out, signal.SIGKILL
    )
    assert killed.returncode == -signal.SIGKILL
    assert not out.exists()  # nothing that looks finished
    steps = sorted(p.name for p in (rundir.partial_dir(out) / "checkpoints").glob("step-*.pt"))
    assert steps and steps[-1] < "step-0000060.pt"
    run_to_end([sys.executable, "-m", "training", "--resume", str(out), "--quiet"])
    assert not rundir.partial_dir(out).exists()
    assert_same_run(uninterrupted, out)


def test_ctrl_c_saves_a_checkpoint_and_resume_finishes_the_same(
    uninterrupted: Path, git_repo: Path, tiny_model: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    stopped = interrupt_after_first_checkpoint(
        command(git_repo, tiny_model, out), out, signal.SIGINT
    )
    assert stopped.returncode == 130, stopped.stderr
    assert f"pairterm train --resume {out}" in stopped.stderr and "Traceback" not in stopped.stderr
    assert not out.exists()
    run_to_end([sys.executable, "-m", "training", "--resume", str(out), "--quiet"])
    assert_same_run(uninterrupted, out)
