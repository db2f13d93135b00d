import math

import numpy as np
import pytest

from pairterm.gate import gate_length, greedy_token_bits, token_bits, within_budget
from pairterm.postfilter import postfilter
from pairterm.stops import logical_line_indent, structural_cut
from pairterm.words import next_word

SURPRISES = [0.5, 0.25, 1.0, 3.0, 0.1, 2.0]  # running sums 0.5 0.75 1.75 4.75 4.85 6.85


@pytest.mark.parametrize(
    ("eta", "kept"),
    [(0.0, 0), (0.5, 0), (0.51, 1), (1.75, 2), (1.76, 3), (4.75, 3), (4.8, 4), (5.0, 5), (7.0, 6)],
)
def test_gate_stops_before_the_token_that_reaches_eta(eta: float, kept: int) -> None:
    assert gate_length(SURPRISES, eta) == kept


def test_gate_length_is_monotone_in_eta_and_inf_keeps_all() -> None:
    lengths = [gate_length(SURPRISES, eta / 4) for eta in range(0, 40)]
    assert lengths == sorted(lengths)
    assert gate_length(SURPRISES, math.inf) == len(SURPRISES)
    assert not within_budget(0.0, 0.0, 0.0)


def test_greedy_token_bits_on_fixed_logits() -> None:
    # softmax([ln 2, 0, 0]) = [0.5, 0.25, 0.25]: argmax 0 with 1 bit of surprise.
    token, bits = greedy_token_bits(np.array([math.log(2.0), 0.0, 0.0], dtype=np.float32))
    assert token == 0
    assert bits == pytest.approx(1.0, abs=1e-6)


def test_stopping_mass_is_not_counted_as_surprise() -> None:
    # softmax([ln 4, ln 2, ln 2]) = [0.5, 0.25, 0.25]; token 2 ends generation. Without it the
    # text tokens are [2/3, 1/3]: the argmax costs log2(3/2) bits, not 1 bit.
    logits = np.array([math.log(4.0), math.log(2.0), math.log(2.0)], dtype=np.float32)
    eog = np.array([2])
    assert greedy_token_bits(logits)[1] == pytest.approx(1.0, abs=1e-6)
    assert greedy_token_bits(logits, eog) == (0, pytest.approx(math.log2(1.5), abs=1e-6))
    assert token_bits(logits, 1) == pytest.approx(2.0, abs=1e-6)
    assert token_bits(logits, 1, eog) == pytest.approx(math.log2(3.0), abs=1e-6)
    # however sure the model is to stop, the text tokens keep their proportions
    sure = np.array([0.0, -1.0, 30.0], dtype=np.float32)
    assert token_bits(sure, 0, eog) == pytest.approx(math.log2(1 + math.exp(-1)), abs=1e-5)


def test_structural_stop_at_dedent() -> None:
    cut = structural_cut("    x = 1", "\n    y = 2\nprint(y)")
    assert cut == (10, "indent")
    assert "\n    y = 2\nprint(y)"[: cut[0]] == "\n    y = 2"


def test_structural_stop_waits_for_visible_text_on_a_new_line() -> None:
    assert structural_cut("    x = 1", "\n    y = 2\n") is None
    assert structural_cut("    x = 1", "\n    y = 2\n  ") is None


def test_structural_stop_at_blank_line_after_content() -> None:
    text = "\n    return a + b\n\ndef sub(a, b):"
    cut = structural_cut("def add(a, b):", text)
    assert cut is not None and cut[1] in ("blank_line", "indent")
    assert text[: cut[0]] == "\n    return a + b"


def test_structural_stop_at_markdown_fence() -> None:
    assert structural_cut("x = 1", "\n```\nmore") == (1, "fence")


def test_continuation_line_uses_the_logical_line_indent() -> None:
    before = "def f(a,\n        b):"
    base = logical_line_indent(before)
    assert base == 0
    assert structural_cut("        b):", "\n    return a", base) is None
    # Without the logical indent the body would look like a dedent.
    assert structural_cut("        b):", "\n    return a") == (0, "indent")


def test_logical_line_indent_ignores_brackets_in_strings_and_comments() -> None:
    assert logical_line_indent("    s = '(' # (\n    t = 1") == 4
    assert logical_line_indent("x = 1\n    ") is None


def test_postfilter_mid_line_only_before_closing_punctuation() -> None:
    assert postfilter("a, b)\nmore", "f(", ")") == ("a, b", None)
    assert postfilter("anything", "x = ", "foo(bar)")[0] == ""
    assert postfilter("anything", "x = ", "foo(bar)")[1] == "mid_line"


def test_postfilter_drops_repeats_of_following_text_and_next_line() -> None:
    assert postfilter("\n    return x", "", "\n    return x")[1] == "repeat"
    assert postfilter("\n    return x", "", "\n\n    return x\n")[1] == "repeat"
    assert postfilter("\n    return y", "", "\n\n    return x\n") == ("\n    return y", None)


def test_postfilter_whitespace_only_is_nothing() -> None:
    assert postfilter("\n   \n", "x", "") == ("", "empty")


@pytest.mark.parametrize(
    ("ghost", "word"),
    [("foo(bar)", "foo"), ("(bar)", "("), (" bar baz", " bar"), ("\n    return", "\n    ")],
)
def test_next_word(ghost: str, word: str) -> None:
    assert next_word(ghost) == word


@pytest.mark.parametrize(
    ("piece", "remaining", "ok"),
    [("\n", "\n    ", True), ("   ", "\n    ", False), ("\n    ", "\n    ", True),
     (" return", " ", True), ("  x", " ", False), ("\n\tif", "\n\t", True), ("", " ", False),
     ("return", " ", False)],
)
def test_heal_consistency(piece: str, remaining: str, ok: bool) -> None:
    from pairterm.gate import heal_consistent

    assert heal_consistent(piece, remaining) is ok


def test_token_bits_matches_greedy_for_the_argmax() -> None:
    from pairterm.gate import token_bits

    logits = np.array([0.3, 2.0, -1.0, 0.5], dtype=np.float32)
    token, bits = greedy_token_bits(logits)
    assert token_bits(logits, token) == pytest.approx(bits, abs=1e-6)
    assert token_bits(logits, 2) > bits


def test_a_suggestion_stops_before_it_writes_the_next_line_again() -> None:
    after = "\n    return total / count\n"
    text, _ = postfilter("count = len(values)\n    return total / count", "    ", after)
    assert text == "count = len(values)"
    kept, _ = postfilter("count = len(values)\n    mean = total", "    ", after)
    assert kept == "count = len(values)\n    mean = total"
