"""Pure cores: Hugging Face parameter names -> GGUF tensor names, and llama.cpp's q/k row order.

Both are tiny, dependency-free (numpy only) and tested on fixed inputs, because every other part
of the exporter trusts them: a wrong name is a tensor llama.cpp silently ignores or refuses, and a
wrong permutation is a model that loads and talks nonsense.
"""

from __future__ import annotations

import re

import numpy as np

SUPPORTED_ARCHS = ("llama", "qwen2")
"""GGUF architecture names this exporter writes (SmolLM2/Llama and Qwen2/Qwen2.5-Coder)."""

HF_ARCH_TO_GGUF = {
    "LlamaForCausalLM": "llama",
    "Qwen2ForCausalLM": "qwen2",
}

# Per-layer HF module suffix -> GGUF tensor stem (the part after "blk.N.").
_LAYER_MODULES = {
    "self_attn.q_proj": "attn_q",
    "self_attn.k_proj": "attn_k",
    "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output",
    "mlp.gate_proj": "ffn_gate",
    "mlp.up_proj": "ffn_up",
    "mlp.down_proj": "ffn_down",
    "input_layernorm": "attn_norm",
    "post_attention_layernorm": "ffn_norm",
}
_GLOBAL_MODULES = {
    "model.embed_tokens": "token_embd",
    "model.norm": "output_norm",
    "lm_head": "output",
}
_LAYER_RE = re.compile(r"^model\.layers\.(\d+)\.(.+)$")
# peft wraps the model twice ("base_model.model.") and may save with or without that prefix.
_PEFT_PREFIX = "base_model.model."


def unsupported_arch_message(found: str) -> str:
    return (
        f"architecture {found!r} is not supported for export; supported: "
        f"{', '.join(SUPPORTED_ARCHS)} (HF: {', '.join(HF_ARCH_TO_GGUF)})"
    )


def gguf_module_name(hf_module: str) -> str | None:
    """`model.layers.3.self_attn.q_proj` -> `blk.3.attn_q`; None for modules GGUF has no tensor for."""
    if hf_module.startswith(_PEFT_PREFIX):
        hf_module = hf_module[len(_PEFT_PREFIX):]
    if hf_module in _GLOBAL_MODULES:
        return _GLOBAL_MODULES[hf_module]
    m = _LAYER_RE.match(hf_module)
    if m and m.group(2) in _LAYER_MODULES:
        return f"blk.{m.group(1)}.{_LAYER_MODULES[m.group(2)]}"
    return None


def gguf_tensor_name(hf_param: str) -> str | None:
    """`model.layers.0.self_attn.q_proj.weight` -> `blk.0.attn_q.weight` (also `.bias`).

    None for parameters llama.cpp does not store (rotary inv_freq buffers and the like).
    """
    module, _, kind = hf_param.rpartition(".")
    if kind not in ("weight", "bias"):
        return None
    stem = gguf_module_name(module)
    return None if stem is None else f"{stem}.{kind}"


def qk_heads(gguf_name: str, n_head: int, n_head_kv: int) -> int | None:
    """How many heads to permute a tensor by for llama's rope, or None if it is not q/k.

    Keyed on the GGUF stem so it applies alike to weights, biases and LoRA B matrices.
    """
    if ".attn_q." in gguf_name:
        return n_head
    if ".attn_k." in gguf_name:
        return n_head_kv
    return None


def permute_qk(rows: np.ndarray, n_heads: int) -> np.ndarray:
    """Reorder the output rows of a q or k projection from HF's rope layout to llama.cpp's.

    Within each head HF keeps the rotary pairs as (first half | second half) and rotates with
    rotate_half; llama.cpp's normal rope rotates adjacent pairs (2i, 2i+1). So each head's rows
    [a0..a(h/2-1), b0..b(h/2-1)] become [a0, b0, a1, b1, ...]. Works on a weight (out, in), a
    bias (out,) and a LoRA B (out, r) alike, since only axis 0 moves.
    """
    out = rows.shape[0]
    if out % (2 * n_heads):
        raise ValueError(f"{out} rows do not split into {n_heads} heads of even size")
    half = out // n_heads // 2
    rest = rows.shape[1:]
    return rows.reshape(n_heads, 2, half, *rest).swapaxes(1, 2).reshape(rows.shape)


def unpermute_qk(rows: np.ndarray, n_heads: int) -> np.ndarray:
    """Inverse of permute_qk (llama.cpp's layout back to HF's)."""
    out = rows.shape[0]
    half = out // n_heads // 2
    rest = rows.shape[1:]
    return rows.reshape(n_heads, half, 2, *rest).swapaxes(1, 2).reshape(rows.shape)
