"""`pairterm train` end to end on a real git repository and a tiny random llama."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from pairterm.cli import main as pairterm_main
from tests.training.helpers import AWS_KEY, python_source
from training import rundir
from training.holdout import new_texts
from training.trainer import save_checkpoint

REPO_ROOT = Path(__file__).resolve().parents[2]
# random weights give ~8.6 bits a token (400-token vocabulary), so η = 30 makes 2-4 token completions
FAST = ["--eta", "30", "--max-steps", "4", "--batch-size", "4", "--grad-accum", "2", "--threads", "1",
        "--density", "0.1", "--checkpoint-every", "2", "--quiet"]  # fmt: skip


def train(*args: str | Path) -> int:
    return pairterm_main(["train", *map(str, args)])


@pytest.fixture(scope="module")
def runs(git_repo: Path, tiny_model: Path, tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("runs")
    made = {}
    for method in ("empower", "sft-10"):
        run = out / method
        assert train(git_repo, "--out", run, "--base", tiny_model, "--method", method, *FAST) == 0
        made[method] = run
    return made


def read(run: Path, name: str):
    text = (run / name).read_text(encoding="utf-8")
    return (
        [json.loads(x) for x in text.splitlines()] if name.endswith(".jsonl") else json.loads(text)
    )


def test_run_directory_contract(runs: dict[str, Path], tiny_model: Path, git_repo: Path) -> None:
    run = runs["empower"]
    assert not rundir.partial_dir(run).exists()
    meta = read(run, "run.json")
    assert meta["format"] == 1
    assert meta["base"] == {"path": str(tiny_model.resolve()), "kind": "hf", "sha256": None}
    assert (meta["method"], meta["eta"], meta["seed"], meta["max_steps"]) == ("empower", 30.0, 0, 4)
    assert meta["lora"]["r"] == 16 and "q_proj" in meta["lora"]["target_modules"]
    assert {"adapter_config.json", "adapter_model.safetensors"} <= {
        p.name for p in (run / "adapter").iterdir()
    }
    report = read(run, "report.json")
    examples = read(run, "examples.jsonl")
    assert report["examples"] == len(examples) > 0
    assert report["steps"] == 4 and len(report["losses"]) == 4
    assert report["final_loss"] > 0 and report["tokens_per_s"] > 0 and report["wall_s"] > 0
    assert report["kl"] == 1.0 and len(report["kl_losses"]) == 4
    drift = report["drift"]  # the two held-out files, scored by the base and by the adapter
    # the held-out files' new lines: one text for each run of them
    assert drift["documents"] == len(new_texts(read(run, "holdout.jsonl"))) >= 2
    assert drift["base"]["tokens"] == drift["adapter"]["tokens"] > 100
    assert drift["base"]["text_bits"] <= drift["base"]["bits"]
    assert report["skipped"]["binary"] == 1 and report["skipped"]["vendored"] == 1
    assert report["skipped"]["secret"] == 1 and report["skipped"]["secret_lines"] == 1
    stats = read(run, "label_stats.json")
    assert stats["examples"] == len(examples)
    assert stats["empty_share"] == sum(e["tokens"] == 0 for e in examples) / len(examples)
    assert sum(stats["length_histogram"].values()) == len(examples)
    assert {"prefix_tail", "completion", "bits", "tokens", "path", "state"} <= set(examples[0])


def test_the_default_method_is_sft_20(git_repo: Path, tiny_model: Path, tmp_path: Path) -> None:
    # With the editor's gate deciding where suggestions stop, SFT-20 labels wrote more of the
    # author's code than Empower's on both repositories measured (README), so they are the default.
    run = tmp_path / "run"
    assert train(git_repo, "--out", run, "--base", tiny_model, *FAST) == 0
    assert read(run, "run.json")["method"] == "sft-20"
    examples = read(run, "examples.jsonl")
    assert examples and all(0 < e["tokens"] <= 20 for e in examples)
    assert any(e["tokens"] == 20 for e in examples)
    assert read(run, "label_stats.json")["empty_share"] == 0


def tuned_terms(git_repo: Path, tiny_model: Path, run: Path, flags: list[str], **weights):  # type: ignore[no-untyped-def]
    """Train a run with `flags`, then the loss terms (training.loss.LossTerms, weighted by
    `weights`) of its adapter on the run's own examples."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from training.loss import KL_PROMPT, collate, completion_loss_sum

    assert train(git_repo, "--out", run, "--base", tiny_model, *flags) == 0
    batch = collate(read(run, "examples.jsonl"), pad_id=0, kl_prompt=KL_PROMPT)
    tuned = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_model),
                                      run / "adapter")  # fmt: skip
    with torch.no_grad():
        return completion_loss_sum(tuned, batch, **weights)


def test_the_kl_term_keeps_the_adapted_model_near_the_base(
    git_repo: Path, tiny_model: Path, tmp_path: Path
) -> None:
    # a learning rate high enough to move the random model; the same states, steps and seed
    divergence = {}
    for kl in ("0", "10"):
        flags = [*FAST, "--max-steps", "12", "--lr", "5e-3", "--kl", kl]
        terms = tuned_terms(git_repo, tiny_model, tmp_path / f"kl{kl}", flags, kl=1.0, stop_ids=[0, 1])
        divergence[kl] = terms.kl
    assert divergence["10"] < 0.5 * divergence["0"], divergence


def test_the_text_term_makes_the_adapter_predict_the_sources_own_code(
    git_repo: Path, tiny_model: Path, tmp_path: Path
) -> None:
    own = {}
    for text in ("0", "4"):
        run = tmp_path / f"text{text}"
        # Empower: its short completions leave the person's text to the term (SFT-20's
        # 20-token completions teach much of it on their own)
        flags = [*FAST, "--method", "empower", "--max-steps", "12", "--lr", "5e-3", "--kl", "0",
                 "--text", text]  # fmt: skip
        own[text] = tuned_terms(git_repo, tiny_model, run, flags, text=1.0).text.item()
        assert read(run, "report.json")["text"] == float(text)
    # the same states, steps and seed: only the term differs. The tiny random model learns text
    # slowly (about 1 % in 12 steps), so the bar is low; without the term the two are equal.
    assert own["4"] < 0.995 * own["0"], own


def test_holdout_is_the_newest_commit_and_is_never_trained_on(runs: dict[str, Path]) -> None:
    run = runs["empower"]
    holdout = read(run, "holdout.jsonl")
    assert sorted((h["path"], h["text"]) for h in holdout) == [
        ("src/app.py", python_source(9)),
        ("src/newest.py", python_source(8)),
    ]
    assert all(set(h) == {"path", "commit", "text", "new"} and len(h["commit"]) == 40 for h in holdout)
    # src/app.py was trained on in an older version: only the lines that version lacks are new
    app = next(h for h in holdout if h["path"] == "src/app.py")
    old_lines = set(python_source(1).replace("\r\n", "\n").splitlines(keepends=True))
    new_lines = [line for first, last in app["new"]
                 for line in app["text"].replace("\r\n", "\n").splitlines(keepends=True)[first : last + 1]]  # fmt: skip
    assert "import math\n" not in new_lines and "def tabbed(x):\n" not in new_lines
    assert len(new_lines) > 30 and not set(new_lines) <= old_lines
    newest = next(h for h in holdout if h["path"] == "src/newest.py")
    assert newest["new"] == [[0, len(newest["text"].splitlines()) - 1]]  # never trained on: all new
    split = read(run, "split.json")
    held = {(d["path"], d["commit"]) for d in split["holdout"]}
    assert held == {(h["path"], h["commit"]) for h in holdout}
    assert not held & {(e["path"], e["commit"]) for e in read(run, "examples.jsonl")}


def test_no_secret_reaches_any_file_of_the_run(runs: dict[str, Path]) -> None:
    for run in runs.values():
        for path in run.rglob("*"):
            if path.is_file():
                data = path.read_bytes()
                assert AWS_KEY.encode() not in data, path
                assert b"supersecretvalue" not in data, path


def test_adapter_loads_on_the_base_and_has_learned(runs: dict[str, Path], tiny_model: Path) -> None:
    from peft import PeftModel
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM

    from training.loss import collate, completion_loss_sum

    # The examples it was trained on: the adapter must make their labels likelier than the base
    # does, by more than an update of the same size in a random direction would.
    batch = collate(read(runs["empower"], "examples.jsonl"), pad_id=0)
    n_labels = len(batch["labels"])
    adapter = runs["empower"] / "adapter"

    def loss(model) -> float:  # mean cross-entropy of the completion tokens, in nats
        with torch.no_grad():
            return completion_loss_sum(model, batch)[0].item() / n_labels

    base_loss = loss(AutoModelForCausalLM.from_pretrained(tiny_model))
    tuned_loss = loss(PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_model), adapter))
    weights = load_file(adapter / "adapter_model.safetensors")
    generator = torch.Generator().manual_seed(0)
    random_losses = []
    for _ in range(3):
        randomized = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_model), adapter)
        for name, param in randomized.named_parameters():
            key = name.replace(".default", "")
            if "lora_B" in name and key in weights:
                direction = torch.randn(param.shape, generator=generator)
                param.data = direction * (weights[key].norm() / direction.norm())
        random_losses.append(loss(randomized))
    gain, random_gain = base_loss - tuned_loss, max(base_loss - r for r in random_losses)
    # 4 steps move a random model little (about 4e-3 nats here), a random direction ~2e-4
    assert gain > 1e-3 and gain > 5 * random_gain, (base_loss, tuned_loss, random_losses)


def test_methods_share_states_and_budget(runs: dict[str, Path]) -> None:
    emp, sft = (read(runs[m], "examples.jsonl") for m in ("empower", "sft-10"))
    assert [(e["path"], e["state"]) for e in emp] == [(e["path"], e["state"]) for e in sft]
    assert (
        read(runs["empower"], "report.json")["steps"]
        == read(runs["sft-10"], "report.json")["steps"]
    )
    assert {e["tokens"] for e in sft} <= set(range(1, 11)) and max(e["tokens"] for e in sft) == 10
    assert any(e["tokens"] != s["tokens"] for e, s in zip(emp, sft, strict=True))


def test_existing_run_needs_force(
    runs: dict[str, Path], git_repo: Path, tiny_model: Path, capsys
) -> None:
    assert train(git_repo, "--out", runs["empower"], "--base", tiny_model, *FAST) == 2
    assert "already exists" in capsys.readouterr().err


def test_bad_input_is_one_line_and_leaves_no_run(
    tmp_path: Path, git_repo: Path, tiny_model: Path, capsys
) -> None:
    bad_gguf = tmp_path / "broken.gguf"
    bad_gguf.write_bytes(b"GGUF" + b"\0" * 64)
    cases = [
        ([tmp_path / "missing", "--base", tiny_model], "does not exist"),
        (
            [git_repo, "--base", tiny_model, "--author", "nobody@example.com"],
            "no commits by nobody@example.com",
        ),
        ([git_repo, "--base", tiny_model, "--exclude", "*.py"], "nothing left to train on"),
        ([git_repo, "--base", bad_gguf], "cannot load base model"),
        ([git_repo, "--base", tmp_path / "nope"], "does not exist"),
        ([git_repo, "--base", tiny_model, "--eta", "-1"], "--eta"),
        ([git_repo, "--base", tiny_model, "--method", "sft-x"], "--method"),
        ([git_repo, "--base", tiny_model, "--since", "yesterday"], "--since"),
        ([git_repo, "--base", tiny_model, "--max-steps", "0"], "--max-steps"),
        ([git_repo, "--base", tiny_model, "--kl", "-1"], "--kl"),
        ([git_repo, "--base", tiny_model, "--text", "-0.5"], "--text"),
    ]
    for i, (args, message) in enumerate(cases):
        run = tmp_path / f"run{i}"
        assert train(*FAST[2:], *args, "--out", run) == 2, message
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1 and "Traceback" not in err, err
        assert not run.exists()  # nothing that looks like a finished run
    assert train("--resume", tmp_path / "never") == 2
    assert "no interrupted run" in capsys.readouterr().err


def test_failed_run_can_be_started_over_with_force(
    tmp_path: Path, git_repo: Path, tiny_model: Path, capsys
) -> None:
    run = tmp_path / "run"
    assert train(git_repo, "--out", run, "--base", tiny_model, "--exclude", "*.py", *FAST) == 2
    assert rundir.partial_dir(run).is_dir() and not run.exists()
    assert train(git_repo, "--out", run, "--base", tiny_model, *FAST) == 2
    assert "--resume" in capsys.readouterr().err
    assert train(git_repo, "--out", run, "--base", tiny_model, "--force", *FAST) == 0
    assert (run / "report.json").is_file() and not rundir.partial_dir(run).exists()


def test_disk_full_while_checkpointing_is_a_user_error(tmp_path: Path, monkeypatch) -> None:
    # /dev/full accepts the open and fails every write with ENOSPC, as a full disk does
    from pairterm import atomic

    monkeypatch.setattr(atomic, "open", lambda _p, mode: open("/dev/full", mode), raising=False)
    with pytest.raises(rundir.UserError, match="disk full while checkpointing"):
        save_checkpoint(tmp_path, {"step": 3, "weights": torch.zeros(1000)})
    assert list(tmp_path.iterdir()) == []  # no checkpoint and no temp file


def test_python_dash_m_training_reports_bad_input_without_traceback(tmp_path: Path) -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "training", str(tmp_path / "missing"), "--out", str(tmp_path / "r")],
        capture_output=True, text=True, cwd=REPO_ROOT, env=env, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.startswith("pairterm: error: source") and proc.stderr.count("\n") == 1
