"""`pairterm eval` and `pairterm eval compare` from the command line: errors and real runs.

The real runs use the shipped SmolLM2 GGUF through llama.cpp on a few HumanEval problems with a
small round cap; what is checked is what a user reads off the output, not the model's quality.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pairterm.cli import main
from pairterm.evaluation.corpus import load_corpus
from pairterm.evaluation.metrics import METRICS
from pairterm.paths import small_model_path

needs_model = pytest.mark.skipif(small_model_path() is None, reason="default GGUF not installed")


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["eval", *argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--corpus", "/no/such/dir"], "corpus not found"),
        (["--limit", "0"], "--limit must be at least 1"),
        (["--max-rounds", "0"], "--max-rounds must be at least 1"),
        (["--corpus", ".", "--human-model", "x.gguf"], "--human-model needs --corpus humaneval"),
        (["--limit", "1", "--model", "/no/such/model.gguf"], "model file not found"),
        (["--eta", "-1"], "--eta must be >= 0"),
        (["--bogus"], "unrecognized arguments"),
        (["compare", "--rows", "base,nope"], "unknown row nope"),
        (["compare", "--rows", "base,empower"], "need training: pass --train-source"),
        (["compare", "--rows", "base", "--corpus", "holdout"], "--corpus holdout"),
        (["compare", "--rows", "base", "--gated-only"], "--gated-only needs --gate"),
    ],
)
def test_user_mistakes_exit_2_with_one_line(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, out, err = run_cli(capsys, *argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and message in err and "Traceback" not in err


def test_compare_config_file_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad_key = tmp_path / "a.toml"
    bad_key.write_text('rows = ["base"]\ncolour = "red"\n')
    code, _, err = run_cli(capsys, "compare", "--config", str(bad_key))
    assert code == 2 and "unknown key `colour`" in err and err.count("\n") == 1
    broken = tmp_path / "b.toml"
    broken.write_text("rows = [\n")
    code, _, err = run_cli(capsys, "compare", "--config", str(broken))
    assert code == 2 and "not valid TOML" in err
    # Values from the file are checked like flags.
    wrong = tmp_path / "c.toml"
    wrong.write_text('rows = ["base"]\nlimit = 0\n')
    code, _, err = run_cli(capsys, "compare", "--config", str(wrong))
    assert code == 2 and "--limit must be at least 1" in err


@needs_model
def test_real_run_on_humaneval_reports_every_metric_with_its_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run_cli(
        capsys, "--corpus", "humaneval", "--limit", "3", "--max-rounds", "4",
        "--threads", "1", "--json", "--per-document",
    )  # fmt: skip
    assert code == 0, err
    data = json.loads(out)
    assert data["n_documents"] == 3
    # eval runs what the editor runs: no adapter unless one is asked for
    assert data["settings"]["adapter"] is None
    for metric in METRICS:
        assert f"{metric}_se" in data and metric in data
    assert data["documents_per_minute"] > 0
    targets = {d.doc_id: d.target for d in load_corpus("humaneval", limit=3)}
    for doc in data["documents"]:
        assert doc["proposed"] <= doc["rounds"] <= 4
        assert doc["tokens_written"] <= 10 * doc["rounds"]
        assert doc["accepted"] <= doc["proposed"]
        if doc["end"] == "complete":
            # Every character of the human's text came from a suggestion or from typing.
            assert doc["chars_accepted"] + doc["chars_typed"] == len(targets[doc["doc_id"]])
            assert doc["correct"] and doc["dpr"] > 0
        else:
            assert doc["end"] == "round_cap" and doc["dpr"] == 0
    # HumanEval/2's solution is 8 tokens: the human finishes it within the cap.
    assert data["documents"][2]["end"] == "complete"
    assert data["pass_at_1"] >= 1 / 3


@needs_model
def test_eta_zero_shows_nothing_and_the_terminal_gets_a_table(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run_cli(capsys, "--limit", "1", "--max-rounds", "2", "--eta", "0", "--json", "--threads", "1",
                           "--adapter", "none")
    data = json.loads(out)
    assert data["settings"]["adapter"] is None
    assert code == 0 and data["proposed"] == 0 and data["tokens_read"] == 0
    assert data["rounds"] == 2 and data["accept_ratio"] is None
    code, out, _ = run_cli(capsys, "--limit", "1", "--max-rounds", "1", "--eta", "0", "--threads", "1")
    assert code == 0 and "Accept Ratio" in out and "Discounted Pass Rate" in out


@needs_model
def test_engine_tokens_split_text_into_k_token_pieces() -> None:
    from pairterm.config import EngineConfig
    from pairterm.engine import Engine
    from pairterm.evaluation.engine_side import EngineTokens

    engine = Engine(EngineConfig(threads=1))
    try:
        tokens = EngineTokens(engine)
        text = load_corpus("humaneval", limit=1)[0].target + "    # naïve → ünïcode ✓\n"
        pieces, rest = [], text
        while rest:
            piece, n = tokens.head(rest, 10)
            assert piece and rest.startswith(piece) and 1 <= n <= 10
            pieces.append(piece)
            rest = rest[len(piece) :]
        assert "".join(pieces) == text
        assert sum(tokens.count(p) for p in pieces) >= tokens.count(text) - len(pieces)
        assert len(pieces) >= tokens.count(text) // 10
    finally:
        engine.close()


@needs_model
def test_llm_human_with_the_default_model_runs_the_protocol(
    capsys: pytest.CaptureFixture[str],
) -> None:
    model = str(small_model_path())
    code, out, err = run_cli(
        capsys, "--limit", "1", "--max-rounds", "2", "--human-model", model,
        "--human-think-tokens", "16", "--eta", "inf", "--threads", "1", "--json", "--per-document",
    )  # fmt: skip
    assert code == 0, err
    data = json.loads(out)
    doc = data["documents"][0]
    assert data["settings"]["human"] == model
    assert doc["end"] in ("finish", "round_cap") and 1 <= doc["rounds"] <= 2
    assert doc["proposed"] <= doc["rounds"] and doc["tokens_written"] <= 10 * doc["rounds"]
    # pass@1 comes from running the tests: this tiny human does not solve HumanEval/0.
    assert data["pass_at_1"] == 0.0 and doc["dpr"] == 0.0


@needs_model
def test_compare_without_training_writes_table_chart_and_resumes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_dir = tmp_path / "cmp"
    argv = ["compare", "--rows", "base,base-10", "--limit", "2", "--max-rounds", "3",
            "--threads", "1", "--out", str(out_dir), "--json"]  # fmt: skip
    code, out, err = run_cli(capsys, *argv)
    assert code == 0, err
    results = json.loads(out)
    assert [r["name"] for r in results["rows"]] == ["Base", "Base-10"]
    assert results["n_documents"] == 2
    for row in results["rows"]:
        assert row["summary"]["n_documents"] == 2 and "dpr_se" in row["summary"]
    assert results["rows"][1]["settings"]["max_tokens"] == 10
    # Each row carries its per-document difference from the first row; the first's is zero.
    assert results["rows"][0]["vs_first"]["dpr"]["mean"] == 0.0
    assert results["rows"][1]["vs_first"]["reference"] == "Base"
    table = (out_dir / "table.md").read_text()
    assert table.splitlines()[0].startswith("| Base Model | Name | Pass@1")
    assert "| Base-10 |" in table and table.count("\n| SmolLM2") == 2
    assert (out_dir / "chart.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    stamps = {p.name: p.stat().st_mtime_ns for p in (out_dir / "rows").iterdir()}
    assert set(stamps) == {"base.json", "base-10.json"}
    # A second run with the same settings reuses both rows instead of evaluating again.
    code, out2, _ = run_cli(capsys, *argv)
    assert code == 0 and json.loads(out2)["rows"] == results["rows"]
    assert {p.name: p.stat().st_mtime_ns for p in (out_dir / "rows").iterdir()} == stamps


@needs_model
def test_compare_gated_only_evaluates_the_rows_as_the_editor_runs_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Ungated rows decode up to their token cap every round: on a code model they cost most of
    # a comparison's time and are not what the editor runs.
    argv = ["compare", "--rows", "base,base-10", "--gate", "2", "--gated-only", "--limit", "1",
            "--max-rounds", "3", "--threads", "1", "--out", str(tmp_path / "cmp"), "--json"]  # fmt: skip
    code, out, err = run_cli(capsys, *argv)
    assert code == 0, err
    rows = json.loads(out)["rows"]
    assert [r["name"] for r in rows] == ["Base + gate η=2", "Base-10 + gate η=2"]
    assert [r["settings"]["eta"] for r in rows] == [2.0, 2.0]
    assert sorted(p.name for p in (tmp_path / "cmp" / "rows").iterdir()) == [
        "base+gate.json", "base-10+gate.json"]  # fmt: skip
