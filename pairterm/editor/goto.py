"""Go to line (Ctrl+G): `line` or `line:column`, both counted from 1 as the status bar shows."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Input, Label, TextArea

from pairterm.editor.find_bar import PromptBar


def parse_target(text: str, line_count: int) -> tuple[int, int] | str:
    """(row, column) counted from 0, or a sentence saying what is wrong with `text`."""
    line_part, _, col_part = text.strip().partition(":")
    try:
        line = int(line_part)
        col = int(col_part) if col_part.strip() else 1
    except ValueError:
        return f"not a line number: {text.strip()!r} (type line or line:column)"
    if line < 1 or col < 1:
        return "lines and columns count from 1"
    if line > line_count:
        return f"line {line} is past the end ({line_count} lines)"
    return line - 1, col - 1


class GoToBar(PromptBar):
    OTHER_KEYS = (("enter", "Go to the line"),)

    def compose(self) -> ComposeResult:
        yield Input(placeholder="go to line[:column]", id="line")
        yield Label(f"1–{self.area.document.line_count}", id="message")

    def on_mount(self) -> None:
        self.query_one("#line", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        target = parse_target(event.value, self.area.document.line_count)
        if isinstance(target, str):
            self.say(target)
            return
        row, col = target
        area: TextArea = self.area
        col = min(col, len(area.document[row]))
        self.action_close()
        area.move_cursor((row, col), center=True)
