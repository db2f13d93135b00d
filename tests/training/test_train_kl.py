"""The pull towards the base model: it weighs what the adapter would write, never where it stops."""

from __future__ import annotations

import math
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from training.loss import IGNORE, KL_PROMPT, collate, completion_loss_sum
from training.request import TrainOptions
from training.trainer import wrap_lora

STOP = 1  # the tiny model's end-of-generation id (helpers.build_tiny_model)


@pytest.fixture()
def lora(tiny_model: Path):
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(tiny_model)
    return wrap_lora(model, TrainOptions(lora_dropout=0.0))


def examples() -> list[dict]:
    return [
        {"prompt_ids": list(range(5, 45)), "completion_ids": [50, 51, STOP]},
        {"prompt_ids": list(range(60, 70)), "completion_ids": [STOP]},
    ]


def test_the_kl_positions_reach_into_the_prompt_without_targets() -> None:
    batch = collate(examples(), pad_id=0, kl_prompt=KL_PROMPT)
    # example 1: 16 prompt positions + 3 completion; example 2: its 9 usable prompt positions + 1
    assert batch["keep"].sum().item() == len(batch["labels"]) == (16 + 3) + (9 + 1)
    assert batch["labels"].tolist() == [IGNORE] * 16 + [50, 51, STOP] + [IGNORE] * 9 + [STOP]
    plain = collate(examples(), pad_id=0)
    assert plain["labels"].tolist() == [50, 51, STOP, STOP]


class FixedLogits(torch.nn.Module):
    """A model whose logits at every kept position are fixed: `adapted`, or `base` while its
    adapter is switched off (as peft's disable_adapter does)."""

    def __init__(self, adapted: list[float], base: list[float]) -> None:
        super().__init__()
        self.adapted, self.base, self.off = torch.tensor(adapted), torch.tensor(base), False

    def forward(self, input_ids, attention_mask, logits_to_keep):
        rows = self.base if self.off else self.adapted
        return SimpleNamespace(logits=rows.expand(int(logits_to_keep.sum()), -1).clone())

    @contextmanager
    def disable_adapter(self):
        self.off = True
        try:
            yield
        finally:
            self.off = False


def test_kl_on_fixed_logits_ignores_the_stop_token() -> None:
    batch = collate([{"prompt_ids": [2, 3], "completion_ids": [STOP]}], pad_id=0)
    base = [0.0, 0.0, math.log(2.0), 0.0]  # text tokens 0, 2, 3 (STOP = 1 is left out): 1/4 1/2 1/4
    more_stop = [0.0, 5.0, math.log(2.0), 0.0]
    _, kl = completion_loss_sum(FixedLogits(more_stop, base), batch, kl=1.0, stop_ids=[STOP])
    assert kl.item() == pytest.approx(0.0, abs=1e-6)
    # the same stop, but the text tokens now 1/3 each: KL = Σ q ln(q / p)
    flat = [0.0, 5.0, 0.0, 0.0]
    _, kl = completion_loss_sum(FixedLogits(flat, base), batch, kl=1.0, stop_ids=[STOP])
    expected = 0.25 * math.log(0.75) + 0.5 * math.log(1.5) + 0.25 * math.log(0.75)
    assert kl.item() == pytest.approx(expected, abs=1e-6)
    # without naming the stop token, moving mass onto it counts as changing the predictions
    _, kl = completion_loss_sum(FixedLogits(more_stop, base), batch, kl=1.0)
    assert kl.item() > 0.5


def test_kl_is_zero_for_an_untrained_adapter_and_grows_with_its_change(lora) -> None:
    batch = collate(examples(), pad_id=0, kl_prompt=KL_PROMPT)
    ce, kl = completion_loss_sum(lora, batch, kl=1.0, stop_ids=[STOP])
    assert ce.item() > 0 and kl.item() == pytest.approx(0.0, abs=1e-6)  # LoRA B starts at zero
    with torch.no_grad():
        for name, param in lora.named_parameters():
            if "lora_B" in name:
                param.normal_(0, 0.05)
    ce, kl = completion_loss_sum(lora, batch, kl=1.0, stop_ids=[STOP])
    assert kl.item() > 1e-3
    _, doubled = completion_loss_sum(lora, batch, kl=2.0, stop_ids=[STOP])
    assert doubled.item() == pytest.approx(2 * kl.item(), rel=1e-5)
    kl.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for n, p in lora.named_parameters() if "lora_" in n)
