"""The real default model (SmolLM2-135M-Instruct, Q4_1 GGUF base) with a small LoRA: export, load
in llama.cpp, compare with transformers. One reference load is shared by every check (~11 s)."""

from __future__ import annotations

from pathlib import Path

import gguf
import pytest

from ggml_export.export import ExportRequest, export
from ggml_export.run import sha256_file
from ggml_export.verify import Reference, load_reference, verify
from tests.ggml_export.builders import build_gguf_run

pytestmark = pytest.mark.slow
POSITIONS = 256  # the CLI uses 512; half keeps this file inside its CI budget


@pytest.fixture(scope="module")
def real_run(tmp_path_factory: pytest.TempPathFactory, default_model: Path):
    """A run on the shipped GGUF, and the reference exactly as `--verify` loads it."""
    from ggml_export.base import open_base
    from ggml_export.run import load_run

    run = build_gguf_run(tmp_path_factory.mktemp("real") / "run", default_model,
                         sha256=sha256_file(default_model))
    loaded = load_run(run)
    return run, Reference(*load_reference(loaded, open_base(loaded.base_path, "gguf")))


@pytest.fixture(scope="module")
def f16_export(real_run, tmp_path_factory: pytest.TempPathFactory):
    run, _ = real_run
    out = tmp_path_factory.mktemp("f16") / "merged-f16.gguf"
    result, r, b = export(ExportRequest(run=run, out=out))
    return out, result, r, b


def test_f16_merged_matches_transformers_and_keeps_tokenizer(real_run, f16_export, default_model):
    _, reference = real_run
    out, result, r, b = f16_export
    assert result["seconds"] < 60 and result["tensors_merged"] == 7 * 30
    report = verify(result, r, b, out, reference=reference, positions=POSITIONS)
    assert report["passed"], report["checks"]
    assert report["tokenizer_identical"] and report["greedy_identical"]
    assert report["top1_agreement"] >= 0.99

    base, merged = gguf.GGUFReader(str(default_model)), gguf.GGUFReader(str(out))
    for key, f in base.fields.items():
        if key.startswith(("tokenizer.", "llama.")):
            g = merged.fields[key]
            assert [bytes(g.parts[i]) for i in g.data] == [bytes(f.parts[i]) for i in f.data], key
    names = {t.name: t.tensor_type.name for t in merged.tensors}
    assert "output.weight" not in names  # SmolLM2 ties lm_head to the embeddings
    assert names["output_norm.weight"] == "F32" and names["blk.29.attn_q.weight"] == "F16"
    assert merged.fields["general.file_type"].contents() == 1


def test_q8_0_is_as_faithful_as_llama_cpps_own(real_run, f16_export, tmp_path):
    """verify holds our Python q8_0 to llama.cpp's quantizer run on our f16 file, same positions.

    On this 135M model llama.cpp's own q8_0 lands near 0.96 top-1 against float32 transformers
    (it also quantizes the activations), below the old absolute 0.97: that figure belongs to
    the model, the difference to llama.cpp's own is what the writer owns.
    """
    run, reference = real_run
    out = tmp_path / "merged-q8.gguf"
    result, r, b = export(ExportRequest(run=run, out=out, outtype="q8_0"))
    ours = verify(result, r, b, out, reference=reference, positions=POSITIONS,
                  f16_file=f16_export[0])
    theirs = ours["llama_cpp_q8_0"]
    assert ours["passed"], (ours["checks"], theirs)
    assert ours["tokenizer_identical"] and ours["top1_agreement"] >= 0.95
    assert ours["top1_agreement"] >= theirs["top1_agreement"] - 0.005
    assert ours["mean_logit_diff"] <= 1.05 * theirs["mean_logit_diff"]


def test_adapter_only_on_the_shipped_base(real_run, tmp_path):
    run, reference = real_run
    out = tmp_path / "adapter.gguf"
    result, r, b = export(ExportRequest(run=run, out=out, adapter_only=True))
    assert result["seconds"] < 5 and result["bytes"] < 10e6
    report = verify(result, r, b, out, reference=reference, positions=POSITIONS)
    # The base stays Q4_1 in llama.cpp while transformers runs it dequantized: the gap is the
    # base's quantization, not the adapter.
    assert report["tokenizer_identical"] and report["top1_agreement"] >= 0.95
    assert report["passed"], report["checks"]


def test_the_editor_engine_runs_the_exported_files(real_run, f16_export, tmp_path, default_model):
    """`pairterm --adapter FILE` and `pairterm --model FILE` take what export writes."""
    from pairterm.config import EngineConfig
    from pairterm.engine import Engine

    run, _ = real_run
    adapter = tmp_path / "adapter.gguf"
    export(ExportRequest(run=run, out=adapter, adapter_only=True))
    for cfg in (EngineConfig(model=default_model, adapter=adapter, eta=float("inf"),
                             max_tokens=8, threads=2, log=False),
                EngineConfig(model=f16_export[0], eta=float("inf"), max_tokens=8, threads=2,
                             log=False)):
        engine = Engine(cfg)
        try:
            s = engine.suggest("def add(a, b):\n    return ")
        finally:
            engine.close()
        assert s.tokens > 0 and s.text.strip(), s


def test_sigkill_mid_write_leaves_no_gguf(real_run, tmp_path):
    """Killed while writing (no chance to clean up): no .gguf appears, and the next export
    removes the dead process's temp file."""
    import os
    import signal
    import subprocess
    import sys
    import time

    run, _ = real_run
    out = tmp_path / "merged.gguf"
    proc = subprocess.Popen([sys.executable, "-m", "ggml_export", str(run), "--out", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob("*.partial")) and proc.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "export finished before it could be killed"
    assert not out.exists() and not list(tmp_path.glob("*.gguf"))
    assert len(list(tmp_path.glob("*.partial"))) == 1
    export(ExportRequest(run=run, out=out, adapter_only=True))
    assert [p.name for p in tmp_path.iterdir()] == ["merged.gguf"]
