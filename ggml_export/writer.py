"""Write GGUF files: the merged model and the LoRA adapter, always through temp file + rename."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import gguf
import numpy as np

from ggml_export.base import BaseModel
from ggml_export.run import Run
from pairterm import atomic
from pairterm.errors import UserError

OUTTYPES = {"f32": 0, "f16": 1, "q8_0": 7}  # -> general.file_type (llama_ftype)
_Q = gguf.GGMLQuantizationType


@contextlib.contextmanager
def atomic_output(out: Path, force: bool) -> Iterator[Path]:
    """Yield a temp path beside `out`; rename it over `out` only if the block completes.

    A crash or Ctrl+C leaves no truncated .gguf: the temp name does not end in .gguf and is
    removed on the way out.
    """
    out = Path(out)
    if out.exists() and not force:
        raise UserError(f"{out} already exists; pass --force to overwrite it")
    if out.is_dir():
        raise UserError(f"{out} is a directory; --out takes a .gguf file path")
    if not out.parent.is_dir():
        raise UserError(f"output directory does not exist: {out.parent}")
    _remove_stale_partials(out)
    # The pid in the name tells a later export whether the writer of a leftover is still alive.
    with atomic.replacing(out, prefix=f".{out.name}.{os.getpid()}.", suffix=".partial") as tmp:
        yield tmp


def _remove_stale_partials(out: Path) -> None:
    """Temp files of exports that were killed outright (SIGKILL, power loss) and could not
    clean up; a live export's temp file (its process still running) is left alone."""
    for p in out.parent.glob(f".{out.name}.*.partial"):
        pid = p.name[len(out.name) + 2: -len(".partial")].split(".", 1)[0]
        if not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            with contextlib.suppress(OSError):
                p.unlink()
        except PermissionError:
            pass  # someone else's live process


def check_compatible(run: Run, base: BaseModel) -> None:
    """Every LoRA pair must sit on a base tensor of matching shape, else the base is wrong."""
    if run.base_arch and run.base_arch not in (base.hp.arch, _hf_arch_alias(run.base_arch)):
        raise UserError(
            f"adapter does not match the base model: it was trained on a {run.base_arch} model "
            f"but {base.path} is {base.hp.arch}; pass --base with the model it was trained on"
        )
    for stem, pair in run.loras.items():
        name = f"{stem}.weight"
        if name == "output.weight" and base.tied:
            name = "token_embd.weight"
        shape = base.shapes.get(name)
        if shape is None:
            raise UserError(
                f"adapter does not match the base model: it adapts {pair.hf_module} but the "
                f"base ({base.hp.arch}, {base.hp.n_layer} layers) has no {stem}.weight"
            )
        want = pair.delta().shape if pair.embedding else (pair.b.shape[0], pair.a.shape[1])
        if tuple(want) != tuple(shape):
            raise UserError(
                f"adapter does not match the base model: {pair.hf_module} is {tuple(want)} in "
                f"the adapter but {tuple(shape)} in {base.path.name}"
            )


def _hf_arch_alias(name: str) -> str | None:
    from ggml_export.names import HF_ARCH_TO_GGUF

    lowered = {k.lower(): v for k, v in HF_ARCH_TO_GGUF.items()}
    return HF_ARCH_TO_GGUF.get(name) or lowered.get(name.lower())


def _cast(name: str, w: np.ndarray, outtype: str) -> tuple[np.ndarray, _Q | None]:
    # Norms and biases stay F32 (llama.cpp expects it and they are tiny).
    if w.ndim == 1 or outtype == "f32":
        return np.ascontiguousarray(w, dtype=np.float32), None
    if outtype == "q8_0" and w.shape[-1] % gguf.GGML_QUANT_SIZES[_Q.Q8_0][0] == 0:
        return gguf.quants.quantize(w.astype(np.float32), _Q.Q8_0), _Q.Q8_0
    return np.ascontiguousarray(w, dtype=np.float16), None


def _add_meta(writer: gguf.GGUFWriter, meta: list) -> None:
    for key, value, vtype, sub in meta:
        writer.add_key_value(key, value, vtype, sub_type=sub)


def write_merged(run: Run | None, base: BaseModel, out_tmp: Path, outtype: str) -> dict:
    """The base with every LoRA delta added, as a full GGUF. run=None writes the bare base."""
    loras = dict(run.loras) if run else {}
    if run:
        check_compatible(run, base)
    writer = gguf.GGUFWriter(str(out_tmp), base.hp.arch)
    writer.add_type("model")
    _add_meta(writer, base.meta)
    writer.add_file_type(OUTTYPES[outtype])
    if not any(k == "general.quantization_version" for k, *_ in base.meta):
        writer.add_quantization_version(gguf.GGML_QUANT_VERSION)
    merged = 0
    embd: np.ndarray | None = None
    for name, w in base.tensors():
        stem = name.rsplit(".", 1)[0]
        pair = loras.pop(stem, None) if name.endswith(".weight") else None
        if name == "token_embd.weight" and base.tied and "output" in loras:
            embd = w.copy()
        if pair is not None:
            w = w + base.hp.to_gguf_rows(name, pair.delta())
            merged += 1
        data, raw = _cast(name, w, outtype)
        writer.add_tensor(name, data, raw_dtype=raw)
    if "output" in loras:
        # A LoRA on lm_head of a tied model unties it: the output matrix becomes its own tensor.
        assert embd is not None
        pair = loras.pop("output")
        data, raw = _cast("output.weight", embd + pair.delta(), outtype)
        writer.add_tensor("output.weight", data, raw_dtype=raw)
        merged += 1
    _finish(writer)
    return {"tensors_merged": merged}


def adapter_problem(run: Run, base: BaseModel) -> str | None:
    """Why this run cannot be a llama.cpp adapter file, or None if it can."""
    for stem, pair in run.loras.items():
        if pair.embedding or (stem == "output" and base.tied):
            return (f"llama.cpp adapters cannot carry a LoRA on {pair.hf_module} of this base; "
                    "export the merged model instead (drop --adapter-only)")
    return None


def write_adapter(run: Run, base: BaseModel, out_tmp: Path, outtype: str) -> dict:
    """A llama.cpp LoRA adapter GGUF: <name>.weight.lora_a (r, in) and .lora_b (out, r)."""
    check_compatible(run, base)
    if outtype not in ("f32", "f16"):
        raise UserError(f"--adapter-only writes f32 or f16, not {outtype}")
    problem = adapter_problem(run, base)
    if problem:
        raise UserError(problem)
    writer = gguf.GGUFWriter(str(out_tmp), base.hp.arch)
    writer.add_type("adapter")
    writer.add_string("adapter.type", "lora")
    writer.add_float32("adapter.lora.alpha", run.alpha)
    dtype = np.float32 if outtype == "f32" else np.float16
    for stem, pair in run.loras.items():
        name = f"{stem}.weight"
        # llama.cpp scales every pair by alpha / rank; fold any per-module difference into B.
        fold = pair.scale * pair.rank / run.alpha if run.alpha else pair.scale
        b = base.hp.to_gguf_rows(name, pair.b * np.float32(fold))
        writer.add_tensor(f"{name}.lora_a", np.ascontiguousarray(pair.a, dtype=dtype))
        writer.add_tensor(f"{name}.lora_b", np.ascontiguousarray(b, dtype=dtype))
    _finish(writer)
    return {"lora_tensors": 2 * len(run.loras), "alpha": run.alpha}


def _finish(writer: gguf.GGUFWriter) -> None:
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
