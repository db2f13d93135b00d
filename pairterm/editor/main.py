"""`pairterm [FILE]`: open the editor."""

from __future__ import annotations

from pathlib import Path

from pairterm import paths
from pairterm.argparsing import ArgumentParser
from pairterm.config import add_engine_args, config_from_args
from pairterm.errors import UserError
from pairterm.interaction_log import InteractionLog
from pairterm.textfile import read_text


def main(argv: list[str]) -> int:
    parser = ArgumentParser(
        prog="pairterm",
        description="Terminal editor whose local model completes only what is predictable.",
        epilog="Subcommands: suggest, doctor, repl, stats, train, export, eval (each has --help).",
    )
    parser.add_argument("file", nargs="?", type=Path, help="file to edit (created on save)")
    parser.add_argument("--no-log", action="store_true", help="do not write the interaction log")
    add_engine_args(parser)
    args = parser.parse_args(argv)
    config = config_from_args(args)
    path: Path | None = args.file
    text = ""
    if path is not None:
        if path.exists():
            text = read_text(path)
        elif not path.parent.exists():
            raise UserError(f"cannot create {path}: directory {path.parent} does not exist")
    from pairterm.editor.app import PairtermApp
    from pairterm.editor.recovery import RecoveryStore

    log = InteractionLog(paths.log_file() if config.log else None, source="editor")
    app = PairtermApp(path, text, config, log=log, recovery=RecoveryStore(paths.recovery_dir()))
    app.run()
    return 0
