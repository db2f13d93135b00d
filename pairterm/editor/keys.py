"""Every key the editor answers to, gathered from the live bindings so that none is left out.

F1 shows this list and the README's key table must equal it (a test compares the two): a binding
added anywhere in the app, the text area or the bars appears here without anyone listing it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from textual.binding import Binding, BindingsMap
from textual.dom import DOMNode

from pairterm.editor.find_bar import FindBar
from pairterm.editor.goto import GoToBar

_NAMES = {
    "ctrl": "Ctrl", "shift": "Shift", "alt": "Alt", "super": "Super", "escape": "Esc",
    "enter": "Enter", "tab": "Tab", "backspace": "Backspace", "delete": "Delete",
    "home": "Home", "end": "End", "pageup": "PgUp", "pagedown": "PgDn", "up": "Up",
    "down": "Down", "left": "Left", "right": "Right", "space": "Space",
    # What terminals send for Ctrl+/ (0x1f, also Ctrl+_ and Ctrl+7) and Ctrl+Space (0x00).
    "underscore": "/", "slash": "/", "@": "Space",
}

# The bars' own keys, listed with where they work (their text boxes add the usual editing keys).
BARS: Sequence[tuple[str, type[DOMNode]]] = (("find bar", FindBar), ("go-to bar", GoToBar))


@dataclass(frozen=True)
class KeyRow:
    keys: str  # as a person reads them: "Ctrl+H, Ctrl+R"
    action: str


def key_label(key: str) -> str:
    """"ctrl+shift+z" -> "Ctrl+Shift+Z", "f3" -> "F3", "ctrl+underscore" -> "Ctrl+/"."""
    parts = key.split("+")
    if key.endswith("++"):  # the key is "+" itself
        parts = [*key[:-2].split("+"), "+"]
    return "+".join(_NAMES.get(p, p.upper() if len(p) <= 3 else p.capitalize()) for p in parts)


def _rows(pairs: Iterable[tuple[str, str]], where: str = "") -> list[KeyRow]:
    """Group keys by what they do, in order of first appearance."""
    grouped: dict[str, list[str]] = {}
    for key, action in pairs:
        label = key_label(key)
        keys = grouped.setdefault(action, [])
        if label not in keys:
            keys.append(label)
    suffix = f" ({where})" if where else ""
    return [KeyRow(", ".join(keys), action + suffix) for action, keys in grouped.items()]


# Textual's own bindings whose short labels say too little here.
_LABELS = {"command_palette": "Command palette (its \"Keys\" command lists these keys too)"}


def _described(binding: Binding) -> str:
    return (_LABELS.get(binding.action) or binding.description
            or binding.action.replace("_", " "))


def _bindings_of(node: DOMNode) -> BindingsMap:
    return node._bindings  # Textual keeps instance bindings here (the palette key is added live)


def effective(app: DOMNode, editor: DOMNode) -> list[tuple[str, Binding]]:
    """The (key, binding) pairs that act while the editor has the focus, in Textual's order:
    the app's priority bindings, then the editor's, then the app's others; shadowed keys and
    Textual's hidden system bindings are left out."""
    taken: set[str] = set()
    out: list[tuple[str, Binding]] = []
    app_bindings = list(_bindings_of(app))
    ordered = [(k, b) for k, b in app_bindings if b.priority]
    ordered += list(_bindings_of(editor))
    ordered += [(k, b) for k, b in app_bindings if not b.priority]
    for key, binding in ordered:
        if key in taken:
            continue
        taken.add(key)
        if not binding.system:
            out.append((key, binding))
    return out


def gather(app: DOMNode, editor: DOMNode) -> list[KeyRow]:
    """Every key: those the editor's code handles before any binding, the bindings that act
    while it has the focus, then the bars' keys."""
    pairs = list(getattr(editor, "OTHER_KEYS", ()))
    pairs += [(key, _described(b)) for key, b in effective(app, editor)]
    rows = _rows(pairs)
    for where, bar in BARS:
        merged = bar._merged_bindings or BindingsMap()
        bar_pairs = list(getattr(bar, "OTHER_KEYS", ()))
        bar_pairs += [(k, _described(b)) for k, b in merged]
        rows += _rows(bar_pairs, where)
    return rows
