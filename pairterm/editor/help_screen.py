"""F1: every key the editor answers to, read from the live bindings (see pairterm.editor.keys)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from pairterm.editor.keys import KeyRow


def keys_table(rows: Sequence[KeyRow]) -> Table:
    table = Table(box=None, show_header=True, header_style="bold", expand=True)
    table.add_column("Keys", style="bold", max_width=24)  # long lists wrap after a comma
    table.add_column("Action", ratio=1)  # the keys column keeps its width, this takes the rest
    for row in rows:
        table.add_row(row.keys, row.action)
    return table


class KeysScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    KeysScreen { align: center middle; }
    KeysScreen > VerticalScroll {
        width: 90%; max-width: 100; height: 90%; border: thick $primary;
        background: $surface; padding: 0 1;
    }
    """
    BINDINGS = [Binding("escape,f1,q", "dismiss", "Close")]

    def __init__(self, rows: Sequence[KeyRow]) -> None:
        super().__init__()
        self.rows = list(rows)

    def compose(self) -> ComposeResult:
        with VerticalScroll() as scroll:
            scroll.border_title = "Keys (Esc closes)"
            yield Static(keys_table(self.rows), id="keys")

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).focus()
