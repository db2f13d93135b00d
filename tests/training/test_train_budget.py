"""`pairterm train --budget`: a run that would take hours fits the budget, shows its progress in a
log, stops cleanly when time runs out, and a resumed run counts the time already spent.

Real subprocesses on the tiny llama and the test repository; stderr is a pipe, as in a log or CI.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from training import budget, rundir
from training.budget import PROGRESS_EVERY_ENV

REPO_ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", PROGRESS_EVERY_ENV: "1"}
# 100000 epochs of the repository's states: hours of training without a budget
LONG = ["--eta", "30", "--density", "0.2", "--epochs", "100000", "--batch-size", "4",
        "--grad-accum", "2", "--threads", "1"]  # fmt: skip
# Interpreter start-up and imports before the run's clock starts, and a loaded 2-core machine.
WALL_MARGIN_S = 15.0
PROGRESS = re.compile(
    r"^pairterm train: training, (\d+)/(\d+) steps \(\d+%\), phase ETA (\S+), loss [\d.]+, "
    r"run ETA (\S+), elapsed (\S+) of the (\S+) budget$"
)


def train(*args: object, env: dict | None = None) -> tuple[subprocess.CompletedProcess, float]:
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "training", *map(str, args)], cwd=REPO_ROOT,
                          env=env or ENV, capture_output=True, text=True, timeout=600)  # fmt: skip
    return proc, time.monotonic() - t0


def report(run: Path) -> dict:
    return json.loads((run / "report.json").read_text(encoding="utf-8"))


def assert_adapter_loads_and_moved(run: Path, base: Path) -> None:
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base), run / "adapter")
    lora_b = [p for n, p in model.named_parameters() if "lora_B" in n]
    assert lora_b and max(float(torch.abs(p).max()) for p in lora_b) > 0  # trained, not the init


def test_a_long_run_fits_its_budget_and_shows_progress_in_a_log(
    git_repo: Path, tiny_model: Path, tmp_path: Path
) -> None:
    run, seconds = tmp_path / "run", 20.0
    proc, wall = train(git_repo, "--out", run, "--base", tiny_model, "--budget", "20s", *LONG)
    assert proc.returncode == 0, proc.stderr
    spent = report(run)["budget"]
    plan = spent["plan"]
    # what the budget bought, from rates it measured here
    assert spent["budget_s"] == seconds and spent["given"] == "20s"
    assert plan["label_tokens_per_s"] > 0 and plan["train_tokens_per_s"] > 0
    assert plan["states_chosen_by"] == "budget" and 0 < plan["states"] <= plan["states_available"]
    assert plan["steps_chosen_by"] == "budget" and spent["steps_planned"] == plan["steps"]
    assert spent["states_labelled"] == plan["states"] == report(run)["examples"]
    assert 10 < spent["steps_run"] < 100_000 and spent["steps_run"] == report(run)["steps"]
    assert set(spent["phases_s"]) == {"collect", "load", "calibrate", "label", "train", "write", "drift"}
    assert sum(spent["phases_s"].values()) <= spent["elapsed_s"]
    assert spent["measured"]["train_steps_per_s"] > 0 and spent["spent_before_s"] == 0
    # within the budget by its own clock and by ours, and most of it used
    assert 0.4 * seconds < spent["elapsed_s"] <= seconds + 1.0, spent
    assert wall <= seconds + WALL_MARGIN_S, wall
    err = proc.stderr.splitlines()
    chose = [line for line in err if "the budget trains" in line]
    assert chose and f"{spent['steps_planned']} of the " in chose[0] and "run ETA" in chose[0]
    assert any(f"the 20s budget labels {plan['states']} of {plan['states_available']} states" in line
               for line in err)  # fmt: skip
    # a line a second (the test hook; a minute at most by default): phase, done/total, ETAs
    lines = [m for m in map(PROGRESS.match, err) if m]
    assert len(lines) >= 3, proc.stderr
    done = [int(m[1]) for m in lines]
    assert done == sorted(done) and done[-1] > done[0]
    assert {int(m[2]) for m in lines} == {spent["steps_planned"]}
    assert all(m[6] == "20s" and m[3] != "?" and m[4] != "?" for m in lines[1:])
    assert "Traceback" not in proc.stderr
    assert_adapter_loads_and_moved(run, tiny_model)


def test_budget_stops_training_cleanly_and_a_resume_counts_the_time_spent(
    git_repo: Path, tiny_model: Path, tmp_path: Path
) -> None:
    run, seconds = tmp_path / "run", 30.0
    # --max-steps asks for far more than the budget holds: the budget cuts it short
    args = [sys.executable, "-m", "training", git_repo, "--out", run, "--base", tiny_model,
            "--budget", "30s", "--max-steps", "100000", "--checkpoint-every", "5", "--quiet", *LONG]  # fmt: skip
    t0 = time.monotonic()
    proc = subprocess.Popen(list(map(str, args)), cwd=REPO_ROOT, env=ENV,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip
    checkpoints = rundir.partial_dir(run) / "checkpoints"
    while time.monotonic() - t0 < 12 or not list(checkpoints.glob("step-*.pt")):
        assert proc.poll() is None, proc.communicate()[1]
        assert time.monotonic() - t0 < 120, "no checkpoint appeared"
        time.sleep(0.05)
    proc.kill()
    proc.communicate(timeout=60)
    resumed, wall = train("--resume", run)
    assert resumed.returncode == 0, resumed.stderr
    spent = report(run)["budget"]
    assert spent["stopped_early"] and spent["steps_run"] < spent["steps_planned"] == 100_000
    assert spent["plan"]["steps_chosen_by"] == "--max-steps"  # the flag wins over the budget
    assert "stopped by it after" in resumed.stderr
    # the first process's time counts: it ran at least 12 s less start-up and the checkpoint gap
    assert spent["spent_before_s"] >= 6.0, spent
    assert spent["phases_s"]["collect"] > 0 and spent["phases_s"]["label"] > 0  # done before the kill
    assert spent["elapsed_s"] <= seconds + 1.0, spent
    # so the resumed process trains only for what was left
    assert report(run)["wall_s"] <= seconds - spent["spent_before_s"] + 1.0
    assert wall <= seconds - spent["spent_before_s"] + WALL_MARGIN_S
    assert_adapter_loads_and_moved(run, tiny_model)


@pytest.mark.parametrize("value", ["nonsense", "30", "0s", "m", "-5m", "1h-30m"])
def test_a_bad_budget_is_one_line_and_exit_2(value: str, git_repo: Path, tmp_path: Path) -> None:
    proc, _ = train(git_repo, "--out", tmp_path / "run", "--budget", value)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "--budget" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "run").exists()


def test_budget_durations() -> None:
    assert budget.parse_budget("30m") == 1800 and budget.parse_budget(None) == 1800
    assert budget.parse_budget("2h") == 7200 and budget.parse_budget("90s") == 90
    assert budget.parse_budget("1h30m") == 5400 and budget.parse_budget("1h2m3s") == 3723
    assert budget.parse_budget("none") is None and budget.parse_budget("OFF") is None


def test_plan_states_pays_labelling_once_and_training_per_epoch() -> None:
    plan = lambda **kw: budget.plan_states(**{  # noqa: E731
        "available_s": 100.0, "n_all": 10_000, "label_s_per_state": 0.1,
        "train_s_per_visit": 0.4, "epochs": 1, "per_step": 16, "max_examples": None,
        "max_steps": None, **kw,
    })  # fmt: skip
    assert plan() == 200  # 100 s / (0.1 + 0.4)
    assert plan(epochs=2) == 111
    assert plan(n_all=50) == 50  # everything fits
    assert plan(available_s=-5.0) == 16  # one step's worth, even over budget
    assert plan(max_examples=30) == 30
    # 5 steps visit 80 states: 32 s of training, the rest of the time labels up to those 80
    assert plan(max_steps=5) == 80
    assert plan(max_steps=5, available_s=35.0) == 70  # 70 states, 5 steps round it up to 80 visits


def test_data_parallel_ranks_stop_together_within_the_budget(
    git_repo: Path, tiny_model: Path, tmp_path: Path
) -> None:
    torchrun = Path(sys.executable).with_name("torchrun")
    if not torchrun.exists():
        pytest.skip("torchrun is not installed next to this Python")
    run, seconds = tmp_path / "run", 20.0
    cmd = [str(torchrun), "--standalone", "--nproc_per_node", "2", "-m", "training", str(git_repo),
           "--out", str(run), "--base", str(tiny_model), "--budget", "20s", "--max-steps", "100000",
           "--quiet", *LONG]  # fmt: skip
    t0 = time.monotonic()
    # a rank that stopped alone would leave the other waiting in its next all-reduce forever
    proc = subprocess.run(cmd, cwd=REPO_ROOT, env={**ENV, "OMP_NUM_THREADS": "1"},
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    wall = time.monotonic() - t0
    assert proc.returncode == 0, proc.stderr[-3000:]
    whole = report(run)
    spent = whole["budget"]
    assert whole["processes"] == 2 and spent["stopped_early"]
    assert 0 < spent["steps_run"] == len(whole["losses"]) < spent["steps_planned"]
    assert spent["elapsed_s"] <= seconds + 1.0 and wall <= seconds + 2 * WALL_MARGIN_S, (spent, wall)
    assert_adapter_loads_and_moved(run, tiny_model)
