"""Where benchmarks/typing.py has the person type: regions of whole lines of a Python file.

Two ways to choose them. `pick_regions`: anywhere (function bodies and runs of statements), as a
person edits a file. `cross_file_regions`: statements that use a name the rest of the file cannot
tell the model, one defined in another file of the project and absent from the part of the file
the engine's prompt holds (as CrossCodeEval chooses its completion points): there, and only there,
other files can help. Pure functions of the texts: the same seed gives the same regions.
"""

from __future__ import annotations

import ast
import builtins
import keyword
import random
import re
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path

from typing_sim import Region, unaided_keystrokes

RUN_LINES = (6, 15)
NAME = re.compile(r"[A-Za-z_]\w*")
# Names no other file is needed for: builtins, keywords, and the methods of builtin types
# (a project that defines its own `append` still gets list.append from the language).
COMMON = frozenset(dir(builtins)).union(
    keyword.kwlist, {"self", "cls"},
    *(dir(t) for t in (str, bytes, int, float, list, dict, set, tuple, object)),
)
MAX_PROJECT_FILES = 2_000


def region_at(text: str, first: int, last: int, name: str = "") -> Region:
    """Lines `first`..`last` (0-based, inclusive) to retype. The cursor starts after the first
    line's indentation, and the region ends before the last line's newline, so that `after`
    starts at a line end, as where a person adds lines."""
    lines = text.split("\n")
    start = sum(len(line) + 1 for line in lines[:first])
    start += len(lines[first]) - len(lines[first].lstrip(" \t"))
    end = sum(len(line) + 1 for line in lines[: last + 1]) - 1
    return Region(text[:start], text[start:end], text[end:], name)


def disjoint(span: tuple[int, int], chosen: list[tuple[int, int]]) -> bool:
    """Whether lines span[0]..span[1] overlap none of the regions already chosen."""
    first, last = span
    return all(last < a or first > b for a, b in chosen)


def pick_regions(
    text: str, count: int, chars: int, rng: random.Random,
    within: Sequence[Sequence[int]] | None = None,
) -> list[tuple[int, int]]:  # fmt: skip
    """`count` regions of whole lines, (first, last) 0-based and inclusive, that do not overlap,
    each at most chars // count keystrokes: half the time a function body after its docstring
    when one is short enough, else RUN_LINES lines from a statement, shortened to fit. With
    `within` ([first, last] spans), only inside those lines (a held-out file's new lines)."""
    lines = text.split("\n")
    tree = ast.parse(text)
    spans = [(a, b) for a, b in within] if within is not None else [(0, len(lines) - 1)]

    def span_end(line: int) -> int | None:
        """The last line of the span holding `line`, or None outside every span."""
        return next((b for a, b in spans if a <= line <= b), None)

    def opens_line(node: ast.stmt) -> bool:
        line = lines[node.lineno - 1]
        return node.col_offset == len(line) - len(line.lstrip())

    def is_docstring(node: ast.stmt) -> bool:
        return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(
            node.value.value, str)

    # lines that a statement opens: code, not a continuation, a string's inside or a docstring
    starts = sorted({
        node.lineno - 1 for node in ast.walk(tree)
        if isinstance(node, ast.stmt) and opens_line(node) and not is_docstring(node)
        and span_end(node.lineno - 1) is not None
    })  # fmt: skip
    bodies = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body[1:] if is_docstring(node.body[0]) else node.body
            if body and opens_line(body[0]) and node.end_lineno is not None:
                end = span_end(body[0].lineno - 1)
                if end is not None and node.end_lineno - 1 <= end:
                    bodies.append((body[0].lineno - 1, node.end_lineno - 1))
    cap = chars // max(1, count)

    def cost(first: int, last: int) -> int:
        return unaided_keystrokes(region_at(text, first, last).target)

    chosen: list[tuple[int, int]] = []

    bodies = [b for b in bodies if cost(*b) <= cap]
    for _ in range(200 * count):
        if len(chosen) == count or not starts:
            break
        fitting = [b for b in bodies if disjoint(b, chosen)]
        if fitting and rng.random() < 0.5:
            first, last = rng.choice(fitting)
        else:
            first = rng.choice(starts)
            last = min(first + rng.randint(*RUN_LINES) - 1, len(lines) - 1, span_end(first) or first)
            while last > first and (not lines[last].strip() or cost(first, last) > cap):
                last -= 1
            if cost(first, last) > cap:
                continue
        if disjoint((first, last), chosen):
            chosen.append((first, last))
    return sorted(chosen)


def defined_names(tree: ast.AST) -> set[str]:
    """Names a module makes for others to use: functions, classes, their parameters, class
    attributes (in the class body or set on `self`) and module-level assignments."""
    out: set[str] = set()
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store)
                and isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")):
            out.add(node.attr)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            args = node.args
            out.add(node.name)
            out.update(a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs))
        elif isinstance(node, ast.ClassDef):
            out.add(node.name)
        if isinstance(node, ast.ClassDef | ast.Module):
            for child in node.body:
                targets = (child.targets if isinstance(child, ast.Assign)
                           else [child.target] if isinstance(child, ast.AnnAssign) else [])
                out.update(t.id for t in targets if isinstance(t, ast.Name))
    return out


def project_names(files: Iterable[Path], exclude: Path) -> set[str]:
    """What the project's Python files other than `exclude` define, less builtins, keywords
    and `self`; files that do not parse add nothing."""
    names: set[str] = set()
    here = exclude.resolve()
    for i, file in enumerate(files):
        if i >= MAX_PROJECT_FILES:
            break
        if file.resolve() == here:
            continue
        try:
            names |= defined_names(ast.parse(file.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError, SyntaxError, ValueError):
            continue
    return names - COMMON


SIMPLE = (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.Expr, ast.Return, ast.Raise, ast.Assert,
          ast.Delete)


def used_names(node: ast.AST) -> set[str]:
    """The identifiers a statement reads: names, attributes and keyword arguments."""
    out: set[str] = set()
    for child in ast.walk(node):
        if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Load):
            out.add(child.id)
        elif isinstance(child, ast.Attribute):
            out.add(child.attr)
        elif isinstance(child, ast.keyword) and child.arg:
            out.add(child.arg)
    return out


def bound_names(tree: ast.AST) -> set[str]:
    """Names the file itself defines or assigns (its imports aside: those name other files)."""
    stored = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    return defined_names(tree) | stored


def cross_file_regions(
    text: str, outside: Collection[str], count: int, chars: int, rng: random.Random,
    window_chars: int, suffix_chars: int,
) -> list[tuple[int, int]]:
    """`count` simple statements (first, last line) that read a name of `outside` (defined
    elsewhere in the project) which this file does not define or assign and which appears
    nowhere in what the prompt holds of the file at the statement's start: the `window_chars`
    before it and the `suffix_chars` after it. Imports, whose names the context is chosen by,
    and docstrings are left out. Each at most chars // count keystrokes; fewer regions when the
    file has fewer such statements."""
    lines = text.split("\n")
    tree = ast.parse(text)
    own = bound_names(tree)
    cap = chars // max(1, count)
    candidates = []
    for node in ast.walk(tree):
        if not isinstance(node, SIMPLE) or node.end_lineno is None:
            continue
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # a docstring or a bare literal
        first, last = node.lineno - 1, node.end_lineno - 1
        line = lines[first]
        if node.col_offset != len(line) - len(line.lstrip()):
            continue  # shares its line with another statement
        wanted = {n for n in used_names(node) if n in outside and n not in own}
        if not wanted:
            continue
        region = region_at(text, first, last)
        if unaided_keystrokes(region.target) > cap:
            continue
        seen = set(NAME.findall(region.before[-window_chars:] + region.after[:suffix_chars]))
        if wanted - seen:
            candidates.append((first, last))
    candidates.sort()
    rng.shuffle(candidates)
    chosen: list[tuple[int, int]] = []
    for first, last in candidates:
        if len(chosen) == count:
            break
        if disjoint((first, last), chosen):
            chosen.append((first, last))
    return sorted(chosen)
