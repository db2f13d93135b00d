"""Empower labels from one forward pass per document window (docs/design.md §4).

A document is tokenized once; windows of `window` tokens (each starting `overlap` tokens early so
its first predictions still see context) go through the base model in small batches, giving every
token's surprise. States and completion lengths then come from `training.labels` with no further
model calls, so the forward work is O(tokens), whatever the number of states.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import torch

from training import labels
from training.prompt_form import FimForm, PrefixForm, form_for
from training.sources import Document

LN2 = math.log(2.0)


@dataclass(frozen=True)
class LabelOptions:
    method: labels.Method
    eta: float
    seed: int = 0
    context: int = 256  # prompt tokens kept before a state
    density: float = 1 / 32  # states per token
    min_prefix: int = 8
    max_completion: int = 128
    max_examples: int | None = None
    window: int = 512
    overlap: int = 64
    batch_tokens: int = 1024
    fim: bool = True  # FIM-form prompts for a model with FIM tokens (training.prompt_form)


@dataclass(frozen=True)
class Window:
    doc: int
    start: int  # first token whose surprise this window yields
    ids: list[int]  # tokens[start - lead : end]
    lead: int  # tokens of context before `start`


def tokenize(tokenizer, text: str) -> list[int]:
    """Plain token ids as llama.cpp's tokenize(text, add_bos=False, special=False) gives them:
    no BOS/EOS, and text that spells a special token (`<|im_end|>` in a docstring) stays text."""
    return list(tokenizer(text, add_special_tokens=False, split_special_tokens=True)["input_ids"])


def example_form(tokenizer, options: LabelOptions, eos_id: int) -> PrefixForm | FimForm:
    """The prompt form of this run's examples: the editor's for the tokenizer's model (FIM where
    it has the tokens, unless `options.fim` is off), after the BOS llama.cpp would add."""
    return form_for(tokenizer, options.context, eos_id, prompt_prefix(tokenizer), options.fim,
                    options.seed, lambda text: tokenize(tokenizer, text))  # fmt: skip


def prompt_prefix(tokenizer) -> list[int]:
    """The special tokens the tokenizer puts before any text (BOS or nothing), as llama.cpp's
    tokenize(add_bos=True) does for the editor's prompt."""
    with_special = tokenizer("x", add_special_tokens=True)["input_ids"]
    plain = tokenizer("x", add_special_tokens=False)["input_ids"]
    for i in range(len(with_special) - len(plain) + 1):
        if with_special[i : i + len(plain)] == plain:
            return list(with_special[:i])
    return []


def plan_windows(
    doc_ids: Sequence[Sequence[int]],
    window: int,
    overlap: int,
    states: Sequence[tuple[int, int]] | None = None,
    reach: int = 0,
) -> list[Window]:
    """Fixed windows over each document; with `states`, only those that hold a token some state
    needs (tokens n .. n + reach), so a capped number of states costs only the text they read."""
    wanted: dict[int, list[tuple[int, int]]] | None = None
    if states is not None:
        wanted = {}
        for d, n in states:
            wanted.setdefault(d, []).append((n, n + reach + 1))
    out: list[Window] = []
    for d, ids in enumerate(doc_ids):
        for start in range(1, len(ids), window):  # token 0 has no context, so no surprise
            end = start + window
            if wanted is not None and not any(
                lo < end and start < hi for lo, hi in wanted.get(d, ())
            ):
                continue
            lead = min(max(1, overlap), start)
            out.append(Window(d, start, list(ids[start - lead : end]), lead))
    return out


def batches(windows: Sequence[Window], batch_tokens: int) -> list[list[Window]]:
    """Group windows of similar length so padding stays small; order is deterministic."""
    ordered = sorted(windows, key=lambda w: (len(w.ids), w.doc, w.start))
    out: list[list[Window]] = []
    current: list[Window] = []
    for w in ordered:
        if current and len(w.ids) * (len(current) + 1) > batch_tokens:
            out.append(current)
            current = []
        current.append(w)
    if current:
        out.append(current)
    return out


def pad(batch: Sequence[Window], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(w.ids) for w in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for i, w in enumerate(batch):
        ids[i, : len(w.ids)] = torch.tensor(w.ids)
        mask[i, : len(w.ids)] = 1
    return ids, mask


@torch.inference_mode()
def surprise_batch(model, batch: Sequence[Window], pad_id: int) -> list[torch.Tensor]:
    """Per window, the surprise in bits of each token from `start` on (one forward pass)."""
    device = next(model.parameters()).device
    ids, mask = pad(batch, pad_id)
    ids, mask = ids.to(device), mask.to(device)
    logits = model(input_ids=ids, attention_mask=mask).logits.float()
    # −log p(next) = logsumexp(logits) − logit(next): one pass over the vocabulary, no softmax copy
    nats = (
        torch.logsumexp(logits[:, :-1], dim=-1)
        - logits[:, :-1].gather(-1, ids[:, 1:, None])[..., 0]
    )
    bits = (nats / LN2).cpu()
    return [bits[i, w.lead - 1 : len(w.ids) - 1].clone() for i, w in enumerate(batch)]


def document_surprises(
    model,
    doc_ids: Sequence[Sequence[int]],
    options: LabelOptions,
    pad_id: int,
    on_batch: Callable[[int], None] | None = None,
    states: Sequence[tuple[int, int]] | None = None,
) -> list[list[float]]:
    """surprises[d][t] for t >= 1 (token t given tokens < t); surprises[d][0] is NaN.

    With `states`, only the windows those states read are run (the rest stay NaN): each state
    needs its next `max_completion` surprises and the one after, where a completion stops.
    """
    out = [[math.nan] * len(ids) for ids in doc_ids]
    plan = plan_windows(doc_ids, options.window, options.overlap, states, options.max_completion)
    for batch in batches(plan, options.batch_tokens):
        for w, bits in zip(batch, surprise_batch(model, batch, pad_id), strict=True):
            out[w.doc][w.start : w.start + len(bits)] = bits.tolist()
        if on_batch:
            on_batch(sum(len(w.ids) - w.lead for w in batch))
    return out


def labeled_tokens(doc_ids: Sequence[Sequence[int]], options: LabelOptions, states) -> int:
    plan = plan_windows(doc_ids, options.window, options.overlap, states, options.max_completion)
    return sum(len(w.ids) - w.lead for w in plan)


def choose_states(doc_ids: Sequence[Sequence[int]], options: LabelOptions) -> list[tuple[int, int]]:
    """(doc, state) pairs, the same for every method given the seed, capped at max_examples.

    Under a cap, whole documents are taken in a seeded random order until they hold enough
    states, and the cap is drawn from those: labeling reads text at O(1/density) tokens per
    state instead of a separate window for each state scattered over a large corpus. A lower
    density spreads the same number of examples over more documents.
    """
    rng = random.Random(f"states-{options.seed}")
    per_doc = []
    for d, ids in enumerate(doc_ids):
        k = labels.states_for(len(ids), options.density, options.min_prefix)
        per_doc.append([(d, n) for n in labels.sample_states(len(ids), k, options.min_prefix, rng)])
    cap = options.max_examples
    if cap is None or sum(map(len, per_doc)) <= cap:
        return [s for doc in per_doc for s in doc]
    order = list(range(len(doc_ids)))
    rng.shuffle(order)
    pool: list[tuple[int, int]] = []
    for d in order:
        if len(pool) >= cap:
            break
        pool += per_doc[d]
    return sorted(rng.sample(pool, cap))


def build_examples(
    docs: Sequence[Document],
    doc_ids: Sequence[Sequence[int]],
    surprises: Sequence[Sequence[float]],
    states: Sequence[tuple[int, int]],
    options: LabelOptions,
    eos_id: int,
    decode: Callable[[list[int]], str],
    prefix_ids: Sequence[int] = (),
    form: PrefixForm | FimForm | None = None,
) -> Iterator[dict]:
    """One example per state, its prompt in `form` (default: the text before the state after
    `prefix_ids`, BOS for a model whose tokenizer adds one, as llama.cpp starts the editor's
    prompt window). A FIM form may cut a completion short where the code after it starts."""
    form = form or PrefixForm(options.context, eos_id, prefix_ids)
    # sft-rand lengths come from their own stream, drawn once per state in state order
    length_rng = random.Random(f"lengths-{options.seed}")
    for d, n in states:
        ids, bits = doc_ids[d], surprises[d]
        after = bits[n:]
        length = labels.completion_length(
            options.method, after, options.eta, length_rng, options.max_completion
        )
        built = form.example(d, ids, n, length, stop=options.method.stops)
        length = len(built.completion_ids) - int(built.stopped)
        yield {
            "path": docs[d].path,
            "commit": docs[d].commit,
            "state": n,
            "prefix_tail": decode(built.prompt_ids[-16:]),
            "completion": decode(built.completion_ids[:length]),
            "tokens": length,
            "bits": labels.cumulative_bits(after, length),
            "stop_bits": float(after[length]) if length < len(after) else None,
            **built.ids(),
        }
