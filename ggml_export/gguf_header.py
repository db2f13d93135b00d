"""A fast read of a GGUF file's header: scalar metadata, array lengths and tensor shapes.

gguf's GGUFReader builds a numpy view for every element of every array (≈100k for a BPE vocab
and its merges), which costs more than a whole adapter export; an adapter only needs the base's
architecture and tensor shapes, so this walks the header with struct and skips array contents.
"""

from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass, field
from pathlib import Path

_SCALARS = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q",
            12: "d"}
_STRING, _ARRAY = 8, 9


@dataclass
class GgufHeader:
    version: int
    values: dict[str, object] = field(default_factory=dict)  # scalars and strings
    array_lengths: dict[str, int] = field(default_factory=dict)
    tensors: dict[str, tuple[tuple[int, ...], int]] = field(default_factory=dict)
    # tensor name -> (numpy-order shape, ggml type id)


class HeaderError(ValueError):
    pass


def read_header(path: Path) -> GgufHeader:
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as buf:
        return _parse(buf)


def _parse(buf) -> GgufHeader:
    pos = 0

    def take(fmt: str) -> tuple:
        nonlocal pos
        vals = struct.unpack_from("<" + fmt, buf, pos)
        pos += struct.calcsize("<" + fmt)
        return vals

    def string() -> str:
        nonlocal pos
        (n,) = take("Q")
        if pos + n > len(buf):
            raise HeaderError("string runs past the end of the file")
        s = bytes(buf[pos:pos + n]).decode("utf-8", "replace")
        pos += n
        return s

    def skip(vtype: int, count: int) -> None:
        nonlocal pos
        if vtype in _SCALARS:
            pos += struct.calcsize("<" + _SCALARS[vtype]) * count
        elif vtype == _STRING:
            for _ in range(count):
                (n,) = struct.unpack_from("<Q", buf, pos)
                pos += 8 + n
        elif vtype == _ARRAY:
            for _ in range(count):
                sub, n = take("IQ")
                skip(sub, n)
        else:
            raise HeaderError(f"unknown GGUF value type {vtype}")

    try:
        if bytes(buf[:4]) != b"GGUF":
            raise HeaderError("not a GGUF file (bad magic)")
        pos = 4
        version, n_tensors, n_kv = take("IQQ")
        header = GgufHeader(version)
        for _ in range(n_kv):
            key = string()
            (vtype,) = take("I")
            if vtype in _SCALARS:
                header.values[key] = take(_SCALARS[vtype])[0]
            elif vtype == _STRING:
                header.values[key] = string()
            elif vtype == _ARRAY:
                sub, n = take("IQ")
                header.array_lengths[key] = n
                skip(sub, n)
            else:
                raise HeaderError(f"unknown GGUF value type {vtype} for {key}")
        for _ in range(n_tensors):
            name = string()
            (n_dims,) = take("I")
            dims = take("Q" * n_dims)
            ttype, _offset = take("IQ")
            header.tensors[name] = (tuple(int(d) for d in reversed(dims)), int(ttype))
    except struct.error as exc:
        raise HeaderError(f"truncated header ({exc})") from None
    return header
