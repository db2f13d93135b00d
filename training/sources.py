"""What this person wrote: file versions from their git commits, or files of a plain directory.

Every text passes the filters in `training.filters` (secret lines removed) before it is returned,
so nothing downstream, holdout included, ever sees a skipped file or a flagged line.
"""

from __future__ import annotations

import hashlib
import os
import random
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from pairterm.errors import UserError
from training import filters


@dataclass(frozen=True)
class Document:
    path: str  # relative, POSIX separators
    text: str
    time: float  # commit (author) time or file mtime, seconds since the epoch
    commit: str | None = None
    blob: str | None = None


@dataclass
class Collected:
    documents: list[Document]
    skipped: Counter[str] = field(default_factory=Counter)
    info: dict = field(default_factory=dict)


@dataclass(frozen=True)
class SourceOptions:
    authors: tuple[str, ...] = ()
    include: tuple[str, ...] = filters.DEFAULT_INCLUDE
    exclude: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    max_bytes: int = filters.DEFAULT_MAX_BYTES
    rev: str = "HEAD"


def parse_date(text: str, flag: str) -> datetime:
    """YYYY-MM-DD or an ISO timestamp; naive values are taken as UTC."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise UserError(
            f"{flag} must be a date like 2025-01-31 or an ISO time, got {text!r}"
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def collect(source: Path, options: SourceOptions) -> Collected:
    if not source.exists():
        raise UserError(f"source {source} does not exist; give a git repository or a directory")
    if not source.is_dir():
        raise UserError(f"source {source} is neither a git repository nor a directory")
    import git

    try:
        repo = git.Repo(source, search_parent_directories=False)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        repo = None
    if repo is not None:
        with repo:
            collected = _collect_git(repo, options)
    else:
        if options.authors:
            print(
                f"pairterm train: {source} is not a git repository: --author is ignored, every file counts",
                file=sys.stderr,
            )
        collected = _collect_directory(source, options)
    if not collected.documents:
        reasons = ", ".join(f"{k}: {v}" for k, v in sorted(collected.skipped.items())) or "none"
        raise UserError(
            f"nothing left to train on in {source} after filtering (skipped by reason: {reasons}); "
            "check --include/--exclude, --author and --since/--until"
        )
    return collected


def pin_revision(source: Path, rev: str) -> str | None:
    """`rev` with every commit it names replaced by that commit's hash (None for a directory).

    A run walks the pinned form, so a resume after new commits walks the history the run
    started with. Ranges keep their shape: `A..B` becomes `<sha of A>..<sha of B>`.
    """
    import git

    try:
        repo = git.Repo(source, search_parent_directories=False)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return None
    with repo:
        if not repo.head.is_valid():
            raise UserError(f"{repo.working_dir} is a git repository without commits")
        parts = re.split(r"(\.\.\.?)", rev)
        try:
            return "".join(
                p if p in ("..", "...") else repo.commit(p or "HEAD").hexsha for p in parts
            )
        except Exception as exc:  # noqa: BLE001 - git reports a bad revision as a generic error
            raise UserError(
                f"cannot read history at {rev!r}: {(str(exc).splitlines() or ['unknown'])[0]}"
            ) from None


class _Filter:
    """Applies the filters in order and counts each skip once, by its first reason."""

    def __init__(self, options: SourceOptions) -> None:
        self.options = options
        self.skipped: Counter[str] = Counter()
        self.scrubber = filters.SecretScrubber()

    def keep(self, path: str, size: int, read: Callable[[], bytes]) -> str | None:
        reason = filters.path_skip_reason(path)
        if reason is None and size > self.options.max_bytes:
            reason = "too_large"
        text = None
        if reason is None:
            try:
                data = read()
            except OSError as exc:
                print(
                    f"pairterm train: skipping unreadable {path}: {exc.strerror}", file=sys.stderr
                )
                reason = "unreadable"
            else:
                text, reason = filters.decode_text(data)
        if reason is None:
            reason = filters.glob_skip_reason(path, self.options.include, self.options.exclude)
        if reason is None:
            reason = filters.content_skip_reason(text)
        if reason is None:
            text, removed = self.scrubber.scrub(path, text)
            if removed:
                self.skipped["secret_lines"] += removed
            if not text.strip():
                reason = "secret"
        if reason is not None:
            self.skipped[reason] += 1
            return None
        return text


def _author_matches(commit, wanted: set[str]) -> bool:
    return (commit.author.email or "").casefold() in wanted or (
        commit.author.name or ""
    ).casefold() in wanted


def _default_author(repo) -> str:
    try:
        with repo.config_reader() as reader:
            email = reader.get_value("user", "email", default="")
    except Exception:  # noqa: BLE001 - unreadable git config is the same as none
        email = ""
    if not email:
        raise UserError("no --author given and git config has no user.email; pass --author EMAIL")
    return str(email)


def _changed_blobs(commit) -> Iterator[tuple[str, object]]:
    """(path, blob) for each file this commit added or modified (versus its first parent)."""
    if not commit.parents:
        for item in commit.tree.traverse():
            if item.type == "blob":
                yield item.path, item
        return
    for diff in commit.parents[0].diff(commit):
        if diff.deleted_file or diff.b_blob is None:
            continue
        yield diff.b_path, diff.b_blob


def _collect_git(repo, options: SourceOptions) -> Collected:
    if not repo.head.is_valid():
        raise UserError(f"{repo.working_dir} is a git repository without commits")
    authors = options.authors or (_default_author(repo),)
    wanted = {a.casefold() for a in authors}
    try:
        history = list(repo.iter_commits(options.rev))
    except Exception as exc:  # noqa: BLE001 - git reports a bad revision as a generic error
        raise UserError(
            f"cannot read history at {options.rev!r}: {str(exc).splitlines()[0]}"
        ) from None
    by_author = Counter(c.author.email for c in history)
    merges = sum(1 for c in history if len(c.parents) > 1 and _author_matches(c, wanted))
    mine = [c for c in history if len(c.parents) <= 1 and _author_matches(c, wanted)]
    if not mine:
        known = ", ".join(f"{a} ({n})" for a, n in by_author.most_common(5))
        raise UserError(
            f"no commits by {', '.join(authors)} in {repo.working_dir}; authors there: {known}"
        )
    if options.since:
        mine = [c for c in mine if c.authored_datetime >= options.since]
    if options.until:
        mine = [c for c in mine if c.authored_datetime <= options.until]
    if not mine:
        raise UserError(f"no commits by {', '.join(authors)} between --since and --until")
    mine.sort(key=lambda c: (c.authored_date, c.committed_date))

    keep = _Filter(options)
    seen: set[str] = set()
    docs: list[Document] = []
    with keep.scrubber:
        for commit in mine:
            for path, blob in _changed_blobs(commit):
                if blob.mode in (0o160000, 0o120000):  # submodules and symlinks hold no text
                    continue
                if blob.hexsha in seen:
                    keep.skipped["duplicate"] += 1
                    continue
                seen.add(blob.hexsha)
                text = keep.keep(path, blob.size, lambda b=blob: b.data_stream.read())
                if text is not None:
                    docs.append(
                        Document(
                            path, text, float(commit.authored_date), commit.hexsha, blob.hexsha
                        )
                    )
    info = {
        "kind": "git",
        "authors": list(authors),
        "commits": len(mine),
        "merges_ignored": merges,
        "rev": options.rev,
    }
    return Collected(docs, keep.skipped, info)


def _collect_directory(root: Path, options: SourceOptions) -> Collected:
    keep = _Filter(options)
    docs: list[Document] = []
    seen: set[str] = set()
    with keep.scrubber:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if d != ".git")
            for name in sorted(filenames):
                full = Path(dirpath) / name
                rel = full.relative_to(root).as_posix()
                try:
                    st = full.stat()
                except OSError:
                    keep.skipped["unreadable"] += 1
                    continue
                if not full.is_file():
                    continue
                if (options.since and st.st_mtime < options.since.timestamp()) or (
                    options.until and st.st_mtime > options.until.timestamp()
                ):
                    keep.skipped["outside_dates"] += 1
                    continue
                text = keep.keep(rel, st.st_size, full.read_bytes)
                if text is None:
                    continue
                digest = hashlib.sha1(text.encode("utf-8")).hexdigest()
                if digest in seen:  # a copy of a file already taken
                    keep.skipped["duplicate"] += 1
                    continue
                seen.add(digest)
                docs.append(Document(rel, text, st.st_mtime))
    return Collected(docs, keep.skipped, {"kind": "directory"})


def split_holdout(
    docs: Sequence[Document], fraction: float, seed: int
) -> tuple[list[Document], list[Document], dict]:
    """Newest work is held out: whole newest commits for git, newest files for a directory.

    Returns (train, holdout, description). With a single commit there is no time to split on,
    so a seeded random share of its files is held out instead.
    """
    if fraction <= 0 or len(docs) < 2:
        return list(docs), [], {"strategy": "none", "fraction": fraction}
    want = min(len(docs) - 1, max(1, round(fraction * len(docs))))
    commits = sorted({(d.time, d.commit) for d in docs if d.commit}, reverse=True)
    if len(commits) >= 2:
        held: set[str] = set()
        count = 0
        for _, sha in commits[:-1]:  # the oldest commit always stays in training
            if count >= want:
                break
            held.add(sha)
            count += sum(1 for d in docs if d.commit == sha)
        holdout = [d for d in docs if d.commit in held]
        train = [d for d in docs if d.commit not in held]
        strategy = "newest_commits"
    else:
        rng = random.Random(seed)
        ranks = {id(d): rng.random() for d in docs}
        ordered = sorted(docs, key=lambda d: (d.time, ranks[id(d)]))
        holdout, train = ordered[-want:], ordered[:-want]
        strategy = "newest_files"
    cutoff = min(d.time for d in holdout)
    return (
        train,
        holdout,
        {
            "strategy": strategy,
            "fraction": fraction,
            "cutoff": datetime.fromtimestamp(cutoff, UTC).isoformat(),
        },
    )
