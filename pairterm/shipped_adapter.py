"""The Empower LoRA adapter that ships with pairterm, and when it applies.

It was trained for one base model (the default SmolLM2 GGUF); applied to any other model,
llama.cpp would fail on mismatched tensor shapes or silently decode garbage. So it is used only
when asked for (`--adapter empower`) and the model is that base: the default model itself, or a
file with the size and SHA-256 that `default-adapter.json` records. It is built by
`python -m training.build_shipped_adapter`; this module only finds it and says when it fits.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from pairterm import paths
from pairterm.model_file import file_sha256

DATA = Path(__file__).parent / "data"
ADAPTER_FILE = DATA / "default-adapter.gguf"
PROVENANCE_FILE = DATA / "default-adapter.json"


@cache
def provenance() -> dict[str, object] | None:
    """The shipped adapter's provenance record, or None when no adapter ships."""
    if not ADAPTER_FILE.is_file():
        return None
    try:
        data = json.loads(PROVENANCE_FILE.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def fits(model: Path | None) -> bool:
    """Whether the shipped adapter was trained for `model` (None: the small model)."""
    record = provenance()
    if record is None:
        return False
    base = record.get("base_model")
    if not isinstance(base, dict):
        return False
    default = paths.small_model_path()
    if model is None:
        model = default
    if model is None or not model.is_file():
        return False
    if default is not None and default.is_file() and model.resolve() == default.resolve():
        return base.get("file") == default.name and default.stat().st_size == base.get("bytes")
    # Another path: only the same bytes will do (hashing is skipped unless the size matches).
    try:
        size = model.stat().st_size
    except OSError:
        return False
    return size == base.get("bytes") and file_sha256(model) == base.get("sha256")


def for_model(model: Path | None) -> Path | None:
    """The shipped adapter's path when it applies to `model`, else None."""
    return ADAPTER_FILE if fits(model) else None
