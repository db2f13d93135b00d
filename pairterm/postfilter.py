"""Display post-filters: what the engine's raw suggestion becomes before it is shown.

Pure functions on strings: a suggestion is only proposed mid-line before closing punctuation,
keeps one line there, and is dropped when it merely restates the text after the cursor.
"""

from __future__ import annotations

from pairterm.syntax_guard import guard

CLOSING = set(")]}>\"'`;:,. \t")


def mid_line_allowed(after_line: str) -> bool:
    """Mid-line, propose only when what follows the cursor is nothing or closing punctuation."""
    return all(ch in CLOSING for ch in after_line)


def postfilter(suggestion: str, before: str, after: str) -> tuple[str, str | None]:
    """Clean a raw suggestion for display; returns (text, reason it was emptied or None)."""
    after_line = after.split("\n", 1)[0]
    text = suggestion
    if after_line.strip():
        if not mid_line_allowed(after_line):
            return "", "mid_line"
        text = text.split("\n", 1)[0]
        tail = after_line.strip()
        # The model often re-closes what is already closed after the cursor: don't double it.
        if tail and text.rstrip().endswith(tail):
            text = text.rstrip()[: -len(tail)]
    next_line = next((ln.strip() for ln in after.split("\n")[1:] if ln.strip()), "")
    text = _cut_at_following(text, next_line).rstrip()
    if not text.strip():
        return "", "empty"
    if _repeats_following(text, after, next_line):
        return "", "repeat"
    return text, None


def _cut_at_following(text: str, next_line: str) -> str:
    """A suggestion of several lines ends before a line that is `next_line`, the next non-empty
    line after the cursor: models that read the suffix (FIM) tend to write the middle and then
    the suffix again, which would leave it twice in the file."""
    if not next_line or "\n" not in text:
        return text
    pos = text.index("\n")
    while pos >= 0:
        end = text.find("\n", pos + 1)
        line = text[pos + 1 : end if end >= 0 else len(text)]
        if line.strip() == next_line and text[:pos].strip():  # all of it a repeat: dropped later
            return text[:pos]
        pos = end
    return text


def _repeats_following(text: str, after: str, next_line: str) -> bool:
    """The suggestion only restates the text right of the cursor or the next non-empty line."""
    stripped = text.strip()
    if not stripped:
        return False
    following = after.lstrip()
    if following and following.startswith(stripped):
        return True
    first_line = next((ln.strip() for ln in text.split("\n") if ln.strip()), "")
    return bool(first_line) and first_line == next_line


def shown_text(raw: str, reason: str, before: str, after: str, language: str | None) -> tuple[str, str]:
    """What to show of a decode that stopped for `reason`, and the stop reason to report: whole
    lines only when it was cut short (by time or a keystroke), then the filters above and the
    syntax guard; a suggestion they empty reports why ("repeat", "syntax"), except a cancelled
    one, which stays "cancelled"."""
    if reason in ("time", "cancelled") and "\n" in raw:
        # Cut short mid-line: show whole lines only. The continuation then starts on a line of
        # its own, where the filters can judge it whole (a repeat of the next line, say).
        raw = raw[: raw.rindex("\n")]
    text, filtered = postfilter(raw, before, after)
    if text and language:
        text = guard(before, text, after, language)
        if not text:
            filtered = "syntax"
    if reason != "cancelled" and filtered in ("repeat", "syntax"):
        reason = filtered
    return text, reason
