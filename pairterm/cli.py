"""`pairterm` entry point: a bare command opens the editor, subcommands do the rest.

Each subcommand lives in its own module exposing `main(argv) -> int`, imported only when used so
that `pairterm` starts fast and runs without the training extra.
"""

from __future__ import annotations

import importlib
import sys

from pairterm.errors import EXIT_USER_ERROR, UserError

SUBCOMMANDS = {
    "suggest": "pairterm.suggest_cmd",
    "doctor": "pairterm.doctor",
    "repl": "pairterm.repl",
    "stats": "pairterm.stats",
    "model": "pairterm.model_cmd",
    "train": "training.cli",
    "export": "ggml_export.cli",
    "eval": "pairterm.evaluation.cli",
}
# Subcommands of a subcommand that live on the training side (`pairterm eval compare` trains).
NESTED = {("eval", "compare"): "training.compare"}
EDITOR = "pairterm.editor.main"

USAGE = """usage: pairterm [FILE] [--model GGUF] [--adapter GGUF] [--eta BITS] [--max-tokens N] [--no-log]
       pairterm {suggest,doctor,repl,stats,model,train,export,eval} ... (each takes --help)"""


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if tuple(argv[:2]) in NESTED:
        module_name, rest = NESTED[(argv[0], argv[1])], argv[2:]
    elif argv and argv[0] in SUBCOMMANDS:
        module_name, rest = SUBCOMMANDS[argv[0]], argv[1:]
    else:
        module_name, rest = EDITOR, argv
    try:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            raise UserError(
                f"`pairterm {argv[0] if argv else ''}` needs a package that is not installed "
                f"({exc.name}); install with `pip install 'pairterm[train]'` or `make run`"
            ) from None
        return int(module.main(rest) or 0)
    except UserError as exc:
        print(f"pairterm: error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("pairterm: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
