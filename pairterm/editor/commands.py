"""The editor's commands beyond typing: find, replace, go to line, comments, the assistant's
switches and the key list. GhostTextArea mixes these in; its BINDINGS include COMMAND_BINDINGS.

Key choices follow what terminals actually send: Ctrl+/ arrives as Ctrl+_ (0x1f) in most
terminals and as Ctrl+/ where the kitty keyboard protocol is on, so both are bound; Ctrl+H is
Backspace in most terminals, so replace is also on Ctrl+R; Ctrl+Space arrives as Ctrl+@.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from textual.binding import Binding
from textual.widgets import TextArea
from textual.widgets.text_area import Selection

from pairterm.editor import comments
from pairterm.editor.find_bar import FindBar, PromptBar, jump
from pairterm.editor.goto import GoToBar
from pairterm.editor.help_screen import KeysScreen
from pairterm.editor.keys import gather

COMMAND_BINDINGS = [
    Binding("f1", "show_keys", "Show every key"),
    Binding("ctrl+f", "find", "Find"),
    Binding("f3", "find_next", "Next match"),
    Binding("shift+f3", "find_previous", "Previous match"),
    Binding("ctrl+h,ctrl+r", "replace", "Replace"),
    Binding("ctrl+g", "goto_line", "Go to line[:column]"),
    Binding("ctrl+underscore,ctrl+slash", "toggle_comment", "Comment or uncomment the lines"),
    Binding("f2", "toggle_suggestions", "Automatic suggestions off/on"),
    Binding("ctrl+space,ctrl+@", "suggest_now", "Ask for a suggestion now"),
]


@runtime_checkable
class Assistant(Protocol):
    """What the keys need of the app's suggestion controller."""

    automatic: bool

    def set_automatic(self, on: bool) -> None: ...

    def request_now(self) -> bool: ...


class EditorCommands:
    """Actions for a TextArea subclass (the mixin holds no state but the last search)."""

    search_query: str = ""

    def _area(self) -> TextArea:
        assert isinstance(self, TextArea)
        return self

    # -- bars ------------------------------------------------------------------------------------
    def _close_bars(self) -> None:
        area = self._area()
        if area.parent is not None:
            for bar in area.parent.query(PromptBar):
                if bar.area is area:
                    bar.remove()

    def _open_bar(self, bar: PromptBar) -> None:
        area = self._area()
        if area.parent is None:
            return
        self._close_bars()
        area.parent.mount(bar, after=area)

    def _find_bar(self, replace: bool) -> None:
        area = self._area()
        self._open_bar(FindBar(area, replace=replace, query=area.selected_text or self.search_query))

    def action_find(self) -> None:
        self._find_bar(replace=False)

    def action_replace(self) -> None:
        self._find_bar(replace=True)

    def action_goto_line(self) -> None:
        self._open_bar(GoToBar(self._area()))

    def action_find_next(self) -> None:
        area = self._area()
        if not self.search_query:
            self.action_find()
        elif not jump(area, self.search_query, "next", max(area.selection)):
            area.notify(f"No match for {self.search_query!r}", timeout=2)

    def action_find_previous(self) -> None:
        area = self._area()
        if not self.search_query:
            self.action_find()
        elif not jump(area, self.search_query, "previous", min(area.selection)):
            area.notify(f"No match for {self.search_query!r}", timeout=2)

    def on_hide(self) -> None:
        # Another buffer is shown: its bars would search this one, so they go.
        self._close_bars()

    # -- comments --------------------------------------------------------------------------------
    def action_toggle_comment(self) -> None:
        area = self._area()
        if area.read_only:
            return
        marker = comments.marker_for(area.language)
        if marker is None:
            area.notify("This file's language has no line comments I know of", timeout=3)
            return
        start, end = area.selection
        first, last = sorted((start[0], end[0]))
        low, high = sorted((start, end))
        if high[0] > low[0] and high[1] == 0:
            last -= 1  # a selection ending at a line's start does not take that line
        lines = [area.document[r] for r in range(first, last + 1)]
        new, moves = comments.toggle(lines, marker)
        if new == lines:
            return
        area.replace("\n".join(new), (first, 0), (last, len(lines[-1])), maintain_selection_offset=False)
        area.selection = Selection(comments.moved(start, first, moves),
                                   comments.moved(end, first, moves))

    # -- the assistant ---------------------------------------------------------------------------
    def _assistant(self) -> Assistant | None:
        found = getattr(self._area().app, "suggestions", None)
        return found if isinstance(found, Assistant) else None

    def action_toggle_suggestions(self) -> None:
        assistant = self._assistant()
        if assistant is None:
            return
        assistant.set_automatic(not assistant.automatic)
        self._area().notify(
            "Automatic suggestions on" if assistant.automatic
            else "Automatic suggestions off (Ctrl+Space asks for one)", timeout=3,
        )

    def action_suggest_now(self) -> None:
        assistant = self._assistant()
        if assistant is None or not assistant.request_now():
            self._area().notify("No model is loaded: no suggestions", severity="warning",
                                timeout=3)

    # -- help ------------------------------------------------------------------------------------
    def action_show_keys(self) -> None:
        area = self._area()
        area.app.push_screen(KeysScreen(gather(area.app, area)))
