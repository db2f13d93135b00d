"""Bad input: one line on stderr, exit 2, no traceback, and never a half-written .gguf."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import gguf
import numpy as np
import pytest

from pairterm.cli import main as pairterm_main


def _fails(capsys: pytest.CaptureFixture, *argv: str) -> str:
    rc = pairterm_main(["export", *argv])
    err = capsys.readouterr().err
    assert rc == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def _copy_run(src: Path, dst: Path, **base: object) -> Path:
    shutil.copytree(src, dst)
    meta = json.loads((dst / "run.json").read_text())
    meta["base"].update(base)
    (dst / "run.json").write_text(json.dumps(meta))
    return dst


def test_missing_run(capsys, tmp_path) -> None:
    msg = _fails(capsys, str(tmp_path / "nope"), "--out", str(tmp_path / "x.gguf"))
    assert "training run not found" in msg and "pairterm train" in msg


def test_run_without_run_json_or_adapter(capsys, tmp_path, tiny_runs) -> None:
    (tmp_path / "empty").mkdir()
    assert "run.json not found" in _fails(capsys, str(tmp_path / "empty"), "--out",
                                          str(tmp_path / "x.gguf"))
    run = _copy_run(tiny_runs["llama"], tmp_path / "r")
    (run / "adapter" / "adapter_model.safetensors").write_bytes(b"\x00" * 10)
    assert "adapter weights are unreadable" in _fails(capsys, str(run), "--out",
                                                      str(tmp_path / "x.gguf"))


def test_existing_output_needs_force(capsys, tmp_path, tiny_runs) -> None:
    out = tmp_path / "x.gguf"
    out.write_bytes(b"precious")
    msg = _fails(capsys, str(tiny_runs["llama"]), "--out", str(out))
    assert "already exists" in msg and "--force" in msg
    assert out.read_bytes() == b"precious"
    assert pairterm_main(["export", str(tiny_runs["llama"]), "--out", str(out), "--force"]) == 0
    assert out.read_bytes()[:4] == b"GGUF"


def test_base_of_another_shape_is_refused(capsys, tmp_path, tiny_runs, default_model) -> None:
    msg = _fails(capsys, str(tiny_runs["llama"]), "--out", str(tmp_path / "x.gguf"),
                 "--base", str(default_model))
    assert "does not match the base model" in msg
    assert re.search(r"is \(64, \d+\) in the adapter but \(576, \d+\) in SmolLM2", msg), msg
    assert not (tmp_path / "x.gguf").exists()


def test_base_of_another_arch_is_refused(capsys, tmp_path, tiny_runs) -> None:
    run = _copy_run(tiny_runs["qwen2"], tmp_path / "r", arch="qwen2",
                    path=str(tiny_runs["llama"].parent / "llama-base"))
    msg = _fails(capsys, str(run), "--out", str(tmp_path / "x.gguf"))
    assert "trained on a qwen2 model" in msg and "llama" in msg


def test_output_over_the_base_is_refused(capsys, tmp_path, tiny_runs) -> None:
    from ggml_export.base import open_hf_base
    from ggml_export.run import sha256_file
    from ggml_export.writer import write_merged

    base = tmp_path / "base.gguf"
    write_merged(None, open_hf_base(tiny_runs["llama"].parent / "llama-base"), base, "f32")
    before = base.read_bytes()
    run = _copy_run(tiny_runs["llama"], tmp_path / "r", path=str(base), kind="gguf",
                    sha256=sha256_file(base))
    assert "is the base model itself" in _fails(capsys, str(run), "--out", str(base), "--force")
    assert base.read_bytes() == before


def test_changed_gguf_base_is_refused(capsys, tmp_path, tiny_runs, default_model) -> None:
    run = _copy_run(tiny_runs["llama"], tmp_path / "r", path=str(default_model), kind="gguf",
                    sha256="0" * 64)
    msg = _fails(capsys, str(run), "--out", str(tmp_path / "x.gguf"))
    assert "does not match the one this run was trained on" in msg


def test_unsupported_architectures_are_named(capsys, tmp_path, tiny_runs) -> None:
    hf = tmp_path / "gpt2-base"
    hf.mkdir()
    (hf / "config.json").write_text(json.dumps({"architectures": ["GPT2LMHeadModel"]}))
    run = _copy_run(tiny_runs["llama"], tmp_path / "r1", path=str(hf), kind="hf")
    msg = _fails(capsys, str(run), "--out", str(tmp_path / "x.gguf"))
    assert "GPT2LMHeadModel" in msg and "llama, qwen2" in msg

    g = tmp_path / "phi.gguf"
    w = gguf.GGUFWriter(str(g), "phi2")
    w.add_tensor("token_embd.weight", np.zeros((4, 4), dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    run = _copy_run(tiny_runs["llama"], tmp_path / "r2", path=str(g), kind="gguf")
    msg = _fails(capsys, str(run), "--out", str(tmp_path / "x.gguf"))
    assert "'phi2' is not supported" in msg and "llama, qwen2" in msg


def test_bad_flags(capsys, tmp_path, tiny_runs) -> None:
    run, out = str(tiny_runs["llama"]), str(tmp_path / "x.gguf")
    assert "q4_k_m" in _fails(capsys, run, "--out", out, "--quant", "q9_k")
    assert "--adapter-only" in _fails(capsys, run, "--out", out, "--quant", "q4_k_m",
                                      "--adapter-only")
    assert ".gguf" in _fails(capsys, run, "--out", str(tmp_path / "x.bin"))
    assert "does not exist" in _fails(capsys, run, "--out", str(tmp_path / "no" / "x.gguf"))
    assert "f32 or f16" in _fails(capsys, run, "--out", out, "--adapter-only", "--outtype", "q8_0")


def test_interrupted_export_leaves_nothing(monkeypatch, tmp_path, tiny_runs) -> None:
    real = gguf.GGUFWriter.write_tensors_to_file

    def write_some_then_die(self, **kw) -> None:
        self.write_ti_data_to_file()
        self.fout[0].write(b"\x01" * 1000)  # part of the weights reached the disk
        self.fout[0].flush()
        raise KeyboardInterrupt

    monkeypatch.setattr(gguf.GGUFWriter, "write_tensors_to_file", write_some_then_die)
    out = tmp_path / "x.gguf"
    with pytest.raises(KeyboardInterrupt):
        from ggml_export.cli import main

        main([str(tiny_runs["llama"]), "--out", str(out)])
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setattr(gguf.GGUFWriter, "write_tensors_to_file", real)
    assert pairterm_main(["export", str(tiny_runs["llama"]), "--out", str(out)]) == 0
    assert [p.name for p in tmp_path.iterdir()] == ["x.gguf"]


def test_python_m_entry_point_reports_one_line(tmp_path) -> None:
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "ggml_export", str(tmp_path / "none"), "--out",
                           str(tmp_path / "x.gguf")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("pairterm export: error: training run not found")
