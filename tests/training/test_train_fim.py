"""Training examples in the form the editor prompts the model: fill-in-the-middle where it has the
tokens, so an adapter learns where to stop in the prompt it will be run on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pairterm.cli import main as pairterm_main
from pairterm.prompt import fim_split
from tests.training.helpers import python_source
from training import labeling, prompt_form
from training.loss import IGNORE, KL_PROMPT, collate

FAST = ["--eta", "30", "--max-steps", "2", "--batch-size", "4", "--grad-accum", "1", "--threads",
        "1", "--density", "0.1", "--checkpoint-every", "2", "--quiet"]  # fmt: skip


def test_the_suffix_starts_after_the_lines_the_person_is_about_to_write() -> None:
    before = "def f(x):\n    y = x\n    return "
    rest = "y + 1\n\ndef g():\n    pass\n\nG = g()\n"
    # gap 0: the person finishes the cursor line; the code from the next line on exists
    (prefix, suffix, middle), room = prompt_form.fim_layout(before, rest, 0)
    assert (prefix, middle) == ("", before)
    assert suffix == "\ndef g():\n    pass\n\nG = g()\n" and rest[:room] == "y + 1\n"
    # gap 2: two more lines are still to be written
    (_, suffix, _), room = prompt_form.fim_layout(before, rest, 2)
    assert suffix == "    pass\n\nG = g()\n" and rest[:room] == "y + 1\n\ndef g():\n"
    # a gap past the end of the file: nothing after, the rest is all the person's
    (_, suffix, _), room = prompt_form.fim_layout(before, rest, 40)
    assert suffix == "" and room == len(rest)
    # the last line, without a newline
    (_, suffix, _), room = prompt_form.fim_layout(before, "y + 1", 3)
    assert suffix == "" and room == len("y + 1")


@pytest.fixture(scope="module")
def fim_tokenizer(tiny_fim_model: Path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_fim_model)


def test_a_tokenizer_with_fim_tokens_gets_the_fim_form(fim_tokenizer, tiny_model: Path) -> None:
    from transformers import AutoTokenizer

    vocab = fim_tokenizer.get_vocab()
    pre, suf, mid, end = prompt_form.fim_ids(fim_tokenizer)
    assert (pre, suf, mid) == tuple(vocab[f"<|fim_{k}|>"] for k in ("prefix", "suffix", "middle"))
    # a FIM middle ends with end-of-text, not the chat turn's end that is the tokenizer's eos
    assert end == vocab["<|endoftext|>"] != fim_tokenizer.eos_token_id

    def form(tokenizer, fim: bool):
        return prompt_form.form_for(tokenizer, 64, tokenizer.eos_token_id, [], fim, 0,
                                    lambda t: labeling.tokenize(tokenizer, t))  # fmt: skip

    assert form(fim_tokenizer, True).fim
    assert not form(fim_tokenizer, False).fim  # --no-fim
    plain = AutoTokenizer.from_pretrained(tiny_model)
    assert prompt_form.fim_ids(plain) is None and not form(plain, True).fim


def test_fim_examples_are_laid_out_as_the_editor_lays_out_its_prompt(fim_tokenizer) -> None:
    tok = fim_tokenizer
    tokenize = lambda t: labeling.tokenize(tok, t)  # noqa: E731
    pre, suf, mid, end = prompt_form.fim_ids(tok)
    form = prompt_form.form_for(tok, 96, tok.eos_token_id, [], True, seed=3, tokenize=tokenize)
    text = python_source(7, functions=12)
    ids = tokenize(text)
    gaps, cut = set(), 0
    for n in range(20, len(ids) - 1, 7):
        ex = form.example(0, ids, n, 12)
        prompt = ex.prompt_ids
        assert prompt[0] == pre and prompt.count(suf) == prompt.count(mid) == 1
        i, j = prompt.index(suf), prompt.index(mid)
        prefix, suffix, middle = (tok.decode(prompt[1:i]), tok.decode(prompt[i + 1 : j]),
                                  tok.decode(prompt[j + 1 :]))  # fmt: skip
        # the window the editor would show: the last tokens before the state, from a line start
        window = tok.decode(ids[max(0, n - 96) : n])
        if n > 96:
            window = window[window.find("\n") + 1 :]
        gap = form.gap(0, n)
        gaps.add(gap)
        rest = tok.decode(ids[n:])
        (want_prefix, want_suffix, want_middle), room = prompt_form.fim_layout(window, rest, gap)
        assert (prefix, suffix, middle) == (want_prefix, want_suffix, want_middle)
        assert (prefix, suffix, middle) == fim_split(window, "\n" + rest[room:])
        assert rest[room:].startswith(suffix) and prefix + middle == window
        assert ex.own_tail == len(prompt) - j - 1
        # the completion is the person's next text, never reaching into SUFFIX
        completion = ex.completion_ids
        assert completion[-1] == end and len(completion) - 1 <= 12
        written = tok.decode(completion[:-1])
        assert rest.startswith(written) and len(written) <= room
        whole = tok.decode(ids[n : n + 12])
        if len(whole) > room:  # the person's next 12 tokens reach SUFFIX: all of it up to there
            assert written == rest[:room]
            cut += 1
        else:
            assert completion[:-1] == ids[n : n + 12]
        assert form.example(0, ids, n, 12) == ex  # the same state, the same example
        # next-N: the same text; the stop token only where the person's text meets SUFFIX
        open_ended = form.example(0, ids, n, 12, stop=False)
        assert open_ended.prompt_ids == ex.prompt_ids
        reached = len(whole) >= room
        assert open_ended.stopped == reached
        assert open_ended.completion_ids == (completion if reached else completion[:-1])
    assert len(gaps) > 5 and cut > 0  # gaps vary by state, and some completions stop at SUFFIX


def test_the_text_term_reads_only_the_middle_of_a_fim_prompt() -> None:
    # prompt: [pre] 3 prefix tokens [suf] 4 suffix tokens [mid] 2 middle tokens
    prompt = [90, 10, 11, 12, 91, 20, 21, 22, 23, 92, 30, 31]
    batch = collate([{"prompt_ids": prompt, "completion_ids": [40, 1], "own_tail": 2}], 0, KL_PROMPT)
    # the KL pull reads every prompt position there is (11 of the 16), the completion's two
    assert batch["keep"].sum().item() == 11 + 2
    assert batch["labels"].tolist() == [IGNORE] * 11 + [40, 1]
    # [mid] predicts the middle's first token, which is the person's; the suffix's are not
    assert batch["text_labels"].tolist() == [IGNORE] * 9 + [30, 31, IGNORE, IGNORE]


def test_pairterm_train_writes_fim_examples_for_a_fim_model(
    git_repo: Path, tiny_fim_model: Path, fim_tokenizer, tmp_path: Path
) -> None:
    pre, suf, mid, end = prompt_form.fim_ids(fim_tokenizer)
    forms = {}
    for name, extra in (("fim", []), ("prefix", ["--no-fim"])):
        run = tmp_path / name
        assert pairterm_main(["train", str(git_repo), "--out", str(run), "--base",
                              str(tiny_fim_model), *FAST, *extra]) == 0  # fmt: skip
        examples = [json.loads(x) for x in (run / "examples.jsonl").read_text().splitlines()]
        stats = json.loads((run / "label_stats.json").read_text())
        forms[name] = (examples, stats["prompt_form"])
    fim, form = forms["fim"]
    assert form == "fim" and fim
    for ex in fim:
        p = ex["prompt_ids"]
        assert p[0] == pre and p.index(pre) < p.index(suf) < p.index(mid)
        assert ex["completion_ids"][-1] == end and ex["own_tail"] == len(p) - p.index(mid) - 1
    plain, form = forms["prefix"]
    assert form == "prefix"
    assert [(e["path"], e["state"]) for e in plain] == [(e["path"], e["state"]) for e in fim]
    for ex in plain:
        assert pre not in ex["prompt_ids"] and "own_tail" not in ex
        assert ex["completion_ids"][-1] == fim_tokenizer.eos_token_id
