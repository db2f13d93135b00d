"""Ctrl+O: a fuzzy finder over the project's files, and a palette command to switch buffers.

Both are command-palette providers (Textual's `CommandPalette`), so they match, rank and
highlight like the palette's own commands. The project is the one `project_root` finds for the
active file (its VCS root, else its folder), or the folder pairterm runs in.
"""

from __future__ import annotations

import asyncio
import os
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from textual.command import DiscoveryHit, Hit, Hits, Provider

from pairterm.project_context import SKIP_DIRS, project_root

if TYPE_CHECKING:
    from pairterm.editor.buffers import Buffer

MAX_FILES = 20_000  # a finder over more than this is a finder over the wrong folder
DISCOVER = 50  # files listed before anything is typed


class Host(Protocol):
    """What the providers need of the editor."""

    def project_folder(self) -> Path: ...

    def open_file(self, path: Path) -> None: ...

    def open_buffers(self) -> list[Buffer]: ...

    def switch_to(self, buffer: Buffer) -> None: ...


def project_files(root: Path, limit: int = MAX_FILES) -> list[Path]:
    """Files under `root` relative to it, tool and VCS folders skipped, sorted."""
    found: list[Path] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.endswith(".egg-info"))
        base = Path(folder).relative_to(root)
        found.extend(base / f for f in sorted(files))
        if len(found) >= limit:
            break
    return found[:limit]


class FileFinder(Provider):
    async def startup(self) -> None:
        host: Host = self.app  # type: ignore[assignment]
        self.root = host.project_folder()
        self.files = await asyncio.to_thread(project_files, self.root)

    def _open(self, relative: Path) -> None:
        host: Host = self.app  # type: ignore[assignment]
        host.open_file(self.root / relative)

    async def discover(self) -> Hits:
        for relative in self.files[:DISCOVER]:
            yield DiscoveryHit(relative.as_posix(), partial(self._open, relative))

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for relative in self.files:
            name = relative.as_posix()
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), partial(self._open, relative), name)


class BufferSwitcher(Provider):
    def _hits(self) -> list[tuple[str, Buffer]]:
        host: Host = self.app  # type: ignore[assignment]
        return [(f"Switch buffer: {b.name}{' ●' if b.dirty else ''}", b)
                for b in host.open_buffers()]

    async def discover(self) -> Hits:
        host: Host = self.app  # type: ignore[assignment]
        for text, buffer in self._hits():
            yield DiscoveryHit(text, partial(host.switch_to, buffer))

    async def search(self, query: str) -> Hits:
        host: Host = self.app  # type: ignore[assignment]
        matcher = self.matcher(query)
        for text, buffer in self._hits():
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), partial(host.switch_to, buffer), text)


def folder_of(path: Path | None) -> Path:
    return project_root(path) if path is not None else project_root(Path.cwd() / "untitled")
