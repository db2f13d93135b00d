"""Read a training run directory: run.json, the peft adapter, and the LoRA pairs in GGUF names.

Contract (written by training/): RUN/run.json {"format": 1, "base": {"path", "kind", "sha256"},
"lora": {...}} and RUN/adapter/ (peft save_pretrained: adapter_config.json +
adapter_model.safetensors). Everything that can be wrong with a run is a UserError here, before
any output file is opened.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ggml_export.names import gguf_module_name
from pairterm.errors import UserError
from pairterm.model_file import file_sha256 as sha256_file

RUN_FORMAT = 1


@dataclass(frozen=True)
class LoraPair:
    """One adapted module. a: (r, in), b: (out, r), both float32 in HF orientation.

    For an embedding, peft stores A as (r, vocab) and B as (hidden, r); `embedding` marks it.
    """

    hf_module: str
    a: np.ndarray
    b: np.ndarray
    scale: float
    embedding: bool = False

    @property
    def rank(self) -> int:
        return int(self.a.shape[0])

    def delta(self) -> np.ndarray:
        """scale * B @ A in the base weight's (out, in) orientation (vocab, hidden) for embeddings."""
        d = (self.b @ self.a) * np.float32(self.scale)
        return np.ascontiguousarray(d.T) if self.embedding else d


@dataclass
class Run:
    path: Path
    base_path: Path
    base_kind: str  # "gguf" | "hf"
    base_sha256: str | None
    alpha: float
    loras: dict[str, LoraPair] = field(default_factory=dict)  # GGUF stem -> pair
    adapter_dir: Path | None = None
    base_arch: str | None = None  # GGUF arch name recorded by training, when it did

    @property
    def base_gguf_file(self) -> Path | None:
        return self.base_path if self.base_kind == "gguf" else None


def _read_json(path: Path, what: str) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{what} not found: {path}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"{what} is unreadable ({path}: {exc}); re-run training or fix the file") from None
    if not isinstance(data, dict):
        raise UserError(f"{what} is not a JSON object: {path}")
    return data


def _pattern_value(module: str, patterns: dict, default: float) -> float:
    # peft matches rank/alpha patterns as a regex against the end of the module's dotted name.
    for key, value in (patterns or {}).items():
        if re.match(rf"(.*\.)?({key})$", module):
            return float(value)
    return default


def load_run(run_dir: str | Path, base_override: str | Path | None = None) -> Run:
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise UserError(f"training run not found: {run_dir} (make one with `pairterm train`)")
    meta = _read_json(run_dir / "run.json", "run.json")
    if meta.get("format") != RUN_FORMAT:
        raise UserError(
            f"{run_dir / 'run.json'} has format {meta.get('format')!r}; this exporter reads "
            f"format {RUN_FORMAT}"
        )
    base = meta.get("base")
    if not isinstance(base, dict) or "path" not in base:
        raise UserError(f"{run_dir / 'run.json'} has no base.path; re-run training")
    base_path = Path(base_override or base["path"]).expanduser()
    if not base_path.is_absolute() and not base_path.exists():
        base_path = run_dir / base_path
    kind = base.get("kind") or ("gguf" if base_path.suffix == ".gguf" else "hf")
    if base_override is not None:
        kind = "gguf" if base_path.is_file() else "hf"
    if kind not in ("gguf", "hf"):
        raise UserError(f"run.json base.kind is {kind!r}; expected 'gguf' or 'hf'")
    if kind == "gguf" and not base_path.is_file():
        raise UserError(f"base model GGUF not found: {base_path} (pass --base PATH if it moved)")
    if kind == "hf" and not (base_path / "config.json").is_file():
        raise UserError(f"base model directory not found or has no config.json: {base_path}")
    sha = base.get("sha256")
    if sha and kind == "gguf":
        actual = sha256_file(base_path)
        if actual != sha:
            raise UserError(
                f"base model {base_path} does not match the one this run was trained on "
                f"(sha256 {actual[:12]}… != {str(sha)[:12]}…); pass --base with the right file"
            )

    arch = base.get("arch")  # optional: lets a mismatched base of another family be caught
    adapter_dir = run_dir / "adapter"
    cfg = _read_json(adapter_dir / "adapter_config.json", "adapter config")
    if str(cfg.get("peft_type", "LORA")).upper() != "LORA":
        raise UserError(f"adapter is {cfg.get('peft_type')}, only LoRA adapters can be exported")
    for flag, what in (("use_dora", "DoRA"), ("lora_bias", "LoRA bias")):
        if cfg.get(flag):
            raise UserError(f"{what} adapters cannot be exported to llama.cpp; train without it")
    if cfg.get("modules_to_save"):
        raise UserError(
            f"adapter also saves full modules {cfg['modules_to_save']}; only LoRA weights export"
        )
    alpha = float(cfg.get("lora_alpha", 8))
    r_default = float(cfg.get("r", 8))
    run = Run(run_dir, base_path, kind, sha, alpha, adapter_dir=adapter_dir,
              base_arch=str(arch) if arch else None)
    run.loras = _load_pairs(adapter_dir, cfg, alpha, r_default)
    return run


def _load_pairs(adapter_dir: Path, cfg: dict, alpha: float, r_default: float) -> dict[str, LoraPair]:
    from safetensors.numpy import load_file

    weights_file = adapter_dir / "adapter_model.safetensors"
    if not weights_file.is_file():
        raise UserError(f"adapter weights not found: {weights_file}")
    try:
        tensors = load_file(str(weights_file))
    except Exception as exc:  # safetensors raises its own error types for truncated files
        raise UserError(f"adapter weights are unreadable ({weights_file}: {exc})") from None
    modules: dict[str, dict[str, np.ndarray]] = {}
    for key, value in tensors.items():
        if key.endswith(".base_layer.weight"):
            # peft saves a copy of an adapted embedding/lm_head when it cannot rule out a
            # resized vocabulary; a resized one shows up as a shape mismatch with the base.
            continue
        m = re.match(r"^(.*)\.(lora_A|lora_B|lora_embedding_A|lora_embedding_B)(\.[^.]+)?\.weight$|"
                     r"^(.*)\.(lora_embedding_A|lora_embedding_B)(\.[^.]+)?$", key)
        if not m:
            raise UserError(f"adapter tensor {key!r} is not a LoRA A/B matrix; cannot export it")
        module = m.group(1) or m.group(4)
        part = m.group(2) or m.group(5)
        modules.setdefault(module, {})[part] = value.astype(np.float32)

    pairs: dict[str, LoraPair] = {}
    use_rslora = bool(cfg.get("use_rslora"))
    for module, parts in sorted(modules.items()):
        stem = gguf_module_name(module)
        if stem is None:
            raise UserError(f"adapter targets {module!r}, which has no GGUF tensor to attach to")
        embedding = "lora_embedding_A" in parts
        a = parts.get("lora_embedding_A" if embedding else "lora_A")
        b = parts.get("lora_embedding_B" if embedding else "lora_B")
        if a is None or b is None:
            raise UserError(f"adapter module {module!r} lacks its A or B matrix")
        r = a.shape[0]
        if b.shape[1] != r:
            raise UserError(f"adapter module {module!r}: A is {a.shape} but B is {b.shape}")
        short = module.removeprefix("base_model.model.")
        r_cfg = _pattern_value(short, cfg.get("rank_pattern") or {}, r_default)
        if int(r_cfg) != r:
            raise UserError(f"adapter module {module!r} has rank {r}, its config says {int(r_cfg)}")
        a_t = _pattern_value(short, cfg.get("alpha_pattern") or {}, alpha)
        scale = a_t / (math.sqrt(r) if use_rslora else r)
        pairs[stem] = LoraPair(short, a, b, scale, embedding)
    if not pairs:
        raise UserError(f"adapter in {adapter_dir} has no LoRA weights")
    return pairs
