"""Reading user files honestly: UTF-8 or refuse, never a silent re-encoding; binaries refused."""

from __future__ import annotations

from pathlib import Path

from pairterm.errors import UserError

BINARY_SNIFF = 8192


def looks_binary(data: bytes) -> bool:
    return b"\x00" in data[:BINARY_SNIFF]


def read_text(path: Path) -> str:
    """The file's text with its newlines untouched; UserError for binary or non-UTF-8 files."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"file not found: {path}") from None
    except IsADirectoryError:
        raise UserError(f"{path} is a directory, not a file") from None
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror}") from None
    if looks_binary(data):
        raise UserError(f"{path} looks like a binary file; pairterm edits text only")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UserError(
            f"{path} is not valid UTF-8 (byte {exc.start}); pairterm will not re-encode it"
        ) from None


def offset_of(text: str, line: int, column: int) -> int:
    """Character offset of a 1-based line and column; column may be one past the line's end."""
    lines = text.split("\n")
    if not 1 <= line <= len(lines):
        raise UserError(f"--line {line} is outside the file (it has {len(lines)} lines)")
    width = len(lines[line - 1].rstrip("\r"))
    if not 1 <= column <= width + 1:
        raise UserError(f"--column {column} is outside line {line} (columns 1..{width + 1})")
    return sum(len(x) + 1 for x in lines[: line - 1]) + column - 1
