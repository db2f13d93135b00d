"""Held-out files are evaluated on what their newest commits wrote, not on what training saw."""

from __future__ import annotations

from training.holdout import new_line_spans, new_texts, records
from training.sources import Document

BASE = "import os\n\n\ndef read(path):\n    return open(path).read()\n\n\ndef main():\n    pass\n"


def test_an_insert_and_a_changed_line_are_new_and_nothing_else_is() -> None:
    changed = BASE.replace("    return open(path).read()\n", "    with open(path) as f:\n        return f.read()\n")
    text = changed + "\n\ndef write(path, data):\n    open(path, 'w').write(data)\n"
    lines = text.splitlines(keepends=True)
    spans = new_line_spans(text, BASE)
    # the changed line and the function added at the end, without the blank lines before it
    assert spans == [[4, 5], [12, 13]]
    assert "".join(lines[4:6]) == "    with open(path) as f:\n        return f.read()\n"
    assert "".join(lines[12:14]) == "def write(path, data):\n    open(path, 'w').write(data)\n"
    assert new_line_spans(BASE, BASE) == []


def test_a_file_training_never_saw_is_new_whole_but_its_edge_blank_lines() -> None:
    assert new_line_spans("\n\nx = 1\ny = 2\n\n", None) == [[2, 3]]
    # CRLF counts lines as LF does (the evaluation splits them the same way)
    assert new_line_spans("a = 1\r\nb = 2\r\n", "a = 1\nb = 3\n") == [[1, 1]]
    # a run that only adds blank lines writes nothing
    assert new_line_spans(BASE.replace("\n\n\n", "\n\n\n\n"), BASE) == []


def doc(path: str, text: str, time: float, commit: str) -> Document:
    return Document(path, text, time, commit, None)


def test_only_the_newest_held_out_version_names_new_lines_against_the_newest_trained_one() -> None:
    train = [doc("a.py", "old = 0\n", 1, "c1"), doc("a.py", BASE, 2, "c2")]
    v3 = BASE + "x = 3\n"
    v4 = BASE + "x = 3\ny = 4\n"
    held = [doc("a.py", v3, 3, "c3"), doc("a.py", v4, 4, "c4"), doc("new.py", "z = 1\n", 4, "c4")]
    out = records(held, train)
    assert [(r["path"], r["commit"], r["new"]) for r in out] == [
        ("a.py", "c3", []),  # its new line is in the newest version too: counted once
        ("a.py", "c4", [[9, 10]]),  # against the newest trained version (c2), not c1
        ("new.py", "c4", [[0, 0]]),
    ]
    assert all(r["text"] == h.text for r, h in zip(out, held, strict=True))
    assert new_texts(out) == ["x = 3\ny = 4\n", "z = 1\n"]
    # a directory's held-out files (no commit) are other files, never trained on: whole
    assert "new" not in records([doc("b.py", "y = 1\n", 2, None)], train)[0]
    # records written before spans existed are measured whole
    assert new_texts([{"path": "a.py", "text": v3}]) == [v3]
