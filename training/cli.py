"""`pairterm train SOURCE --out RUN`: sources -> holdout split -> labels -> LoRA -> run directory.

Everything is built in RUN.partial/ and renamed to RUN at the end. `--resume RUN` re-reads the
original command line from RUN.partial/run.json, reuses the labeled examples if they were written,
and continues training from the last checkpoint.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from pairterm.argparsing import ArgumentParser
from pairterm.config import DEFAULT_ETA, parse_eta
from pairterm.errors import UserError
from pairterm.paths import usable_cores
from training import filters, labels, prepare, rundir
from training.trainer import ALL_LINEAR, TrainOptions


def build_parser() -> ArgumentParser:
    p = ArgumentParser(
        prog="pairterm train",
        description="Train a personal empowerment-tuned LoRA adapter from your git history or a directory.",
    )
    p.add_argument("source", nargs="?", help="git repository or directory of code")
    p.add_argument("--out", help="run directory to create (RUN)")
    p.add_argument(
        "--resume", nargs="?", const=True, metavar="RUN", help="continue an interrupted run"
    )
    p.add_argument(
        "--force", action="store_true", help="replace an existing RUN or interrupted run"
    )
    src = p.add_argument_group("data")
    src.add_argument(
        "--author",
        action="append",
        default=[],
        help="email or name (repeatable; default: git user.email)",
    )
    src.add_argument(
        "--include",
        action="append",
        default=[],
        help="glob of files to use (repeatable; default: source files)",
    )
    src.add_argument(
        "--exclude", action="append", default=[], help="glob of files to leave out (repeatable)"
    )
    src.add_argument("--since", help="only commits on or after this date (YYYY-MM-DD or ISO time)")
    src.add_argument("--until", help="only commits on or before this date")
    src.add_argument("--rev", default="HEAD", help="history to walk (default HEAD)")
    src.add_argument("--max-file-bytes", type=int, default=filters.DEFAULT_MAX_BYTES)
    src.add_argument(
        "--holdout", type=float, default=0.1, help="share of newest work kept for evaluation"
    )
    lab = p.add_argument_group("labels")
    lab.add_argument(
        "--method", default="empower", help="empower | sft-N | sft-rand (default empower)"
    )
    lab.add_argument(
        "--eta", default=str(DEFAULT_ETA), help=f"bits for Empower (default {DEFAULT_ETA})"
    )
    lab.add_argument(
        "--base", help="base model: a .gguf file or an HF directory (default: the editor's GGUF)"
    )
    lab.add_argument("--context", type=int, default=256, help="prompt tokens before each state")
    lab.add_argument("--density", type=float, default=1 / 32, help="states sampled per token")
    lab.add_argument(
        "--max-examples", type=int,
        help="cap on labeled examples (whole files, in random order, until they hold this many)",
    )  # fmt: skip
    lab.add_argument("--max-completion", type=int, default=128, help="cap on completion tokens")
    lab.add_argument("--window", type=int, default=512, help="tokens per labeling forward pass")
    tr = p.add_argument_group("fine-tuning")
    tr.add_argument("--max-steps", type=int, help="stop after N optimizer steps")
    tr.add_argument("--epochs", type=int, default=1)
    tr.add_argument("--batch-size", type=int, default=8)
    tr.add_argument("--grad-accum", type=int, default=2)
    tr.add_argument("--lr", type=float, default=2e-4)
    tr.add_argument("--lora-r", type=int, default=16)
    tr.add_argument("--lora-alpha", type=int, default=32)
    tr.add_argument("--lora-dropout", type=float, default=0.05)
    tr.add_argument(
        "--lora-targets", default=",".join(ALL_LINEAR), help="comma-separated module names"
    )
    tr.add_argument("--checkpoint-every", type=int, default=50, help="steps between checkpoints")
    tr.add_argument("--seed", type=int, default=0)
    tr.add_argument("--threads", type=int, help="torch CPU threads (default: one per core)")
    tr.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


def _check(args) -> None:
    positive = {
        "--context": args.context, "--max-completion": args.max_completion, "--window": args.window,
        "--epochs": args.epochs, "--batch-size": args.batch_size, "--grad-accum": args.grad_accum,
        "--lora-r": args.lora_r, "--lora-alpha": args.lora_alpha, "--checkpoint-every": args.checkpoint_every,
        "--max-file-bytes": args.max_file_bytes,
    }  # fmt: skip
    for flag, value in positive.items():
        if value < 1:
            raise UserError(f"{flag} must be at least 1, got {value}")
    for flag, value in {"--max-steps": args.max_steps, "--max-examples": args.max_examples,
                        "--threads": args.threads}.items():  # fmt: skip
        if value is not None and value < 1:
            raise UserError(f"{flag} must be at least 1, got {value}")
    if not 0 <= args.holdout < 1:
        raise UserError(f"--holdout must be in [0, 1), got {args.holdout}")
    if not 0 < args.density <= 1:
        raise UserError(f"--density must be in (0, 1], got {args.density}")
    if not 0 <= args.lora_dropout < 1 or not args.lr > 0:
        raise UserError("--lora-dropout must be in [0, 1) and --lr positive")


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    if args.resume:
        run = Path(args.resume if isinstance(args.resume, str) else (args.out or "")).expanduser()
        if not str(run):
            raise UserError("--resume needs the run directory: pairterm train --resume RUN")
        work = rundir.find_resumable(run)
        stored = rundir.read_json(work / "run.json")
        args = build_parser().parse_args(stored["argv"])
        args.source = stored["source"]  # absolute: the run may be resumed from another directory
        return _run(args, run, work, stored, resumed=True)
    if not args.source or not args.out:
        raise UserError("give SOURCE and --out RUN (or --resume RUN)")
    _check(args)
    run = Path(args.out).expanduser()
    method, eta = labels.parse_method(args.method), parse_eta(args.eta)
    _train_options(args)
    prepare.source_options(args)
    source = Path(args.source).expanduser()
    if not source.is_dir():
        what = (
            "does not exist"
            if not source.exists()
            else "is neither a git repository nor a directory"
        )
        raise UserError(f"source {source} {what}; give a git repository or a directory")
    from training.base import file_sha256, resolve_base

    base_path, base_kind = resolve_base(args.base)
    state = _process_state()
    if not state.is_main_process:  # under `accelerate launch`: rank 0 creates the run
        state.wait_for_everyone()
        work = rundir.partial_dir(run)
        return _run(args, run, work, rundir.read_json(work / "run.json"), resumed=False)
    work = rundir.start(run, args.force)
    stored = {
        "format": rundir.FORMAT,
        "base": {
            "path": str(base_path.resolve()),
            "kind": base_kind,
            "sha256": file_sha256(base_path) if base_kind == "gguf" else None,
        },
        "method": method.name,
        "eta": eta,
        "lora": _train_options(args).lora_json(),
        "seed": args.seed,
        "max_steps": args.max_steps,
        "source": str(Path(args.source).expanduser().resolve()),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "argv": [a for a in argv if a != "--force"],
    }
    rundir.write_json(work / "run.json", stored)
    state.wait_for_everyone()
    return _run(args, run, work, stored, resumed=False)


def _say(args, message: str) -> None:
    if not args.quiet:
        print(f"pairterm train: {message}", file=sys.stderr)


def _process_state():
    """accelerate's view of this process: rank 0 of 1 unless started by `accelerate launch`."""
    import torch
    from accelerate import PartialState

    # without cpu=True accelerate ignores torchrun's ranks on a machine with no GPU
    return PartialState(cpu=not torch.cuda.is_available())


def _train_options(args) -> TrainOptions:
    targets = tuple(t.strip() for t in args.lora_targets.split(",") if t.strip())
    if not targets:
        raise UserError("--lora-targets names no modules")
    return TrainOptions(
        lora_r=args.lora_r, lora_alpha=args.lora_alpha, lora_dropout=args.lora_dropout,
        target_modules=targets, lr=args.lr, batch_size=args.batch_size, grad_accum=args.grad_accum,
        epochs=args.epochs, max_steps=args.max_steps, checkpoint_every=args.checkpoint_every,
        seed=args.seed,
    )  # fmt: skip


def _run(args, run: Path, work: Path, stored: dict, resumed: bool) -> int:
    t0 = time.perf_counter()
    import torch

    torch.set_num_threads(args.threads or usable_cores())
    from training import labeling
    from training.base import load_base

    state = _process_state()
    prepared_path = work / "prepare.json"
    collected = None
    if state.is_main_process and not prepared_path.is_file():
        collected = prepare.collect(args, work)
        skipped = ", ".join(f"{k} {v}" for k, v in sorted(collected.skipped.items())) or "nothing"
        _say(
            args,
            f"{len(collected.documents)} files to train on, {collected.info['holdout']} held out; skipped {skipped}",
        )
    if state.is_main_process:
        _say(args, f"loading base model {stored['base']['path']}")
    model, tokenizer, info = load_base(stored["base"]["path"])
    if info["sha256"] != stored["base"]["sha256"]:
        raise UserError(
            f"base model {info['path']} changed since the run started; start over with --force"
        )
    options = labeling.LabelOptions(
        method=labels.parse_method(stored["method"]), eta=float(stored["eta"]), seed=args.seed,
        context=args.context, density=args.density, max_completion=args.max_completion,
        max_examples=args.max_examples, window=args.window,
    )  # fmt: skip
    show = not args.quiet and sys.stderr.isatty()

    # rank 0 labels; the other ranks wait for it and read the same examples
    with state.main_process_first():
        if collected is None:
            examples = rundir.read_jsonl(work / "examples.jsonl")
            prepared = rundir.read_json(prepared_path)
        else:
            examples, prepared = prepare.label(
                work, collected, model, tokenizer, info, options, show
            )
            _say(
                args,
                f"labeled {len(examples)} states ({options.method.name}, η={options.eta:g}) from "
                f"{prepared['label_tokens']} tokens in {prepared['label_s']:.1f} s; "
                f"empty completions {prepared['empty_share']:.0%}",
            )

    train_options = _train_options(args)
    from training.trainer import train

    try:
        peft_model, result, main_process = train(
            model, examples, train_options, work / "checkpoints", tokenizer.pad_token_id, show
        )
    except KeyboardInterrupt:
        print(
            f"pairterm train: stopped; continue with `pairterm train --resume {run}`",
            file=sys.stderr,
        )
        raise
    if not main_process:
        return 0
    peft_model.peft_config["default"].base_model_name_or_path = info["path"]
    try:
        peft_model.save_pretrained(str(work / "adapter"), save_embedding_layers=False)
    except OSError as exc:
        raise rundir.disk_error(exc, "saving the adapter") from None
    report = {
        "examples": len(examples),
        "skipped": prepared["skipped"],
        "steps": result.steps,
        "final_loss": result.final_loss,
        "tokens_per_s": result.tokens / result.train_seconds if result.train_seconds else None,
        "wall_s": time.perf_counter() - t0,
        "resumed": resumed,
        "method": stored["method"],
        "eta": stored["eta"],
        "documents": prepared["documents"],
        "label_tokens": prepared["label_tokens"],
        "label_tokens_per_s": prepared["label_tokens_per_s"],
        "label_s": prepared["label_s"],
        "empty_share": prepared["empty_share"],
        "train_tokens": result.tokens,
        "target_tokens": result.target_tokens,
        "train_s": result.train_seconds,
        "losses": result.losses,
        "device": str(next(peft_model.parameters()).device),
        "torch_threads": torch.get_num_threads(),
        "processes": state.num_processes,
    }
    rundir.write_json(work / "report.json", report)
    rundir.finish(work, run)
    loss = "n/a" if result.final_loss is None else f"{result.final_loss:.3f}"
    print(
        f"pairterm train: trained {result.steps} steps on {len(examples)} {stored['method']} examples "
        f"(final loss {loss}); adapter in {run / 'adapter'}",
        file=sys.stderr,
    )
    return 0
