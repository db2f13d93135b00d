"""Other files of the project that the model sees before the prompt.

Which files: those the current file imports (their names are what the person is most likely to
type next), then other open buffers, then the project's most recently modified files. What of
each: for Python, its outline (`pairterm.python_outline`: signatures with the first docstring
line, module-level names), the names the current file imports from it first, which packs far more
usable names into the token budget than the first lines would; for other languages, the
file's first lines. The list is rebuilt when a file
is opened or saved, never per keystroke, so that its tokens stay at the start of the prompt and
cost prefill once.
"""

from __future__ import annotations

import ast
import os
import re
from collections import Counter
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path

from pairterm.python_outline import head, outline_parts

MAX_FILES = 8
MAX_FILE_BYTES = 400_000  # bigger files are data, not code worth a look
RECENT_SCAN_LIMIT = 2_000  # files looked at when finding the recently edited ones
SKIP_DIRS = {".git", ".hg", ".svn", "node_modules", "__pycache__", ".venv", "venv", "build",
             "dist", ".tox", ".mypy_cache", ".ruff_cache", ".pytest_cache"}
CODE_SUFFIXES = {".py", ".pyi", ".js", ".mjs", ".ts", ".rs", ".go", ".java", ".c", ".h",
                 ".cpp", ".hpp", ".rb", ".sh", ".toml", ".md"}
IMPORT_CHARS = 1200  # of the edited file's own imports shown above a window that starts lower
IMPORT_SCAN_LINES = 400  # imports are at the top; a file's later lines are not searched
IMPORT_SCAN_CHARS = 40_000
IMPORT_LINE = re.compile(r"(from\s+\.*[\w.]*\s+import\b|import\s+[\w.]+)")  # at a line's start
IMPORT_STATEMENT_LINES = 200
IDENTIFIER = re.compile(r"[A-Za-z_]\w*")


@dataclass(frozen=True)
class ContextFile:
    """One chunk of another project file: a path relative to the project root, and its text.
    The first `lead` characters of it (whole lines) are what the edited file uses of it, the
    definitions of the names it imports or mentions: the token budget goes to every file's lead
    before it goes to the rest of any file."""

    path: str
    text: str
    lead: int = 0


def project_root(path: Path) -> Path:
    """The nearest folder above `path` holding a VCS or packaging marker, else its folder."""
    folder = path.resolve().parent
    for candidate in (folder, *folder.parents):
        if candidate.name in ("site-packages", "dist-packages"):  # installed code: each
            return candidate  # package imports the others by their absolute names from here
        if any((candidate / marker).exists()
               for marker in (".git", ".hg", "pyproject.toml", "setup.py", "package.json")):
            return candidate
    return folder


def imports_above(before: str, start: int, limit: int = IMPORT_CHARS) -> str:
    """The import statements of a Python file's text before offset `start`, where the window the
    model sees begins: they name what the code below uses, and they change rarely, so they cost
    prefill about once. Each statement on one line without its comments (a bracketed or
    backslash-continued one joined), whole statements only, at most `limit` characters, in file
    order.
    Empty when the window starts at the top."""
    if start <= 0:
        return ""
    out: list[str] = []
    size = depth = 0
    statement: list[str] = []
    # (called per keystroke: a long file is not split whole)
    for line in before[: min(start, IMPORT_SCAN_CHARS)].splitlines()[:IMPORT_SCAN_LINES]:
        if not statement and not IMPORT_LINE.match(line):
            continue
        code = line.split("#", 1)[0].rstrip()
        statement.append(code.rstrip("\\").strip())
        depth = max(0, depth + code.count("(") - code.count(")"))
        if depth or code.endswith("\\"):
            if len(statement) > IMPORT_STATEMENT_LINES:  # not an import after all: give it up
                statement, depth = [], 0
            continue
        text = " ".join(statement)
        statement = []
        if "(" in text:  # on one line a `from` import needs no parentheses
            text = text.replace("(", " ").replace(")", " ")
        text = " ".join(text.split()).rstrip(",")
        if size + len(text) + 1 > limit:
            break
        out.append(text + "\n")
        size += len(text) + 1
    return "".join(out)


def summary(
    path: Path, text: str, wanted: Collection[str] = (), used: Collection[str] = ()
) -> tuple[str, str]:
    """What the model sees of a file: (what the edited file takes from it, the rest)."""
    if path.suffix in (".py", ".pyi"):
        return outline_parts(text, wanted, used)
    return "", head(text)


def imported_files(path: Path, text: str, root: Path) -> dict[Path, set[str]]:
    """Project files that a Python file imports, in the order of its import statements, each
    with the names imported from it (`from m import a, b`: {a, b}; `import m`: none): absolute
    imports resolved from the project root (or its `src/`), relative ones from the file's own
    package. `from pkg import mod` finds `pkg/mod.py` as well as `pkg/__init__.py`."""
    if path.suffix not in (".py", ".pyi"):
        return {}
    tree = _parse_leading(text)
    if tree is None:
        return {}
    here = path.resolve()
    found: dict[Path, set[str]] = {}
    for node in ast.walk(tree):
        # (folder, dotted parts, the name this file takes from that module, if any)
        names: list[tuple[Path, list[str], str | None]] = []
        if isinstance(node, ast.Import):
            names = [(base, alias.name.split("."), None) for alias in node.names
                     for base in (root, root / "src")]
        elif isinstance(node, ast.ImportFrom):
            module = node.module.split(".") if node.module else []
            if node.level:
                package = path.parent
                for _ in range(node.level - 1):
                    package = package.parent
                bases = [package]
            else:
                bases = [root, root / "src"]
            for base in bases:
                names += [(base, [*module, alias.name], None) for alias in node.names]
                if module:
                    names += [(base, module, alias.name) for alias in node.names]
        for base, parts, name in names:
            file = _module_file(base, parts)
            if file is None or file == here:
                continue
            taken = found.setdefault(file, set())
            if name is not None:
                taken.add(name)
    return found


def _parse_leading(text: str, tries: int = 4) -> ast.Module | None:
    """The module, or while it is being written (a half-typed line at the cursor) its lines
    before the first syntax error, where the imports are."""
    for _ in range(tries):
        try:
            return ast.parse(text)
        except SyntaxError as error:
            if not error.lineno or error.lineno <= 1:
                return None
            text = "".join(text.splitlines(keepends=True)[: error.lineno - 1])
        except ValueError:
            return None
    return None


def _module_file(base: Path, parts: list[str]) -> Path | None:
    """`base/a/b.py` or `base/a/b/__init__.py` for the dotted name a.b, if it exists."""
    target = base.joinpath(*parts)
    for candidate in (target.with_suffix(".py"), target / "__init__.py"):
        if candidate.is_file():
            return candidate.resolve()
    return None


def recent_files(root: Path, exclude: Path, limit: int = MAX_FILES) -> list[Path]:
    """The project's most recently modified code files, newest first."""
    seen: list[tuple[float, Path]] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS and not d.startswith(".")]
        for name in filenames:
            file = Path(dirpath, name)
            if file.suffix not in CODE_SUFFIXES:
                continue
            try:
                seen.append((file.stat().st_mtime, file))
            except OSError:
                continue
            if len(seen) >= RECENT_SCAN_LIMIT:
                break
        if len(seen) >= RECENT_SCAN_LIMIT:
            break
    seen.sort(key=lambda item: item[0], reverse=True)
    exclude = exclude.resolve()
    newest: list[Path] = []
    for _, file in seen:  # resolved only as far as needed: most are never shown
        resolved = file.resolve()
        if resolved != exclude:
            newest.append(resolved)
            if len(newest) == limit:
                break
    return newest


def gather(
    path: Path | None,
    text: str,
    open_buffers: Iterable[tuple[Path, str]] = (),
    root: Path | None = None,
) -> list[ContextFile]:
    """The project files to show the model for `path` (whose current text is `text`), most
    useful first; the engine takes as many as fit its token budget."""
    if path is None:
        return []
    root = root or project_root(path)
    here, top = path.resolve(), root.resolve()
    buffers = {p.resolve(): t for p, t in open_buffers}
    order: list[Path] = []
    # The file's own package first: its names are the project's, others are libraries'.
    package = here.relative_to(top).parts[0] if here.is_relative_to(top) else None
    wanted = imported_files(path, text, root)
    used = usage(text)

    def uses(file: Path) -> int:
        """How often the file names what it takes from `file`, or the module itself."""
        return sum(used[name] for name in wanted[file]) + used[
            file.parent.name if file.stem == "__init__" else file.stem]

    # Stable sorts: the package first, within it the modules the file uses most, ties in
    # import order. Imports are often sorted by name, which says nothing of their worth.
    imported = sorted(wanted, key=uses, reverse=True)
    imported.sort(key=lambda f: package is None or not f.is_relative_to(top / package))
    for candidate in (*imported, *buffers, *recent_files(root, path)):
        if candidate not in order and candidate != here:
            order.append(candidate)
    out: list[ContextFile] = []
    for file in order[:MAX_FILES]:
        body = buffers.get(file)
        if body is None:
            try:
                if file.stat().st_size > MAX_FILE_BYTES:
                    continue
                body = file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
        try:
            name = file.relative_to(top).as_posix()
        except ValueError:
            name = file.name
        # only what the file imports is chosen by use; any other file is shown in file order
        lead, rest = summary(file, body, wanted[file], used) if file in wanted else summary(
            file, body)
        out.append(ContextFile(name, lead + rest, len(lead)))
    return out


def usage(text: str) -> Counter[str]:
    """How often a Python file names each identifier outside its import statements; a name
    imported `as` another counts the other's uses too."""
    tree = _parse_leading(text)
    lines = text.splitlines()
    aliases: list[tuple[str, str]] = []
    if tree is not None:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                for i in range(node.lineno - 1, node.end_lineno or node.lineno):
                    lines[i] = ""
                aliases += [(a.name, a.asname) for a in node.names if a.asname]
    counts = Counter(IDENTIFIER.findall("\n".join(lines)))
    for name, alias in aliases:
        counts[name] += counts[alias]
    return counts


def relative_name(path: Path | None, root: Path | None = None) -> str | None:
    """The path the model is told for the file being edited."""
    if path is None:
        return None
    root = root or project_root(path)
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.name
