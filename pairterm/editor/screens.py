"""Small modal questions the editor asks: yes/no, and a file name for an untitled buffer."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Grid
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label


class Confirm(ModalScreen[bool | None]):
    """A question with two answers; Y/N keys work as well as the buttons."""

    DEFAULT_CSS = """
    Confirm { align: center middle; }
    Confirm > Grid {
        grid-size: 2; grid-gutter: 1 2; grid-rows: auto 3; padding: 1 2;
        width: 64; height: auto; border: thick $warning; background: $surface;
    }
    Confirm Label { column-span: 2; width: 100%; }
    Confirm Button { width: 100%; }
    """
    # Enter on the focused button must be the safe answer (`safe`, "no" unless the safe
    # answer is yes, as for restoring recovered work); Esc answers nothing at all.
    AUTO_FOCUS = "#no"
    BINDINGS = [("y", "answer(True)", "Yes"), ("n", "answer(False)", "No"),
                ("escape", "cancel", "Cancel")]

    def __init__(self, question: str, yes: str = "Yes", no: str = "No",
                 safe: str = "no") -> None:
        super().__init__()
        self.question, self.yes, self.no, self.safe = question, yes, no, safe
        self.AUTO_FOCUS = f"#{safe}"

    def compose(self) -> ComposeResult:
        with Grid():
            yield Label(self.question, id="question")
            yield Button(f"{self.yes} (y)", id="yes",
                         variant="primary" if self.safe == "yes" else "error")
            yield Button(f"{self.no} (n)", id="no",
                         variant="primary" if self.safe == "no" else "error")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, value: bool) -> None:
        self.dismiss(value)

    def action_cancel(self) -> None:
        self.dismiss(None)


class AskPath(ModalScreen[str | None]):
    DEFAULT_CSS = """
    AskPath { align: center middle; }
    AskPath > Grid { grid-size: 1; padding: 1 2; width: 64; height: auto;
                     border: thick $primary; background: $surface; }
    """
    BINDINGS = [("escape", "cancel", "Cancel")]

    def compose(self) -> ComposeResult:
        with Grid():
            yield Label("Save as (path):")
            yield Input(placeholder="file.py", id="path")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)

    def action_cancel(self) -> None:
        self.dismiss(None)
