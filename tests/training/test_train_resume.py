"""An interrupted run, resumed, ends with the same adapter as an uninterrupted one.

Real subprocesses: one runs to the end; another is killed with SIGKILL (or stopped with SIGINT,
as Ctrl+C does) right after its first checkpoint, right after an optimizer step, or before its
data is collected, then continued with `--resume` (after new commits, or with flags of its own).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from safetensors.torch import load_file

from pairterm.errors import UserError
from training import rundir
from training.request import TrainRequest, resumed_request
from training.trainer import TEST_INTERRUPT_ENV

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


def test_resume_after_new_commits_trains_on_the_commit_the_run_started_on(
    uninterrupted: Path, git_repo: Path, tiny_model: Path, tmp_path: Path
) -> None:
    import git

    from tests.training.helpers import ALICE, _commit, _write, python_source

    repo_dir = tmp_path / "repo"
    shutil.copytree(git_repo, repo_dir)
    with git.Repo(repo_dir) as repo:
        started_on = repo.head.commit.hexsha
    out = tmp_path / "run"
    proc = subprocess.Popen(command(repo_dir, tiny_model, out), cwd=REPO_ROOT, env=ENV,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip
    work = rundir.partial_dir(out)
    deadline = time.monotonic() + 240
    while not (work / "run.json").is_file():  # killed before its data is collected and labeled
        assert proc.poll() is None, proc.communicate()[1]
        assert time.monotonic() < deadline, "the run never started"
        time.sleep(0.005)
    proc.kill()
    proc.communicate(timeout=60)
    assert not (work / "prepare.json").exists(), "killed too late: the examples were kept"
    assert json.loads((work / "run.json").read_text())["commit"] == started_on
    # The person keeps working on the branch before resuming.
    with git.Repo(repo_dir) as repo:
        when = datetime(2025, 2, 1, tzinfo=UTC)
        repo.index.add([_write(repo_dir, "src/later.py", python_source(10)),
                        _write(repo_dir, "src/util.py", python_source(11))])  # fmt: skip
        _commit(repo, ALICE, "alice: later work", when)
        assert repo.head.commit.hexsha != started_on
    run_to_end([sys.executable, "-m", "training", "--resume", str(out), "--quiet"])
    split = json.loads((out / "split.json").read_text())
    assert split["source"]["rev"] == started_on
    assert "src/later.py" not in {d["path"] for d in split["train"] + split["holdout"]}
    assert_same_run(uninterrupted, out)


def test_ctrl_c_right_after_an_optimizer_step_does_not_run_that_step_twice(
    uninterrupted: Path, git_repo: Path, tiny_model: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    # Step 7 is no checkpoint of its own (every 5): the checkpoint comes from the Ctrl+C.
    env = {**ENV, TEST_INTERRUPT_ENV: "7"}
    stopped = subprocess.run(
        command(git_repo, tiny_model, out), cwd=REPO_ROOT, env=env, capture_output=True,
        text=True, timeout=300, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    assert stopped.returncode == 130, stopped.stderr
    assert "Traceback" not in stopped.stderr
    checkpoints = rundir.partial_dir(out) / "checkpoints"
    assert [p.name for p in checkpoints.glob("step-*.pt")] == ["step-0000007.pt"]
    resume = [sys.executable, "-m", "training", "--resume", str(out)]
    # Flags that would change what is computed are refused, in one line, and nothing is touched.
    refused = subprocess.run([*resume, "--lr", "1e-3", "--method", "sft-10"], cwd=REPO_ROOT,
                             env=ENV, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1, refused.stderr
    assert "--lr 0.001" in refused.stderr and "--method sft-10" in refused.stderr
    assert [p.name for p in checkpoints.glob("step-*.pt")] == ["step-0000007.pt"]
    # The same values again, and settings of how the run is carried out, are taken.
    run_to_end([*resume, "--max-steps", "60", "--eta", "30.0", "--checkpoint-every", "8",
                "--threads", "1", "--quiet"])  # fmt: skip
    assert_same_run(uninterrupted, out)


def test_what_a_resume_may_change() -> None:
    stored = TrainRequest(source="/src", rev="HEAD", eta="30", method="empower", threads=2)
    sha = "a" * 40
    same = {"rev": sha, "eta": "30.0", "method": "EMPOWER", "source": "/src/"}
    assert resumed_request(stored, same, sha) == stored
    taken = resumed_request(stored, {"threads": 1, "quiet": True, "checkpoint_every": 9}, sha)
    assert (taken.threads, taken.quiet, taken.checkpoint_every) == (1, True, 9)
    for given, named in [({"rev": "main"}, "--rev main"), ({"source": "/other"}, "source /other"),
                         ({"include": ("*.md",)}, "--include *.md"), ({"force": True}, "--force")]:  # fmt: skip
        with pytest.raises(UserError, match=named.replace("*", r"\*")):
            resumed_request(stored, given, sha)
    with pytest.raises(UserError, match="--threads must be at least 1"):
        resumed_request(stored, {"threads": 0}, sha)


def test_a_run_from_before_budgets_resumes_without_one(tmp_path: Path) -> None:
    # run.json of a run started before budgets existed holds only its argv: resuming it must not
    # put the 30-minute default on it (that would stop it early and change its adapter).
    from training import run as training_run

    old = {"argv": [str(tmp_path), "--out", str(tmp_path / "run"), "--method", "empower"],
           "source": str(tmp_path)}
    request = training_run._stored_request(old)
    assert training_run.budget_seconds(request) is None
    new = {**old, "argv": [*old["argv"], "--budget", "10m"]}
    assert training_run.budget_seconds(training_run._stored_request(new)) == 600
    # its argv left out the method that was the default then; run.json recorded it
    bare = {"argv": [str(tmp_path), "--out", str(tmp_path / "run")], "source": str(tmp_path),
            "method": "empower"}
    assert training_run._stored_request(bare).method == "empower"
