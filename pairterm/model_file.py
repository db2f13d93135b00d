"""Checks and metadata for GGUF files, read without loading the weights."""

from __future__ import annotations

import hashlib
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
    from gguf import GGUFReader

    try:
        reader = GGUFReader(str(path), "r")
    except Exception as exc:  # gguf raises bare ValueError/IndexError on truncation
        raise UserError(f"GGUF file {path} is truncated or corrupt: {exc}") from None
    meta: dict[str, object] = {}
    for key in _META_KEYS:
        field = reader.fields.get(key)
        if field is not None and field.data:
            meta[key] = field.contents()
    arch = meta.get("general.architecture")
    if isinstance(arch, str):
        ctx = reader.fields.get(f"{arch}.context_length")
        if ctx is not None:
            meta["context_length"] = int(ctx.contents())
    meta["tensors"] = len(reader.tensors)
    meta["parameters"] = int(sum(int(t.n_elements) for t in reader.tensors))
    return meta


def file_sha256(path: Path) -> str:
    """SHA-256 of a (possibly large) file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
