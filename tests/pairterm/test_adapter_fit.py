"""An adapter trained for one model, given with another: refused in one line before llama.cpp
sees it. The rule on GGUF files the test writes; the refusal through the real command, with
the shipped SmolLM2 adapter and the installed code model (which crashed with a SIGSEGV)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from gguf import GGUFWriter

from pairterm.model_file import adapter_misfit
from pairterm.shipped_adapter import ADAPTER_FILE
from tests.conftest import REAL_DATA_HOME

WIDTH, HIDDEN, RANK = 8, 24, 2


def write(path: Path, arch: str, tensors: dict[str, tuple[int, ...]], adapter: bool) -> Path:
    writer = GGUFWriter(str(path), arch)
    if adapter:
        writer.add_type("adapter")
        writer.add_string("adapter.type", "lora")
        writer.add_float32("adapter.lora.alpha", 32.0)
    for name, shape in tensors.items():
        writer.add_tensor(name, np.zeros(shape, dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def model(tmp_path: Path, arch: str = "llama", width: int = WIDTH, layers: int = 2) -> Path:
    tensors: dict[str, tuple[int, ...]] = {"token_embd.weight": (50, width)}
    for i in range(layers):
        tensors[f"blk.{i}.ffn_up.weight"] = (HIDDEN, width)  # numpy order: (out, in)
    return write(tmp_path / f"{arch}-{width}-{layers}.gguf", arch, tensors, adapter=False)


def adapter(tmp_path: Path, arch: str = "llama", width: int = WIDTH, layers: int = 2) -> Path:
    tensors: dict[str, tuple[int, ...]] = {}
    for i in range(layers):
        tensors[f"blk.{i}.ffn_up.weight.lora_a"] = (RANK, width)
        tensors[f"blk.{i}.ffn_up.weight.lora_b"] = (HIDDEN, RANK)
    return write(tmp_path / f"lora-{arch}-{width}-{layers}.gguf", arch, tensors, adapter=True)


def test_an_adapter_fits_the_model_it_was_trained_for(tmp_path: Path) -> None:
    assert adapter_misfit(adapter(tmp_path), model(tmp_path)) is None


def test_an_adapter_for_another_architecture_is_named_as_such(tmp_path: Path) -> None:
    why = adapter_misfit(adapter(tmp_path), model(tmp_path, arch="qwen2"))
    assert why == "it was trained for a llama model and the model is qwen2"


def test_an_adapter_for_a_wider_model_of_the_same_kind_names_the_tensor(tmp_path: Path) -> None:
    why = adapter_misfit(adapter(tmp_path, width=16), model(tmp_path))
    assert why is not None and "blk.0.ffn_up.weight" in why and "(24, 16)" in why and "(24, 8)" in why


def test_an_adapter_for_a_deeper_model_names_the_missing_layer(tmp_path: Path) -> None:
    why = adapter_misfit(adapter(tmp_path, layers=3), model(tmp_path))
    assert why == "the model has no tensor blk.2.ffn_up.weight"


def test_a_model_file_given_as_the_adapter_is_not_taken_for_one(tmp_path: Path) -> None:
    why = adapter_misfit(model(tmp_path), model(tmp_path))
    assert why is not None and "not a LoRA adapter" in why


def suggest_on_the_code_model(tmp_path: Path, adapter: Path) -> subprocess.CompletedProcess[str]:
    """`pairterm suggest --adapter ADAPTER` in a function body, with the installed code model."""
    source = tmp_path / "load.py"
    source.write_text('import json\n\ndef load(path):\n    with open(path) as fh:\n        ')
    return subprocess.run(
        [sys.executable, "-m", "pairterm", "suggest", str(source), "--line", "5", "--column", "9",
         "--adapter", str(adapter)],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "XDG_DATA_HOME": REAL_DATA_HOME},
    )  # fmt: skip


@pytest.mark.slow
def test_the_shipped_smollm2_adapter_on_the_code_model_is_refused_in_one_line(tmp_path: Path) -> None:
    proc = suggest_on_the_code_model(tmp_path, ADAPTER_FILE)
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-500:])
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "does not fit model qwen2.5-coder-0.5b" in proc.stderr
    assert proc.stderr.rstrip().endswith("run it with --model smollm2-135m")


@pytest.mark.slow
def test_an_adapter_that_fits_the_code_model_loads_without_a_word_on_stderr(tmp_path: Path) -> None:
    # llama.cpp's ggml warns on fd 2 for every adapted tensor it cannot repack (ffn_down of
    # Qwen2.5-Coder's Q4_K_M); in the editor those lines would land on the screen.
    from pairterm.model_catalog import DEFAULT_MODEL, get

    if not (Path(REAL_DATA_HOME) / "pairterm" / "models" / get(DEFAULT_MODEL).file_name).is_file():
        pytest.fail(f"{DEFAULT_MODEL} is not installed: `make test` installs it")
    tensors: dict[str, tuple[int, ...]] = {}
    for i in range(24):  # a zero update: the suggestion is the model's own
        tensors[f"blk.{i}.ffn_down.weight.lora_a"] = (16, 4864)
        tensors[f"blk.{i}.ffn_down.weight.lora_b"] = (896, 16)
    lora = write(tmp_path / "zero-lora.gguf", "qwen2", tensors, adapter=True)
    proc = suggest_on_the_code_model(tmp_path, lora)
    assert proc.returncode == 0, proc.stderr[-500:]
    assert proc.stderr == ""
    assert "json.load(fh)" in proc.stdout
