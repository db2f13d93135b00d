"""The environment's counting and the metrics, on hand-made sessions with known proposals.

Tokens are characters here (CharTokens), so every expected number below is worked out by hand.
"""

from __future__ import annotations

import math

import pytest

from pairterm.evaluation.corpus import Document
from pairterm.evaluation.env import ReplayHuman, Rules, match_length, run_session
from pairterm.evaluation.metrics import DocumentResult, dpr, mean_se, summarize
from tests.pairterm.evaluation.scripted import CharTokens, ScriptedAssistant

DOC = Document(doc_id="d", start="S:", target="abcdefghij")


def play(proposals: list[str], doc: Document = DOC, **rules: object) -> tuple[DocumentResult, str, ScriptedAssistant]:
    r = Rules(**{"human_tokens": 3, **rules})  # type: ignore[arg-type]
    assistant = ScriptedAssistant(proposals)
    result, final = run_session(doc, assistant, ReplayHuman(CharTokens(), r), CharTokens(), r)
    return result, final, assistant


def test_accept_reject_and_nothing_are_counted_round_by_round() -> None:
    # Round 1: "abc" is the next text -> accepted, then the human types "def".
    # Round 2: "xyz" is wrong -> rejected, the human types "ghi".
    # Round 3: nothing shown, the human types "j" and the text is complete.
    result, final, assistant = play(["abc", "xyz", ""])
    assert assistant.seen == ["S:", "S:abcdef", "S:abcdefghi"]
    assert final == "S:abcdefghij"
    assert (result.rounds, result.proposed, result.accepted) == (3, 2, 1)
    assert (result.tokens_read, result.tokens_written) == (6, 7)
    assert (result.chars_accepted, result.chars_typed) == (3, 7)
    assert result.correct and result.end == "complete"
    m = result.metrics()
    assert m["accept_ratio"] == 0.5
    assert m["dpr"] == pytest.approx(0.999 ** (0.1 * 6 + 0.5 * 7))
    assert m["accepted_char_share"] == pytest.approx(0.3)
    assert m["suggestions_per_100_chars"] == pytest.approx(20.0)
    assert m["mean_suggestion_chars"] == 3.0


def test_accepting_the_rest_finishes_without_typing() -> None:
    result, final, _ = play(["abcdefghij"])
    assert final == "S:abcdefghij"
    assert (result.rounds, result.accepted, result.tokens_written, result.chars_typed) == (1, 1, 0, 0)
    assert result.metrics()["accepted_char_share"] == 1.0
    assert result.metrics()["dpr"] == pytest.approx(0.999 ** (0.1 * 10))


def test_a_suggestion_that_overshoots_the_text_is_rejected() -> None:
    result, _, _ = play(["abcdefghijk"])
    assert (result.proposed, result.accepted) == (1, 0)


def test_round_cap_ends_the_session_unfinished_with_dpr_zero() -> None:
    result, final, assistant = play([], max_rounds=2)
    assert final == "S:abcdef"
    assert (result.rounds, result.tokens_written) == (2, 6)
    assert result.end == "round_cap" and not result.correct
    assert result.metrics()["dpr"] == 0.0
    assert len(assistant.seen) == 2


def test_empty_and_whitespace_proposals_are_not_shown() -> None:
    result, _, _ = play(["", "   ", "\n"])
    assert (result.proposed, result.tokens_read) == (0, 0)
    m = result.metrics()
    assert m["accept_ratio"] is None and m["mean_suggestion_chars"] is None
    assert m["dpr"] == pytest.approx(0.999 ** (0.5 * 10))


def test_lenient_whitespace_ignores_trailing_spaces_only_when_asked() -> None:
    doc = Document(doc_id="w", start="", target="x = 1  \ny = 2\nz\n")
    strict, _, _ = play(["x = 1\ny = 2"], doc)
    assert strict.accepted == 0
    lenient, final, _ = play(["x = 1\ny = 2"], doc, lenient_whitespace=True)
    assert lenient.accepted == 1
    # The accepted span is the human's own text, trailing spaces included.
    assert lenient.chars_accepted == len("x = 1  \ny = 2")
    assert final == doc.target and lenient.correct


def test_match_length_cases() -> None:
    assert match_length("ab\n  ", "ab\n  c") == 5
    assert match_length("ab\n c", "ab\n  c") is None
    assert match_length("a \nb", "a\nbc", lenient=True) == 3
    assert match_length("a\nc", "a\nbc", lenient=True) is None
    assert match_length("a\nb", "a", lenient=True) is None
    assert match_length("", "abc") is None


def test_dpr_arithmetic_on_fixed_numbers() -> None:
    assert dpr(True, 0, 0) == 1.0
    assert dpr(True, 100, 20) == pytest.approx(0.999**20)  # 0.1*100 + 0.5*20 = 20
    assert dpr(True, 100, 20) == pytest.approx(0.980189, abs=1e-6)
    assert dpr(False, 0, 0) == 0.0
    # Reading costs a fifth of writing: 10 tokens read = 2 tokens written.
    assert dpr(True, 10, 0) == pytest.approx(dpr(True, 0, 2))


def test_mean_and_standard_error() -> None:
    mean, se, n = mean_se([1.0, 0.0, 1.0, 0.0])
    assert (mean, n) == (0.5, 4)
    assert se == pytest.approx(math.sqrt((1 / 3) / 4))
    assert mean_se([0.7, None]) == (0.7, None, 1)
    assert mean_se([]) == (None, None, 0)


def test_summary_skips_documents_without_suggestions_for_accept_ratio() -> None:
    a = DocumentResult("a", rounds=2, proposed=4, accepted=1, tokens_read=10, tokens_written=10,
                       suggestion_chars=40, chars_accepted=10, chars_typed=30, correct=True)  # fmt: skip
    b = DocumentResult("b", rounds=1, proposed=0, tokens_written=5, chars_typed=20, correct=False)
    s = summarize([a, b], wall_s=30.0)
    assert s["n_documents"] == 2
    assert s["accept_ratio"] == 0.25 and s["accept_ratio_se"] is None and s["accept_ratio_n"] == 1
    assert s["dpr"] == pytest.approx((0.999 ** (1 + 5)) / 2)
    assert s["pass_at_1"] == 0.5 and s["pass_at_1_se"] == pytest.approx(0.5)
    assert s["accepted_char_share"] == pytest.approx((0.25 + 0.0) / 2)
    assert s["documents_per_minute"] == pytest.approx(4.0)


def test_paired_difference_matches_documents_by_id() -> None:
    from pairterm.evaluation.metrics import paired_difference

    ref = [{"doc_id": "a", "dpr": 0.5}, {"doc_id": "b", "dpr": 0.7}, {"doc_id": "c", "dpr": None}]
    row = [{"doc_id": "b", "dpr": 0.8}, {"doc_id": "a", "dpr": 0.7}, {"doc_id": "c", "dpr": 0.9}]
    mean, se, n = paired_difference(row, ref, "dpr")
    assert n == 2  # c has no reference value
    assert mean == pytest.approx(0.15)
    assert se == pytest.approx(math.sqrt(((0.05**2) * 2 / 1) / 2))
