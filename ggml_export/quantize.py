"""k-quants and friends through llama.cpp's own quantizer (llama_model_quantize).

Python writes f32/f16/q8_0 itself; the k-quant mixes need llama.cpp's rules (which tensors get
more bits, what to do with rows not divisible by 256), so we call the library and then read the
result back to report every tensor that did not get the requested kind of type.
"""

from __future__ import annotations

import ctypes
import re
from pathlib import Path

import gguf

from pairterm.errors import UserError

QUANTS = {
    name: f"LLAMA_FTYPE_MOSTLY_{name.upper()}"
    for name in ("q4_0", "q4_1", "q5_0", "q5_1", "q8_0", "q2_k", "q3_k_s", "q3_k_m", "q3_k_l",
                 "q4_k_s", "q4_k_m", "q5_k_s", "q5_k_m", "q6_k")
}
_K_TYPES = {"Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "Q8_K"}


def nominal_type(quant: str) -> str:
    """q4_k_m -> Q4_K, q5_0 -> Q5_0: the tensor type the name promises for most weights."""
    m = re.match(r"^(q\d_k)(_[sml])?$", quant)
    return (m.group(1) if m else quant).upper()


def fallbacks(quant: str, tensor_types: dict[str, str]) -> dict[str, str]:
    """2-D weights that did not get the kind of type asked for (pure; input: name -> type)."""
    want = nominal_type(quant)
    out = {}
    for name, ttype in tensor_types.items():
        if ttype == "F32":
            continue  # norms and other 1-D tensors are always kept in F32
        ok = ttype in _K_TYPES if want in _K_TYPES else ttype in (want, "Q6_K", "Q8_0")
        if not ok:
            out[name] = ttype
    return out


def quantize(src: Path, dst: Path, quant: str, threads: int = 0) -> dict:
    if quant not in QUANTS:
        raise UserError(f"unknown --quant {quant!r}; choose one of: {', '.join(QUANTS)}")
    import llama_cpp
    import llama_cpp._logger as llama_logger

    messages: list[str] = []

    @llama_cpp.llama_log_callback
    def capture(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
        messages.append(text.decode("utf-8", "replace"))

    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = getattr(llama_cpp, QUANTS[quant])
    params.nthread = threads
    llama_cpp.llama_log_set(capture, ctypes.c_void_p(0))
    try:
        rc = llama_cpp.llama_model_quantize(str(src).encode(), str(dst).encode(),
                                            ctypes.byref(params))
    finally:
        llama_cpp.llama_log_set(llama_logger.llama_log_callback, ctypes.c_void_p(0))
    if rc != 0:
        tail = "".join(messages).strip().splitlines()[-1:] or ["no message"]
        raise UserError(f"llama.cpp could not quantize to {quant}: {tail[0]}")
    reader = gguf.GGUFReader(str(dst))
    types = {t.name: t.tensor_type.name for t in reader.tensors}
    histogram: dict[str, int] = {}
    for t in types.values():
        histogram[t] = histogram.get(t, 0) + 1
    reasons = [m.strip() for m in "".join(messages).splitlines() if "fallback" in m.lower()]
    return {
        "quant": quant,
        "tensor_types": histogram,
        "fallbacks": fallbacks(quant, types),
        "fallback_messages": reasons,
    }
