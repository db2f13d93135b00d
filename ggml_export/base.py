"""The base model an adapter was trained on, seen in GGUF terms: names, shapes, weights, metadata.

Two sources: a GGUF file (read with gguf's reader, tensors dequantized to float32, metadata copied
byte for byte) and a Hugging Face model directory (weights through transformers, metadata built
from config.json and tokenizer.json). Weights come out in GGUF orientation and row order
(q/k already permuted for llama), so merging a LoRA delta is one addition.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import gguf
import numpy as np

from ggml_export.names import (
    HF_ARCH_TO_GGUF,
    SUPPORTED_ARCHS,
    gguf_tensor_name,
    permute_qk,
    qk_heads,
    unsupported_arch_message,
)
from pairterm.errors import UserError

# Keys the writer sets itself or that describe the file rather than the model.
_NOT_COPIED = ("GGUF.", "general.architecture", "general.file_type", "general.type")


@dataclass
class Hparams:
    arch: str
    n_layer: int
    n_head: int
    n_head_kv: int
    n_vocab: int

    @property
    def permutes_qk(self) -> bool:
        # llama.cpp runs qwen2 with NEOX-style rope, which matches HF's layout as is.
        return self.arch == "llama"

    def to_gguf_rows(self, name: str, rows: np.ndarray) -> np.ndarray:
        """HF row order -> GGUF row order for the tensor `name` (weight, bias or LoRA B)."""
        if not self.permutes_qk:
            return rows
        heads = qk_heads(name, self.n_head, self.n_head_kv)
        return rows if heads is None else permute_qk(rows, heads)


@dataclass
class BaseModel:
    path: Path
    hp: Hparams
    shapes: dict[str, tuple[int, ...]]  # GGUF name -> numpy shape (out, in)
    kind: str
    _reader: gguf.GGUFReader | None = None
    _hf_dir: Path | None = None
    meta: list[tuple[str, object, gguf.GGUFValueType, gguf.GGUFValueType | None]] = field(
        default_factory=list
    )

    @property
    def tied(self) -> bool:
        return "output.weight" not in self.shapes

    def tensors(self) -> Iterator[tuple[str, np.ndarray]]:
        """(GGUF name, float32 array in GGUF orientation/row order), in the base's order."""
        if self._reader is not None:
            for t in self._reader.tensors:
                arr = gguf.quants.dequantize(t.data, t.tensor_type)
                yield t.name, np.asarray(arr, dtype=np.float32).reshape(self.shapes[t.name])
        else:
            yield from _hf_tensors(self)

    def check_arch(self) -> None:
        if self.hp.arch not in SUPPORTED_ARCHS:
            raise UserError(unsupported_arch_message(self.hp.arch))


def open_base(path: Path, kind: str) -> BaseModel:
    base = open_gguf_base(path) if kind == "gguf" else open_hf_base(path)
    base.check_arch()
    return base


def open_gguf_base(path: Path) -> BaseModel:
    try:
        reader = gguf.GGUFReader(str(path))
    except Exception as exc:  # a truncated or foreign file fails in several ways inside gguf
        raise UserError(f"base model {path} is not a readable GGUF file ({exc})") from None
    arch = _field(reader, "general.architecture")
    if arch not in SUPPORTED_ARCHS:
        raise UserError(unsupported_arch_message(str(arch)))
    tokens = reader.fields.get("tokenizer.ggml.tokens")
    hp = Hparams(
        arch=arch,
        n_layer=int(_field(reader, f"{arch}.block_count")),
        n_head=int(_field(reader, f"{arch}.attention.head_count")),
        n_head_kv=int(_field(reader, f"{arch}.attention.head_count_kv", None)
                      or _field(reader, f"{arch}.attention.head_count")),
        n_vocab=len(tokens.data) if tokens is not None else 0,
    )
    shapes = {t.name: tuple(int(x) for x in reversed(t.shape)) for t in reader.tensors}
    base = BaseModel(path, hp, shapes, "gguf", _reader=reader)
    for key, f in reader.fields.items():
        if key.startswith(_NOT_COPIED):
            continue
        vtype = f.types[0]
        if vtype == gguf.GGUFValueType.ARRAY:
            sub = f.types[-1]
            if sub == gguf.GGUFValueType.STRING:
                value: object = [bytes(f.parts[i]) for i in f.data]  # bytes: copied exactly
            else:
                value = [f.parts[i].tolist()[0] for i in f.data]
            base.meta.append((key, value, vtype, sub))
        elif vtype == gguf.GGUFValueType.STRING:
            base.meta.append((key, bytes(f.parts[f.data[0]]), vtype, None))
        else:
            base.meta.append((key, f.parts[f.data[0]].tolist()[0], vtype, None))
    return base


def _field(reader: gguf.GGUFReader, key: str, default: object = ...) -> object:
    f = reader.fields.get(key)
    if f is None:
        if default is ...:
            raise UserError(f"base GGUF lacks {key!r}; it is not a complete model file")
        return default
    return f.contents()


def open_hf_base(path: Path) -> BaseModel:
    import json

    from ggml_export.hf_meta import hf_metadata

    try:
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot read {path / 'config.json'}: {exc}") from None
    archs = config.get("architectures") or [config.get("model_type", "?")]
    arch = HF_ARCH_TO_GGUF.get(archs[0])
    if arch is None:
        raise UserError(unsupported_arch_message(archs[0]))
    n_head = int(config["num_attention_heads"])
    hp = Hparams(
        arch=arch,
        n_layer=int(config["num_hidden_layers"]),
        n_head=n_head,
        n_head_kv=int(config.get("num_key_value_heads") or n_head),
        n_vocab=int(config["vocab_size"]),
    )
    model = _load_hf_model(path)
    shapes: dict[str, tuple[int, ...]] = {}
    tie = bool(config.get("tie_word_embeddings", False))
    for name, p in model.state_dict().items():
        g = gguf_tensor_name(name)
        if g is None or (tie and g == "output.weight"):
            continue
        shapes[g] = tuple(p.shape)
    base = BaseModel(path, hp, shapes, "hf", _hf_dir=path)
    base._hf_model = model  # type: ignore[attr-defined]
    base.meta = hf_metadata(path, config, hp)
    return base


def _load_hf_model(path: Path):  # -> transformers PreTrainedModel
    import torch
    from transformers import AutoModelForCausalLM
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    try:
        return AutoModelForCausalLM.from_pretrained(str(path), dtype=torch.float32)
    except Exception as exc:  # transformers raises OSError/ValueError/KeyError for bad dirs
        raise UserError(f"base model {path} will not load in transformers ({exc})") from None


def _hf_tensors(base: BaseModel) -> Iterator[tuple[str, np.ndarray]]:
    model = base._hf_model  # type: ignore[attr-defined]
    for name, p in model.state_dict().items():
        g = gguf_tensor_name(name)
        if g is None or g not in base.shapes:
            continue
        arr = p.detach().to("cpu").float().numpy()
        yield g, base.hp.to_gguf_rows(g, arr)
