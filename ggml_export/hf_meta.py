"""GGUF metadata for a Hugging Face model directory: <arch>.* hyperparameters and tokenizer.ggml.*.

Only byte-level BPE tokenizers (tokenizer.json, the SmolLM/Llama-3/Qwen2 family) are converted;
llama.cpp picks its pre-tokenizer regex from `tokenizer.ggml.pre`, so the HF pre-tokenizer is
matched against the few we know llama.cpp reproduces, and anything else is refused rather than
exported into a model whose token ids silently differ.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import gguf

from pairterm.errors import UserError

V = gguf.GGUFValueType
Meta = list[tuple[str, object, gguf.GGUFValueType, gguf.GGUFValueType | None]]

_GPT2_RE = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)"
QWEN2_RE = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
            r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
LLAMA3_RE = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
             r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")

# HF pre-tokenizer steps -> llama.cpp's name for the same split.
PRE_TOKENIZERS: dict[tuple, str] = {
    (("bytelevel", True),): "gpt2",
    (("digits", True), ("bytelevel", True)): "smollm",
    (("split", QWEN2_RE), ("bytelevel", False)): "qwen2",
    (("split", LLAMA3_RE), ("bytelevel", False)): "llama-bpe",
}

TOKEN_NORMAL, TOKEN_CONTROL, TOKEN_USER_DEFINED, TOKEN_UNUSED = 1, 3, 4, 5


def pre_tokenizer_steps(spec: dict[str, Any] | None) -> tuple:
    """Flatten a tokenizer.json pre_tokenizer into comparable steps (pure)."""
    if not spec:
        return ()
    kind = spec.get("type")
    if kind == "Sequence":
        return tuple(s for sub in spec.get("pretokenizers", []) for s in pre_tokenizer_steps(sub))
    if kind == "ByteLevel":
        return (("bytelevel", bool(spec.get("use_regex", True))),)
    if kind == "Digits":
        return (("digits", bool(spec.get("individual_digits", False))),)
    if kind == "Split":
        pattern = spec.get("pattern", {})
        return (("split", pattern.get("Regex", pattern.get("String"))),)
    return ((str(kind), json.dumps(spec, sort_keys=True)),)


def llama_cpp_pre_name(spec: dict[str, Any] | None) -> str:
    steps = pre_tokenizer_steps(spec)
    name = PRE_TOKENIZERS.get(steps)
    if name is None:
        raise UserError(
            "the base model's tokenizer splits text in a way this exporter cannot name for "
            f"llama.cpp ({[s[0] for s in steps]}); supported pre-tokenizers: "
            f"{', '.join(sorted(PRE_TOKENIZERS.values()))}. Export from a GGUF base instead"
        )
    return name


def _rope_theta(config: dict) -> float:
    params = config.get("rope_parameters") or config.get("rope_scaling") or {}
    kind = params.get("rope_type", params.get("type", "default"))
    if kind not in (None, "default"):
        raise UserError(f"rope scaling {kind!r} is not supported for export (only plain rope)")
    return float(params.get("rope_theta", config.get("rope_theta", 10000.0)))


def hf_metadata(path: Path, config: dict, hp: Any) -> Meta:
    arch = hp.arch
    hidden = int(config["hidden_size"])
    head_dim = int(config.get("head_dim") or hidden // hp.n_head)
    meta: Meta = [
        ("general.name", str(config.get("_name_or_path") or path.name), V.STRING, None),
        (f"{arch}.context_length", int(config.get("max_position_embeddings", 2048)), V.UINT32, None),
        (f"{arch}.embedding_length", hidden, V.UINT32, None),
        (f"{arch}.block_count", hp.n_layer, V.UINT32, None),
        (f"{arch}.feed_forward_length", int(config["intermediate_size"]), V.UINT32, None),
        (f"{arch}.attention.head_count", hp.n_head, V.UINT32, None),
        (f"{arch}.attention.head_count_kv", hp.n_head_kv, V.UINT32, None),
        (f"{arch}.rope.freq_base", _rope_theta(config), V.FLOAT32, None),
        (f"{arch}.attention.layer_norm_rms_epsilon", float(config.get("rms_norm_eps", 1e-6)),
         V.FLOAT32, None),
        (f"{arch}.vocab_size", hp.n_vocab, V.UINT32, None),
        (f"{arch}.rope.dimension_count", head_dim, V.UINT32, None),
    ]
    if head_dim * hp.n_head != hidden:
        meta += [(f"{arch}.attention.key_length", head_dim, V.UINT32, None),
                 (f"{arch}.attention.value_length", head_dim, V.UINT32, None)]
    return meta + tokenizer_metadata(path, config, hp.n_vocab)


def tokenizer_metadata(path: Path, config: dict, n_vocab: int) -> Meta:
    from tokenizers import Tokenizer

    tok_file = path / "tokenizer.json"
    if not tok_file.is_file():
        raise UserError(f"{path} has no tokenizer.json; only byte-level BPE tokenizers export")
    raw = json.loads(tok_file.read_text(encoding="utf-8"))
    model = raw.get("model", {})
    if model.get("type") != "BPE" or not _is_byte_level(raw):
        raise UserError(f"{tok_file}: only byte-level BPE tokenizers are supported for export")
    tok = Tokenizer.from_file(str(tok_file))
    vocab = tok.get_vocab(with_added_tokens=True)
    size = max(n_vocab, max(vocab.values()) + 1)
    tokens: list[str] = [f"[PAD{i}]" for i in range(size)]
    types = [TOKEN_UNUSED] * size
    for text, i in vocab.items():
        tokens[i], types[i] = text, TOKEN_NORMAL
    for i, added in tok.get_added_tokens_decoder().items():
        types[i] = TOKEN_CONTROL if added.special else TOKEN_USER_DEFINED
    merges = [m if isinstance(m, str) else " ".join(m) for m in model.get("merges", [])]

    tcfg_file = path / "tokenizer_config.json"
    tcfg = json.loads(tcfg_file.read_text(encoding="utf-8")) if tcfg_file.is_file() else {}
    meta: Meta = [
        ("tokenizer.ggml.model", "gpt2", V.STRING, None),
        ("tokenizer.ggml.pre", llama_cpp_pre_name(raw.get("pre_tokenizer")), V.STRING, None),
        ("tokenizer.ggml.tokens", tokens, V.ARRAY, V.STRING),
        ("tokenizer.ggml.token_type", types, V.ARRAY, V.INT32),
        ("tokenizer.ggml.merges", merges, V.ARRAY, V.STRING),
    ]
    ids = {}
    for role in ("bos", "eos", "unk", "pad"):
        ids[role] = _special_id(tok, tcfg.get(f"{role}_token"), config.get(f"{role}_token_id"))
    if ids["pad"] is None:
        ids["pad"] = ids["eos"]
    for role, key in (("bos", "bos_token_id"), ("eos", "eos_token_id"),
                      ("unk", "unknown_token_id"), ("pad", "padding_token_id")):
        if ids[role] is not None:
            meta.append((f"tokenizer.ggml.{key}", int(ids[role]), V.UINT32, None))
    with_special = tok.encode("a", add_special_tokens=True).ids
    add_bos = bool(ids["bos"] is not None and with_special and with_special[0] == ids["bos"]
                   and len(with_special) > len(tok.encode("a", add_special_tokens=False).ids))
    meta.append(("tokenizer.ggml.add_bos_token", add_bos, V.BOOL, None))
    if isinstance(tcfg.get("chat_template"), str):
        meta.append(("tokenizer.chat_template", tcfg["chat_template"], V.STRING, None))
    return meta


def _is_byte_level(raw: dict) -> bool:
    return any(s[0] == "bytelevel" for s in pre_tokenizer_steps(raw.get("pre_tokenizer")))


def _special_id(tok: Any, token: object, fallback: object) -> int | None:
    if isinstance(token, dict):
        token = token.get("content")
    if isinstance(token, str):
        i = tok.token_to_id(token)
        if i is not None:
            return int(i)
    return int(fallback) if isinstance(fallback, int) else None
