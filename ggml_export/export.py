"""Export one training run: adapter-only, merged (f32/f16/q8_0), or merged then llama.cpp-quantized."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from pathlib import Path

from ggml_export.base import BaseModel, open_base
from ggml_export.quantize import QUANTS, quantize
from ggml_export.run import Run, load_run
from ggml_export.writer import (
    OUTTYPES,
    atomic_output,
    check_compatible,
    write_adapter,
    write_merged,
)
from pairterm.errors import UserError
from pairterm.paths import usable_cores


@dataclass
class ExportRequest:
    run: Path
    out: Path
    adapter_only: bool = False
    outtype: str | None = None  # default: f16
    quant: str | None = None
    force: bool = False
    base: Path | None = None


@dataclass(frozen=True)
class ExportResult:
    out: Path
    kind: str  # "adapter" | "merged"
    bytes: int
    seconds: float
    details: dict  # everything `pairterm export --json` prints


def export_adapter(
    run: Path, out: Path, *, base: Path | None = None, force: bool = False
) -> ExportResult:
    """A run's LoRA adapter as a GGUF that llama.cpp loads beside its base model (what
    `pairterm export RUN --out FILE --adapter-only` writes). Errors are UserErrors."""
    details, _, _ = export(ExportRequest(run=run, out=out, adapter_only=True, force=force, base=base))
    return ExportResult(Path(details["out"]), details["kind"], details["bytes"], details["seconds"], details)


def validate(req: ExportRequest) -> None:
    if req.outtype is not None and req.outtype not in OUTTYPES:
        raise UserError(f"--outtype must be one of {', '.join(OUTTYPES)}, not {req.outtype!r}")
    if req.quant is not None:
        if req.adapter_only:
            raise UserError("--quant applies to the merged model; drop it or --adapter-only")
        if req.quant not in QUANTS:
            raise UserError(f"unknown --quant {req.quant!r}; choose one of: {', '.join(QUANTS)}")
    if req.out.suffix != ".gguf":
        raise UserError(f"--out should name a .gguf file, got {req.out}")


def export(req: ExportRequest) -> tuple[dict, Run, BaseModel]:
    validate(req)
    t0 = time.perf_counter()
    run = load_run(req.run, req.base)
    base = open_base(run.base_path, run.base_kind)
    check_compatible(run, base)
    if req.out.exists() and req.out.resolve() == run.base_path.resolve():
        raise UserError(f"--out {req.out} is the base model itself; choose another file")
    outtype = req.outtype or "f16"
    result: dict = {
        "run": str(req.run),
        "out": str(req.out),
        "base": str(run.base_path),
        "arch": base.hp.arch,
        "kind": "adapter" if req.adapter_only else "merged",
        "outtype": outtype,
        "quant": req.quant,
    }
    with atomic_output(req.out, req.force) as tmp:
        if req.adapter_only:
            result.update(write_adapter(run, base, tmp, outtype))
        elif req.quant:
            inter = tmp.with_name(tmp.name + ".unquantized")
            try:
                result.update(write_merged(run, base, inter, outtype))
                result["quantization"] = quantize(inter, tmp, req.quant, threads=usable_cores())
            finally:
                with contextlib.suppress(FileNotFoundError):
                    inter.unlink()
        else:
            result.update(write_merged(run, base, tmp, outtype))
    result["bytes"] = req.out.stat().st_size
    result["seconds"] = round(time.perf_counter() - t0, 3)
    return result, run, base
