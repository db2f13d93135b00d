"""The engine against the real llama.cpp and the real default GGUF."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from pairterm.config import EngineConfig
from pairterm.engine import Engine, prompt_window
from pairterm.errors import UserError

PROMPT = "import os\n\n\ndef list_python_files(directory):\n    result = []\n    for name in os.listdir(directory):\n"


def test_suggestion_stays_under_eta_and_grows_with_it(real_engine: Engine) -> None:
    lengths = []
    for eta in (0.0, 1.0, 3.0, 6.0, 12.0, math.inf):
        s = real_engine.suggest(PROMPT, "", eta=eta, max_tokens=24)
        assert s.total_bits < eta or (eta == 0 and s.tokens == 0)
        assert s.total_bits == pytest.approx(sum(s.token_bits), abs=1e-6)
        lengths.append(s.tokens)
        if eta == 0:
            assert s.text == "" and s.stop_reason == "eta"
    assert lengths == sorted(lengths)
    assert lengths[-1] > 0


def test_gate_stop_reason_and_sum_match_a_bare_decode(real_engine: Engine) -> None:
    free = real_engine.suggest(PROMPT, "", eta=math.inf, max_tokens=16)
    eta = free.token_bits[0] + free.token_bits[1] + 1e-3 if len(free.token_bits) > 1 else 1.0
    gated = real_engine.suggest(PROMPT, "", eta=eta, max_tokens=16)
    assert gated.token_bits == pytest.approx(free.token_bits[: gated.tokens], abs=1e-3)
    if gated.tokens < free.tokens:
        assert gated.stop_reason in ("eta", "indent", "blank_line", "fence", "repeat")


def test_mid_line_before_code_proposes_nothing_without_calling_the_model(real_engine: Engine) -> None:
    s = real_engine.suggest("x = ", "compute(1)\n")
    assert (s.text, s.stop_reason, s.prompt_tokens) == ("", "mid_line", 0)


def test_prefix_cache_is_reused_from_keystroke_to_keystroke(real_engine: Engine) -> None:
    real_engine.suggest(PROMPT, "")
    s = real_engine.suggest(PROMPT + "        if", "")
    assert s.prompt_tokens > 20
    assert s.prefill_tokens <= 4


def test_cancelled_decode_returns_nothing(real_engine: Engine) -> None:
    s = real_engine.suggest(PROMPT + "  ", "", cancelled=lambda: True)
    assert s.text == "" and s.stop_reason == "cancelled"


def test_a_cancel_mid_decode_stops_at_once_shows_nothing_and_keeps_the_text(
    real_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pairterm.engine as engine_module

    free = real_engine.suggest(PROMPT, "", eta=math.inf, max_tokens=20)
    assert free.text and free.tokens >= 8  # uncancelled, this decode runs on well past k
    k = 3
    evals: list[int] = []  # tokens per llama.eval call: prefill chunks and decode steps
    at_cancel: list[int] = []  # len(evals) when the person typed again
    real_eval, real_pick = real_engine.llama.eval, engine_module.greedy_token_bits

    def counting_eval(ids: list[int]) -> None:
        real_eval(ids)
        evals.append(len(ids))

    def pick_then_type(logits, eog_ids):  # noqa: ANN001, ANN202
        picked = real_pick(logits, eog_ids)
        if len(at_cancel) == 0 and evals.count(1) == k:  # the person types while token k+1 is chosen
            at_cancel.append(len(evals))
        return picked

    monkeypatch.setattr(real_engine.llama, "eval", counting_eval)
    monkeypatch.setattr(engine_module, "greedy_token_bits", pick_then_type)
    s = real_engine.suggest(PROMPT, "", lambda: bool(at_cancel), eta=math.inf, max_tokens=20)
    assert at_cancel, "the decode never reached k tokens"
    # the token chosen when the person typed is not evaluated: that would cost a token's time
    assert len(evals) == at_cancel[0], f"{len(evals) - at_cancel[0]} evaluations after the cancel"
    assert (s.text, s.stop_reason) == ("", "cancelled")
    # what it had decoded is kept for the next request, not shown
    assert s.partial.strip() and free.text.startswith(s.partial)


def test_prompt_window_start_moves_in_coarse_steps() -> None:
    text = "".join(f"line {i}\n" for i in range(2000))
    starts = {len(text[:n]) - len(prompt_window(text[:n], 3000, 1000)) for n in range(9000, 9900, 7)}
    assert len(starts) <= 2
    assert all(len(prompt_window(text[:n], 3000, 1000)) <= 3000 for n in range(5000, 9000, 333))


@pytest.mark.parametrize(
    ("content", "needle"),
    [(None, "not found"), (b"not a model", "not a GGUF"), (b"GGUF\x03\x00\x00\x00truncated", "could not load")],
)
def test_bad_model_files_are_one_line_user_errors(tmp_path: Path, content: bytes | None, needle: str) -> None:
    path = tmp_path / "model.gguf"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(UserError, match=needle) as info:
        Engine(EngineConfig(model=path))
    assert "\n" not in str(info.value)


def test_typed_indentation_is_continued_not_repeated(real_engine: Engine) -> None:
    s = real_engine.suggest("def add(a, b):\n    ", "", eta=math.inf, max_tokens=8)
    assert s.text and not s.text[0].isspace()
    s = real_engine.suggest("import os\nx = ", "", eta=math.inf, max_tokens=8)
    assert s.text and not s.text.startswith(" ")


def test_non_ascii_text_survives_token_boundaries(real_engine: Engine) -> None:
    s = real_engine.suggest('GREETINGS = ["héllo", "grüße", "привет", "', "", eta=math.inf, max_tokens=12)
    assert "\ufffd" not in s.text
    s.text.encode("utf-8")


def test_an_empty_document_proposes_nothing_and_leaves_the_engine_working(real_engine: Engine) -> None:
    before = real_engine.suggest(PROMPT, "", eta=math.inf, max_tokens=6)
    assert real_engine.suggest("", "").text == ""
    after = real_engine.suggest(PROMPT, "", eta=math.inf, max_tokens=6)
    assert after.text == before.text and after.text


def test_token_counts_cover_only_the_text_shown(real_engine: Engine) -> None:
    s = real_engine.suggest("def add(a, b):\n    return a +", "", eta=math.inf, max_tokens=12)
    assert s.stop_reason in ("blank_line", "indent", "eos")
    shown = real_engine.tokenize(s.text, add_bos=False)
    assert s.tokens <= len(shown) + 1


def test_the_decode_time_budget_stops_a_long_suggestion_early(real_engine: Engine) -> None:
    full = real_engine.suggest(PROMPT, "", eta=math.inf, max_tokens=24)
    cut = real_engine.suggest(PROMPT, "", eta=math.inf, max_tokens=24, max_decode_ms=1)
    assert full.tokens > 2
    assert cut.stop_reason == "time" and 1 <= cut.tokens < full.tokens
    assert full.text.startswith(cut.text)


def test_a_partial_word_is_completed_with_the_token_the_model_prefers(real_engine: Engine) -> None:
    # Ending the prompt inside a word would make the model continue as if the part were whole;
    # token healing backs up and lets it write the word again, so typing the first letters of
    # what it would propose gives the rest of the same word.
    start = PROMPT + "        path = os."
    whole = real_engine.suggest(start, "", eta=math.inf, max_tokens=4)
    word = whole.text.split(".")[0].split("(")[0]
    assert len(word) >= 3, whole.text
    partial = real_engine.suggest(start + word[:2], "", eta=math.inf, max_tokens=4)
    assert partial.text.startswith(word[2:])
    assert real_engine.detokenize(real_engine.last_prompt).endswith("os.")  # backed up


def test_a_suggestion_cut_by_time_shows_whole_lines_only(
    real_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    import itertools

    import pairterm.engine

    before = "import os\nimport sys\n"
    full = real_engine.suggest(before, "", eta=math.inf, max_tokens=24)
    first_line = full.text.split("\n", 1)[0]
    assert full.text.count("\n") >= 2
    engaged = False
    for budget_ms in range(1, 30):
        ticks = itertools.count()  # a clock that moves 1 ms each time it is read
        monkeypatch.setattr(pairterm.engine.time, "perf_counter",
                            lambda ticks=ticks: next(ticks) / 1000)
        cut = real_engine.suggest(before, "", eta=math.inf, max_tokens=24, max_decode_ms=budget_ms)
        monkeypatch.undo()
        assert full.text.startswith(cut.text)
        if cut.stop_reason == "time" and len(cut.text) >= len(first_line):
            engaged = True
            # past the first line it ends where a line ends, never inside one
            assert full.text[len(cut.text)] == "\n"
    assert engaged


def test_score_agrees_with_the_gate_and_learns_from_repetition(real_engine: Engine) -> None:
    line = "    total = compute_the_total(items, discount=0.25)\n"
    rows = real_engine.score(line * 3)
    assert rows.shape[1] == 3
    assert len(rows) == len(real_engine.tokenize(line * 3, add_bos=False)) - 1
    bits, text_bits, stop = rows.T
    assert np.all(text_bits <= bits + 1e-9) and np.all((stop >= 0) & (stop <= 1))
    # the last copy is predictable from the first two: far less surprise than the first
    third = len(rows) // 3
    assert bits[-third:].mean() < 0.25 * bits[:third].mean()
    # the same figures the gate reads: text surprise = raw + log2(1 − stop mass)
    np.testing.assert_allclose(text_bits, bits + np.log2(1 - stop), atol=1e-9)
    # the engine still suggests afterwards (its context was reset, not left holding the text)
    assert real_engine.suggest("import os\nimport sys\n", "", eta=math.inf, max_tokens=4).tokens > 0


def test_the_shipped_adapter_moved_mass_onto_stopping(default_model: Path) -> None:
    from pairterm import shipped_adapter

    source = Path(__file__).resolve().parents[2] / "pairterm" / "editor" / "indent.py"
    text = source.read_text(encoding="utf-8")[:1500]
    stop = {}
    for name, adapter in (("none", None), ("shipped", shipped_adapter.ADAPTER_FILE)):
        engine = Engine(EngineConfig(model=default_model, adapter=adapter))
        try:
            stop[name] = float(engine.score(text)[:, 2].mean())
        finally:
            engine.close()
    # the Empower adapter learned to stop at decision points; the base model almost never does
    assert stop["none"] < 0.01 < stop["shipped"], stop
