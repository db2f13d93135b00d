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
    # the same positions predict the prompt's own next tokens, for the text term
    assert batch["text_labels"].tolist() == (
        list(range(29, 45)) + [IGNORE] * 3 + list(range(61, 70)) + [IGNORE]
    )
    plain = collate(examples(), pad_id=0)
    assert plain["labels"].tolist() == [50, 51, STOP, STOP]


def test_the_text_term_is_the_cross_entropy_of_the_prompts_own_tokens() -> None:
    batch = collate([{"prompt_ids": [0, 2, 3], "completion_ids": [STOP]}], pad_id=0, kl_prompt=2)
    logits = [0.0, 0.0, math.log(2.0), 0.0]  # p(2) = 2/5, the others 1/5
    terms = completion_loss_sum(FixedLogits(logits, logits), batch, text=3.0)
    # positions 0 and 1 predict the prompt's 2 and 3; position 2 the completion's STOP
    assert terms.text.item() == pytest.approx(3.0 * -(math.log(0.4) + math.log(0.2)), abs=1e-5)
    assert terms.completion.item() == pytest.approx(-math.log(0.2), abs=1e-5)
    assert completion_loss_sum(FixedLogits(logits, logits), batch).text.item() == 0.0


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
    kl = completion_loss_sum(FixedLogits(more_stop, base), batch, kl=1.0, stop_ids=[STOP]).kl
    assert kl.item() == pytest.approx(0.0, abs=1e-6)
    # the same stop, but the text tokens now 1/3 each: KL = Σ q ln(q / p)
    flat = [0.0, 5.0, 0.0, 0.0]
    kl = completion_loss_sum(FixedLogits(flat, base), batch, kl=1.0, stop_ids=[STOP]).kl
    expected = 0.25 * math.log(0.75) + 0.5 * math.log(1.5) + 0.25 * math.log(0.75)
    assert kl.item() == pytest.approx(expected, abs=1e-6)
    # without naming the stop token, moving mass onto it counts as changing the predictions
    kl = completion_loss_sum(FixedLogits(more_stop, base), batch, kl=1.0).kl
    assert kl.item() > 0.5


def test_kl_is_zero_for_an_untrained_adapter_and_grows_with_its_change(lora) -> None:
    batch = collate(examples(), pad_id=0, kl_prompt=KL_PROMPT)
    ce, kl, _ = completion_loss_sum(lora, batch, kl=1.0, stop_ids=[STOP])
    assert ce.item() > 0 and kl.item() == pytest.approx(0.0, abs=1e-6)  # LoRA B starts at zero
    with torch.no_grad():
        for name, param in lora.named_parameters():
            if "lora_B" in name:
                param.normal_(0, 0.05)
    ce, kl, _ = completion_loss_sum(lora, batch, kl=1.0, stop_ids=[STOP])
    assert kl.item() > 1e-3
    doubled = completion_loss_sum(lora, batch, kl=2.0, stop_ids=[STOP]).kl
    assert doubled.item() == pytest.approx(2 * kl.item(), rel=1e-5)
    kl.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for n, p in lora.named_parameters() if "lora_" in n)


def test_the_text_term_teaches_the_prompts_own_next_tokens(lora) -> None:
    batch = collate(examples(), pad_id=0, kl_prompt=KL_PROMPT)
    start = completion_loss_sum(lora, batch, text=1.0).text.item()
    optimizer = torch.optim.Adam([p for p in lora.parameters() if p.requires_grad], lr=0.02)
    for _ in range(30):
        optimizer.zero_grad()
        completion_loss_sum(lora, batch, text=1.0).text.backward()
        optimizer.step()
    assert completion_loss_sum(lora, batch, text=1.0).text.item() < 0.95 * start  # 149 -> 137
