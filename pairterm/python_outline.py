"""What the model sees of a Python file from another part of the project: its outline.

Signatures (one line each, with the first docstring line) and module-level assignments, the
bodies and imports left out; the definitions the edited file uses first, so that a token budget
that cuts the end cuts what it does not use. Pure functions of the source text.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Collection

HEAD_LINES = 60


def python_outline(source: str, wanted: Collection[str] = ()) -> str:
    """Signatures (with the first docstring line) and module-level assignments of a Python
    file; bodies and imports are left out. The definitions of `wanted` names (those the
    current file imports from this one) come first, the rest after in file order: the token
    budget may cut the end. Unparsable source gives its first lines instead."""
    return "".join(outline_parts(source, wanted))


def outline_parts(
    source: str, wanted: Collection[str] = (), used: Collection[str] = ()
) -> tuple[str, str]:
    """python_outline in two parts: what the edited file takes from this one, and the rest.

    The first part holds the definitions of `wanted` names and of module-level names in `used`
    (the identifiers of the edited file: `module.function` reaches a function no import names),
    and of those classes only the members the edited file uses, `__init__` and class-level
    names. A class of 40 methods of which the file calls two then costs three lines, not forty,
    so the budget reaches more of the files it imports. The other members follow in the second
    part under their class line again."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return "", head(source)
    lines = source.splitlines()
    leading = set(wanted)
    use = set(used)

    def header(node: ast.AST, out: list[str]) -> tuple[list[ast.stmt], str]:
        body = getattr(node, "body", [])
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            out.extend(compact_signature(node))
        else:
            # the class line(s), up to the first member's first decorator
            first = min([d.lineno for d in getattr(body[0], "decorator_list", [])]
                        + [body[0].lineno]) if body else node.lineno + 1  # type: ignore[attr-defined]
            start = min([d.lineno for d in getattr(node, "decorator_list", [])] + [node.lineno])  # type: ignore[attr-defined]
            out.extend(lines[start - 1 : max(first - 1, node.lineno)])  # type: ignore[attr-defined]
        # a one-line `def f(): return 1` has its body on the def line: indent one level instead
        below = body and body[0].lineno > node.lineno  # type: ignore[attr-defined]
        return body, " " * (body[0].col_offset if below else node.col_offset + 4)  # type: ignore[attr-defined]

    def signature(node: ast.AST, out: list[str], members: Callable[[ast.stmt], bool] | None = None,
                  doc: bool = True) -> None:
        body, indent = header(node, out)
        text = ast.get_docstring(node) if doc and isinstance(
            node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) else None
        if text:
            out.append(f'{indent}"""{text.strip().splitlines()[0]}"""')
        if isinstance(node, ast.ClassDef):
            stubs = _overload_stubs(body)
            for child in body:
                if (members is not None and not members(child)) or child in stubs:
                    continue
                if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                    signature(child, out)
                elif isinstance(child, ast.Assign | ast.AnnAssign):
                    out.extend(lines[child.lineno - 1 : child.end_lineno][:3])
        elif not text:
            out.append(f"{indent}...")

    def member_used(child: ast.stmt) -> bool:
        if isinstance(child, ast.Assign | ast.AnnAssign):
            return True  # fields: what a dataclass or model is built from
        if not isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            return False
        names = _defined_names(child)
        return bool(names & use) or "__init__" in names

    first: list[str] = []
    rest: list[str] = []
    stubs = _overload_stubs(tree.body)
    for node in tree.body:
        if isinstance(node, ast.Assign | ast.AnnAssign):
            chunk = lines[node.lineno - 1 : node.end_lineno][:3]
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            chunk = []
            if node in stubs:
                continue
        else:
            continue
        names = _defined_names(node)
        if not names & (leading | use):
            if not chunk:
                signature(node, chunk)
            rest.extend(chunk)
        elif isinstance(node, ast.ClassDef) and use:
            signature(node, first, member_used)
            inner = _overload_stubs(node.body)
            others = [c for c in node.body if isinstance(
                c, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
                and not member_used(c) and c not in inner]
            if others:
                header(node, rest)
                for child in others:
                    signature(child, rest)
        else:
            if not chunk:
                signature(node, chunk)
            first.extend(chunk)
    lead, other = ("".join(line + "\n" for line in part) for part in (first, rest))
    return lead, other


def compact_signature(node: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    """A function's decorators and its `def` line, the parameters on one line without the
    comments between them: a signature laid out one parameter a line costs about twice the
    tokens for what the model needs of it."""
    indent = " " * node.col_offset
    out = [f"{indent}@{ast.unparse(d)}" for d in node.decorator_list]
    returns = f" -> {ast.unparse(node.returns)}" if node.returns is not None else ""
    kind = "async def" if isinstance(node, ast.AsyncFunctionDef) else "def"
    params = getattr(node, "type_params", None)  # Python 3.12's def f[T](...)
    generic = f"[{', '.join(ast.unparse(t) for t in params)}]" if params else ""
    out.append(f"{indent}{kind} {node.name}{generic}({ast.unparse(node.args)}){returns}:")
    return out


def _overload_stubs(body: list[ast.stmt]) -> list[ast.stmt]:
    """The `@overload` stubs of a body whose implementation follows in it: its signature says
    what they do. In a `.pyi` stub file, where no implementation follows, they stay."""
    implemented = {n.name for n in body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
                   and not _is_overload(n)}
    return [n for n in body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
            and _is_overload(n) and n.name in implemented]


def _is_overload(node: ast.AST) -> bool:
    """An `@overload` stub: the implementation's signature follows and says what it does."""
    return any((d.id if isinstance(d, ast.Name) else d.attr if isinstance(d, ast.Attribute)
                else "") == "overload" for d in getattr(node, "decorator_list", []))


def _defined_names(node: ast.stmt) -> set[str]:
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return {node.name}
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]  # type: ignore[attr-defined]
    return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}


def head(source: str, lines: int = HEAD_LINES) -> str:
    return "".join(source.splitlines(keepends=True)[:lines])
