"""`pairterm repl`: a Python REPL whose ghost text comes from the suggestion engine."""

from __future__ import annotations

import sys
from dataclasses import replace
from typing import Any

from prompt_toolkit.history import FileHistory, History, InMemoryHistory

from pairterm import paths
from pairterm.argparsing import ArgumentParser
from pairterm.config import EngineConfig, add_engine_args, config_from_args
from pairterm.errors import UserError
from pairterm.interaction_log import InteractionLog
from pairterm.repl._session import Repl, describe

__all__ = ["Repl", "main", "load_engine"]

HELP_LINE = "Right/Ctrl+E takes the suggestion, Ctrl+Right/Alt+F one word, Ctrl+D leaves."


def load_engine(config: EngineConfig) -> tuple[Any | None, str | None]:
    """The engine, or None and why not: the REPL is still useful without suggestions."""
    try:
        from pairterm.engine import Engine

        return Engine(config), None
    except UserError as exc:
        return None, str(exc)
    except ImportError as exc:
        return None, f"llama-cpp-python is not installed ({exc.name}); run `make run`"


def _history() -> History:
    try:
        paths.state_dir().mkdir(parents=True, exist_ok=True)
        return FileHistory(str(paths.state_dir() / "repl_history"))
    except OSError:
        return InMemoryHistory()


def main(argv: list[str]) -> int:
    parser = ArgumentParser(prog="pairterm repl", description=__doc__)
    add_engine_args(parser)
    parser.add_argument("--no-log", action="store_true", help="do not write the interaction log")
    # The REPL shows the rest of one line and has no continuation of a suggestion the decode
    # time budget cut short, so it decodes to the end (typing still cancels the request).
    config = replace(config_from_args(parser.parse_args(argv)), max_decode_ms=10**9)
    engine, why = load_engine(config)
    print(f"pairterm repl, Python {sys.version.split()[0]}. {HELP_LINE}")
    if engine is None:
        print(f"pairterm repl: suggestions are off: {why}", file=sys.stderr)
        log = InteractionLog(None, "repl")
    else:
        print(f"Suggestions from {describe(engine)}.")
        log = InteractionLog(
            paths.log_file() if config.log else None,
            "repl",
            model=engine.model_name,
            adapter=engine.adapter_name,
        )
    try:
        repl = Repl(engine, log, history=_history(), debounce_s=config.debounce_ms / 1000.0)
        return repl.run()
    finally:
        if engine is not None:
            engine.close()
