"""SuggestionSource: a cancelled call's text answers the next request when the person typed the
start of it (the model is slower than the typing), and only then."""

from __future__ import annotations

from pairterm.config import EngineConfig
from pairterm.project_context import ContextFile
from pairterm.suggestion import Suggestion
from pairterm.suggestion_source import SuggestionSource

BEFORE = "def total(values):\n    result"
AFTER = "\n    return result\n"


class Engine:
    """Cancelled after `decoded` at the first call; answers "" at `eta` stop afterwards."""

    def __init__(self, decoded: str) -> None:
        self.config = EngineConfig(eta=4.0)
        self.decoded = decoded
        self.calls: list[tuple[str, float | None]] = []

    def suggest(self, before: str, after: str = "", cancelled=None, *, eta=None, **_: object) -> Suggestion:  # type: ignore[no-untyped-def]
        self.calls.append((before, eta))
        if len(self.calls) == 1:
            return Suggestion("", 3, 1.5, "cancelled", 150.0, partial=self.decoded, prompt_tokens=40)
        return Suggestion("", 0, 0.0, "eta", 20.0, prompt_tokens=40)


def test_typing_the_start_of_a_cancelled_suggestion_gets_the_rest_without_the_model() -> None:
    engine = Engine(" = sum(values)")
    source = SuggestionSource(engine)  # type: ignore[arg-type]
    first = source.suggest(BEFORE, AFTER, lambda: True)
    assert (first.text, first.stop_reason) == ("", "cancelled")
    rest = source.suggest(BEFORE + " =", AFTER)
    assert rest.text == " sum(values)" and rest.cached and len(engine.calls) == 1
    # a cut suggestion: the prefetch continues it with what the gate left of η
    assert rest.stop_reason == "time"
    source.follow_up(BEFORE + " =", AFTER, rest)
    assert engine.calls[-1] == (BEFORE + " = sum(values)", 4.0 - 1.5)


def test_the_same_place_again_gets_the_whole_cancelled_text() -> None:
    engine = Engine(" = sum(values)")
    source = SuggestionSource(engine)  # type: ignore[arg-type]
    source.suggest(BEFORE, AFTER, lambda: True)
    assert source.suggest(BEFORE, AFTER).text == " = sum(values)"


def test_typing_something_else_asks_the_model() -> None:
    engine = Engine(" = sum(values)")
    source = SuggestionSource(engine)  # type: ignore[arg-type]
    source.suggest(BEFORE, AFTER, lambda: True)
    for before, after in ((BEFORE + " +", AFTER), (BEFORE + " = sum(values)", AFTER),
                          (BEFORE + " =", AFTER + "# changed\n"), (BEFORE[1:] + " =", AFTER)):
        answer = source.suggest(before, after)
        assert not answer.cached and engine.calls[-1][0] == before


def test_other_project_files_make_the_cancelled_text_stale() -> None:
    engine = Engine(" = sum(values)")
    source = SuggestionSource(engine)  # type: ignore[arg-type]
    source.suggest(BEFORE, AFTER, lambda: True)
    source.set_context([ContextFile("util.py", "def sum(xs): ...\n")], "main.py")
    assert not source.suggest(BEFORE + " =", AFTER).cached
    assert len(engine.calls) == 2


def test_a_cancelled_prefetch_serves_the_request_after_acceptance_within_its_eta() -> None:
    # cancelled at a prefetch's reduced η (1.5 bits spent of 4); its text cost 1.5 bits
    engine = Engine(" = sum(values)")
    source = SuggestionSource(engine)  # type: ignore[arg-type]
    source.suggest(BEFORE, AFTER, lambda: True, eta=2.5)
    assert source.suggest(BEFORE + " = ", AFTER).text == "sum(values)"  # at full η
    assert len(engine.calls) == 1
    # a request whose η the text's surprise does not stay under asks the model
    assert not source.suggest(BEFORE + " = ", AFTER, eta=1.5).cached


def test_what_is_left_is_dropped_when_it_repeats_the_code_after_the_cursor() -> None:
    engine = Engine(" = 0\n    return")  # whole, it adds a line; its end alone restates `return result`
    source = SuggestionSource(engine)  # type: ignore[arg-type]
    source.suggest(BEFORE, AFTER, lambda: True)
    assert source.suggest(BEFORE + " =", AFTER).text == " 0\n    return"
    answer = source.suggest(BEFORE + " = 0\n    ", AFTER)
    assert not answer.cached and engine.calls[-1][0] == BEFORE + " = 0\n    "
