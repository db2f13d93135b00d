"""Unsaved edits survive a crash: a copy of the buffer in the state dir, keyed by file path."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

from pairterm.editor.savefile import atomic_write


@dataclass(frozen=True)
class Recovered:
    text: str
    saved_at: float


class RecoveryStore:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _file(self, path: Path) -> Path:
        key = hashlib.sha256(str(path.absolute()).encode("utf-8")).hexdigest()[:24]
        return self.directory / f"{key}.json"

    def write(self, path: Path, text: str) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        record = {"path": str(path.absolute()), "saved_at": time.time(), "text": text}
        atomic_write(self._file(path), json.dumps(record, ensure_ascii=False).encode("utf-8"))

    def load(self, path: Path) -> Recovered | None:
        try:
            record = json.loads(self._file(path).read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
            return None
        if record.get("path") != str(path.absolute()) or not isinstance(record.get("text"), str):
            return None
        return Recovered(record["text"], float(record.get("saved_at", 0.0)))

    def clear(self, path: Path) -> None:
        self._file(path).unlink(missing_ok=True)
