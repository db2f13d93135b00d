"""How far an adapter moved the model's predictions of the person's own held-out text.

An Empower adapter should change where the model stops, not what it would write (docs/design.md
§4). After training, the held-out documents the run set aside are scored by the base model (the
adapter switched off) and by the adapted one: bits per token of the person's text, as the model
gives them and renormalised without the stop tokens (what the runtime gate reads). A `text`
figure well above the base's means the adapter forgot code; a raw figure above its `text` one is
probability moved onto stopping.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

LN2 = math.log(2.0)
MAX_TOKENS = 4096  # a few seconds of forward passes for the small models on 2 cores
WINDOW = 512


def held_out_windows(texts: Sequence[str], tokenizer, max_tokens: int = MAX_TOKENS) -> list[list[int]]:
    """Windows of at most WINDOW tokens, from the documents in order, up to `max_tokens` in all."""
    out: list[list[int]] = []
    left = max_tokens
    for text in texts:
        ids = list(tokenizer(text, add_special_tokens=False, split_special_tokens=True)["input_ids"])
        for start in range(0, len(ids), WINDOW):
            piece = ids[start : start + WINDOW][: left + 1]
            if len(piece) < 2:
                continue
            out.append(piece)
            left -= len(piece) - 1
            if left <= 0:
                return out
    return out


@torch.inference_mode()
def bits_per_token(model, windows: Sequence[Sequence[int]], stop_ids: Sequence[int]) -> dict[str, float]:
    """Mean surprise of each next token, raw and without the stop tokens, over all windows."""
    raw = text = 0.0
    count = 0
    device = next(model.parameters()).device
    stops = torch.tensor(list(stop_ids), dtype=torch.long, device=device)
    for ids in windows:
        batch = torch.tensor([list(ids)], device=device)
        logits = model(input_ids=batch).logits[0, :-1].float()
        targets = batch[0, 1:]
        log_z = torch.logsumexp(logits, dim=-1)
        picked = logits.gather(-1, targets[:, None])[:, 0]
        if len(stops):
            log_z_text = torch.logsumexp(logits.index_fill(-1, stops, -1e4), dim=-1)
        else:
            log_z_text = log_z
        raw += float((log_z - picked).sum())
        text += float((log_z_text - picked).sum())
        count += len(targets)
    if not count:
        return {"tokens": 0}
    return {"tokens": count, "bits": raw / count / LN2, "text_bits": text / count / LN2}


def measure(
    peft_model, tokenizer, texts: Sequence[str], max_tokens: int = MAX_TOKENS
) -> dict[str, object]:
    """report.json's `drift`: the base's and the adapter's figures on the same held-out tokens."""
    windows = held_out_windows(texts, tokenizer, max_tokens)
    stop_ids = tokenizer.all_special_ids
    was_training = peft_model.training
    peft_model.eval()
    try:
        with peft_model.disable_adapter():
            base = bits_per_token(peft_model, windows, stop_ids)
        adapted = bits_per_token(peft_model, windows, stop_ids)
    finally:
        peft_model.train(was_training)
    out: dict[str, object] = {"documents": len(texts), "base": base, "adapter": adapted}
    if base.get("tokens"):
        out["text_bits_change"] = adapted["text_bits"] - base["text_bits"]
    return out
