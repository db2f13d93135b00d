"""The pure labeling core on fixed, hand-computed numbers."""

from __future__ import annotations

import math
import random

import pytest

from pairterm.errors import UserError
from training import labels
from training.labels import Method, completion_length, empower_length, parse_method
from training.prompt_form import PrefixForm

# surprises of the human's next tokens, bits; prefix sums: 1.0, 3.0, 3.5, 6.5, 6.75
SURPRISES = [1.0, 2.0, 0.5, 3.0, 0.25]


@pytest.mark.parametrize(
    ("eta", "expected"),
    [
        (0.0, 0),  # η = 0: nothing is ever predictable enough
        (1.0, 0),  # c(1) = 1.0 is not < 1.0: the first token already reaches η
        (1.01, 1),
        (3.0, 1),  # c(2) = 3.0 reaches η exactly
        (3.25, 2),
        (3.5, 2),  # c(3) = 3.5 reaches η exactly
        (3.51, 3),
        (6.6, 4),
        (6.75, 4),
        (6.76, 5),  # no prefix sum reaches η: all the rest
        (math.inf, 5),
    ],
)
def test_empower_length_is_the_longest_prefix_below_eta(eta: float, expected: int) -> None:
    assert empower_length(SURPRISES, eta) == expected


def test_empower_length_of_nothing_left_is_zero() -> None:
    assert empower_length([], 4.0) == 0


def test_empower_length_stops_at_the_first_crossing_even_if_later_tokens_are_free() -> None:
    # a surprising token in the middle ends the completion, however cheap what follows is
    assert empower_length([0.1, 9.0, 0.0, 0.0, 0.0], 4.0) == 1


def test_empower_length_grows_with_eta() -> None:
    lengths = [empower_length(SURPRISES, eta) for eta in (0, 0.5, 1.5, 3.2, 4, 7, 100)]
    assert lengths == sorted(lengths)
    assert lengths == [0, 0, 1, 2, 3, 5, 5]


def test_sft_lengths_take_n_tokens_or_what_is_left() -> None:
    rng = random.Random(0)
    ten = parse_method("sft-10")
    assert completion_length(ten, [9.0] * 30, 0.0, rng, cap=128) == 10  # surprise is ignored
    assert completion_length(ten, [0.0] * 4, 0.0, rng, cap=128) == 4
    assert completion_length(parse_method("sft-20"), [1.0] * 25, 0.0, rng, cap=16) == 16


def test_next_n_is_sft_n_without_a_learned_stop() -> None:
    rng = random.Random(0)
    nxt, sft = parse_method("next-20"), parse_method("sft-20")
    assert (nxt.fixed, nxt.stops, sft.stops) == (20, False, True)
    assert completion_length(nxt, [9.0] * 30, 0.0, rng, cap=128) == 20
    assert completion_length(nxt, [0.0] * 4, 0.0, rng, cap=128) == 4
    with pytest.raises(UserError, match="next-N"):
        parse_method("next-0")


def test_a_prefix_example_stops_only_where_the_text_ends_for_next_n() -> None:
    form = PrefixForm(context=8, stop_id=99, prefix_ids=[1])
    ids = list(range(10, 40))
    assert form.example(0, ids, 5, 20).completion_ids == [*ids[5:25], 99]
    open_ended = form.example(0, ids, 5, 20, stop=False)
    assert open_ended.completion_ids == ids[5:25] and not open_ended.stopped
    at_end = form.example(0, ids, 25, 5, stop=False)  # the file ends after these five tokens
    assert at_end.completion_ids == [*ids[25:], 99] and at_end.stopped


def test_empower_length_respects_the_cap() -> None:
    rng = random.Random(0)
    assert completion_length(Method("empower"), [0.0] * 50, 1.0, rng, cap=12) == 12
    assert completion_length(Method("empower"), SURPRISES, 3.25, rng, cap=128) == 2


def test_sft_rand_draws_1_to_30_once_per_state_and_clips_to_what_is_left() -> None:
    method = parse_method("sft-rand")
    draws = [
        completion_length(method, [0.0] * 100, 0.0, random.Random(s), cap=128) for s in range(400)
    ]
    assert set(draws) == set(range(1, 31))
    # the same seed gives the same lengths; a short remainder clips them
    again = [
        completion_length(method, [0.0] * 100, 0.0, random.Random(s), cap=128) for s in range(400)
    ]
    assert draws == again
    short = [
        completion_length(method, [0.0] * 3, 0.0, random.Random(s), cap=128) for s in range(400)
    ]
    assert set(short) == {1, 2, 3}


def test_other_methods_do_not_consume_randomness() -> None:
    rng = random.Random(7)
    before = rng.getstate()
    completion_length(parse_method("empower"), SURPRISES, 3.0, rng, cap=128)
    completion_length(parse_method("sft-10"), SURPRISES, 3.0, rng, cap=128)
    assert rng.getstate() == before


@pytest.mark.parametrize("bad", ["sft", "sft-0", "sft--3", "empowerment", "rand", ""])
def test_parse_method_rejects_unknown_methods(bad: str) -> None:
    with pytest.raises(UserError, match="--method"):
        parse_method(bad)


def test_parse_method_accepts_any_sft_n() -> None:
    assert parse_method("SFT-7") == Method("sft-7", fixed=7)
    assert parse_method("empower") == Method("empower")


def test_states_are_distinct_inside_the_document_and_never_at_its_end() -> None:
    rng = random.Random(3)
    states = labels.sample_states(40, 10, 8, rng)
    assert len(states) == len(set(states)) == 10
    assert states == sorted(states)
    assert all(8 <= n <= 39 for n in states)
    assert labels.sample_states(9, 5, 8, rng) == [8]  # only one usable state
    assert labels.sample_states(8, 5, 8, rng) == []


def test_states_for_scales_with_density() -> None:
    assert labels.states_for(8 + 320, 1 / 32, 8) == 10
    assert labels.states_for(8 + 3, 1 / 32, 8) == 1  # at least one
    assert labels.states_for(8, 1 / 32, 8) == 0  # too short for any state
    assert labels.states_for(8 + 5, 1.0, 8) == 5  # never more than there are positions


def test_label_stats_histogram_and_empty_share() -> None:
    stats = labels.label_stats([0, 0, 1, 3, 5, 40, 64, 200])
    assert stats["empty_share"] == 0.25
    assert stats["mean_length"] == (0 + 0 + 1 + 3 + 5 + 40 + 64 + 200) / 8
    assert stats["max_length"] == 200
    assert stats["length_histogram"] == {
        "0": 2, "1": 1, "2-3": 1, "4-7": 1, "8-15": 0, "16-31": 0, "32-63": 1, "64+": 2,
    }  # fmt: skip


def test_label_stats_of_nothing() -> None:
    assert labels.label_stats([])["empty_share"] == 0.0


def test_learning_rate_warms_up_then_decays_to_zero() -> None:
    lrs = [labels.lr_at(s, 10, 1.0, 2) for s in range(10)]
    assert lrs[:2] == [0.5, 1.0]
    assert lrs[2] == 1.0
    assert lrs[9] == pytest.approx(1 / 8)
    assert all(a >= b for a, b in zip(lrs[1:], lrs[2:], strict=False))
