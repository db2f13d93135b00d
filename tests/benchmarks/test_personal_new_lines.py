"""benchmarks/personal.py types only what the held-out commits wrote."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parents[2] / "benchmarks"))

from personal import held_out_python, new_chars  # noqa: E402


def test_typed_files_are_held_out_python_with_new_lines_and_carry_them(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    rows = [
        {"path": "pkg/a.py", "commit": "c1", "text": "x = 1\ny = 2\nz = 3\n", "new": [[1, 2]]},
        {"path": "pkg/a.py", "commit": "c0", "text": "x = 1\ny = 2\n", "new": []},  # older version
        {"path": "pkg/bad.py", "commit": "c1", "text": "def (:\n", "new": [[0, 0]]},  # does not parse
        {"path": "README.md", "commit": "c1", "text": "# hi\n", "new": [[0, 0]]},
        {"path": "pkg/old.py", "commit": "c1", "text": "a = 1\nb = 2\n"},  # a run from before spans
    ]
    (run / "holdout.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    files = held_out_python(run, tmp_path / "py")
    assert {p.name: spans for p, spans in files.items()} == {
        "000_a.py": [[1, 2]], "004_old.py": [[0, 2]],
    }  # fmt: skip
    a = tmp_path / "py" / "000_a.py"
    assert a.read_text() == rows[0]["text"] and new_chars(a, files[a]) == len("y = 2\nz = 3\n")
