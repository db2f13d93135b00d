"""`pairterm [FILE...]`: open the editor."""

from __future__ import annotations

from pathlib import Path

from pairterm import paths
from pairterm.argparsing import ArgumentParser
from pairterm.config import add_engine_args, config_from_args
from pairterm.errors import UserError
from pairterm.interaction_log import InteractionLog
from pairterm.textfile import UTF8, Decoded, read_document


def _open(path: Path) -> Decoded:
    if path.exists():
        decoded = read_document(path)
        return decoded
    if not path.parent.exists():
        raise UserError(f"cannot create {path}: directory {path.parent} does not exist")
    return Decoded("", UTF8)


def main(argv: list[str]) -> int:
    parser = ArgumentParser(
        prog="pairterm",
        description="Terminal editor whose local model completes only what is predictable.",
        epilog="Subcommands: suggest, doctor, repl, stats, train, export, eval (each has --help).",
    )
    parser.add_argument("files", nargs="*", type=Path, metavar="FILE",
                        help="files to edit, each in its own buffer (created on save)")
    parser.add_argument("--no-log", action="store_true", help="do not write the interaction log")
    add_engine_args(parser)
    args = parser.parse_args(argv)
    config = config_from_args(args)
    files: list[Path] = list(dict.fromkeys(args.files))  # a file named twice opens once
    opened = [(path, _open(path)) for path in files]  # every refusal before the screen opens
    from pairterm.editor.app import PairtermApp
    from pairterm.editor.recovery import RecoveryStore

    log = InteractionLog(paths.log_file() if config.log else None, source="editor")
    first_path, first = opened[0] if opened else (None, Decoded("", UTF8))
    app = PairtermApp(first_path, first.text, config, log=log,
                      recovery=RecoveryStore(paths.recovery_dir()), encoding=first.encoding,
                      more=[(p, d.text, d.encoding) for p, d in opened[1:]])
    app.run()
    return 0
