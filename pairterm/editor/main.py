"""`pairterm [FILE]`: open the editor."""

from __future__ import annotations

from pathlib import Path

from pairterm import paths
from pairterm.argparsing import ArgumentParser
from pairterm.config import add_engine_args, config_from_args
from pairterm.errors import UserError
from pairterm.interaction_log import InteractionLog
from pairterm.textfile import read_text


def check_round_trip(path: Path, text: str) -> None:
    """Refuse a file the editor would change just by opening and saving it: its document model
    splits lines on form feeds, U+2028 and the like, and makes mixed newlines uniform."""
    from textual.document._document import Document

    if Document(text).text != text:
        raise UserError(
            f"{path} has mixed newlines or line separators other than \\n and \\r\\n "
            "(form feed, U+2028, ...); pairterm would rewrite them, so it will not open it"
        )


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
            check_round_trip(path, text)
        elif not path.parent.exists():
            raise UserError(f"cannot create {path}: directory {path.parent} does not exist")
    from pairterm.editor.app import PairtermApp
    from pairterm.editor.recovery import RecoveryStore

    log = InteractionLog(paths.log_file() if config.log else None, source="editor")
    app = PairtermApp(path, text, config, log=log, recovery=RecoveryStore(paths.recovery_dir()))
    app.run()
    return 0
