"""Checks and metadata for GGUF files, read without loading the weights.

This is the one GGUF header reader (the exporter uses it too). gguf's GGUFReader builds a numpy
view for every element of every array (about 100k for a BPE vocabulary and its merges), which
costs more than a whole adapter export; what pairterm needs is scalar metadata, array lengths and
tensor shapes, so the header is walked with struct and array contents are skipped.
"""

from __future__ import annotations

import hashlib
import math
import mmap
import struct
from dataclasses import dataclass, field
from pathlib import Path

from pairterm.errors import UserError

GGUF_MAGIC = b"GGUF"
_META_KEYS = (
    "general.architecture",
    "general.name",
    "general.type",
    "general.file_type",
    "general.size_label",
    "adapter.type",
    "adapter.lora.alpha",
)


def check_gguf(path: Path, what: str = "model") -> None:
    """Raise a one-line UserError unless `path` looks like a complete GGUF file."""
    if not path.exists():
        raise UserError(f"{what} file not found: {path} (pass --{what} PATH.gguf)")
    if not path.is_file():
        raise UserError(f"{what} path is not a file: {path}")
    try:
        with path.open("rb") as fh:
            head = fh.read(4)
    except OSError as exc:
        raise UserError(f"cannot read {what} file {path}: {exc.strerror}") from None
    if head != GGUF_MAGIC:
        raise UserError(f"{what} file {path} is not a GGUF file (wrong magic bytes)")


def gguf_metadata(path: Path) -> dict[str, object]:
    """A few descriptive keys plus tensor count and parameter count; UserError if unreadable."""
    check_gguf(path)
    try:
        header = read_header(path)
        size = path.stat().st_size
    except (OSError, HeaderError) as exc:
        raise UserError(f"GGUF file {path} is truncated or corrupt: {exc}") from None
    if header.data_end() > size:
        raise UserError(
            f"GGUF file {path} is truncated or corrupt: its tensors need {header.data_end()} "
            f"bytes, the file has {size}"
        )
    meta: dict[str, object] = {k: header.values[k] for k in _META_KEYS if k in header.values}
    arch = meta.get("general.architecture")
    if isinstance(arch, str) and f"{arch}.context_length" in header.values:
        meta["context_length"] = int(header.values[f"{arch}.context_length"])  # type: ignore[call-overload]
    meta["tensors"] = len(header.tensors)
    meta["parameters"] = sum(math.prod(shape) for shape, _t in header.tensors.values())
    return meta


def adapter_misfit(adapter: Path, model: Path) -> str | None:
    """Why LoRA adapter `adapter` cannot be applied to `model`, or None when it can.

    llama.cpp checks little of this itself: an adapter trained for another base can crash the
    process at the first decode (a SIGSEGV, seen with a SmolLM2 adapter on Qwen2.5-Coder). So
    every adapted tensor must exist in the model with the shape its low-rank pair multiplies
    out to, and the architectures must agree. Raises UserError when either file is unreadable."""
    heads = []
    for path, what in ((adapter, "adapter"), (model, "model")):
        check_gguf(path, what)
        try:
            heads.append(read_header(path))
        except (OSError, HeaderError) as exc:
            raise UserError(f"{what} file {path} is truncated or corrupt: {exc}") from None
    lora, base = heads
    if lora.values.get("general.type") != "adapter" and not any(
            name.endswith(".lora_a") for name in lora.tensors):
        return "it is not a LoRA adapter (a model file?)"
    arch, base_arch = lora.values.get("general.architecture"), base.values.get("general.architecture")
    if arch != base_arch:
        return f"it was trained for a {arch} model and the model is {base_arch}"
    for name, (shape_a, _t) in lora.tensors.items():
        if not name.endswith(".lora_a"):
            continue
        target = name[: -len(".lora_a")]
        shape_b = lora.tensors.get(target + ".lora_b", ((), 0))[0]
        found = base.tensors.get(target)
        if found is None:
            return f"the model has no tensor {target}"
        if target.startswith("token_embd."):
            continue  # llama.cpp lays an embedding's pair out the other way round
        if len(shape_a) != 2 or len(shape_b) != 2 or (shape_b[0], shape_a[1]) != found[0][:2]:
            return (f"its {target} is {shape_b[:1] + shape_a[1:]} and the model's is {found[0]} "
                    f"(trained for another model of the same kind)")
    return None


def file_sha256(path: Path) -> str:
    """SHA-256 of a (possibly large) file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


_SCALARS = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q",
            12: "d"}  # fmt: skip
_STRING, _ARRAY = 8, 9


class HeaderError(ValueError):
    """The bytes are not a well-formed GGUF header."""


@dataclass
class GgufHeader:
    version: int
    values: dict[str, object] = field(default_factory=dict)  # scalars and strings
    array_lengths: dict[str, int] = field(default_factory=dict)
    # tensor name -> (numpy-order shape, ggml type id)
    tensors: dict[str, tuple[tuple[int, ...], int]] = field(default_factory=dict)
    data_start: int = 0  # where the tensor data begins
    offsets: dict[str, int] = field(default_factory=dict)  # tensor name -> offset in the data

    def data_end(self) -> int:
        """How many bytes the file must have to hold every tensor."""
        from gguf import GGML_QUANT_SIZES

        end = self.data_start
        for name, (shape, ttype) in self.tensors.items():
            block, type_size = GGML_QUANT_SIZES.get(ttype, (1, 0))
            end = max(end, self.data_start + self.offsets[name] + math.prod(shape) // block * type_size)
        return end


def read_header(path: Path) -> GgufHeader:
    """The header of GGUF file `path`; HeaderError if it is not one, OSError if unreadable."""
    with open(path, "rb") as f:
        if f.seek(0, 2) == 0:
            raise HeaderError("empty file")
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as buf:
            return _parse(buf)


def _parse(buf: mmap.mmap) -> GgufHeader:
    pos = 0

    def take(fmt: str) -> tuple:
        nonlocal pos
        vals = struct.unpack_from("<" + fmt, buf, pos)
        pos += struct.calcsize("<" + fmt)
        return vals

    def string() -> str:
        nonlocal pos
        (n,) = take("Q")
        if pos + n > len(buf):
            raise HeaderError("string runs past the end of the file")
        s = bytes(buf[pos : pos + n]).decode("utf-8", "replace")
        pos += n
        return s

    def skip(vtype: int, count: int) -> None:
        nonlocal pos
        if vtype in _SCALARS:
            pos += struct.calcsize("<" + _SCALARS[vtype]) * count
        elif vtype == _STRING:
            for _ in range(count):
                (n,) = struct.unpack_from("<Q", buf, pos)
                pos += 8 + n
        elif vtype == _ARRAY:
            for _ in range(count):
                sub, n = take("IQ")
                skip(sub, n)
        else:
            raise HeaderError(f"unknown GGUF value type {vtype}")

    try:
        if bytes(buf[:4]) != GGUF_MAGIC:
            raise HeaderError("not a GGUF file (bad magic)")
        pos = 4
        version, n_tensors, n_kv = take("IQQ")
        header = GgufHeader(version)
        for _ in range(n_kv):
            key = string()
            (vtype,) = take("I")
            if vtype in _SCALARS:
                header.values[key] = take(_SCALARS[vtype])[0]
            elif vtype == _STRING:
                header.values[key] = string()
            elif vtype == _ARRAY:
                sub, n = take("IQ")
                header.array_lengths[key] = n
                skip(sub, n)
            else:
                raise HeaderError(f"unknown GGUF value type {vtype} for {key}")
        for _ in range(n_tensors):
            name = string()
            (n_dims,) = take("I")
            dims = take("Q" * n_dims)
            ttype, offset = take("IQ")
            header.tensors[name] = (tuple(int(d) for d in reversed(dims)), int(ttype))
            header.offsets[name] = int(offset)
    except struct.error as exc:
        raise HeaderError(f"truncated header ({exc})") from None
    align = int(header.values.get("general.alignment", 32))  # type: ignore[call-overload]
    header.data_start = -(-pos // align) * align
    return header
