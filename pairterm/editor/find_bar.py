"""The bar under the text that finds (Ctrl+F) and replaces (Ctrl+H) text.

Finding is incremental: each keystroke in the bar selects the first match from where the search
began, so the text area shows it; Enter, Down or F3 go to the next match and Up or Shift+F3 to
the previous one, wrapping round the file. Esc closes the bar and leaves the match selected.
The bar works on Textual's TextArea (any editor widget), so that it imports no widget of ours.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, Label, TextArea
from textual.widgets.text_area import Selection

from pairterm.editor import search


class PromptBar(Vertical):
    """A bar under a text area that asks for something; Esc gives the focus back."""

    DEFAULT_CSS = """
    PromptBar { height: auto; background: $panel; padding: 0 1; }
    PromptBar Input { height: 1; border: none; padding: 0; background: $boost; }
    PromptBar Label { width: 1fr; color: $text-muted; }
    """
    BINDINGS = [Binding("escape", "close", "Close the bar"),
                Binding("f1", "show_keys", "Show every key")]

    def __init__(self, area: TextArea) -> None:
        super().__init__(classes="prompt-bar")
        self.area = area

    def say(self, text: str) -> None:
        self.query_one("#message", Label).update(text)

    async def action_show_keys(self) -> None:
        await self.area.run_action("show_keys")  # the text area's list: the bars are in it

    def action_close(self) -> None:
        area = self.area
        self.remove()
        area.focus()


class FindBar(PromptBar):
    BINDINGS = [
        Binding("down,f3", "next", "Next match"),
        Binding("up,shift+f3", "previous", "Previous match"),
        Binding("ctrl+l", "replace_all", "Replace all"),
    ]
    OTHER_KEYS = (("enter", "Next match; in the replace box, replace this one and go on"),
                  ("tab", "Between the find and the replace box"))

    def __init__(self, area: TextArea, replace: bool, query: str = "") -> None:
        super().__init__(area)
        self.replacing = replace
        self.initial = query
        self.origin = area.selection.start  # an incremental search starts here each time

    def compose(self) -> ComposeResult:
        yield Input(self.initial, placeholder="find (lower case: any case)", id="find")
        if self.replacing:
            yield Input(placeholder="replace with (Enter: this one, Ctrl+L: all)", id="replace")
        yield Label("", id="message")

    def on_mount(self) -> None:
        self.query_one("#find", Input).focus()

    @property
    def query_text(self) -> str:
        return self.query_one("#find", Input).value

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id != "find":
            return
        event.stop()
        self.area.search_query = event.value  # type: ignore[attr-defined]
        self._go("next", self.origin, incremental=True)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.id == "replace":
            self.replace_one()
        else:
            self.action_next()

    def action_next(self) -> None:
        self._go("next", max(self.area.selection))

    def action_previous(self) -> None:
        self._go("previous", min(self.area.selection))

    def _go(self, direction: str, start: tuple[int, int], incremental: bool = False) -> None:
        if not jump(self.area, self.query_text, direction, start):
            if incremental:
                self.area.selection = Selection.cursor(self.origin)
            self.say("no match" if self.query_text else "")
            return
        pattern = search.compile_query(self.query_text)
        assert pattern is not None
        total = search.count_matches(self.area.document.lines, pattern)
        self.say(f"{total} match{'es' if total != 1 else ''}")

    def _replacement(self) -> str:
        return self.query_one("#replace", Input).value if self.replacing else ""

    def replace_one(self) -> None:
        """Replace the selected match, then select the next one."""
        pattern = search.compile_query(self.query_text)
        if pattern is None or self.area.read_only:
            return
        area = self.area
        if pattern.fullmatch(area.selected_text):
            start, end = sorted(area.selection)
            result = area.replace(self._replacement(), start, end)
            area.selection = Selection.cursor(result.end_location)
        self.action_next()

    def action_replace_all(self) -> None:
        pattern = search.compile_query(self.query_text)
        if pattern is None or not self.replacing or self.area.read_only:
            return
        lines = self.area.document.lines
        found = search.replace_all(lines, pattern, self._replacement())
        if found is None:
            self.say("no match")
            return
        first, last, new, total = found
        self.area.replace("\n".join(new), (first, 0), (last, len(lines[last])))
        self.say(f"replaced {total}")


def jump(area: TextArea, query: str, direction: str, start: tuple[int, int]) -> bool:
    """Select the next (or previous) match of `query` from `start`; False when there is none."""
    pattern = search.compile_query(query)
    if pattern is None:
        return False
    finder = search.find_next if direction == "next" else search.find_previous
    found = finder(area.document.lines, pattern, start)
    if found is None:
        return False
    area.selection = Selection(*found)
    area.scroll_cursor_visible(center=True)
    return True
