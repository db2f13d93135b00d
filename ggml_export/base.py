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
    _hf_dir: Path | None = None
    _meta: list | None = None
    _reader_obj: gguf.GGUFReader | None = field(default=None, repr=False)

    @property
    def _reader(self) -> gguf.GGUFReader | None:
        """gguf's full reader, opened only when tensors or the whole metadata are needed."""
        if self.kind == "gguf" and self._reader_obj is None:
            self._reader_obj = gguf.GGUFReader(str(self.path))
        return self._reader_obj

    @property
    def meta(self) -> list[tuple[str, object, gguf.GGUFValueType, gguf.GGUFValueType | None]]:
        if self._meta is None:
            self._meta = _reader_meta(self._reader) if self._reader is not None else []
        return self._meta

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
    from pairterm.model_file import HeaderError, read_header

    try:
        header = read_header(path)
    except (OSError, ValueError, HeaderError) as exc:
        raise UserError(f"base model {path} is not a readable GGUF file ({exc})") from None
    values = header.values
    arch = str(values.get("general.architecture"))
    if arch not in SUPPORTED_ARCHS:
        raise UserError(unsupported_arch_message(arch))

    def need(key: str) -> int:
        if key not in values:
            raise UserError(f"base GGUF lacks {key!r}; it is not a complete model file")
        return int(values[key])  # type: ignore[call-overload]

    n_head = need(f"{arch}.attention.head_count")
    hp = Hparams(
        arch=arch,
        n_layer=need(f"{arch}.block_count"),
        n_head=n_head,
        n_head_kv=int(values.get(f"{arch}.attention.head_count_kv", n_head)),  # type: ignore[call-overload]
        n_vocab=header.array_lengths.get("tokenizer.ggml.tokens", 0),
    )
    shapes = {name: shape for name, (shape, _t) in header.tensors.items()}
    return BaseModel(path, hp, shapes, "gguf")


def _reader_meta(reader: gguf.GGUFReader) -> list:
    """Every metadata field of a GGUF except the ones the writer sets, strings as raw bytes."""
    meta: list = []
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
            meta.append((key, value, vtype, sub))
        elif vtype == gguf.GGUFValueType.STRING:
            meta.append((key, bytes(f.parts[f.data[0]]), vtype, None))
        else:
            meta.append((key, f.parts[f.data[0]].tolist()[0], vtype, None))
    return meta


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
    base._meta = hf_metadata(path, config, hp)
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
