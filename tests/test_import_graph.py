"""The packages' boundaries, read from the source: the runtime (`pairterm/`) reaches the training
side (`training/`, `ggml_export/`) only where the command line dispatches a subcommand, and no
modules import each other, directly or round a longer loop.

Imports inside functions count as much as those at the top: a lazy import only postpones the
moment two modules need each other, so a cycle it keeps alive is still a cycle (and the runtime
still needs the training extra the moment that function runs).
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("pairterm", "training", "ggml_export")
TRAINING_SIDE = ("training", "ggml_export")
# `pairterm train`, `pairterm export` and `pairterm eval compare` name their modules here, and
# import them only when that subcommand runs.
DISPATCH = {"pairterm.cli"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO_ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {
        _module_name(p): p
        for package in PACKAGES
        for p in sorted((REPO_ROOT / package).rglob("*.py"))
    }


def _imported(name: str, path: Path, known: set[str]) -> set[str]:
    """Every module of ours that `name` imports, at any depth of its code.

    `from pkg import x` names the module pkg.x when x is one, else pkg itself (a package's
    `__init__` is not counted for its submodules: it imports none of them here).
    """
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                       for alias in node.names]  # fmt: skip
        else:
            continue
        for target in targets:
            # `import a.b.c` loads a.b.c; keep the longest prefix that is one of our modules
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {name: _imported(name, path, known) for name, path in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One example loop per strongly connected component with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return components


def test_the_runtime_reaches_training_only_through_subcommand_dispatch() -> None:
    graph = import_graph()
    assert "pairterm.cli" in graph and "training.cli" in graph  # the walk found the packages
    crossings = sorted(
        f"{module} imports {target}"
        for module, targets in graph.items()
        if module.split(".")[0] == "pairterm" and module not in DISPATCH
        for target in targets
        if target.split(".")[0] in TRAINING_SIDE
    )
    assert crossings == []


def test_no_modules_import_each_other() -> None:
    assert _cycles(import_graph()) == []


def test_the_graph_sees_lazy_imports_and_loops() -> None:
    # The checks above are only as good as the reader: a function-level import is an edge, and
    # a loop through three modules is found.
    graph = import_graph()
    assert "ggml_export.verify" in graph["ggml_export.cli"]  # imported inside main()
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
