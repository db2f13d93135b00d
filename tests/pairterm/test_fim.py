"""Fill-in-the-middle prompts: the layout on fixed strings, then FIM detection and prompting on a
tiny qwen2 GGUF with Qwen2.5-Coder's special tokens that the test builds (seconds, no download)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pairterm.config import EngineConfig
from pairterm.engine import Engine
from pairterm.project_context import ContextFile
from pairterm.prompt import MIDDLE_BLOCK, SUFFIX_CHARS, FimTokens, fim_split, project_tokens

FIM = FimTokens(pre=-1, suf=-2, mid=-3, pad=-4, rep=-5, sep=-6)


def chars(text: str) -> list[int]:
    """A tokenizer with one token per character: token counts are character counts."""
    return [ord(c) for c in text]


def test_the_middle_starts_on_a_block_boundary_and_holds_the_cursor_line() -> None:
    window = "".join(f"line {i}\n" for i in range(MIDDLE_BLOCK + 3)) + "    x = "
    prefix, suffix, middle = fim_split(window, " # rest of line\nnext()\n")
    assert prefix + middle == window
    assert prefix.count("\n") == MIDDLE_BLOCK
    assert middle.endswith("    x = ") and middle.count("\n") == 3
    assert suffix == "next()\n"  # the rest of the cursor line is what may be filled


def test_typing_on_changes_only_the_end_of_the_prompt() -> None:
    text = "".join(f"v{i} = {i}\n" for i in range(20))
    after = "\nprint(total)\n"
    layouts = [fim_split(text[:n], after) for n in range(len(text) - 5, len(text))]
    # Within a block the prefix and the suffix stay put: llama.cpp re-evaluates only the middle.
    assert len({(p, s) for p, s, _ in layouts}) == 1


def test_typing_line_after_line_keeps_the_split_so_the_suffix_is_not_evaluated_again() -> None:
    after = "\n\nprint(total)\n"
    lines = [f"v{i} = {i}\n" for i in range(3 * MIDDLE_BLOCK)]
    keep = None
    prefixes = set()
    for n in range(2, len(lines)):
        prefix, suffix, middle = fim_split("".join(lines[:n]), after, keep)
        keep = (prefix, suffix)
        prefixes.add(prefix)
        assert prefix + middle == "".join(lines[:n])
    assert len(prefixes) == 1  # one layout for the whole run of lines
    # Another place in the file (another suffix) gets a fresh layout.
    moved = fim_split("".join(lines), "\nother()\n", keep)
    assert moved[0] != keep[0] and moved[1] == "other()\n"


def test_a_long_suffix_is_cut_at_a_line_end() -> None:
    after = "\n" + "".join(f"call_number_{i}()\n" for i in range(200))
    _, suffix, _ = fim_split("x = 1\n", after)
    assert len(suffix) <= SUFFIX_CHARS and suffix.endswith("\n")
    assert after[1:].startswith(suffix)


def test_project_files_fit_the_budget_and_name_the_current_file_last() -> None:
    files = [ContextFile("a.py", "def alpha():\n    ...\n" * 3), ContextFile("b.py", "B = 1\n" * 50)]
    tokens = project_tokens(chars, FIM, files, "pkg/main.py", budget=120)
    assert len(tokens) <= 120
    assert tokens[0] == FIM.rep
    text = "".join(chr(t) if t > 0 else "|" for t in tokens)
    assert text.index("a.py") < text.index("b.py")  # most useful first
    assert text.endswith("|pkg/main.py\n")
    assert "B = 1\n" in text and "B = 1\n" * 50 not in text  # the last file cut at a line end


def test_every_file_shows_what_the_edited_file_imports_from_it_before_any_shows_the_rest() -> None:
    big = ContextFile("a.py", "def wanted_a():\n    ...\n" + "def other_a():\n    ...\n" * 40,
                      lead=len("def wanted_a():\n    ...\n"))
    small = ContextFile("b.py", "def wanted_b():\n    ...\ndef other_b():\n    ...\n",
                        lead=len("def wanted_b():\n    ...\n"))
    text = "".join(chr(t) if t > 0 else "|" for t in
                   project_tokens(chars, FIM, [big, small], "main.py", budget=200))
    assert "wanted_a" in text and "wanted_b" in text  # the first file's outline did not take all
    assert text.index("|a.py") < text.index("|b.py") and text.count("|a.py") == 1
    assert "other_a" in text  # what is left of the budget goes to the rest, in order
    # without leads the first file's outline fills the budget, as it did before
    plain = [ContextFile(f.path, f.text) for f in (big, small)]
    text = "".join(chr(t) if t > 0 else "|" for t in
                   project_tokens(chars, FIM, plain, "main.py", budget=200))
    assert "wanted_b" not in text


def test_no_file_separator_means_no_project_files() -> None:
    plain = FimTokens(pre=-1, suf=-2, mid=-3)
    assert project_tokens(chars, plain, [ContextFile("a.py", "A = 1\n")], "m.py", 500) == []


@pytest.fixture(scope="module")
def tiny_fim_gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch

    from ggml_export.base import open_hf_base
    from ggml_export.writer import write_merged
    from tests.ggml_export.builders import FIM_SPECIALS, SPECIALS, build_hf_model

    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("fim")
    hf = build_hf_model(root / "hf", "qwen2", train_steps=5, specials=SPECIALS + FIM_SPECIALS)
    out = root / "tiny-fim.gguf"
    write_merged(None, open_hf_base(hf), out, "f32")
    return out


@pytest.fixture(scope="module")
def tiny_engine(tiny_fim_gguf: Path) -> Iterator[Engine]:
    engine = Engine(EngineConfig(model=tiny_fim_gguf, adapter=None, eta=float("inf"),
                                 max_tokens=4, threads=1, n_ctx=512))
    yield engine
    engine.close()


def test_fim_tokens_are_found_by_name_in_a_qwen2_gguf(tiny_engine: Engine) -> None:
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(tiny_engine.model_path.parent / "hf" / "tokenizer.json"))
    fim = tiny_engine.fim
    assert fim is not None
    assert (fim.pre, fim.suf, fim.mid) == tuple(
        tok.token_to_id(t) for t in ("<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>"))
    assert (fim.rep, fim.sep) == (tok.token_to_id("<|repo_name|>"), tok.token_to_id("<|file_sep|>"))


def test_the_engine_prompts_prefix_suffix_middle_and_typing_reuses_the_cache(
    tiny_engine: Engine,
) -> None:
    fim = tiny_engine.fim
    assert fim is not None
    before = "import os\n\n\ndef f(a):\n    return os.pa"
    after = "\n\n\ndef g(b):\n    return b * 2\n"
    tiny_engine.suggest(before, after)
    prompt = tiny_engine.last_prompt
    assert prompt.count(fim.pre) == prompt.count(fim.suf) == prompt.count(fim.mid) == 1
    assert prompt.index(fim.pre) < prompt.index(fim.suf) < prompt.index(fim.mid)
    suffix = tiny_engine.detokenize(prompt[prompt.index(fim.suf) + 1 : prompt.index(fim.mid)])
    assert suffix == after.split("\n", 1)[1]
    # The middle ends before the partial word `pa`, which decoding writes again (token healing).
    assert tiny_engine.detokenize(prompt[prompt.index(fim.mid) + 1 :]) == before[:-2]
    typed = tiny_engine.suggest(before + "th", after)
    # Only the end of the middle changed: a few tokens, not the suffix, are evaluated again.
    assert 0 < typed.prefill_tokens <= 3 < len(after) // 2


def test_project_files_come_first_and_survive_typing(tiny_engine: Engine) -> None:
    fim = tiny_engine.fim
    assert fim is not None
    files = [ContextFile("helpers.py", "def frobnicate(widget):\n    ...\n")]
    tiny_engine.suggest("x = ", "\n", context=files, path="main.py")
    prompt = tiny_engine.last_prompt
    assert prompt[0] == fim.rep and prompt.index(fim.sep) < prompt.index(fim.pre)
    assert "def frobnicate(widget)" in tiny_engine.detokenize(prompt[: prompt.index(fim.pre)])
    again = tiny_engine.suggest("x = f", "\n", context=files, path="main.py")
    assert again.prefill_tokens <= 3


def test_the_imports_above_a_window_that_starts_lower_come_first_in_the_prefix(
    tiny_fim_gguf: Path,
) -> None:
    body = "".join(f"value_{i} = helper({i})\n" for i in range(60))
    before = "import os\nfrom helpers import helper\n\n" + body + "result = hel"
    for tokens, path, shown in ((512, "main.py", True), (0, "main.py", False),
                                (512, "main.js", False)):
        engine = Engine(EngineConfig(model=tiny_fim_gguf, adapter=None, max_tokens=2, threads=1,
                                     n_ctx=512, window_chars=300, window_step=100,
                                     context_tokens=tokens))
        try:
            fim = engine.fim
            assert fim is not None
            engine.suggest(before, "\n", path=path)
            prompt = engine.last_prompt
            prefix = engine.detokenize(prompt[prompt.index(fim.pre) + 1 : prompt.index(fim.suf)])
            middle = engine.detokenize(prompt[prompt.index(fim.mid) + 1 :])
            seen = prefix + middle
            assert "value_59 = helper(59)" in seen and "value_0 =" not in seen
            assert seen.startswith("import os\nfrom helpers import helper\n") is shown
            # the imports take the place of the oldest lines: the prompt is no longer for them
            assert len(seen) <= 300
        finally:
            engine.close()


def test_fim_can_be_turned_off_and_then_the_prompt_is_the_text_before(tiny_fim_gguf: Path) -> None:
    engine = Engine(EngineConfig(model=tiny_fim_gguf, adapter=None, fim=False, max_tokens=2,
                                 threads=1, n_ctx=512))
    try:
        assert engine.fim is None and engine.fim_available is not None
        engine.suggest("def f():\n    return one", "\nprint(f())\n")
        # (the partial word `one` is written again by the decode: token healing)
        assert engine.last_prompt == engine.tokenize("def f():\n    return")
    finally:
        engine.close()


def test_a_model_without_fim_tokens_keeps_the_prefix_only_prompt(real_engine: Engine) -> None:
    assert real_engine.fim is None and real_engine.fim_available is None
    real_engine.suggest("x = 1\ny = ", "\nprint(x)\n")
    assert real_engine.last_prompt == real_engine.tokenize("x = 1\ny =")
