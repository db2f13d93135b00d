"""Where the typing benchmark has the person type: the cross-file regions, on projects the test
writes."""

from __future__ import annotations

import random
import sys
from pathlib import Path

# benchmarks/ is a folder of scripts; appended, so that its typing.py does not shadow `typing`
sys.path.append(str(Path(__file__).resolve().parents[2] / "benchmarks"))

from typing_regions import cross_file_regions, pick_regions, project_names, region_at  # noqa: E402

SHAPES = '''class Region:
    def __init__(self, x, y):
        self.x, self.y = x, y

    def grow_by(self, margin):
        return Region(self.x - margin, self.y - margin)
'''

FILLER = "".join(f"local_{i} = {i}\n" for i in range(120))

LAYOUT = (
    "from shapes import Region\n\n"
    + FILLER
    + "area = Region(1, 2)\n"  # Region is imported far above: out of the window
    + "bigger = area.grow_by(margin=3)\n"  # a method and a parameter of another file
    + "total = local_1 + local_2\n"  # this file's own names only
    + "'''A docstring that mentions grow_by and margin.'''\n"
)


def write_project(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "shapes.py").write_text(SHAPES)
    layout = tmp_path / "layout.py"
    layout.write_text(LAYOUT)
    return tmp_path / "shapes.py", layout


def test_only_statements_reading_a_name_the_prompt_cannot_show_are_chosen(tmp_path: Path) -> None:
    shapes, layout = write_project(tmp_path)
    outside = project_names([shapes, layout], layout)
    assert {"Region", "grow_by", "margin"} <= outside and "local_1" not in outside
    spans = cross_file_regions(LAYOUT, outside, 10, 10_000, random.Random(0),
                               window_chars=200, suffix_chars=20)
    targets = [region_at(LAYOUT, first, last).target for first, last in spans]
    assert targets == ["area = Region(1, 2)", "bigger = area.grow_by(margin=3)"]


def test_a_name_the_window_still_holds_does_not_make_a_region(tmp_path: Path) -> None:
    shapes, layout = write_project(tmp_path)
    outside = project_names([shapes, layout], layout)
    # a window over the whole file holds the import of Region and the uses after it
    spans = cross_file_regions(LAYOUT, outside, 10, 10_000, random.Random(0),
                               window_chars=100_000, suffix_chars=100_000)
    assert spans == []


def test_a_region_longer_than_its_share_of_the_keystrokes_is_not_chosen(tmp_path: Path) -> None:
    shapes, layout = write_project(tmp_path)
    outside = project_names([shapes, layout], layout)

    def pick(chars: int) -> list[str]:
        spans = cross_file_regions(LAYOUT, outside, 1, chars, random.Random(5),
                                   window_chars=200, suffix_chars=20)
        return [region_at(LAYOUT, first, last).target for first, last in spans]

    assert len(pick(1000)) == 1
    assert pick(20) == ["area = Region(1, 2)"]  # 19 keystrokes; the other statement needs 31


def test_short_names_and_attributes_set_on_self_count(tmp_path: Path) -> None:
    (tmp_path / "store.py").write_text(
        "class Store:\n    def __init__(self):\n        self.db = None\n        self.rows = []\n")
    user = tmp_path / "user.py"
    text = "db = 1\n" + FILLER + "first = handle.rows[0]\nx = handle.db\n"
    user.write_text(text)
    outside = project_names([tmp_path / "store.py", user], user)
    assert {"db", "rows"} <= outside
    spans = cross_file_regions(text, outside, 10, 10_000, random.Random(0),
                               window_chars=200, suffix_chars=20)
    # `rows` only the other file sets; `db` this file assigns itself
    assert [region_at(text, a, b).target for a, b in spans] == ["first = handle.rows[0]"]


def test_regions_within_given_lines_stay_inside_them() -> None:
    text = "".join(
        f"def f{i}(a, b):\n    c = a + b\n    d = c * {i}\n    return d - a\n\n\n" for i in range(30)
    )
    within = [[24, 33], [90, 101]]  # f4 and f5; f15 and f16
    for seed in range(20):
        spans = pick_regions(text, 3, 600, random.Random(seed), within)
        assert spans, seed
        for first, last in spans:
            assert any(a <= first and last <= b for a, b in within), (seed, first, last)
    everywhere = {s for seed in range(20) for s in pick_regions(text, 3, 600, random.Random(seed))}
    assert any(first > 101 for first, _ in everywhere)  # without `within`, anywhere
