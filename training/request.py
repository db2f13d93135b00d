"""What one training run is asked to do: `TrainRequest`, and `pairterm train`'s flags for it.

The command line and the Python callers (`training.compare`, `training.build_shipped_adapter`)
describe a run the same way, so a run started from either resumes the same way. A request is
stored in RUN.partial/run.json; `resumed_request` decides which flags a resume may change.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path

from pairterm.argparsing import ArgumentParser
from pairterm.config import DEFAULT_ETA, parse_eta
from pairterm.errors import UserError
from training import budget, filters, labels

# The pull towards the base model's predictions (training.loss.completion_loss_sum): chosen
# with the held-out figures in report.json's `drift` (README, "The default adapter").
DEFAULT_KL = 1.0
# Learning the person's own next tokens too: with it a personal adapter wrote more of its
# author's held-out code than the shipped adapter on two repositories, without it less (README).
DEFAULT_TEXT = 1.0
ALL_LINEAR = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


@dataclass(frozen=True)
class TrainOptions:
    """The fine-tuning loop's settings (`training.trainer.train`); defined here, free of torch,
    so that describing a run does not load it."""

    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    target_modules: tuple[str, ...] = ALL_LINEAR
    lr: float = 2e-4
    kl: float = 0.0
    text: float = 0.0
    batch_size: int = 8
    grad_accum: int = 2
    epochs: int = 1
    max_steps: int | None = None
    warmup: float = 0.05
    checkpoint_every: int = 50
    seed: int = 0

    def lora_json(self) -> dict:
        return {
            "r": self.lora_r,
            "alpha": self.lora_alpha,
            "dropout": self.lora_dropout,
            "target_modules": list(self.target_modules),
        }


@dataclass(frozen=True)
class TrainRequest:
    """Every setting of `pairterm train`, named as its flag (`max_steps` is `--max-steps`)."""

    source: str | None = None
    out: str | None = None
    author: tuple[str, ...] = ()
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    since: str | None = None
    until: str | None = None
    rev: str = "HEAD"
    max_file_bytes: int = filters.DEFAULT_MAX_BYTES
    holdout: float = 0.1
    # SFT-20 labels: with the runtime gate deciding where a suggestion stops, what an adapter
    # adds is what to write, and SFT-20 + gate beat Empower + gate on both repositories measured
    # (README, "The same comparison on the default model"). Empower stays a --method.
    method: str = "sft-20"
    eta: str | float = str(DEFAULT_ETA)
    base: str | None = None
    context: int = 256
    density: float = 1 / 32
    max_examples: int | None = None
    max_completion: int = 128
    window: int = 512
    no_fim: bool = False
    max_steps: int | None = None
    epochs: int = 1
    batch_size: int = 8
    grad_accum: int = 2
    lr: float = 2e-4
    kl: float = DEFAULT_KL
    text: float = DEFAULT_TEXT
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    lora_targets: str = ",".join(ALL_LINEAR)
    checkpoint_every: int = 50
    seed: int = 0
    budget: str | None = None  # None: budget.DEFAULT_BUDGET, planning only what the flags leave open
    threads: int | None = None
    quiet: bool = False
    force: bool = False


_D = TrainRequest()
# How the run is carried out, not what it computes: a resume takes these from its own command
# line. (Another thread count may change float rounding in the last bits, never the recipe.)
# The budget too: a resume keeps the states and steps the run chose, and stops on its new budget.
RESUME_MAY_CHANGE = ("threads", "quiet", "checkpoint_every", "budget")


def build_parser() -> ArgumentParser:
    p = ArgumentParser(
        prog="pairterm train",
        description="Train a personal LoRA adapter from your git history or a directory, for the "
        "editor's gated suggestions.",
    )
    p.add_argument("source", nargs="?", help="git repository or directory of code")
    p.add_argument("--out", help="run directory to create (RUN)")
    p.add_argument(
        "--resume", nargs="?", const=True, metavar="RUN",
        help="continue an interrupted run; flags that change the data or the training must match "
        "the run's, --threads, --quiet, --checkpoint-every and --budget may differ",
    )  # fmt: skip
    p.add_argument("--force", action="store_true", help="replace an existing RUN or interrupted run")
    p.add_argument(
        "--budget", metavar="TIME",
        help="wall time for the whole run, e.g. 30m, 2h, 90s, 1h30m, or none (default 30m): it "
        "chooses how many states to label and how many steps to train unless --max-examples and "
        "--max-steps say, and training stops cleanly when the time is up",
    )  # fmt: skip
    src = p.add_argument_group("data")
    src.add_argument("--author", action="append", default=[],
                     help="email or name (repeatable; default: git user.email)")
    src.add_argument("--include", action="append", default=[],
                     help="glob of files to use (repeatable; default: source files)")
    src.add_argument("--exclude", action="append", default=[],
                     help="glob of files to leave out (repeatable)")
    src.add_argument("--since", help="only commits on or after this date (YYYY-MM-DD or ISO time)")
    src.add_argument("--until", help="only commits on or before this date")
    src.add_argument("--rev", default=_D.rev,
                     help="history to walk (default HEAD; the run records the commit it names)")
    src.add_argument("--max-file-bytes", type=int, default=_D.max_file_bytes)
    src.add_argument("--holdout", type=float, default=_D.holdout,
                     help="share of newest work kept for evaluation")
    lab = p.add_argument_group("labels")
    lab.add_argument("--method", default=_D.method, help="sft-N | next-N | empower | sft-rand (default sft-20: the first 20 "
                     "tokens after each state; the editor's gate decides where suggestions stop)")
    lab.add_argument("--eta", default=_D.eta, help=f"bits for Empower (default {DEFAULT_ETA})")
    lab.add_argument("--base", help="base model: a name from `pairterm model list`, a .gguf file or an HF "
                                    "directory (default: the editor's default model, which the adapter then fits)")
    lab.add_argument("--context", type=int, default=_D.context, help="prompt tokens before each state")
    lab.add_argument("--density", type=float, default=_D.density, help="states sampled per token")
    lab.add_argument("--max-examples", type=int,
                     help="cap on labeled examples (whole files, in random order, until they hold this many)")
    lab.add_argument("--max-completion", type=int, default=_D.max_completion, help="cap on completion tokens")
    lab.add_argument("--window", type=int, default=_D.window, help="tokens per labeling forward pass")
    lab.add_argument("--no-fim", action="store_true",
                     help="prompts of the text before each state, even for a model the editor "
                          "prompts in fill-in-the-middle form (default: the editor's form)")
    tr = p.add_argument_group("fine-tuning")
    tr.add_argument("--max-steps", type=int, help="stop after N optimizer steps")
    tr.add_argument("--epochs", type=int, default=_D.epochs)
    tr.add_argument("--batch-size", type=int, default=_D.batch_size)
    tr.add_argument("--grad-accum", type=int, default=_D.grad_accum)
    tr.add_argument("--lr", type=float, default=_D.lr)
    tr.add_argument("--kl", type=float, default=_D.kl,
                    help=f"weight of the pull towards the base model's predictions (default {DEFAULT_KL:g}; 0: none)")
    tr.add_argument("--text", type=float, default=_D.text,
                    help=f"weight of learning the source's own next tokens before each state (default {DEFAULT_TEXT:g}; 0: none)")
    tr.add_argument("--lora-r", type=int, default=_D.lora_r)
    tr.add_argument("--lora-alpha", type=int, default=_D.lora_alpha)
    tr.add_argument("--lora-dropout", type=float, default=_D.lora_dropout)
    tr.add_argument("--lora-targets", default=_D.lora_targets, help="comma-separated module names")
    tr.add_argument("--checkpoint-every", type=int, default=_D.checkpoint_every,
                    help="steps between checkpoints")
    tr.add_argument("--seed", type=int, default=_D.seed)
    tr.add_argument("--threads", type=int, help="torch CPU threads (default: one per core)")
    tr.add_argument("--quiet", action="store_true", help="no progress bars")
    return p  # fmt: skip


def from_args(args: argparse.Namespace) -> TrainRequest:
    values = {f.name: getattr(args, f.name) for f in fields(TrainRequest)}
    for name in ("author", "include", "exclude"):
        values[name] = tuple(values[name])
    return TrainRequest(**values)


def from_argv(argv: Sequence[str]) -> TrainRequest:
    """`pairterm train` flags (as a user writes them, e.g. `eval compare --train-args`) as a request."""
    return from_args(build_parser().parse_args(list(argv)))


def to_argv(request: TrainRequest) -> list[str]:
    """The shortest `pairterm train` command line for `request` (SOURCE first), for the record."""
    argv = [request.source] if request.source else []
    for f in fields(TrainRequest):
        value, default = getattr(request, f.name), getattr(_D, f.name)
        flag = "--" + f.name.replace("_", "-")
        # the method is written even as the default: a record must say it after the default changes
        if f.name in ("source", "force") or value is None or (value == default and f.name != "method"):
            continue
        if isinstance(value, bool):
            argv.append(flag)
        elif isinstance(value, tuple):
            argv += [a for v in value for a in (flag, v)]
        else:
            argv += [flag, str(value)]
    return argv


def from_json(data: Mapping[str, object]) -> TrainRequest:
    known = {f.name for f in fields(TrainRequest)}
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k in known}
    # a run stored before budgets existed resumes as it was started: without one
    values.setdefault("budget", "none")
    values.setdefault("kl", 0.0)  # ... and before the KL term: without it
    values.setdefault("text", 0.0)  # ... and before the text term
    values.setdefault("no_fim", True)  # ... and before FIM-form examples
    return TrainRequest(**values)  # type: ignore[arg-type]


def check(request: TrainRequest) -> None:
    """Every value a run needs to be sane, as one UserError naming the flag."""
    r = request
    positive = {
        "--context": r.context, "--max-completion": r.max_completion, "--window": r.window,
        "--epochs": r.epochs, "--batch-size": r.batch_size, "--grad-accum": r.grad_accum,
        "--lora-r": r.lora_r, "--lora-alpha": r.lora_alpha, "--checkpoint-every": r.checkpoint_every,
        "--max-file-bytes": r.max_file_bytes,
    }  # fmt: skip
    for flag, value in positive.items():
        if value < 1:
            raise UserError(f"{flag} must be at least 1, got {value}")
    for flag, value in {"--max-steps": r.max_steps, "--max-examples": r.max_examples,
                        "--threads": r.threads}.items():  # fmt: skip
        if value is not None and value < 1:
            raise UserError(f"{flag} must be at least 1, got {value}")
    if not 0 <= r.holdout < 1:
        raise UserError(f"--holdout must be in [0, 1), got {r.holdout}")
    if not 0 < r.density <= 1:
        raise UserError(f"--density must be in (0, 1], got {r.density}")
    if not r.kl >= 0:
        raise UserError(f"--kl must be 0 or more, got {r.kl}")
    if not r.text >= 0:
        raise UserError(f"--text must be 0 or more, got {r.text}")
    if not 0 <= r.lora_dropout < 1 or not r.lr > 0:
        raise UserError("--lora-dropout must be in [0, 1) and --lr positive")
    labels.parse_method(r.method)
    parse_eta(str(r.eta))
    budget.parse_budget(r.budget)
    train_options(r)


def train_options(request: TrainRequest) -> TrainOptions:
    r = request
    targets = tuple(t.strip() for t in r.lora_targets.split(",") if t.strip())
    if not targets:
        raise UserError("--lora-targets names no modules")
    return TrainOptions(
        lora_r=r.lora_r, lora_alpha=r.lora_alpha, lora_dropout=r.lora_dropout,
        target_modules=targets, lr=r.lr, kl=r.kl, text=r.text, batch_size=r.batch_size, grad_accum=r.grad_accum,
        epochs=r.epochs, max_steps=r.max_steps, checkpoint_every=r.checkpoint_every, seed=r.seed,
    )  # fmt: skip


def given_flags(argv: Sequence[str]) -> dict[str, object]:
    """Only the settings `argv` names itself (a flag left out is not a flag set to its default)."""
    parser = build_parser()
    for action in parser._actions:  # argparse has no public way to drop every default
        action.default = argparse.SUPPRESS
    given = vars(parser.parse_args(list(argv)))
    return {k: tuple(v) if isinstance(v, list) else v for k, v in given.items()}


def _same(name: str, given: object, stored: object, commit: str | None) -> bool:
    from training import sources

    if name in ("source", "base"):
        return stored is not None and given is not None and (
            Path(str(given)).expanduser().resolve() == Path(str(stored)).expanduser().resolve()
        )
    if name == "eta":
        return parse_eta(str(given)) == parse_eta(str(stored))
    if name == "method":
        return labels.parse_method(str(given)).name == labels.parse_method(str(stored)).name
    if name in ("since", "until"):
        def when(v: object) -> object:
            return sources.parse_date(str(v), f"--{name}") if v is not None else None

        return when(given) == when(stored)
    if name == "rev":
        return given in (stored, commit)
    if name == "lora_targets":
        return train_options(replace(_D, lora_targets=str(given))).target_modules == (
            train_options(replace(_D, lora_targets=str(stored))).target_modules
        )
    return given == stored


def resumed_request(
    stored: TrainRequest, given: Mapping[str, object], commit: str | None = None
) -> TrainRequest:
    """The request a resume runs: the stored one, with the flags in RESUME_MAY_CHANGE taken
    from `given`. Any other flag given must agree with the run, or the resumed run would
    silently compute something else than either command asked for."""
    if given.get("force"):
        raise UserError("--force starts a run over and --resume continues one; give only one")
    conflicts = []
    for name, value in given.items():
        if name in ("resume", "force", "out") or name in RESUME_MAY_CHANGE:
            continue
        if not _same(name, value, getattr(stored, name), commit):
            flag = name if name == "source" else "--" + name.replace("_", "-")
            shown = lambda v: " ".join(v) if isinstance(v, tuple) else str(v)  # noqa: E731
            conflicts.append(f"{flag} {shown(value)} (the run has {shown(getattr(stored, name))})")
    if conflicts:
        raise UserError(
            "--resume continues the run with its own settings, but this command line changes "
            + "; ".join(conflicts)
            + ": drop those flags, or start over with --force"
        )
    request = replace(stored, **{k: v for k, v in given.items() if k in RESUME_MAY_CHANGE})
    check(request)
    return request
