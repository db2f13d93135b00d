"""Where documents come from: HumanEval, a directory, a training run's holdout.jsonl."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pairterm.errors import UserError
from pairterm.evaluation.corpus import (
    MAX_PIECES_PER_FILE,
    MAX_RUN_PIECES,
    MIN_NEW_CHARS,
    FileSplit,
    load_corpus,
    split_file,
)
from pairterm.evaluation.execution import passes_tests


def numbered(n: int) -> str:
    return "".join(f"line_{i} = {i}\n" for i in range(n))


def test_humaneval_prompt_is_the_start_and_the_canonical_solution_the_target() -> None:
    docs = load_corpus("humaneval", limit=2)
    assert [d.doc_id for d in docs] == ["HumanEval/0", "HumanEval/1"]
    assert docs[0].start.startswith("from typing import List") and "def has_close_elements" in docs[0].start
    assert docs[0].target.lstrip().startswith("for idx, elem in enumerate(numbers)")
    # The replay human's text is a correct program: the package's own tests pass on it.
    assert passes_tests(docs[0].start + docs[0].target, docs[0].test, docs[0].entry_point)


def test_program_checks_fail_on_wrong_code_and_on_timeouts() -> None:
    doc = load_corpus("humaneval", limit=1)[0]
    assert not passes_tests(doc.start + "    return True\n", doc.test, doc.entry_point)
    looping = doc.start + "    while True:\n        pass\n"
    assert not passes_tests(looping, doc.test, doc.entry_point, timeout_s=1.0)


def test_a_file_starts_from_its_first_lines_and_the_human_writes_whole_lines() -> None:
    text = numbered(200)
    doc = split_file("f.py", text, FileSplit(start_lines=12, target_chars=100))
    assert doc is not None
    assert doc.start == numbered(12)
    assert doc.target.startswith("line_12 = 12\n") and doc.target.endswith("\n")
    assert len(doc.target) <= 100 and (doc.start + doc.target) == text[: len(doc.start + doc.target)]
    short = split_file("s.py", numbered(4), FileSplit())
    assert short is not None and short.start == numbered(2)
    assert split_file("one.py", "x = 1\n", FileSplit()) is None


def test_directory_corpus_skips_binary_hidden_and_undecodable_files(tmp_path: Path) -> None:
    (tmp_path / "b.py").write_text(numbered(30))
    (tmp_path / "a.py").write_text(numbered(30), encoding="utf-8")
    (tmp_path / "blob.py").write_bytes(b"\0\1\2" * 50)
    (tmp_path / "latin.py").write_bytes("é = 1\n".encode("latin-1") * 10)
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "hook.py").write_text(numbered(30))
    (tmp_path / "image.png").write_text(numbered(30))
    docs = load_corpus(str(tmp_path))
    assert [d.doc_id for d in docs] == ["a.py", "b.py"]
    assert [d.doc_id for d in load_corpus(str(tmp_path), limit=1)] == ["a.py"]


def write_holdout(run: Path, rows: list[dict]) -> None:
    (run / "holdout.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_an_old_run_is_evaluated_on_whole_held_out_files_and_says_so(tmp_path: Path, capsys) -> None:
    write_holdout(tmp_path, [{"path": "pkg/x.py", "commit": "0123456789abcdef", "text": numbered(40)}])
    docs = load_corpus(str(tmp_path))
    assert [d.doc_id for d in docs] == ["pkg/x.py@0123456789ab"]
    assert docs[0].start == numbered(12)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "whole files" in err
    # a directory run's held-out files have no commit and no versions: whole, and nothing to say
    write_holdout(tmp_path, [{"path": "pkg/x.py", "commit": None, "text": numbered(40)}])
    assert [d.doc_id for d in load_corpus(str(tmp_path))] == ["pkg/x.py"]
    assert capsys.readouterr().err == ""


def test_a_run_is_evaluated_on_the_new_lines_only_each_from_all_the_text_above(
    tmp_path: Path, capsys
) -> None:
    text = numbered(200)
    lines = text.splitlines(keepends=True)
    write_holdout(tmp_path, [
        {"path": "a.py", "commit": "c0ffee00c0ffee00", "text": text, "new": [[20, 23], [50, 50], [100, 139]]},
        {"path": "a.py", "commit": "0ld0ld0ld0ld", "text": text, "new": []},  # an older version
        {"path": "b.py", "commit": "b0b0b0b0b0b0", "text": numbered(30), "new": [[0, 29]]},
    ])  # fmt: skip
    docs = load_corpus(str(tmp_path), FileSplit(start_lines=12, target_chars=300))
    assert capsys.readouterr().err == ""
    # lines 21-24; line 51 alone is under MIN_NEW_CHARS; lines 101-140 in two pieces of whole
    # lines within 300 characters; a file training never saw starts from its first lines
    assert [d.doc_id for d in docs] == [
        "a.py@c0ffee00c0ff:21", "a.py@c0ffee00c0ff:101", "a.py@c0ffee00c0ff:121", "b.py@b0b0b0b0b0b0:13",
    ]  # fmt: skip
    assert docs[0].start == "".join(lines[:20]) and docs[0].target == "".join(lines[20:24])
    assert docs[2].start == "".join(lines[:120]) and docs[2].target == "".join(lines[120:140])
    assert docs[3].start == numbered(12) and docs[3].target == numbered(30)[len(numbered(12)) :]
    assert all(len(d.target) <= 300 and len(d.target.strip()) >= MIN_NEW_CHARS for d in docs)


def test_a_file_with_many_new_lines_gives_its_longest_pieces_in_file_order(tmp_path: Path) -> None:
    short = "x = 0\n" * 60  # pieces of 16 lines, 96 characters
    long = "".join(f"value_{i} = '{'v' * 85}'\n" for i in range(60, 100))  # a piece each, 100
    write_holdout(tmp_path, [{"path": "a.py", "commit": "c0ffee00", "text": short + long, "new": [[1, 99]]}])
    docs = load_corpus(str(tmp_path), FileSplit(start_lines=1, target_chars=100))
    firsts = [int(d.doc_id.rsplit(":", 1)[1]) - 1 for d in docs]
    # the longest pieces (the long lines), the first of equals, in file order
    assert firsts == list(range(60, 60 + MAX_PIECES_PER_FILE))
    assert [d.doc_id for d in load_corpus(str(tmp_path), FileSplit(1, 100), limit=3)] == [
        d.doc_id for d in docs[:3]
    ]


def test_a_run_with_many_changed_files_gives_each_files_longest_pieces_in_turn(tmp_path: Path) -> None:
    files = 2 * MAX_RUN_PIECES // MAX_PIECES_PER_FILE  # twice as many pieces as a run keeps
    text = "".join(f"value_{i} = '{'v' * (40 + i)}'\n" for i in range(MAX_PIECES_PER_FILE))
    write_holdout(tmp_path, [
        {"path": f"f{k}.py", "commit": "c0ffee00", "text": "x = 0\n" + text, "new": [[1, MAX_PIECES_PER_FILE]]}
        for k in range(files)
    ])  # fmt: skip
    docs = load_corpus(str(tmp_path), FileSplit(start_lines=1, target_chars=60))
    assert len(docs) == MAX_RUN_PIECES
    per_file = {}
    for d in docs:
        per_file.setdefault(d.doc_id.split("@")[0], []).append(int(d.doc_id.rsplit(":", 1)[1]))
    # every file gives its longest half (the last lines are the longest), in file order
    want = list(range(2 + MAX_PIECES_PER_FILE - MAX_PIECES_PER_FILE // 2, 2 + MAX_PIECES_PER_FILE))
    assert len(per_file) == files and all(lines == want for lines in per_file.values())


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: p / "missing", "corpus not found"),
        (lambda p: (p / "f.txt").write_text("x") and p / "f.txt", "not a file"),
        (lambda p: p, "no usable source files"),
        (lambda p: (p / "holdout.jsonl").write_text("{not json\n") and p, "holdout.jsonl:1"),
        (lambda p: (p / "holdout.jsonl").write_text("") is not None and p, "holds no document"),
        (lambda p: (p / "holdout.jsonl").write_text('{"path": "a", "text": "x\\n", "new": [[3, 1]]}\n')
         and p, "holdout.jsonl:1: `new` must be"),
    ],
)
def test_bad_corpora_are_one_line_user_errors(tmp_path: Path, make, message: str) -> None:
    with pytest.raises(UserError, match=message) as err:
        load_corpus(str(make(tmp_path)))
    assert "\n" not in str(err.value)
