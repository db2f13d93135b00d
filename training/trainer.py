"""LoRA fine-tuning on labeled examples: a loop you can read top to bottom.

The loss (training.loss: the completion's cross-entropy, the pull towards the base, the text term) is
normalised by the completion tokens of the whole optimizer step, so gradient accumulation and data-parallel ranks give the same
update as one large batch. The data order, LoRA init and dropout come from the seed; a checkpoint
(a plain dict) carries the LoRA weights, the optimizer, the step and the RNG state at the start of
the next step, so a resumed run computes exactly what an uninterrupted one would.

Runs as is on the CPU, on one GPU, or on several under `accelerate launch`.
"""

from __future__ import annotations

import io
import math
import os
import signal
import threading
import time
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from pairterm.errors import UserError
from training import labels
from training.budget import Clock, Heartbeat, reserve_s
from training.loss import (
    collate,
    completion_loss_sum,
    forward_pieces,
    kept_prompt,
    tokens_per_forward,
)
from training.request import TrainOptions
from training.rundir import write_bytes

# Test hook: the process sends itself SIGINT right after optimizer step N (counting from 1), as a
# Ctrl+C landing between the update and its bookkeeping would.
TEST_INTERRUPT_ENV = "PAIRTERM_TEST_SIGINT_AFTER_STEP"


@dataclass
class TrainResult:
    steps: int
    losses: list[float] = field(default_factory=list)  # per step: cross-entropy per target token
    kls: list[float] = field(default_factory=list)  # per step: weighted KL per target token
    texts: list[float] = field(default_factory=list)  # per step: weighted text term, the same
    tokens: int = 0
    target_tokens: int = 0
    train_seconds: float = 0.0
    planned_steps: int = 0
    stopped_by_budget: bool = False  # the next step would not have fit the time budget

    @property
    def final_loss(self) -> float | None:
        tail = self.losses[-10:]
        return sum(tail) / len(tail) if tail else None


def total_steps(n_examples: int, opts: TrainOptions, world: int = 1) -> int:
    per_step = opts.batch_size * opts.grad_accum * world
    steps = math.ceil(n_examples * opts.epochs / per_step)
    return max(1, min(steps, opts.max_steps) if opts.max_steps else steps)


def step_batches(
    step: int, n: int, opts: TrainOptions, world: int, rank: int,
    perms: dict[int, list[int]] | None = None,
) -> list[list[int]]:  # fmt: skip
    """Example indices of each micro-batch this rank runs at `step`.

    Position p of the endless stream is example perm_e[p mod n] with e = p // n and perm_e a
    seeded permutation per epoch, so the order depends only on (seed, step), never on history.
    `perms` keeps the permutations for a caller that walks many steps.
    """
    per_micro = opts.batch_size * world
    base = step * per_micro * opts.grad_accum
    perms = {} if perms is None else perms

    def at(p: int) -> int:
        e = p // n
        if e not in perms:
            g = torch.Generator().manual_seed(opts.seed * 100_003 + e)
            perms[e] = torch.randperm(n, generator=g).tolist()
        return perms[e][p % n]

    out = []
    for m in range(opts.grad_accum):
        first = base + m * per_micro + rank * opts.batch_size
        out.append([at(p) for p in range(first, first + opts.batch_size)])
    return out


def wrap_lora(model, opts: TrainOptions):
    from peft import LoraConfig, get_peft_model

    present = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules()}
    missing = [t for t in opts.target_modules if t not in present]
    if missing:
        raise UserError(f"--lora-targets {', '.join(missing)} not found in the base model")
    torch.manual_seed(opts.seed)  # LoRA A matrices are random-initialised
    config = LoraConfig(
        r=opts.lora_r,
        lora_alpha=opts.lora_alpha,
        lora_dropout=opts.lora_dropout,
        target_modules=list(opts.target_modules),
        bias="none",
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, config)


def _trainable_state(model) -> dict[str, torch.Tensor]:
    return {n: p.detach().cpu().clone() for n, p in model.named_parameters() if p.requires_grad}


def save_checkpoint(directory: Path, state: dict) -> Path:
    """Write `state` as step-NNNNNNN.pt (temp file, fsync, rename), then drop older checkpoints.

    Serialised in memory first so that every write error, a full disk included, surfaces as an
    OSError from one place (torch's own file writer reports them as RuntimeError).
    """
    path = directory / f"step-{state['step']:07d}.pt"
    buffer = io.BytesIO()
    torch.save(state, buffer)
    write_bytes(path, buffer.getvalue(), what="checkpointing")
    for old in directory.glob("step-*.pt"):
        if old != path:
            old.unlink(missing_ok=True)
    return path


def latest_checkpoint(directory: Path) -> dict | None:
    """The newest checkpoint that loads; a torn file (killed mid-write) is passed over."""
    for path in sorted(directory.glob("step-*.pt"), reverse=True):
        try:
            return torch.load(path, map_location="cpu", weights_only=True)
        except Exception:  # noqa: BLE001, S112 - an unreadable checkpoint is skipped, not fatal
            continue
    return None


def train(
    model,
    examples: Sequence[dict],
    opts: TrainOptions,
    checkpoints: Path,
    pad_id: int,
    show_progress: bool = True,
    clock: Clock | None = None,
    heartbeat: Heartbeat | None = None,
    stop_ids: Sequence[int] = (),
):
    """Fine-tune `model` (wrapped with LoRA here), continuing from the newest checkpoint if any.

    With a `clock` that has a budget, a step that would not fit what is left of it (less the time
    kept for writing) is not started; the run stops there, the adapter as it is. The clock's
    reading goes into every checkpoint and is taken back from the one resumed.

    Returns (peft model, TrainResult, whether this is the main process, which writes the run).
    """
    from accelerate import Accelerator

    accelerator = Accelerator(cpu=not torch.cuda.is_available())
    world, rank = accelerator.num_processes, accelerator.process_index
    fits = tokens_per_forward(model.config)  # the base's config, before LoRA wraps it
    model = wrap_lora(model, opts).to(accelerator.device)  # before the optimizer state is loaded
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=opts.lr, weight_decay=0.0)
    steps = total_steps(len(examples), opts, world)
    warmup = int(steps * opts.warmup)
    result = TrainResult(steps=steps, planned_steps=steps)

    start = 0
    state = latest_checkpoint(checkpoints)
    if state is not None:
        same_recipe = _recipe(state.get("options")) == _recipe(asdict(opts))
        if not same_recipe or state.get("examples") != len(examples):
            raise UserError(
                "the checkpoint was written with other settings; start over with --force"
            )
        missing = model.load_state_dict(state["adapter"], strict=False)
        if missing.unexpected_keys:
            raise UserError("the checkpoint does not match the model; start over with --force")
        optimizer.load_state_dict(state["optimizer"])
        torch.set_rng_state(state["torch_rng"])
        if state.get("cuda_rng") and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda_rng"])
        start = state["step"]
        result.losses = list(state["losses"])
        result.kls = list(state.get("kls", []))
        result.texts = list(state.get("texts", []))
        result.tokens, result.target_tokens = state["tokens"], state["target_tokens"]
        result.train_seconds = state["train_seconds"]
        if clock is not None:
            clock.restore(state.get("clock"))

    model, optimizer = accelerator.prepare(model, optimizer)
    model.train()
    progress = _progress(show_progress and accelerator.is_main_process, steps, start)
    session_tokens, session_start = 0, time.perf_counter()
    if heartbeat is not None:
        heartbeat.set("training", steps, "steps", done=start)

    def snapshot(step: int, rng: torch.Tensor) -> dict:
        return {
            "format": 1,
            "step": step,
            "examples": len(examples),
            "options": asdict(opts),
            "adapter": _trainable_state(accelerator.unwrap_model(model)),
            "optimizer": optimizer.state_dict(),
            "torch_rng": rng,
            "cuda_rng": cuda_rng_next,
            "losses": list(result.losses),
            "kls": list(result.kls),
            "texts": list(result.texts),
            "tokens": result.tokens,
            "target_tokens": result.target_tokens,
            "train_seconds": result.train_seconds + time.perf_counter() - session_start,
            "clock": clock.state() if clock is not None else None,
        }

    interrupt_after = int(os.environ.get(TEST_INTERRUPT_ENV) or 0)
    # the RNG state after the last finished step, which is also the state the next step starts in
    rng_next = torch.get_rng_state()
    cuda_rng_next = _cuda_rng()
    step = start
    try:
        with progress:
            task = progress.add_task("training", total=steps, completed=start, loss="-", tps="-")
            for step in range(start, steps):
                if _out_of_time(clock, result, step - start, session_start, accelerator):
                    result.stopped_by_budget = True
                    break
                # every rank holds all examples, so each knows the whole step's token counts
                shares = [step_batches(step, len(examples), opts, world, r) for r in range(world)]
                everything = [examples[i] for share in shares for idx in share for i in idx]
                step_targets = sum(len(ex["completion_ids"]) for ex in everything)
                step_tokens = sum(
                    len(ex["prompt_ids"]) + len(ex["completion_ids"]) for ex in everything
                )
                for group in optimizer.param_groups:
                    group["lr"] = labels.lr_at(step, steps, opts.lr, warmup)
                step_loss = torch.zeros(3, dtype=torch.float64, device=accelerator.device)
                pieces = [piece for idx in shares[rank]
                          for piece in forward_pieces([examples[i] for i in idx], fits)]
                for m, piece in enumerate(pieces):
                    batch = collate(piece, pad_id, kept_prompt(opts.kl, opts.text))
                    batch = {k: v.to(accelerator.device) for k, v in batch.items()}
                    with accelerator.no_sync(model) if m < len(pieces) - 1 else nullcontext():
                        ce_sum, kl_sum, text_sum = completion_loss_sum(
                            model, batch, opts.kl, stop_ids, opts.text
                        )
                        # DDP averages gradients over ranks; scaling by `world` makes that the mean
                        # over the completion tokens of the whole step, as on one process
                        total = ce_sum + kl_sum + text_sum
                        accelerator.backward(total * world / step_targets)
                    step_loss += torch.stack(
                        [ce_sum.detach(), kl_sum.detach(), text_sum.detach()]
                    ).double()
                # From the update to its bookkeeping a Ctrl+C waits: a checkpoint taken between
                # them would hold the new weights with the old step number, and resume would run
                # that step twice.
                with HeldInterrupt():
                    optimizer.step()
                    if step + 1 == interrupt_after:
                        os.kill(os.getpid(), signal.SIGINT)
                    optimizer.zero_grad(set_to_none=True)
                    if world > 1:
                        step_loss = accelerator.reduce(step_loss, "sum")
                    session_tokens += step_tokens
                    result.tokens += step_tokens
                    result.target_tokens += step_targets
                    result.losses.append(step_loss[0].item() / step_targets)
                    result.kls.append(step_loss[1].item() / step_targets)
                    result.texts.append(step_loss[2].item() / step_targets)
                    rng_next, cuda_rng_next = torch.get_rng_state(), _cuda_rng()
                done = step + 1
                rate = session_tokens / max(1e-9, time.perf_counter() - session_start)
                progress.update(
                    task, completed=done, loss=f"{result.losses[-1]:.3f}", tps=f"{rate:.0f}"
                )
                if heartbeat is not None:
                    heartbeat.update(done, f"loss {result.losses[-1]:.3f}")
                if (
                    done % opts.checkpoint_every == 0
                    and done < steps
                    and accelerator.is_main_process
                ):
                    save_checkpoint(checkpoints, snapshot(done, rng_next))
    except KeyboardInterrupt:
        if accelerator.is_main_process and len(result.losses) > start:
            save_checkpoint(checkpoints, snapshot(len(result.losses), rng_next))
        raise
    result.train_seconds += time.perf_counter() - session_start
    result.steps = len(result.losses)
    accelerator.wait_for_everyone()
    return accelerator.unwrap_model(model), result, accelerator.is_main_process


def _out_of_time(clock: Clock | None, result: TrainResult, session_steps: int,
                 session_start: float, accelerator) -> bool:  # fmt: skip
    """Whether the next step would overrun the budget, judged by the steps run so far (this
    process's, else the run's); every rank takes rank 0's answer, so all stop at the same step."""
    if clock is None or not clock.limited or not result.losses:
        return False
    if session_steps:
        step_s = (time.perf_counter() - session_start) / session_steps
    else:
        step_s = result.train_seconds / len(result.losses)
    late = clock.remaining() < step_s + reserve_s(clock.budget_s or 0.0)
    if accelerator.num_processes > 1:
        flags = accelerator.gather(torch.tensor([float(late)], device=accelerator.device))
        late = bool(flags[0].item())
    return late


def _recipe(options: dict | None) -> dict | None:
    """The options that decide the weights; how often checkpoints are taken does not."""
    if options is None:
        return None
    recipe = {k: v for k, v in options.items() if k != "checkpoint_every"}
    recipe.setdefault("kl", 0.0)  # written before the KL term existed: trained without it
    recipe.setdefault("text", 0.0)  # ... and the same for the text term
    return recipe


class HeldInterrupt:
    """Holds SIGINT (Ctrl+C) for the span of a `with` block, then delivers it as it would have been.

    Only the main thread can set signal handlers, and a handler set outside Python could not be
    put back; in those cases the block runs unprotected.
    """

    def __enter__(self) -> HeldInterrupt:
        self.pending = False
        self.previous = None
        if threading.current_thread() is threading.main_thread():
            if signal.getsignal(signal.SIGINT) is not None:
                self.previous = signal.signal(signal.SIGINT, self._hold)
        return self

    def _hold(self, signum: int, frame: object) -> None:
        self.pending = True

    def __exit__(self, *exc: object) -> None:
        if self.previous is None:
            return
        signal.signal(signal.SIGINT, self.previous)
        if self.pending:
            if callable(self.previous):
                self.previous(signal.SIGINT, None)  # Python's default raises KeyboardInterrupt here
            elif self.previous == signal.SIG_DFL:
                os.kill(os.getpid(), signal.SIGINT)


def _cuda_rng() -> list[torch.Tensor]:
    return torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []


def _progress(show: bool, total: int, start: int):
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("loss {task.fields[loss]}"),
        TextColumn("{task.fields[tps]} tok/s"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        disable=not show,
        transient=False,
    )
