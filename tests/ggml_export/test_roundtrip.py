"""Tiny llama and qwen2 runs exported through the real CLI and loaded by the real llama.cpp."""

from __future__ import annotations

import json
import re
from pathlib import Path

import gguf
import numpy as np
import pytest

from ggml_export.cli import main
from ggml_export.names import permute_qk
from ggml_export.verify import Q8_0_CHECK, TOP1_MIN

ARCHS = ["llama", "qwen2"]


def _export(capsys: pytest.CaptureFixture, run: Path, out: Path, *flags: str) -> tuple[int, dict]:
    rc = main([str(run), "--out", str(out), "--json", *flags])
    return rc, json.loads(capsys.readouterr().out)


def _fields(path: Path) -> tuple[dict, dict]:
    r = gguf.GGUFReader(str(path))
    fields = {k: f.contents() for k, f in r.fields.items() if not k.startswith("GGUF.")}
    tensors = {t.name: t for t in r.tensors}
    return fields, tensors


@pytest.mark.parametrize("arch", ARCHS)
def test_merged_f32_reproduces_transformers(arch, tiny_runs, tmp_path, capsys) -> None:
    rc, res = _export(capsys, tiny_runs[arch], tmp_path / "m.gguf", "--outtype", "f32", "--verify")
    v = res["verify"]
    assert rc == 0 and v["passed"], v["checks"]
    assert v["tokenizer_identical"]
    assert v["top1_agreement"] >= 0.99 and v["max_logit_diff"] < 0.05
    assert v["greedy_identical"]
    assert v["adapter_vs_merged"]["top1_agreement"] >= 0.99
    assert v["adapter_vs_merged"]["max_logit_diff"] < 0.01  # both f32: only summation order differs


@pytest.mark.parametrize("arch", ARCHS)
def test_merged_f16_metadata_and_layout(arch, tiny_runs, tmp_path, capsys) -> None:
    out = tmp_path / "m16.gguf"
    rc, res = _export(capsys, tiny_runs[arch], out, "--verify")
    assert rc == 0 and res["outtype"] == "f16" and res["verify"]["passed"]
    assert res["verify"]["adapter_vs_merged"]["top1_agreement"] >= 0.97
    fields, tensors = _fields(out)
    assert fields["general.architecture"] == arch and fields["general.type"] == "model"
    assert fields["general.file_type"] == 1
    for key in ("context_length", "embedding_length", "block_count", "feed_forward_length",
                "attention.head_count", "attention.head_count_kv", "rope.freq_base",
                "attention.layer_norm_rms_epsilon"):
        assert f"{arch}.{key}" in fields, key
    assert fields[f"{arch}.attention.head_count_kv"] == 2
    assert fields["tokenizer.ggml.model"] == "gpt2"
    assert fields["tokenizer.ggml.pre"] == ("qwen2" if arch == "qwen2" else "smollm")
    assert fields["tokenizer.ggml.tokens"][:3] == ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    assert fields["tokenizer.ggml.token_type"][:4] == [3, 3, 3, 1]
    assert fields["tokenizer.ggml.eos_token_id"] == 0 and fields["tokenizer.ggml.bos_token_id"] == 1
    assert len(fields["tokenizer.ggml.merges"]) > 100
    assert tensors["blk.0.attn_norm.weight"].tensor_type.name == "F32"
    assert tensors["blk.1.ffn_down.weight"].tensor_type.name == "F16"
    # qwen2 ties lm_head to the embeddings; llama here does not.
    assert ("output.weight" in tensors) == (arch == "llama")
    assert ("blk.0.attn_q.bias" in tensors) == (arch == "qwen2")


@pytest.mark.parametrize("arch", ARCHS)
def test_adapter_only_loads_on_base_and_matches(arch, tiny_runs, tmp_path, capsys) -> None:
    out = tmp_path / "a.gguf"
    rc, res = _export(capsys, tiny_runs[arch], out, "--adapter-only", "--outtype", "f32",
                      "--verify")
    assert rc == 0 and res["verify"]["passed"], res["verify"]["checks"]
    assert res["verify"]["top1_agreement"] >= 0.99
    fields, tensors = _fields(out)
    assert fields["general.type"] == "adapter" and fields["adapter.type"] == "lora"
    assert fields["adapter.lora.alpha"] == 8.0 and fields["general.architecture"] == arch
    assert len(tensors) == 2 * 7 * 2  # 7 modules x 2 layers, A and B each
    a = tensors["blk.1.attn_k.weight.lora_a"]
    b = tensors["blk.1.attn_k.weight.lora_b"]
    assert tuple(a.data.shape) == (4, 64) and tuple(b.data.shape) == (32, 4)  # (r,in), (out,r)

    from safetensors.numpy import load_file

    peft = load_file(str(tiny_runs[arch] / "adapter" / "adapter_model.safetensors"))
    key = next(k for k in peft if "layers.1.self_attn.k_proj.lora_B" in k)
    expected = permute_qk(peft[key], 2) if arch == "llama" else peft[key]  # 2 kv heads
    np.testing.assert_allclose(b.data, expected, rtol=1e-6)
    v_key = next(k for k in peft if "layers.1.self_attn.v_proj.lora_B" in k)
    np.testing.assert_allclose(tensors["blk.1.attn_v.weight.lora_b"].data, peft[v_key], rtol=1e-6)


def test_lora_changes_what_llama_cpp_computes(tiny_runs, tmp_path, capsys) -> None:
    """Guards the verify numbers above: without the LoRA the logits are far from the run's."""
    from ggml_export.base import open_hf_base
    from ggml_export.verify import _llama, _llama_logits, compare
    from ggml_export.writer import write_merged

    run = tiny_runs["llama"]
    merged = tmp_path / "m.gguf"
    assert main([str(run), "--out", str(merged), "--outtype", "f32"]) == 0
    bare = tmp_path / "bare.gguf"
    write_merged(None, open_hf_base(run.parent / "llama-base"), bare, "f32")
    ids = list(range(5, 120))
    with_lora, without = (_llama_logits(_llama(p, 256), ids) for p in (merged, bare))
    assert compare(with_lora, without)["max_logit_diff"] > 0.5


@pytest.mark.parametrize("arch", ARCHS)
def test_q8_0_is_smaller_and_close(arch, tiny_runs, tmp_path, capsys) -> None:
    rc16, f16 = _export(capsys, tiny_runs[arch], tmp_path / "h.gguf")
    rc8, q8 = _export(capsys, tiny_runs[arch], tmp_path / "q.gguf", "--outtype", "q8_0", "--verify")
    assert rc16 == 0 and q8["bytes"] < 0.65 * f16["bytes"]
    v = q8["verify"]
    # A 64-wide random model has flat logits, so q8_0 flips more near-ties than a real model
    # does; the rounding itself stays small.
    assert v["tokenizer_identical"] and v["top1_agreement"] >= 0.9
    assert v["mean_logit_diff"] < 0.05
    # Held to llama.cpp's quantizer on our f16 file, on the same positions: both figures are
    # reported, and the verdict is the relative rule (llama's ours is below 0.97 here and passes).
    theirs = v["llama_cpp_q8_0"]
    assert 0.9 <= theirs["top1_agreement"] < 1.0 and theirs["mean_logit_diff"] > 0
    assert theirs["ours_top1_agreement"] == v["top1_agreement"]
    assert theirs["difference"] == pytest.approx(v["top1_agreement"] - theirs["top1_agreement"])
    assert v["top1_agreement"] >= theirs["top1_agreement"] - 0.005
    assert list(v["checks"]) == ["tokenizer_identical", Q8_0_CHECK]
    assert rc8 == 0 and v["passed"], v["checks"]
    _, tensors = _fields(tmp_path / "q.gguf")
    assert tensors["blk.0.ffn_up.weight"].tensor_type.name == "Q8_0"
    assert tensors["blk.0.ffn_norm.weight"].tensor_type.name == "F32"


@pytest.mark.parametrize(("arch", "bar", "rc"), [("qwen2", 1.01, 1), ("llama", 0.0, 0)])
def test_verify_exit_status_and_message_follow_the_bar(
    arch, bar, rc, tiny_runs, tmp_path, capsys, monkeypatch
) -> None:
    """An unreachable bar fails any export, a zero bar passes any: the status a script sees
    and the one line a person reads come from the check, not from the model's numbers."""
    monkeypatch.setitem(TOP1_MIN, "f16", bar)
    out = tmp_path / "q.gguf"
    assert main([str(tiny_runs[arch]), "--out", str(out), "--outtype", "f16", "--verify"]) == rc
    captured = capsys.readouterr()
    failed = (f"pairterm export: verification failed: top1_agreement>={bar} "
              f"(file kept at {out})")
    # (llama.cpp may add its own log lines on stderr)
    assert (failed in captured.err.splitlines()) == bool(rc)
    assert ("verify: FAILED" if rc else "verify: passed") in captured.out
    assert out.is_file()


@pytest.mark.parametrize("arch", ARCHS)
def test_a_worse_q8_0_writer_fails_naming_both_figures(
    arch, tiny_runs, tmp_path, capsys, monkeypatch
) -> None:
    """Rounding each row to 8 levels before q8_0 (about what 4 bits keep) is a writer that
    llama.cpp's quantizer beats by far: one line with both figures, exit 1, file kept."""
    from ggml_export import writer

    cast = writer._cast

    def coarse(name: str, w: np.ndarray, outtype: str):
        if outtype == "q8_0" and w.ndim == 2:
            step = np.maximum(np.abs(w).max(axis=-1, keepdims=True), 1e-12) / 8
            w = np.round(w / step) * step
        return cast(name, w, outtype)

    monkeypatch.setattr(writer, "_cast", coarse)
    out = tmp_path / "q.gguf"
    assert main([str(tiny_runs[arch]), "--out", str(out), "--outtype", "q8_0", "--verify"]) == 1
    captured = capsys.readouterr()
    # (llama.cpp may add its own log lines on stderr)
    ours_lines = [line for line in captured.err.splitlines() if line.startswith("pairterm export")]
    assert len(ours_lines) == 1, captured.err
    m = re.fullmatch(r"pairterm export: verification failed: top1_agreement (0\.\d{4}) is more "
                     r"than 0\.005 below llama\.cpp's own q8_0 \((0\.\d{4})\) \(file kept at (.+)\)",
                     ours_lines[0])
    assert m and m.group(3) == str(out), ours_lines[0]
    ours, theirs = float(m.group(1)), float(m.group(2))
    assert theirs >= 0.9 and ours < theirs - 0.005  # llama.cpp's figure comes from our f16
    assert (f"q8_0 top1_agreement: ours {ours:.4f}, llama.cpp's quantizer on our f16 "
            f"{theirs:.4f}, difference -") in captured.out
    assert "verify: FAILED" in captured.out and out.is_file()


def test_k_quant_reports_fallbacks(tiny_runs, tmp_path, capsys) -> None:
    rc, res = _export(capsys, tiny_runs["qwen2"], tmp_path / "k.gguf", "--quant", "q4_k_m")
    q = res["quantization"]
    assert rc == 0 and q["quant"] == "q4_k_m"
    # 64-wide rows cannot hold 256-wide k-quant blocks: llama.cpp falls back, and we say where.
    assert "blk.0.attn_q.weight" in q["fallbacks"]
    assert sum(q["tensor_types"].values()) == len(_fields(tmp_path / "k.gguf")[1])
    from ggml_export.verify import _llama

    _llama(tmp_path / "k.gguf", 64).close()  # llama.cpp loads what its quantizer wrote


def test_human_output_names_file_and_fallbacks(tiny_runs, tmp_path, capsys) -> None:
    assert main([str(tiny_runs["llama"]), "--out", str(tmp_path / "k.gguf"), "--quant", "q6_k"]) == 0
    text = capsys.readouterr().out
    assert "k.gguf" in text and "merged q6_k" in text and "fell back" in text


def test_gguf_base_gives_the_same_weights_and_copies_tokenizer(tiny_runs, tmp_path, capsys) -> None:
    """A GGUF base (already permuted, metadata to copy) must give what the HF base gives."""
    from ggml_export.base import open_hf_base
    from ggml_export.run import sha256_file
    from ggml_export.writer import write_merged

    run = tiny_runs["llama"]
    base_gguf = tmp_path / "base.gguf"
    write_merged(None, open_hf_base(run.parent / "llama-base"), base_gguf, "f32")
    run2 = tmp_path / "run2"
    run2.mkdir()
    (run2 / "adapter").symlink_to(run / "adapter")
    (run2 / "run.json").write_text(json.dumps({"format": 1, "base": {
        "path": str(base_gguf), "kind": "gguf", "sha256": sha256_file(base_gguf)}}))
    assert main([str(run), "--out", str(tmp_path / "from_hf.gguf"), "--outtype", "f32"]) == 0
    assert main([str(run2), "--out", str(tmp_path / "from_gguf.gguf"), "--outtype", "f32"]) == 0
    base_r = gguf.GGUFReader(str(base_gguf))
    hf_f, hf_t = _fields(tmp_path / "from_hf.gguf")
    gg_r = gguf.GGUFReader(str(tmp_path / "from_gguf.gguf"))
    for name, t in hf_t.items():
        other = next(x for x in gg_r.tensors if x.name == name)
        np.testing.assert_allclose(other.data, t.data, atol=1e-6, err_msg=name)
    for key, f in base_r.fields.items():
        if key.startswith("tokenizer."):
            g = gg_r.fields[key]
            assert [bytes(g.parts[i]) for i in g.data] == [bytes(f.parts[i]) for i in f.data], key


def test_per_module_rank_alpha_and_rslora_scales_survive(tiny_runs, tmp_path, capsys) -> None:
    """llama.cpp applies one alpha / rank per tensor; peft's per-module patterns and rsLoRA
    scale differently, so the exporter folds the difference into B. Checked end to end."""
    from tests.ggml_export.builders import build_run

    base = tiny_runs["llama"].parent / "llama-base"
    run, _ = build_run(tmp_path / "run", base, "hf", rank_pattern={"q_proj": 8},
                       alpha_pattern={"v_proj": 32}, use_rslora=True)
    for flags in (["--adapter-only", "--outtype", "f32"], ["--outtype", "f32"]):
        rc, res = _export(capsys, run, tmp_path / f"{flags[0]}.gguf", "--verify", *flags)
        assert rc == 0 and res["verify"]["passed"], res["verify"]["checks"]
        assert res["verify"]["max_logit_diff"] < 0.05
    _, tensors = _fields(tmp_path / "--adapter-only.gguf")
    assert tuple(tensors["blk.0.attn_q.weight.lora_a"].data.shape) == (8, 64)


def test_lora_on_tied_lm_head_unties_it_in_the_merged_file(tiny_runs, tmp_path, capsys) -> None:
    from tests.ggml_export.builders import build_run

    base = tiny_runs["qwen2"].parent / "qwen2-base"  # ties lm_head to the embeddings
    run, _ = build_run(tmp_path / "run", base, "hf", targets=["lm_head", "q_proj"])
    rc, res = _export(capsys, run, tmp_path / "m.gguf", "--outtype", "f32", "--verify")
    assert rc == 0 and res["verify"]["passed"] and res["tensors_merged"] == 3
    _, tensors = _fields(tmp_path / "m.gguf")
    assert "output.weight" in tensors and "token_embd.weight" in tensors
    from pairterm.cli import main as pairterm_main

    assert pairterm_main(["export", str(run), "--out", str(tmp_path / "a.gguf"),
                          "--adapter-only"]) == 2
    assert "export the merged model instead" in capsys.readouterr().err
