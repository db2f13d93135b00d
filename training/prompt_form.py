"""How a training state becomes a prompt: the form the editor will prompt the model in.

A model without fill-in-the-middle tokens (SmolLM2) sees the text before the state, as the editor
shows it. A model with them (Qwen2.5-Coder) is prompted by the editor in FIM form, with the code
after the cursor line as SUFFIX (pairterm.prompt), so its examples take the same layout: an adapter
trained on prompts of the text before alone learned where to stop in a prompt the editor never
sends. docs/design.md §4. No torch here; the tokenizer comes in as two functions.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pairterm.prompt import SUFFIX_CHARS, fim_split

# The person writes the rest of the cursor line and up to this many lines more before the code
# that already exists (SUFFIX): a function body or a few statements, as the typing benchmark's
# regions are. Drawn per state, so the model does not learn that SUFFIX starts where it stops.
MAX_GAP_LINES = 15
# Tokens after the state decoded to find SUFFIX: the gap's lines and SUFFIX_CHARS of code.
REST_TOKENS = 512
# Spellings of the three FIM tokens that llama.cpp recognises in a vocabulary.
FIM_NAMES = (
    ("<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>"),
    ("<fim_prefix>", "<fim_suffix>", "<fim_middle>"),
    ("<fim-prefix>", "<fim-suffix>", "<fim-middle>"),
)
# What a FIM-trained model writes after MIDDLE when it is done (Qwen2.5-Coder: end of text, not
# the chat turn's end that is its tokenizer's eos).
FIM_END_NAMES = ("<|endoftext|>", "<|end_of_text|>", "<eos>")


@dataclass(frozen=True)
class Example:
    """A state's prompt and completion in token ids. `own_tail`: how many of the prompt's last
    tokens are the person's text that runs on into the completion (None: all of them), the only
    prompt positions where predicting the next token means predicting the person's code."""

    prompt_ids: list[int]
    completion_ids: list[int]
    own_tail: int | None = None
    stopped: bool = True  # completion_ids ends with the stop token

    def ids(self) -> dict:
        """The fields the trainer reads (training.loss.collate), as an examples.jsonl row has them."""
        out: dict = {"prompt_ids": self.prompt_ids, "completion_ids": self.completion_ids}
        if self.own_tail is not None:
            out["own_tail"] = self.own_tail
        return out


class PrefixForm:
    """The text before the state: the last `context` tokens, after the model's BOS if any."""

    fim = False

    def __init__(self, context: int, stop_id: int, prefix_ids: Sequence[int] = ()) -> None:
        self.context, self.stop_id, self.prefix_ids = context, stop_id, list(prefix_ids)

    def example(self, doc: int, ids: Sequence[int], n: int, length: int, stop: bool = True) -> Example:
        """`stop` False: no stop token after the completion unless the document ends there."""
        prompt = [*self.prefix_ids, *ids[max(0, n - self.context) : n]]
        stopped = stop or n + length >= len(ids)
        return Example(prompt, [*ids[n : n + length], *([self.stop_id] if stopped else [])],
                       stopped=stopped)  # fmt: skip


class FimForm:
    """`<fim_prefix> PREFIX <fim_suffix> SUFFIX <fim_middle> MIDDLE`, split as the editor splits
    it (pairterm.prompt.fim_split): PREFIX and MIDDLE from the last `context` tokens before the
    state (from a line start), SUFFIX the code after the lines the person is about to write. The
    completion stops where SUFFIX starts, with the token the model ends a middle with."""

    fim = True

    def __init__(
        self, pre: int, suf: int, mid: int, stop_id: int, context: int,
        tokenize: Callable[[str], list[int]], decode: Callable[[list[int]], str],
        prefix_ids: Sequence[int] = (), seed: int = 0,
    ) -> None:  # fmt: skip
        self.pre, self.suf, self.mid, self.stop_id = pre, suf, mid, stop_id
        self.context, self.tokenize, self.decode = context, tokenize, decode
        self.prefix_ids, self.seed = list(prefix_ids), seed

    def gap(self, doc: int, n: int) -> int:
        """Lines after the cursor line that the person is still to write: the same for a state
        whatever the method or the order states are built in."""
        return random.Random(f"fim-gap-{self.seed}-{doc}-{n}").randint(0, MAX_GAP_LINES)

    def example(self, doc: int, ids: Sequence[int], n: int, length: int, stop: bool = True) -> Example:
        """`stop` False: no stop token after the completion unless it reaches SUFFIX."""
        before = self.decode(list(ids[max(0, n - self.context) : n]))
        if n > self.context:  # the editor's window starts at a line start
            cut = before.find("\n")
            before = before[cut + 1 :] if cut >= 0 else ""
        gap = self.gap(doc, n)
        rest = self._rest(ids, n, length, gap)
        (prefix, suffix, middle), room = fim_layout(before, rest, gap)
        own = self.tokenize(middle)
        prompt = [*self.prefix_ids, self.pre, *self.tokenize(prefix), self.suf,
                  *self.tokenize(suffix), self.mid, *own]  # fmt: skip
        written, reached = self._written(ids, n, length, rest[:room])
        stopped = stop or reached
        return Example(prompt, [*written, *([self.stop_id] if stopped else [])], own_tail=len(own),
                       stopped=stopped)  # fmt: skip

    def _rest(self, ids: Sequence[int], n: int, length: int, gap: int) -> str:
        """The text after the state, decoded as far as the gap's lines and a whole SUFFIX reach
        (or the document's end), so that a cut-off decode never passes for the end of a file."""
        end = n + max(REST_TOKENS, length)
        while True:
            rest = self.decode(list(ids[n:end]))
            start = suffix_start(rest, gap)
            if end >= len(ids) or (start is not None and len(rest) - start > SUFFIX_CHARS):
                return rest
            end += REST_TOKENS

    def _written(
        self, ids: Sequence[int], n: int, length: int, allowed: str
    ) -> tuple[list[int], bool]:
        """The first `length` tokens after the state, as far as they stay within `allowed` (the
        text before SUFFIX), and whether they reach SUFFIX. Where a token runs across SUFFIX's
        start (Qwen writes a blank line's two newlines as one token), the part of it before
        SUFFIX is tokenized on its own, so the completion is all the person's text up to SUFFIX,
        not one token short of it."""
        k = length
        text = self.decode(list(ids[n : n + k]))
        while k > 0 and len(text) > len(allowed):
            k -= 1
            text = self.decode(list(ids[n : n + k]))
        tail = self.tokenize(allowed[len(text) :]) if k < length else []
        return [*ids[n : n + k], *tail], k < length or len(text) == len(allowed)


def fim_layout(before: str, rest: str, gap: int) -> tuple[tuple[str, str, str], int]:
    """((PREFIX, SUFFIX, MIDDLE), room) for a state with `before` before it and `rest` after it,
    where the person is about to write the rest of the cursor line and `gap` more lines and the
    code after those exists already. `room`: the characters of `rest` before SUFFIX starts,
    which a completion must not reach into (the editor drops a suggestion that repeats SUFFIX)."""
    start = suffix_start(rest, gap)
    if start is None:
        return fim_split(before, ""), len(rest)
    return fim_split(before, "\n" + rest[start:]), start


def suffix_start(rest: str, gap: int) -> int | None:
    """Where the code after the cursor line and `gap` more lines starts in `rest` (None: `rest`
    ends before that)."""
    start = 0
    for _ in range(gap + 1):
        nxt = rest.find("\n", start)
        if nxt < 0:
            return None
        start = nxt + 1
    return start


def fim_ids(tokenizer) -> tuple[int, int, int, int] | None:
    """(prefix, suffix, middle, end) token ids of a tokenizer with FIM tokens, else None."""
    vocab = tokenizer.get_vocab()
    for names in FIM_NAMES:
        if all(name in vocab for name in names):
            end = next((vocab[name] for name in FIM_END_NAMES if name in vocab), None)
            ids = tuple(vocab[name] for name in names)
            return (*ids, end if end is not None else int(tokenizer.eos_token_id))  # type: ignore[return-value]
    return None


def form_for(
    tokenizer, context: int, eos_id: int, prefix_ids: Sequence[int], fim: bool, seed: int,
    tokenize: Callable[[str], list[int]],
) -> PrefixForm | FimForm:  # fmt: skip
    """The editor's prompt form for this tokenizer's model (FIM when it has the tokens and `fim`)."""
    found = fim_ids(tokenizer) if fim else None
    if found is None:
        return PrefixForm(context, eos_id, prefix_ids)
    pre, suf, mid, end = found
    return FimForm(pre, suf, mid, end, context, tokenize, tokenizer.decode, prefix_ids, seed)
