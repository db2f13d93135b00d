"""Every language the editor highlights opens, edits and closes without taking the process down.

tree-sitter 0.26.1 frees the compiled JavaScript and JSON highlight queries twice: opening a .js
or .json file segfaulted pairterm until the editor kept one query per language for good. A
segfault would kill pytest itself, so the editor runs in a child process and the test reads its
exit status.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

from pairterm.syntax_guard import LANGUAGES

CHILD = textwrap.dedent(
    """
    import asyncio, sys
    from textual.app import App
    from pairterm.editor.ghost_area import GhostTextArea
    from pairterm.syntax_guard import guard

    class One(App):
        def __init__(self, language):
            super().__init__()
            self.language = language
        def compose(self):
            yield GhostTextArea("x\\n", language=self.language, soft_wrap=False)

    async def main():
        for language in sys.argv[1:]:
            app = One(language)
            async with app.run_test() as pilot:
                area = app.query_one(GhostTextArea)
                area.focus()
                await pilot.press("a", "enter")
                area.language = None  # a new document: the old highlight query is freed
                area.language = language
                await pilot.pause()
            guard("x = ", "1", "", language)
            print("opened", language, flush=True)

    asyncio.run(main())
    """
)


def test_every_highlighted_language_opens_and_edits() -> None:
    languages = sorted(set(LANGUAGES.values()))
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, *languages], capture_output=True, text=True, timeout=300
    )
    opened = [line.split()[1] for line in proc.stdout.splitlines() if line.startswith("opened ")]
    assert proc.returncode == 0, f"died after {opened}: rc {proc.returncode}\n{proc.stderr[-2000:]}"
    assert opened == languages
