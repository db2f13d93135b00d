"""A small file to try pairterm on.

Put the cursor at the end of a line and type: ghost text appears only where the model finds the
next text predictable. Tab accepts it, Ctrl+Right accepts one word, Esc dismisses it.
Ctrl+S saves, Ctrl+Q quits.
"""

import json
from pathlib import Path


def load_config(path: Path) -> dict:
    with path.open(encoding="utf-8") as fh:
        return json.load(fh)


def save_config(path: Path, config: dict) -> None:
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        json.dump(config, fh, indent=2)
    tmp.replace(path)


class Counter:
    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def add(self, word: str) -> None:
        self.counts[word] = self.counts.get(word, 0) + 1

    def most_common(self, n: int) -> list[tuple[str, int]]:
        """The n most frequent words, most frequent first."""
