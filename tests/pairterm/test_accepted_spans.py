from pairterm.editor.accepted_spans import AcceptedSpans, end_of_insert, move_point


def test_end_of_insert() -> None:
    assert end_of_insert((2, 4), "abc") == (2, 7)
    assert end_of_insert((2, 4), "ab\ncde") == (3, 3)


def test_move_point_before_inside_and_after_an_edit() -> None:
    top, bottom = (1, 2), (1, 5)
    assert move_point((1, 1), top, bottom, "XY") == (1, 1)
    assert move_point((1, 3), top, bottom, "XY") == (1, 4)
    assert move_point((1, 8), top, bottom, "XY") == (1, 7)
    assert move_point((3, 0), top, bottom, "X\nY") == (4, 0)


def test_deleting_recently_accepted_text_is_counted() -> None:
    spans = AcceptedSpans(keep_seconds=30)
    spans.add((0, 4), "return x", when=100.0, suggestion_id=7)  # occupies (0,4)..(0,12)
    # Typing before the span shifts it right by 2.
    assert spans.apply_edit((0, 0), (0, 0), "ab", "", now=101) == (0, None)
    # Delete 3 characters straddling the span's start (0,6): one before, two inside.
    assert spans.apply_edit((0, 5), (0, 8), "", "xre", now=102) == (2, 7)
    # Too late: text accepted more than keep_seconds ago no longer counts.
    assert spans.apply_edit((0, 5), (0, 7), "", "tu", now=200) == (0, None)
