"""A micro-batch runs in forwards small enough for a laptop's memory, with the same gradient."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import torch

from training.loss import (
    FORWARD_ACTIVATION_BYTES,
    KL_PROMPT,
    collate,
    completion_loss_sum,
    forward_pieces,
    tokens_per_forward,
)
from training.request import TrainOptions
from training.trainer import wrap_lora

STOP = 1
QWEN_05B = SimpleNamespace(hidden_size=896, intermediate_size=4864, num_hidden_layers=24)
SMOLLM2_135M = SimpleNamespace(hidden_size=576, intermediate_size=1536, num_hidden_layers=30)


def example(prompt: int, completion: int, start: int = 5) -> dict:
    return {"prompt_ids": list(range(start, start + prompt)),
            "completion_ids": list(range(50, 50 + completion - 1)) + [STOP]}  # fmt: skip


def test_pieces_keep_the_order_and_stay_within_the_bound_counting_padding() -> None:
    exs = [example(10, 2), example(30, 2), example(5, 1), example(8, 4), example(100, 3)]
    pieces = forward_pieces(exs, 40)
    assert [ex for piece in pieces for ex in piece] == exs
    # 12 and 32 tokens pad to 2 × 32 > 40; 32 + 6 → 2 × 32 > 40; 6 + 12 → 2 × 12 fits; 103 alone
    assert [len(p) for p in pieces] == [1, 1, 2, 1]
    assert forward_pieces(exs, 10_000) == [exs]


def test_the_code_models_micro_batch_runs_in_pieces_the_small_models_whole() -> None:
    default = [example(192, 4)] * TrainOptions().batch_size  # the recipe's prompt and a completion
    # at the memory a token was measured to take (9.0 MB for the code model, 4.4 MB for SmolLM2)
    qwen = forward_pieces(default, tokens_per_forward(QWEN_05B))
    assert [len(p) for p in qwen] == [3, 3, 2]
    assert 3 * 196 * 9.0e6 <= FORWARD_ACTIVATION_BYTES < 4 * 196 * 9.0e6
    assert forward_pieces(default, tokens_per_forward(SMOLLM2_135M)) == [default]
    assert 8 * 196 * 4.4e6 <= FORWARD_ACTIVATION_BYTES


def test_a_step_in_pieces_has_the_gradient_of_one_forward(tiny_model: Path) -> None:
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    model = wrap_lora(AutoModelForCausalLM.from_pretrained(tiny_model), TrainOptions(lora_dropout=0.0))
    with torch.no_grad():  # LoRA B starts at zero; move it so that the KL term has a gradient too
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.normal_(0, 0.02)
    exs = [example(40, 3), example(10, 1, start=60), example(25, 2, start=20), example(33, 4)]
    targets = sum(len(ex["completion_ids"]) for ex in exs)

    def gradient(pieces: list[list[dict]]) -> dict[str, torch.Tensor]:
        model.zero_grad(set_to_none=True)
        for piece in pieces:
            terms = completion_loss_sum(model, collate(piece, 0, KL_PROMPT), 1.0, [STOP], 1.0)
            (sum(terms) / targets).backward()
        return {n: p.grad.clone() for n, p in model.named_parameters() if p.requires_grad}

    whole = gradient([exs])
    split = gradient(forward_pieces(exs, 60))
    assert len(forward_pieces(exs, 60)) == 3
    assert whole.keys() == split.keys() and any(g.abs().sum() > 0 for g in whole.values())
    for name in whole:
        torch.testing.assert_close(split[name], whole[name], rtol=1e-4, atol=1e-7)
