"""Run directories: built under RUN.partial/, renamed to RUN only when complete.

A directory named RUN therefore always holds a finished run; RUN.partial holds one in progress
(or interrupted), which `--resume` continues. Every file inside is written to a temporary name and
renamed, so a crash never leaves a truncated file that looks whole.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
from collections.abc import Iterable
from pathlib import Path

from pairterm import atomic
from pairterm.errors import UserError

FORMAT = 1


def partial_dir(run: Path) -> Path:
    return run.with_name(run.name + ".partial")


def disk_error(exc: OSError, what: str) -> UserError:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return UserError(
            f"disk full while {what}; free space and resume with `pairterm train --resume`"
        )
    return UserError(f"cannot write {what}: {exc.strerror or exc}")


def write_bytes(path: Path, data: bytes, what: str | None = None) -> None:
    try:
        atomic.write_bytes(path, data)
    except OSError as exc:
        raise disk_error(exc, what or f"writing {path.name}") from None


def write_json(path: Path, obj: object) -> None:
    write_bytes(path, (json.dumps(obj, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))


def write_jsonl(path: Path, rows: Iterable[dict]) -> None:
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    write_bytes(path, text.encode("utf-8"))


def read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise UserError(f"cannot read {path}: {exc}") from None


def read_jsonl(path: Path) -> list[dict]:
    try:
        with open(path, encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]
    except (OSError, json.JSONDecodeError) as exc:
        raise UserError(f"cannot read {path}: {exc}") from None


def start(run: Path, force: bool) -> Path:
    """Create a fresh RUN.partial; RUN itself must not exist unless --force."""
    work = partial_dir(run)
    if run.exists() and not force:
        raise UserError(f"{run} already exists; choose another --out or pass --force to replace it")
    if work.exists():
        if not force:
            raise UserError(
                f"an interrupted run is at {work}; continue it with `pairterm train --resume {run}` "
                "or pass --force to start over"
            )
        shutil.rmtree(work)
    try:
        work.mkdir(parents=True)
        (work / "checkpoints").mkdir()
    except OSError as exc:
        raise disk_error(exc, f"creating {work}") from None
    return work


def find_resumable(run: Path) -> Path:
    work = partial_dir(run)
    if (work / "run.json").is_file():
        return work
    if (run / "report.json").is_file():
        raise UserError(f"{run} is already complete; nothing to resume")
    raise UserError(f"no interrupted run to resume at {run} (looked for {work}/run.json)")


def finish(work: Path, run: Path) -> None:
    """Atomically publish the run: drop RUN (if --force replaced it) and rename."""
    try:
        if run.exists():
            shutil.rmtree(run)
        os.replace(work, run)
    except OSError as exc:
        raise disk_error(exc, f"moving {work} to {run}") from None
