"""Reading user files honestly: never a silent re-encoding; binaries refused.

The editor takes UTF-8 first, like vim's `fileencodings`. A file that is not UTF-8 is still
text in the 8-bit encodings Western editors meet most: Latin-1 when it has no byte in
0x80-0x9F (Latin-1 and CP-1252 decode such a file identically, and Latin-1 is the stricter one
to save back), else CP-1252 when every byte is one CP-1252 defines. A byte CP-1252 leaves
undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D) would be a C1 control character in Latin-1, which real
text does not hold: such a file, like a file with NUL bytes, is refused. Saving encodes back
in the file's own encoding, and refuses a character that encoding cannot hold.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pairterm.errors import UserError

BINARY_SNIFF = 8192
UTF8 = "utf-8"


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str  # a Python codec name: "utf-8", "latin-1" or "cp1252"


def looks_binary(data: bytes) -> bool:
    return b"\x00" in data[:BINARY_SNIFF]


def _read_bytes(path: Path) -> bytes:
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
    return data


def read_text(path: Path) -> str:
    """The file's text with its newlines untouched; UserError for binary or non-UTF-8 files."""
    data = _read_bytes(path)
    try:
        return data.decode(UTF8)
    except UnicodeDecodeError as exc:
        raise UserError(
            f"{path} is not valid UTF-8 (byte {exc.start}); pairterm will not re-encode it"
        ) from None


def decode(data: bytes, path: Path) -> Decoded:
    """UTF-8, else Latin-1 or CP-1252 (see the module docstring), else UserError."""
    try:
        return Decoded(data.decode(UTF8), UTF8)
    except UnicodeDecodeError as exc:
        first_bad = exc.start
    if not any(0x80 <= b <= 0x9F for b in data):
        return Decoded(data.decode("latin-1"), "latin-1")
    try:
        return Decoded(data.decode("cp1252"), "cp1252")
    except UnicodeDecodeError as exc:
        raise UserError(
            f"{path} is neither UTF-8 (byte {first_bad}) nor CP-1252/Latin-1 text "
            f"(byte {exc.start} is 0x{data[exc.start]:02X}); pairterm will not re-encode it"
        ) from None


def read_document(path: Path) -> Decoded:
    """The file's text and the encoding it is saved back in, for the editor; UserError when it
    is not text or the editor could not save it back unchanged (`check_round_trip`)."""
    decoded = decode(_read_bytes(path), path)
    check_round_trip(path, decoded.text)
    return decoded


def encode_for_save(text: str, encoding: str) -> tuple[bytes, str]:
    """`text` as saved, and the encoding it was saved in: the file's own, except that a Latin-1
    file widens to CP-1252 when it needs a character only CP-1252 has (€, curly quotes,
    dashes). A file opened as Latin-1 has no byte in 0x80-0x9F, where alone the two differ, so
    every byte it had is written back unchanged. UserError naming the first character the
    file's encoding cannot hold, and where."""
    try:
        return text.encode(encoding), encoding
    except UnicodeEncodeError as exc:
        if encoding == "latin-1":
            try:
                return text.encode("cp1252"), "cp1252"
            except UnicodeEncodeError:
                pass
        line = text.count("\n", 0, exc.start) + 1
        column = exc.start - (text.rfind("\n", 0, exc.start) + 1) + 1
        char = text[exc.start]
        raise UserError(
            f"{char!r} (U+{ord(char):04X}, line {line}, column {column}) cannot be written "
            f"in {encoding}; the file keeps its encoding, so remove or replace it"
        ) from None


def check_round_trip(path: Path, text: str) -> None:
    """Refuse a file the editor would change just by opening and saving it: its document model
    splits lines on form feeds, U+2028 and the like, and makes mixed newlines uniform."""
    from textual.document._document import Document

    if Document(text).text != text:
        raise UserError(
            f"{path} has mixed newlines or line separators other than \\n and \\r\\n "
            "(form feed, U+2028, ...); pairterm would rewrite them, so it will not open it"
        )


def offset_of(text: str, line: int, column: int) -> int:
    """Character offset of a 1-based line and column; column may be one past the line's end."""
    lines = text.split("\n")
    if not 1 <= line <= len(lines):
        raise UserError(f"--line {line} is outside the file (it has {len(lines)} lines)")
    width = len(lines[line - 1].rstrip("\r"))
    if not 1 <= column <= width + 1:
        raise UserError(f"--column {column} is outside line {line} (columns 1..{width + 1})")
    return sum(len(x) + 1 for x in lines[: line - 1]) + column - 1
