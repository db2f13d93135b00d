"""The training loss: which positions it reads, the completion's cross-entropy, the pull
towards the base model's predictions of text (`--kl`), and learning the source's own text
(`--text`). Pure tensor work, no loop or state;
training.trainer runs it, training.calibrate times it.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import nullcontext
from typing import NamedTuple

import torch
import torch.nn.functional as F

IGNORE = -100  # a kept position with no target (cross_entropy's ignore_index)
NO_MASS = -1e4
# With the KL term, the last prompt positions are pulled towards the base model too: an Empower
# completion is a few tokens, too few positions alone to hold the model's predictions in place.
# With the text term, the same positions learn the person's own next token.
KL_PROMPT = 16


def kept_prompt(kl: float, text: float) -> int:
    """Prompt positions before each completion that the loss reads (collate's `kl_prompt`)."""
    return KL_PROMPT if kl > 0 or text > 0 else 0


# What the activations kept for the backward pass may take per forward. A micro-batch of 8
# examples (192-token prompts) of Qwen2.5-Coder-0.5B peaked at 13 GB of memory (a 30-minute run
# at 20 GB), more than a 16 GB laptop has to spare; SmolLM2-135M at 7.7 GB. Run in pieces under
# this bound, the gradient is the same sum (the loss is normalised by the step's completion
# tokens, not per forward). The bound leaves SmolLM2's micro-batch whole and cuts Qwen's into
# pieces of 3: 8.5 GB at its peak instead of 20.5, a step 1.07x as long (benchmarks/
# train_memory.py, 2 idle cores). Machine-independent, so that a run and its resume, anywhere,
# cut the same pieces.
FORWARD_ACTIVATION_BYTES = 7_000_000_000
# Floats kept per token and layer, as multiples of the hidden and the MLP width (fp32, LoRA on
# every linear layer, eager attention over ~200 tokens, the KL and text terms): fitted to the
# measured 9.0 MB a token of Qwen2.5-Coder-0.5B and 4.4 MB of SmolLM2-135M.
_PER_HIDDEN, _PER_MLP = 24, 15


def tokens_per_forward(config) -> int:
    """Padded tokens one forward of `config`'s model may hold (transformers config)."""
    hidden = int(getattr(config, "hidden_size", 0) or 0)
    mlp = int(getattr(config, "intermediate_size", 0) or 4 * hidden)
    layers = int(getattr(config, "num_hidden_layers", 0) or 0)
    per_token = 4 * layers * (_PER_HIDDEN * hidden + _PER_MLP * mlp)
    return max(1, FORWARD_ACTIVATION_BYTES // per_token) if per_token else 1 << 30


def forward_pieces(examples: Sequence[dict], max_tokens: int) -> list[list[dict]]:
    """`examples` in order, split into runs whose padded size stays within `max_tokens` (a
    run holds at least one example)."""
    pieces: list[list[dict]] = []
    piece: list[dict] = []
    width = 0
    for ex in examples:
        n = len(ex["prompt_ids"]) + len(ex["completion_ids"])
        if piece and max(width, n) * (len(piece) + 1) > max_tokens:
            pieces.append(piece)
            piece, width = [], 0
        piece.append(ex)
        width = max(width, n)
    if piece:
        pieces.append(piece)
    return pieces


class LossTerms(NamedTuple):
    """Sums over a micro-batch; the loss to minimise is their sum (already weighted)."""

    completion: torch.Tensor  # cross-entropy of the completion tokens
    kl: torch.Tensor  # `kl` × KL(base ‖ adapted) over every kept position
    text: torch.Tensor  # `text` × cross-entropy of the prompt's own next tokens


def collate(examples: Sequence[dict], pad_id: int, kl_prompt: int = 0) -> dict[str, torch.Tensor]:
    """Right-padded ids, and the positions whose logits the loss reads.

    Only those positions go through the LM head (transformers' `logits_to_keep` mask), which
    saves the vocabulary projection for every other prompt token. They are the positions that
    predict a completion token, and with `kl_prompt` also the last that many prompt positions,
    where the pull towards the base model applies and, with `--text`, the prompt's own next
    token is the target (`text_labels`; `labels` is -100 there, and the reverse at the
    completion), the text term no further back than the example's `own_tail` where it has one.
    """
    seqs = [ex["prompt_ids"] + ex["completion_ids"] for ex in examples]
    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    keep = torch.zeros((len(seqs), width), dtype=torch.bool)
    targets: list[int] = []
    text_targets: list[int] = []
    for i, (ex, seq) in enumerate(zip(examples, seqs, strict=True)):
        ids[i, : len(seq)] = torch.tensor(seq)
        mask[i, : len(seq)] = 1
        first = len(ex["prompt_ids"])
        lead = min(kl_prompt, first - 1)
        # in a FIM prompt only MIDDLE runs on into the completion: before it the next token is
        # SUFFIX's or a FIM marker, not the person's next code (the KL pull still applies there)
        own = min(lead, ex.get("own_tail", lead))
        keep[i, first - 1 - lead : len(seq) - 1] = True
        targets += [IGNORE] * lead + ex["completion_ids"]
        text_targets += ([IGNORE] * (lead - own) + ex["prompt_ids"][first - own :]
                         + [IGNORE] * len(ex["completion_ids"]))  # fmt: skip
    return {"input_ids": ids, "attention_mask": mask, "keep": keep, "labels": torch.tensor(targets),
            "text_labels": torch.tensor(text_targets)}  # fmt: skip


def completion_loss_sum(
    model,
    batch: dict[str, torch.Tensor],
    kl: float = 0.0,
    stop_ids: Sequence[int] = (),
    text: float = 0.0,
) -> LossTerms:
    """The loss terms of a micro-batch (see LossTerms).

    The KL compares the two models' distributions over text only, renormalised without the
    stop tokens `stop_ids`: an Empower adapter is meant to move where the model stops, not what
    it would write (the runtime gate reads the same renormalised distribution, pairterm.gate).
    The text term moves what it would write towards the person's own code, which is what a
    personal adapter is for.
    """
    out = model(
        input_ids=batch["input_ids"],
        attention_mask=batch["attention_mask"],
        logits_to_keep=batch["keep"],
    )
    logits = out.logits.float()
    ce = F.cross_entropy(logits, batch["labels"], reduction="sum", ignore_index=IGNORE)
    zero = torch.zeros((), device=ce.device)
    own = zero
    if text > 0:
        own = text * F.cross_entropy(
            logits, batch["text_labels"], reduction="sum", ignore_index=IGNORE
        )
    if kl <= 0:
        return LossTerms(ce, zero, own)
    with torch.no_grad(), _base_only(model):
        base = model(
            input_ids=batch["input_ids"],
            attention_mask=batch["attention_mask"],
            logits_to_keep=batch["keep"],
        ).logits.float()
    return LossTerms(ce, kl * text_divergence(logits, base, stop_ids), own)


def text_divergence(
    logits: torch.Tensor, base: torch.Tensor, stop_ids: Sequence[int] = ()
) -> torch.Tensor:
    """KL(base ‖ adapted) summed over positions, both renormalised without `stop_ids`."""
    if stop_ids:
        # far below any real logit, so exp() is exactly 0, yet finite: no NaN in 0 · (a − b)
        stops = torch.tensor(list(stop_ids), device=logits.device)
        logits = logits.index_fill(-1, stops, NO_MASS)
        base = base.index_fill(-1, stops, NO_MASS)
    return F.kl_div(
        torch.log_softmax(logits, dim=-1), torch.log_softmax(base, dim=-1),
        log_target=True, reduction="sum",
    )  # fmt: skip


def _base_only(model):
    """The LoRA model with its adapter switched off: the base model, without a second copy. A
    model without an adapter (the one the budget's calibration times) is its own base."""
    inner = getattr(model, "module", model)  # DDP wraps the peft model
    return inner.disable_adapter() if hasattr(inner, "disable_adapter") else nullcontext()
