"""Loading a GGUF model (and a LoRA adapter) into llama.cpp, with every way that fails said in
one line: a file that is not GGUF, an adapter trained for another model, llama.cpp's own refusal
(with the last thing it wrote on stderr, which is otherwise held back: pairterm.native_stderr)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pairterm.config import EngineConfig
from pairterm.errors import UserError
from pairterm.model_catalog import check_adapter_fits
from pairterm.model_file import check_gguf
from pairterm.native_stderr import held_native_stderr


def open_llama(config: EngineConfig, model_path: Path) -> Any:
    """A `llama_cpp.Llama` for `model_path` with `config`'s adapter, context and threads."""
    from llama_cpp import Llama

    check_gguf(model_path, "model")
    if config.adapter is not None:
        check_adapter_fits(config.adapter, model_path)  # checks that it is a GGUF file first
    try:
        with held_native_stderr() as native:
            return Llama(
                model_path=str(model_path),
                lora_path=str(config.adapter) if config.adapter else None,
                n_ctx=config.n_ctx,
                n_batch=256,
                n_threads=config.threads,
                n_threads_batch=config.threads,
                logits_all=False,
                verbose=False,
            )
    except (ValueError, RuntimeError, OSError) as exc:
        what = f"adapter {config.adapter}" if config.adapter else f"model {model_path}"
        said = [line.strip() for line in native if line.strip()]
        raise UserError(f"could not load {what}: {exc}" + (f" ({said[-1]})" if said else "")) from None
