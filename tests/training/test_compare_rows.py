"""`pairterm eval compare`'s trained rows: trained and exported through Python functions that
return results (no command line in between), once, with --train-args on top of the row's own
settings. A real git repository and a tiny llama; the evaluation itself is tested in
tests/pairterm/evaluation/test_eval_cli.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pairterm.errors import UserError
from pairterm.model_file import gguf_metadata
from training import compare, rundir

TRAIN_ARGS = "--density 0.1 --batch-size 2 --grad-accum 1 --threads 1 --quiet --max-steps 3"


def test_a_trained_row_is_made_once_and_train_args_win(
    git_repo: Path, tiny_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = compare.parse(["--train-source", str(git_repo), "--max-steps", "50",
                          "--train-args", TRAIN_ARGS])  # fmt: skip
    out = tmp_path / "cmp"
    run, adapter = compare.train_and_export("sft-10", args, 2.0, out, tiny_model)
    assert (run, adapter) == (out / "runs" / "sft-10", out / "adapters" / "sft-10.gguf")
    meta = json.loads((run / "run.json").read_text())
    report = json.loads((run / "report.json").read_text())
    # the row's method and η; --max-steps from --train-args, given last, wins over the row's 50
    assert (meta["method"], meta["eta"], report["steps"]) == ("sft-10", 2.0, 3)
    assert gguf_metadata(adapter)["general.type"] == "adapter"
    out_text, err = capsys.readouterr()
    assert out_text == ""  # stdout stays free for `eval compare --json`
    assert f"exported sft-10 adapter → {adapter}" in err
    stamps = [p.stat().st_mtime_ns for p in (run / "adapter" / "adapter_model.safetensors", adapter)]
    assert compare.train_and_export("sft-10", args, 2.0, out, tiny_model) == (run, adapter)
    assert [p.stat().st_mtime_ns for p in (run / "adapter" / "adapter_model.safetensors", adapter)] == stamps
    assert not rundir.partial_dir(run).exists()


def test_row_failures_are_one_user_error_naming_the_row(
    git_repo: Path, tiny_model: Path, tmp_path: Path
) -> None:
    args = compare.parse(["--train-source", str(git_repo), "--train-args", "--out elsewhere"])
    with pytest.raises(UserError, match="--train-args: out is set by `eval compare`"):
        compare.train_and_export("empower", args, 2.0, tmp_path, tiny_model)
    args = compare.parse(["--train-source", str(git_repo),
                          "--train-args", TRAIN_ARGS + " --exclude *.py"])  # fmt: skip
    with pytest.raises(UserError, match="^training row empower: nothing left to train on"):
        compare.train_and_export("empower", args, 2.0, tmp_path, tiny_model)
    assert not (tmp_path / "adapters").exists()
