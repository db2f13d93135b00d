"""Throughput on this machine, measured before labelling, and the budget's choices made from it.

Labelling is timed on real windows of the corpus (the longest, as most windows are full). A
training step is timed as forward and backward of small batches of prompts cut from the corpus,
through the base model with its weights frozen: that is the bulk of a LoRA step (gradients flow
back through every layer; LoRA's own small matrices add LORA_OVERHEAD). Nothing here changes the
model or draws from torch's RNG, so a run computes the same with or without a calibration.
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

import torch

from training import budget, labeling
from training.prompt_form import FimForm, PrefixForm
from training.request import TrainOptions

LORA_OVERHEAD = 1.15  # LoRA r 16 on every linear layer, against frozen forward+backward
SAMPLE_STATES = 512  # states whose prompt lengths stand for the corpus's
CALIBRATION_PROMPT = 96  # prompt tokens of the examples timed (per-token cost barely depends on it)
# A process's first optimizer step also builds LoRA's autograd graph and the optimizer's state:
# 1.7-2.2 times a later step of SmolLM2 on 2 CPU cores.
FIRST_STEP = 2.0


@dataclass(frozen=True)
class StepCost:
    """Seconds of one micro-batch: `micro_s` fixed plus `token_s` per padded token."""

    micro_s: float
    token_s: float

    def of(self, batches: Sequence[Sequence[dict]]) -> float:
        return sum(self.micro_s + padded_tokens(b) * self.token_s for b in batches)


def padded_tokens(batch: Sequence[dict]) -> int:
    if not batch:
        return 0
    return len(batch) * max(len(ex["prompt_ids"]) + len(ex["completion_ids"]) for ex in batch)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def label_rate(
    model, doc_ids: Sequence[Sequence[int]], options: labeling.LabelOptions, pad_id: int
) -> float:
    """Labelling tokens per second on one batch of the longest windows, after a short pass that
    pays the one-time costs (allocations, kernel choice)."""
    device = next(model.parameters()).device
    plan = labeling.plan_windows(doc_ids, options.window, options.overlap)
    batch = labeling.batches(plan, options.batch_tokens)[-1]
    labeling.surprise_batch(model, [replace(batch[0], ids=batch[0].ids[: batch[0].lead + 16])], pad_id)

    def once() -> float:
        _sync(device)
        t0 = time.perf_counter()
        labeling.surprise_batch(model, batch, pad_id)
        _sync(device)
        return time.perf_counter() - t0

    return sum(len(w.ids) - w.lead for w in batch) / max(1e-9, _best(once))


def _best(measure: Callable[[], float]) -> float:
    """The faster of two timings: on a machine shared with other work one of them may have
    waited for a core (the trainer's own clock catches a slowdown that lasts)."""
    return min(measure(), measure())


def corpus_examples(
    doc_ids: Sequence[Sequence[int]], states: Sequence[tuple[int, int]],
    options: labeling.LabelOptions, form: PrefixForm | FimForm,
) -> list[dict]:  # fmt: skip
    """Examples shaped as the labelled ones will be, before labelling: real prompts in the run's
    `form`, and completions as long as the method's typical one (their exact lengths come from
    the labels)."""
    rng = random.Random(f"calibrate-{options.seed}")
    picked = rng.sample(list(states), min(SAMPLE_STATES, len(states)))
    method = options.method
    typical = method.fixed if method.fixed is not None else (15 if method.name == "sft-rand" else 8)
    length = min(options.max_completion, typical)
    return [form.example(d, doc_ids[d], n, length).ids() for d, n in picked]


@contextmanager
def _frozen(model) -> Iterator[None]:
    """The model's weights frozen, yet gradients flowing back through every layer, as they do
    to LoRA's matrices in a step: transformers' hook makes the embeddings' output need them."""
    flags = [(p, p.requires_grad) for p in model.parameters()]
    for p, _ in flags:
        p.requires_grad_(False)
    model.enable_input_require_grads()
    try:
        yield
    finally:
        model.disable_input_require_grads()
        for p, flag in flags:
            p.requires_grad_(flag)


def _forward_backward(
    model, examples: Sequence[dict], pad_id: int, kl: float = 0.0, text: float = 0.0
) -> float:
    """Seconds of one micro-batch's loss and backward, the trainer's own (training.loss); for the
    KL term's second forward the frozen model stands in for the base."""
    from training.loss import collate, completion_loss_sum, kept_prompt

    device = next(model.parameters()).device
    batch = collate(examples, pad_id, kept_prompt(kl, text))
    batch = {k: v.to(device) for k, v in batch.items()}
    _sync(device)
    t0 = time.perf_counter()
    with torch.enable_grad():
        sum(completion_loss_sum(model, batch, kl, (), text)).backward()
    _sync(device)
    return time.perf_counter() - t0


def train_cost(
    model, examples: Sequence[dict], batch_size: int, pad_id: int, kl: float = 0.0,
    text: float = 0.0,
) -> StepCost:  # fmt: skip
    """Fixed and per-token cost of a training micro-batch, from one example and a few, their
    prompts cut short: a full micro-batch would cost half a step of the run's time."""
    short = [{**ex, "prompt_ids": ex["prompt_ids"][-CALIBRATION_PROMPT:]} for ex in examples]
    one, full = short[:1], short[: min(batch_size, 4)]

    def timed(batch: list[dict]) -> float:
        return _best(lambda: _forward_backward(model, batch, pad_id, kl, text))

    with _frozen(model):
        _forward_backward(model, one, pad_id, kl, text)  # one-time costs (allocations, kernels)
        t_one = timed(one)
        t_full = timed(full) if len(full) > 1 else t_one
    n_one, n_full = padded_tokens(one), padded_tokens(full)
    if n_full > n_one and t_full > t_one:
        token_s = (t_full - t_one) / (n_full - n_one)
        micro_s = max(0.0, t_one - token_s * n_one)
    else:
        token_s, micro_s = t_full / max(1, n_full), 0.0
    return StepCost(micro_s * LORA_OVERHEAD, token_s * LORA_OVERHEAD)


def step_costs(
    examples: Sequence[dict], opts: TrainOptions, world: int, cost: StepCost
) -> Iterator[float]:
    """Predicted seconds of steps 0, 1, 2, ...: rank 0's micro-batches, in the trainer's order."""
    from training.trainer import step_batches

    cache: dict[int, list[int]] = {}
    step = 0
    while True:
        micro = step_batches(step, len(examples), opts, world, 0, cache)
        seconds = cost.of([[examples[i] for i in idx] for idx in micro])
        yield seconds * FIRST_STEP if step == 0 else seconds
        step += 1


@dataclass
class Planner:
    """The budget's two choices for one run, and the record of why (stored in prepare.json)."""

    clock: budget.Clock
    opts: TrainOptions  # as the user gave them: max_steps None unless --max-steps
    world: int
    say: Callable[[str], None]
    record: dict = field(default_factory=dict)
    cost: StepCost | None = None
    # (states, tokens they label) as chosen by choose_states, for prepare to use as they are
    chosen: tuple[list, int] | None = None

    def choose_states(
        self, model, doc_ids: Sequence[Sequence[int]], options: labeling.LabelOptions,
        pad_id: int, form: PrefixForm | FimForm,
    ) -> labeling.LabelOptions:  # fmt: skip
        every = labeling.choose_states(doc_ids, replace(options, max_examples=None))
        if not every:
            return options
        with self.clock.phase("calibrate"):
            label_tps = label_rate(model, doc_ids, options, pad_id)
            sample = corpus_examples(doc_ids, every, options, form)
            self.cost = train_cost(
                model, sample, self.opts.batch_size, pad_id, self.opts.kl, self.opts.text
            )
        per_step = self.opts.batch_size * self.opts.grad_accum * self.world
        every_tokens = labeling.labeled_tokens(doc_ids, options, every)
        label_s_per_state = every_tokens / len(every) / label_tps
        size = self.opts.batch_size
        groups = [sample[i : i + size] for i in range(0, len(sample), size)]
        train_s_per_visit = self.cost.of(groups) / len(sample)
        first_step_extra = (FIRST_STEP - 1) * per_step * train_s_per_visit
        n = budget.plan_states(
            self.clock.available() - first_step_extra, len(every), label_s_per_state, train_s_per_visit,
            self.opts.epochs, per_step, options.max_examples, self.opts.max_steps,
        )  # fmt: skip
        visits = n * self.opts.epochs
        if self.opts.max_steps is not None:
            visits = min(visits, self.opts.max_steps * per_step)
        chosen = options if n >= len(every) else replace(options, max_examples=n)
        if n < len(every):
            states = labeling.choose_states(doc_ids, chosen)
            label_tokens = labeling.labeled_tokens(doc_ids, chosen, states)
        else:
            states, label_tokens = every, every_tokens
        self.chosen = (states, label_tokens)
        self.record.update(
            label_tokens_per_s=label_tps,
            train_tokens_per_s=1 / self.cost.token_s if self.cost.token_s > 0 else None,
            train_micro_batch_s=self.cost.micro_s,
            states_available=len(every),
            states=len(states),
            states_chosen_by="--max-examples" if options.max_examples is not None else "budget",
            planned_label_s=label_tokens / label_tps,
            planned_label_tokens=label_tokens,
            planned_train_estimate_s=max(0.0, min(
                visits * train_s_per_visit, self.clock.available() - label_tokens / label_tps
            )),  # fmt: skip
        )
        by = "" if options.max_examples is None else " (--max-examples)"
        eta = label_tokens / label_tps + self.record["planned_train_estimate_s"]
        self.say(
            f"measured labelling {label_tps:.0f} tokens/s and training {1 / self.cost.token_s:.0f} "
            f"tokens/s here; the {budget.duration(self.clock.budget_s)} budget labels "
            f"{len(states)} of {len(every)} states{by} (≈{label_tokens} tokens, "
            f"≈{budget.duration(label_tokens / label_tps)}); run ETA ≈{budget.duration(eta)}"
        )
        return chosen

    def choose_steps(self, examples: Sequence[dict]) -> int:
        from training.trainer import total_steps

        full = total_steps(len(examples), self.opts, self.world)
        cost = self.cost or StepCost(0.0, 0.0)
        costs = step_costs(examples, self.opts, self.world, cost)
        first = next(costs)
        costs = itertools.chain([first], costs)
        available = self.clock.available()
        if self.opts.max_steps is not None:
            steps, predicted = full, sum(itertools.islice(costs, full))
            chosen_by = "--max-steps" if full == self.opts.max_steps else "epochs"
        else:
            steps, predicted = budget.plan_steps(available, costs, full)
            chosen_by = "budget" if steps < full else "epochs"
        self.record.update(
            steps=steps, steps_chosen_by=chosen_by,
            planned_train_s=predicted, planned_at_s=self.clock.elapsed(),
        )  # fmt: skip
        what = {
            "budget": f"the budget trains {steps} of the {full} steps of {self.opts.epochs} epoch(s)",
            "epochs": f"training {steps} steps, {self.opts.epochs} epoch(s)",
            "--max-steps": f"training {steps} steps (--max-steps)",
        }[chosen_by]
        # the first step always runs; later ones only while they fit
        eta = max(first, min(predicted, available)) + budget.reserve_s(self.clock.budget_s or 0.0)
        over = ""
        if first > available:
            over = "; the first step alone takes longer than the budget leaves"
        elif predicted > available:
            over = "; more than the budget leaves, so training stops when it runs out"
        self.say(
            f"{what} (≈{budget.duration(predicted)}{over}); run ETA {budget.duration(eta)}, "
            f"elapsed {budget.duration(self.clock.elapsed())}"
        )
        return steps
