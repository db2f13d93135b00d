"""Suggestions that parse: cut ghost text to its longest prefix that adds no syntax error.

Code at the cursor is often *incomplete* (an open bracket, a header with no body yet): fine.
A defect no further typing repairs (a dangling `.` or operator, a stray closer) is not. Python
is judged by its compiler, other languages by textual[syntax]'s tree-sitter grammars.
"""

from __future__ import annotations

import ast
import codeop
import functools
import io
import re
import threading
import time
import tokenize
import warnings
from collections.abc import Callable
from importlib import import_module
from pathlib import PurePath
from typing import Any

# File suffix -> language name; the editor highlights with these names too.
LANGUAGES: dict[str, str] = {
    ".py": "python", ".pyi": "python", ".js": "javascript", ".mjs": "javascript",
    ".ts": "javascript", ".rs": "rust", ".go": "go", ".java": "java", ".json": "json",
    ".toml": "toml", ".yaml": "yaml", ".yml": "yaml", ".md": "markdown", ".html": "html",
    ".htm": "html", ".css": "css", ".sh": "bash", ".bash": "bash", ".sql": "sql", ".xml": "xml",
}
# Highlighted as JavaScript, TypeScript would lose every type annotation if judged as such.
_GUARD_SUFFIXES = {".ts": "typescript", ".tsx": "typescript", ".jsx": "javascript"}

WINDOW_LINES = 80  # lines before the cursor that one check may parse
WINDOW_CHARS = 5000  # ... and characters, which bound the cost of one parse
MAX_CHECKS = 20  # parses per call before a suggestion that keeps failing is dropped
PARSE_BUDGET_S = 0.005  # tree-sitter time per call, past which a suggestion passes unjudged

_TOKEN = re.compile(r"\w+|[-+*/%&|^=<>!?:.~@]+|\S")  # a prefix may end after any of these
_CLAUSES = ("else", "elif", "except", "finally", "catch")  # continue a statement above


def language_for_path(path: str | PurePath | None) -> str | None:
    """The language the guard judges a file in, from its suffix; None when unknown."""
    suffix = PurePath(path).suffix.lower() if path else ""
    return _GUARD_SUFFIXES.get(suffix) or LANGUAGES.get(suffix)


def guard(before: str, suggestion: str, after: str, language: str | None) -> str:
    """The longest prefix of `suggestion` (possibly all of it, possibly "") that adds no syntax
    error to the code around the cursor. `before`/`after` are the document text before/after the
    cursor (possibly windowed); `language` is a name like "python", "javascript", "rust", "go",
    "json", ... or None (unknown: return the suggestion unchanged)."""
    if not language or not suggestion.strip():
        return suggestion
    # Closers the person already typed right of the cursor belong to both variants compared.
    tail = after.split("\n", 1)[0]
    # Indentation typed on an otherwise empty line and the suggestion's own are one run.
    line = before[before.rfind("\n") + 1:]
    ws = "" if line.strip() else line
    lang = language.lower()
    judge = _guard_python if lang == "python" else functools.partial(_guard_tree, lang)
    try:
        kept = judge(before[: len(before) - len(ws)], ws + suggestion, tail)
    except Exception:  # a fault in this filter must not cost the person their suggestion
        return suggestion
    return suggestion if kept is None else kept[len(ws):] if len(kept) > len(ws) else ""


# -- shared: the region near the cursor and the prefix search --------------------------------
def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def _dedent(text: str, k: int, fresh: bool) -> str:
    """Remove up to `k` columns of indentation from the lines of `text` that start a line."""
    return "\n".join(ln[min(k, _indent(ln)) if i or fresh else 0:]
                     for i, ln in enumerate(text.split("\n")))


def _window(before: str) -> tuple[list[str], bool]:
    """The last lines of `before` (no partial one), and whether they start the document."""
    lines = before[-WINDOW_CHARS:].rsplit("\n", WINDOW_LINES)
    start = len(before) - sum(map(len, lines)) - len(lines) + 1
    cut = len(lines) > WINDOW_LINES or start > 0 and before[start - 1] != "\n"
    return (lines[1:] if cut and len(lines) > 1 else lines), start == 0 and not cut


def _starts(lines: list[str], whole: bool, count: int, inside: str) -> tuple[int, list[int]]:
    """Outermost indentation and up to `count` lines (newest first) there that start a statement:
    no closer or clause, not after a line ending in `inside` (nor first, unless `whole`)."""
    # Lines inside a triple-quoted string (prose, at any indentation) neither set nor start.
    parity, inner = 0, []
    for ln in lines:
        inner.append(parity)
        parity ^= (ln.count('"""') + ln.count("'''")) % 2
    code = [i for i, ln in enumerate(lines)
            if ln.strip() and not inner[i] and not ln.lstrip().startswith(("#", "//"))]
    level = min((_indent(lines[i]) for i in code), default=0)
    found: list[int] = []
    for n in range(len(code) - 1, -1, -1):
        i, text = code[n], lines[code[n]][level:]
        after = lines[code[n - 1]].rstrip()[-1] if n else "#" if whole else ","
        if _indent(lines[i]) != level or text[0] in ")]},.;:+-*/|&=?#" or after in inside + "\\":
            continue
        word = re.match(r"[A-Za-z_]\w*", text)
        # The cursor line may still grow into `else:` and the like; judge it with its context.
        cursor_word = i == len(lines) - 1 and (word is None or word.end() == len(text))
        if not cursor_word and not (word and word.group() in _CLAUSES):
            found.append(i)
            if len(found) == count:
                break
    return level, found


def _longest(suggestion: str, accept: Callable[[str], tuple[bool, int | None]]) -> str:
    """The whole suggestion or its longest accepted prefix that ends at a token boundary;
    `accept` may name the last index a prefix may reach (an error's position), to skip ahead."""
    ok, limit = accept(suggestion)
    if ok:
        return suggestion
    checks = 1
    for end in reversed([m.end() for m in _TOKEN.finditer(suggestion)]):
        if end < len(suggestion) and (limit is None or end <= limit) and checks < MAX_CHECKS:
            checks += 1
            ok, limit = accept(suggestion[:end])
            if ok:
                return suggestion[:end]
    return ""


# -- Python: the compiler tells incomplete from invalid ---------------------------------------
_PY_FLAGS = ast.PyCF_ONLY_AST | getattr(codeop, "PyCF_ALLOW_INCOMPLETE_INPUT", 0x4000)
_OK, _OPEN, _IN_STRING, _BROKEN = "ok", "open", "in-string", "broken"
# Trailing operators that wait for more too, but a person types them and goes on: no defect.
_PY_WAITING_OPS = frozenset("( ) [ ] { } , : ; = -> := ... += -= *= /= //= %= @= &= |= ^= >>= "
                            "<<= **=".split())
_PY_MAYBE_DANGLING = re.compile(r"(?:[-+*/%@&|^~<>=!.]|\b(?:and|or|not|is|in|if|else))\Z")
_LAST_TOKEN = re.compile(r"(?:\w+|[^\w\s]+)\s*\Z")
_SKIP = {tokenize.NL, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER}


def _guard_python(before: str, suggestion: str, tail: str) -> str:
    lines, whole = _window(before)
    # A later start dodges the person's errors above; an earlier one a start inside a string.
    level, starts = _starts(lines, whole, 2, ",([{+-*/%&|^=<>.")

    def trusted(region: str) -> bool:
        state, at = _py_state(region, tail)
        # An error on a cursor line of one word (`ex` for `except`) is no reason.
        line = region.rfind("\n") + 1
        return state != _BROKEN or (at or 0) >= line and region[line:].strip().isidentifier()

    regions = (_dedent("\n".join(lines[i:]), level, True) for i in starts)
    region = next((r for r in regions if trusted(r)), None)
    if region is None:  # nothing near the cursor parses: still refuse a dangling end
        own = lines[-1].lstrip()
        return _longest(suggestion, lambda p: (not _py_dangling(own + p, len(own)), None))
    fresh = region.endswith("\n")

    def accept(prefix: str) -> tuple[bool, int | None]:
        head = region + _dedent(prefix, level, fresh)
        state, at = _py_state(head, tail)
        if state == _BROKEN:  # an error inside the suggestion: no prefix reaching it will do
            inside = at is not None and len(region) <= at < len(head)
            return False, _undent(prefix, level, fresh, at - len(region)) if inside else None
        if state == _IN_STRING:  # a cut inside a string the suggestion opened looks broken
            return prefix == suggestion or at < len(region), None
        return not (state == _OPEN and _py_dangling(head, len(region))), None

    return _longest(suggestion, accept)


def _undent(prefix: str, k: int, fresh: bool, at: int) -> int:
    """Where offset `at` of `_dedent(prefix, k, fresh)` lies in `prefix`."""
    grown = (n for n in range(at + 1, len(prefix) + 1) if len(_dedent(prefix[:n], k, fresh)) > at)
    return next(grown, len(prefix) + 1) - 1


def _py_state(head: str, tail: str, probe: bool = True) -> tuple[str, int | None]:
    """ok, open (more typing can finish it), in-string, or broken (+ last index before it)."""
    src = head + tail
    try:
        with warnings.catch_warnings():  # invalid escapes and the like are not our business
            warnings.simplefilter("ignore")
            compile(src, "<suggestion>", "exec", _PY_FLAGS)
    except SyntaxError as err:
        msg = err.msg or ""
        if msg.startswith("incomplete input"):
            return _OPEN, None
        line = err.lineno or 1
        start = _index(src, line, (err.offset or 1) - 1)
        if msg.startswith("unterminated string") and line == head.count("\n") + 1:
            return _IN_STRING, start
        # An error at the very end only says "not finished yet"; a stray closer never is. One
        # on the last token may say the same (`def f() ->`): see whether more text moves it.
        stray = "unmatched" in msg or "does not match" in msg
        last = _LAST_TOKEN.search(head, len(head) - 256)  # `\Z` patterns: search the end only
        if not stray and (start >= len(head.rstrip()) or probe and last and start >= last.start()
                          and _py_state(head + " _", tail, probe=False)[0] != _BROKEN):
            return _OPEN, None
        alone = _py_state(head, "") if tail and not stray and start > head.rfind("\n") else None
        if alone and alone[0] != _BROKEN:  # only the closers right of the cursor came too soon
            return alone
        has_end = err.end_lineno and err.end_offset and err.end_offset > 0
        end = _index(src, err.end_lineno, err.end_offset - 1) if has_end else start
        return _BROKEN, max(start, end - 1)
    except (ValueError, OverflowError, RecursionError, MemoryError):  # e.g. a NUL character
        return _BROKEN, None
    return _OK, None


def _index(src: str, line: int, col: int) -> int:
    return sum(len(ln) + 1 for ln in src.split("\n", line - 1)[: line - 1]) + col


def _py_dangling(head: str, cursor: int) -> bool:
    """The text past `cursor` ends in a `.` or an operator still waiting for its operand."""
    if not _PY_MAYBE_DANGLING.search(head.rstrip(), len(head) - 256):
        return False
    last: Any = None
    first, saw_for, fresh = last, False, False
    try:
        for tok in tokenize.generate_tokens(io.StringIO(head).readline):
            if tok.type == tokenize.NEWLINE:  # also sent at the end of the text
                fresh = True
            elif tok.type not in _SKIP:
                if fresh:
                    first, saw_for, fresh = None, False, False
                first = first or tok
                saw_for = saw_for or (tok.type == tokenize.NAME and tok.string == "for")
                last = tok
    except (tokenize.TokenError, SyntaxError):
        pass
    if last is None or _index(head, *last.end) <= cursor:
        return False  # the person's own text ended that way
    if last.type == tokenize.OP:
        return last.string not in _PY_WAITING_OPS
    word = last.string if last.type == tokenize.NAME else ""
    return word in ("and", "or", "not", "is") or (word == "in" and not saw_for) or (
        word in ("if", "else") and last is not first)


# -- other languages: tree-sitter error counts ------------------------------------------------
_C_FAMILY = frozenset({"javascript", "typescript", "java", "go", "rust", "c", "cpp", "c_sharp"})
# Trailing tokens that wait for an operand. Left out on purpose: `<`/`>` (generics), `*` and `/`
# (pointers, regex literals), `|` and `?` (Rust closures and `?`), `..` (open ranges).
_C_DANGLING = re.compile(r"(?:\?\.|::|&&|\|\||\?\?|===|!==|==|!=|<=|>=|<<|>>>|>>"
                         r"|(?<![-+])[-+]|(?<!\.)\.|[%^&])\Z")
_LOCAL = threading.local()  # parsers are not safe to share between threads


@functools.cache
def _lexer(language: str) -> re.Pattern[str] | None:
    """Closed literals, line comments, literals left open (`line`: to the end of their line,
    `open`: to the end of the text), and brackets."""
    if language in ("html", "xml"):
        return None
    dq, sq = r'"(?:[^"\\\n]|\\.)*"', r"'(?:[^'\\\n]|\\.)*'"
    lits, note, line, opens = f"{dq}|{sq}", "#[^\n]*", "[\"'][^\n]*", "(?!)"
    if language == "rust":  # strings span lines; `'` opens a char literal or a lifetime
        lits = r'/\*.*?\*/|\bb?r(?P<hash>#*)".*?"(?P=hash)|"(?:[^"\\]|\\.)*"|' + (
            r"'(?:[^'\\\n]|\\[^\n]{1,9})'")
        note, line, opens = "//[^\n]*", "(?!)", r'\bb?r#*"|/\*|"'
    elif language in _C_FAMILY or language == "css":
        lits, note, opens = rf"/\*.*?\*/|{lits}|`(?:[^`\\]|\\.)*`", "//[^\n]*", r"/\*|`"
    elif language == "sql":
        note = "--[^\n]*"
    return re.compile(rf"(?P<lit>{lits})|(?P<note>{note})|(?P<line>{line})|(?P<open>{opens})"
                      r"|(?P<br>[()\[\]{}])", re.S)


def _scan(text: str, lexer: re.Pattern[str] | None, pos: int = 0,
          opened: tuple[str, ...] = ()) -> tuple[str, bool, tuple[str, ...]]:
    """What closes everything open at the end of `text` (resuming at `pos` with the closers
    `opened` so far), whether that is a string or comment, and the open brackets' closers."""
    stack = list(opened)
    for m in lexer.finditer(text, pos) if lexer else ():
        tok = m.group()
        if m.group("br"):
            if tok in "([{":
                stack.append(")]}"["([{".index(tok)])
            elif stack and stack[-1] == tok:
                stack.pop()
        elif m.group("open") or m.end() == len(text) and (m.group("line") or m.group("note")):
            shut = "\n" if m.group("note") else tok[0] if m.group("line") else "*/" if (
                tok == "/*") else tok.lstrip("br")[::-1]  # r#" ends with "#
            return shut + "".join(reversed(stack)), True, ()
    return "".join(reversed(stack)), False, tuple(stack)


@functools.cache
def _ts_language(name: str) -> Any:
    if name in ("markdown", "regex") or not re.fullmatch(r"[a-z_]+", name):  # prose: no errors
        return None
    try:
        module = import_module(f"tree_sitter_{name}")
        entry = getattr(module, "language", None) or getattr(module, f"language_{name}")  # xml
        return import_module("tree_sitter").Language(entry())
    except (ImportError, AttributeError, OSError, TypeError, ValueError):
        return None


def _ts_parser(name: str) -> Any:
    parsers: dict[str, Any] = _LOCAL.__dict__.setdefault("parsers", {})
    if name not in parsers:
        parsers[name] = (lang := _ts_language(name)) and import_module("tree_sitter").Parser(lang)
    return parsers[name]


def _point(data: bytes, end: int = -1) -> tuple[int, int]:
    end = len(data) if end < 0 else end
    return data.count(b"\n", 0, end), end - data.rfind(b"\n", 0, end) - 1


def _limit(head: str) -> int:
    """Bytes of `head` up to its last token, or all if that closes something (`print(x))`)."""
    last = _LAST_TOKEN.search(head, len(head) - 256)
    end = last.start() if last and head.rstrip()[-1] not in ")]}" else len(head)
    return len(head[:end].encode())


def _errors(node: Any, limit: int) -> int:
    """Errors within `limit` bytes; one reaching further may only mean "not finished yet"."""
    mine = node.end_byte <= limit if node.is_error else node.is_missing and node.start_byte < limit
    inner = (_errors(c, limit) for c in node.children if c.has_error or c.is_missing)
    return int(mine) + sum(inner)


def _guard_tree(language: str, before: str, suggestion: str, tail: str) -> str | None:
    parser = _ts_parser(language)
    if parser is None:
        return None  # no grammar: nothing to judge by
    parser.reset()  # a parse the budget cut short would otherwise resume here
    (lines, whole), lexer = _window(before), _lexer(language)
    level, starts = _starts(lines, whole, 3, "")
    dangling = _C_DANGLING if language in _C_FAMILY else None
    deadline = time.perf_counter() + PARSE_BUDGET_S

    def parse(data: bytes, old: Any = None) -> Any:
        # Pathological text can make tree-sitter slow: past the budget, a ValueError leaves
        # the suggestion unjudged.
        stop = lambda *_: time.perf_counter() > deadline  # noqa: E731
        view = memoryview(data)
        return parser.parse(lambda at, _: view[at:], *[old][: old is not None],
                            progress_callback=stop)

    def closed(head: str, resume: tuple[int, tuple[str, ...]] = (0, ())) -> bytes:
        return (head + tail + _scan(head + tail, lexer, *resume)[0]).encode()

    # A start may sit inside a multi-line string after all: take the first whose region parses.
    for i in starts or [0]:
        region = _dedent("\n".join(lines[i:]), level, True)
        if language == "json":  # mid-document, members and elements need their container
            region = ("{" if re.match(r'\s*"(?:[^"\\]|\\.)*"\s*:', region) else "[") + region
        # The region scans the same each time: resume after it unless a token may span its end.
        _, opened, stack = _scan(region, lexer)
        safe = not opened and region[-1:] and (region[-1].isalnum() or region[-1] in " \n(){};,")
        resume = (len(region), stack) if safe else (0, ())
        known, old = len(region.encode()), closed(region, resume)
        tree = parse(old)
        base = _errors(tree.root_node, _limit(region))
        if not base:
            break
    fresh, checks = region.endswith("\n") or not region, [0]

    def fits(prefix: str, strict: bool = False) -> bool:
        head = region + _dedent(prefix, level, fresh)
        data, edited = closed(head, resume), tree.copy()  # edit the region's parse, not redo it
        edited.edit(known, len(old), len(data), _point(data, known), _point(old), _point(data))
        checks[0] += 1
        limit = len(head.encode()) if strict else _limit(head)
        return checks[0] <= MAX_CHECKS and _errors(parse(data, edited).root_node, limit) <= base

    def ragged(prefix: str) -> bool:
        """Ends on a dangling operator or, a cut only, inside a literal the suggestion opened."""
        head = region + _dedent(prefix, level, fresh)
        inside = _scan(head, lexer, *resume)[1]
        if inside and prefix != suggestion and not opened:
            return True
        end = dangling.search(head.rstrip(), len(head) - 256) if dangling and not inside else None
        return end is not None and end.start() >= len(region)

    intact = fits(suggestion)
    if intact and not ragged(suggestion):
        return suggestion
    ends = [m.end() for m in _TOKEN.finditer(suggestion)]
    # An error, once made, stays in every longer prefix: bisect for the longest that parses...
    good, bad = (len(ends) - 1, len(ends)) if intact else (-1, len(ends) - 1)
    while bad - good > 1:
        mid = (good + bad) // 2
        good, bad = (mid, bad) if fits(suggestion[: ends[mid]]) else (good, mid)
    # ... then step back to a cut without an error even on its last token (`foo(a b` of
    # `foo(a b, c`) nor a dangling operator.
    for i in range(good, max(good - 8, -1), -1):
        prefix = suggestion[: ends[i]]
        if not ragged(prefix) and fits(prefix, strict=True):
            return prefix
    return ""
