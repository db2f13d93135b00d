"""What of the held-out files the person wrote after the training data: the lines to evaluate on.

The newest commits are held out, but the files they touch mostly hold text that older versions
of the same files already had, and those versions were trained on: a held-out version of a
package's `__init__.py` differs from the trained one by a few lines, and its first lines are the
same module docstring and imports. Evaluating on whole held-out files therefore measures in good
part how well an adapter recalls its training text. So each held-out record names its new lines:
those of the newest held-out version of a path that the newest trained version of that path does
not have (a line diff), all of them for a file the training never saw. Older held-out versions
of a path name none (their new lines are in the newest version, or were taken out again), so no
text counts twice.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence

from pairterm.evaluation.corpus import file_lines
from training.sources import Document


def new_line_spans(text: str, base: str | None) -> list[list[int]]:
    """[first, last] (0-based, inclusive) runs of the lines of `text` that `base` lacks, as a
    line diff aligns them; runs of blank lines alone are left out. `base` None: all of it."""
    lines = file_lines(text)
    if base is None:
        runs = [(0, len(lines))]
    else:
        matcher = difflib.SequenceMatcher(None, file_lines(base), lines, autojunk=False)
        runs = [(j1, j2) for op, _, _, j1, j2 in matcher.get_opcodes() if op in ("replace", "insert")]
    spans: list[list[int]] = []
    for first, end in runs:
        while first < end and not lines[first].strip():
            first += 1
        while end > first and not lines[end - 1].strip():
            end -= 1
        if first < end:
            spans.append([first, end - 1])
    return spans


def records(holdout: Sequence[Document], train: Sequence[Document]) -> list[dict]:
    """holdout.jsonl's lines: each held-out document of a git history with its `new` line spans
    (a directory's held-out files have none: they are whole files no version of which trained)."""
    trained, newest = _newest_by_path(train), _newest_by_path(holdout)
    out = []
    for doc in holdout:
        rec = {"path": doc.path, "commit": doc.commit, "text": doc.text}
        if doc.commit:  # a directory's held-out files are other files, whole and never trained on
            base = trained.get(doc.path)
            newest_version = newest[doc.path] is doc
            rec["new"] = new_line_spans(doc.text, base.text if base else None) if newest_version else []
        out.append(rec)
    return out


def _newest_by_path(docs: Sequence[Document]) -> dict[str, Document]:
    """Each path's newest version (the later one of equal times: documents come oldest first)."""
    newest: dict[str, Document] = {}
    for doc in docs:
        if doc.path not in newest or doc.time >= newest[doc.path].time:
            newest[doc.path] = doc
    return newest


def new_texts(held: Sequence[dict]) -> list[str]:
    """The new lines of each record, one text per span; whole texts for records written before
    runs named them (no `new`)."""
    out = []
    for rec in held:
        if "new" not in rec:
            out.append(rec["text"])
            continue
        lines = file_lines(rec["text"])
        out.extend("".join(lines[first : last + 1]) for first, last in rec["new"])
    return out
