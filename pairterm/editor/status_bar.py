"""The one-line status bar: what the editor is doing, fitted to the terminal's width.

What matters most survives a narrow terminal: the file, the cursor and whether suggestions are
on. Long model names are shortened first, then the least useful fields dropped.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from rich.cells import cell_len
from textual import events
from textual.widgets import Static

SEP = " │ "
MODEL_SHORT = 24  # cells a model name keeps when space is short


@dataclass(frozen=True)
class StatusFields:
    name: str
    dirty: bool
    row: int
    col: int
    model: str
    eta: str
    latency: str
    state: str
    encoding: str | None = None  # shown when the file is not UTF-8
    position: str | None = None  # "2/3" when several buffers are open
    notes: list[str] = field(default_factory=list)


ABSOLUTE_PATH = re.compile(r"(?<![\w.])/(?:[^\s/:,;()]+/)+([^\s/:,;()]+)")


def compact(text: str) -> str:
    """Absolute paths in a message cut to their last part: the why fits, the where is known."""
    return ABSOLUTE_PATH.sub(r"\1", text)


def shorten(text: str, cells: int) -> str:
    if cell_len(text) <= cells:
        return text
    out = ""
    for ch in text:
        if cell_len(out + ch) > cells - 1:
            break
        out += ch
    return out + "…"


def short_model(model: str, base_cells: int, adapter_cells: int) -> str:
    """The model's name cut to `base_cells`, its adapter's to `adapter_cells` (0: a bare "+")."""
    base, plus, adapter = model.partition(" + ")
    base = shorten(base.removesuffix(".gguf"), base_cells)
    if not plus:
        return base
    adapter = adapter.removesuffix(" adapter")
    return f"{base} + {shorten(adapter, adapter_cells)}" if adapter_cells else f"{base} +"


def fit(f: StatusFields, width: int) -> str:
    """The status line for `width` cells: the model's name is shortened before the η and
    latency fields go, and the state (whether suggestions are on, and why not) stays last."""
    state = compact(f.state)
    name = f"{f.name}{' ●' if f.dirty else ''}" + (f" [{f.position}]" if f.position else "")
    extra = [f.encoding] if f.encoding else []
    head = [name, f"Ln {f.row + 1}, Col {f.col + 1}", *extra]
    models = [f.model, short_model(f.model, MODEL_SHORT, 12), short_model(f.model, 16, 0)]
    optional = [[f"η {f.eta}", f.latency, *f.notes], [f"η {f.eta}", f.latency], [f"η {f.eta}"],
                []]
    candidates = [head + [model, *more, state] for model in models for more in optional]
    candidates += [head + [state], [name, f"{f.row + 1}:{f.col + 1}", *extra, state]]
    for parts in candidates:
        line = SEP.join(parts)
        if cell_len(line) <= width:
            return line
    return shorten(SEP.join(candidates[-1]), width)


class StatusBar(Static):
    DEFAULT_CSS = """
    StatusBar { height: 1; background: $panel; color: $text-muted; padding: 0 1; }
    """

    def __init__(self) -> None:
        super().__init__(id="status")
        self.fields: StatusFields | None = None

    def show(self, fields: StatusFields) -> None:
        self.fields = fields
        self._draw()

    def _draw(self) -> None:
        if self.fields is not None:
            width = self.content_size.width or (self.app.size.width - 2)
            self.update(fit(self.fields, max(width, 10)))

    def on_resize(self, event: events.Resize) -> None:
        self._draw()


def describe_state(host_state: str, engine_loaded: bool, automatic: bool, paused: bool,
                   log_failure: str | None) -> str:
    """What the assistant is doing, in the words the status bar shows."""
    state = host_state
    if engine_loaded and not automatic:
        state = "suggestions off (F2)"
    elif engine_loaded and paused:
        state = "paused until next edit (Esc)"
    return f"{state}; {log_failure}" if log_failure else state


def describe_model(model: str | Path, adapter: str | None, shipped_adapter: bool) -> str:
    name = model.name if isinstance(model, Path) else model
    if adapter:
        name = f"{name} + {'Empower adapter' if shipped_adapter else adapter}"
    return name


def describe_eta(eta: float) -> str:
    return "off" if math.isinf(eta) else f"{eta:g} bits"


def describe_latency(ms: float | None) -> str:
    return f"{ms:.0f} ms" if ms is not None else "– ms"

