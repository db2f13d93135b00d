"""One training run as Python: sources -> holdout split -> labels -> LoRA -> run directory.

    result = train(TrainRequest(source="~/code/project", out="runs/mine", budget="2h"))
    result = resume(Path("runs/mine"))

Everything is built in RUN.partial/ and renamed to RUN at the end. run.json records the request,
with the source and base as absolute paths and the git revision pinned to the commit it named, so
a resume (from any directory, after any new commits) computes what the first process would have.
Errors are UserErrors; progress goes to stderr unless the request is quiet. The time budget
(`training.budget`) chooses what the request leaves open, after measuring this machine
(`training.calibrate`); the run's data and each checkpoint keep its clock, for a resume.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from pairterm.config import parse_eta
from pairterm.errors import UserError
from pairterm.paths import usable_cores
from training import budget, labels, prepare, rundir
from training import request as req
from training.request import TrainRequest


@dataclass(frozen=True)
class RunResult:
    run: Path  # the finished run directory; its adapter is in run / "adapter"
    steps: int
    examples: int
    final_loss: float | None
    resumed: bool
    report: dict

    @property
    def adapter_dir(self) -> Path:
        return self.run / "adapter"


def train(request: TrainRequest) -> RunResult | None:
    """Start the run `request` describes and train it to the end.

    Returns None on the ranks other than the first under `accelerate launch`: rank 0 writes the run.
    """
    clock_started = time.monotonic()
    if not request.source or not request.out:
        raise UserError("give SOURCE and --out RUN (or --resume RUN)")
    req.check(request)
    run = Path(request.out).expanduser()
    source = Path(request.source).expanduser()
    if not source.is_dir():
        what = "does not exist" if not source.exists() else "is neither a git repository nor a directory"
        raise UserError(f"source {source} {what}; give a git repository or a directory")
    prepare.source_options(request)  # bad dates fail before anything is created
    from training import sources
    from training.base import file_sha256, resolve_base

    base_path, base_kind = resolve_base(request.base)
    state = _process_state()
    if not state.is_main_process:  # under `accelerate launch`: rank 0 creates the run
        state.wait_for_everyone()
        work = rundir.partial_dir(run)
        stored = rundir.read_json(work / "run.json")
        return _run(_stored_request(stored), run, work, stored, False, clock_started)
    commit = sources.pin_revision(source, request.rev)
    work = rundir.start(run, request.force)
    request = replace(
        request, source=str(source.resolve()), force=False,
        base=str(base_path.resolve()) if request.base is not None else None,
    )  # fmt: skip
    stored = {
        "format": rundir.FORMAT,
        "base": {
            "path": str(base_path.resolve()),
            "kind": base_kind,
            "sha256": file_sha256(base_path) if base_kind == "gguf" else None,
        },
        "method": labels.parse_method(request.method).name,
        "eta": parse_eta(str(request.eta)),
        "lora": req.train_options(request).lora_json(),
        "seed": request.seed,
        "max_steps": request.max_steps,
        "source": request.source,
        "commit": commit,  # what `rev` named when the run started; None for a directory
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "request": asdict(request),
        "argv": req.to_argv(request),
    }
    rundir.write_json(work / "run.json", stored)
    state.wait_for_everyone()
    return _run(request, run, work, stored, False, clock_started)


def resume(run: Path, given: Mapping[str, object] | None = None) -> RunResult | None:
    """Continue the interrupted run at `run` (its RUN.partial) to the end.

    `given`: settings named on the resume's own command line (`request.given_flags`); those
    in `request.RESUME_MAY_CHANGE` are taken, any other must agree with the run.
    """
    clock_started = time.monotonic()
    work = rundir.find_resumable(run)
    stored = rundir.read_json(work / "run.json")
    request = req.resumed_request(_stored_request(stored), given or {}, stored.get("commit"))
    return _run(request, run, work, stored, True, clock_started)


def _stored_request(stored: dict) -> TrainRequest:
    if isinstance(stored.get("request"), dict):
        request = req.from_json(stored["request"])
    else:  # a run started before requests were stored: its flags, as given
        request = req.from_argv(stored["argv"])
        # ... as in from_json, without the budget it never had, before FIM-form examples, and
        # with the method it recorded (its argv left out the default of its time)
        request = replace(request, budget=request.budget or "none", no_fim=True,
                          method=str(stored.get("method", "empower")))
    # absolute: the run may be resumed from another directory
    return replace(request, source=stored["source"])


def _say(request: TrainRequest, message: str) -> None:
    if not request.quiet:
        print(f"pairterm train: {message}", file=sys.stderr, flush=True)


def budget_seconds(request: TrainRequest) -> float | None:
    """The run's budget in seconds, or None for none. The default budget only plans what the flags
    leave open: with --max-examples and --max-steps both given it has nothing to do."""
    seconds = budget.parse_budget(request.budget)
    fixed = request.max_examples is not None and request.max_steps is not None
    return None if request.budget is None and fixed else seconds


def _process_state():
    """accelerate's view of this process: rank 0 of 1 unless started by `accelerate launch`."""
    import torch
    from accelerate import PartialState

    # without cpu=True accelerate ignores torchrun's ranks on a machine with no GPU
    return PartialState(cpu=not torch.cuda.is_available())


def _run(request: TrainRequest, run: Path, work: Path, stored: dict, resumed: bool,
         clock_started: float) -> RunResult | None:  # fmt: skip
    t0 = time.perf_counter()
    clock = budget.Clock(budget_seconds(request), started=clock_started)
    import torch

    torch.set_num_threads(request.threads or usable_cores())
    state = _process_state()
    tty = sys.stderr.isatty()
    lines = not request.quiet and not tty and state.is_main_process
    with budget.Heartbeat(clock, lines) as heartbeat:
        try:
            result = _stages(request, run, work, stored, resumed, clock, heartbeat, state, t0)
            if state.num_processes > 1:
                # ranks leave together: one that exits while rank 0 still writes the run can
                # abort in its communication threads ("terminate called without an active exception")
                state.wait_for_everyone()
            return result
        finally:
            if state.num_processes > 1:
                state.destroy_process_group()


def _stages(request: TrainRequest, run: Path, work: Path, stored: dict, resumed: bool,
            clock: budget.Clock, heartbeat: budget.Heartbeat, state, t0: float) -> RunResult | None:  # fmt: skip
    import torch

    from training import labeling
    from training.base import load_base

    prepared_path = work / "prepare.json"
    collected = None
    if state.is_main_process and not prepared_path.is_file():
        heartbeat.set("collecting files")
        # the pinned commit, not the branch name: new commits since the start must not count
        walked = replace(request, rev=stored.get("commit") or request.rev)
        with clock.phase("collect"):
            collected = prepare.collect(walked, work)
        skipped = ", ".join(f"{k} {v}" for k, v in sorted(collected.skipped.items())) or "nothing"
        _say(request, f"{len(collected.documents)} files to train on, "
             f"{collected.info['holdout']} held out; skipped {skipped}")  # fmt: skip
    elif prepared_path.is_file():
        clock.restore(rundir.read_json(prepared_path).get("budget", {}).get("clock"))
    if state.is_main_process:
        _say(request, f"loading base model {stored['base']['path']}")
    heartbeat.set("loading base model")
    with clock.phase("load"):
        model, tokenizer, info = load_base(stored["base"]["path"])
    if info["sha256"] != stored["base"]["sha256"]:
        raise UserError(f"base model {info['path']} changed since the run started; start over with --force")
    options = labeling.LabelOptions(
        method=labels.parse_method(stored["method"]), eta=float(stored["eta"]), seed=request.seed,
        context=request.context, density=request.density, max_completion=request.max_completion,
        max_examples=request.max_examples, window=request.window, fim=not request.no_fim,
    )  # fmt: skip
    show = not request.quiet and sys.stderr.isatty()
    opts = req.train_options(request)

    # rank 0 labels; the other ranks wait for it and read the same examples
    with state.main_process_first():
        if collected is None:
            examples = rundir.read_jsonl(work / "examples.jsonl")
            prepared = rundir.read_json(prepared_path)
        else:
            planner = None
            if clock.limited:
                from training.calibrate import Planner

                heartbeat.set("measuring this machine")
                planner = Planner(clock, opts, state.num_processes, lambda m: _say(request, m))
            with clock.phase("label"):
                examples, prepared = prepare.label(
                    work, collected, model, tokenizer, info, options, show, planner, heartbeat
                )
            _say(
                request,
                f"labeled {len(examples)} states ({options.method.name}, η={options.eta:g}) from "
                f"{prepared['label_tokens']} tokens in {prepared['label_s']:.1f} s; "
                f"empty completions {prepared['empty_share']:.0%}",
            )
    plan = prepared.get("budget") or {}
    if plan.get("steps"):
        opts = replace(opts, max_steps=int(plan["steps"]))

    from training.trainer import train as fine_tune

    with clock.phase("train"):
        peft_model, result, main_process = fine_tune(
            model, examples, opts, work / "checkpoints", tokenizer.pad_token_id, show,
            clock, heartbeat, stop_ids=tokenizer.all_special_ids,
        )  # fmt: skip
    if not main_process:
        return None
    heartbeat.set("writing the adapter")
    with clock.phase("write"):
        peft_model.peft_config["default"].base_model_name_or_path = info["path"]
        try:
            peft_model.save_pretrained(str(work / "adapter"), save_embedding_layers=False)
        except OSError as exc:
            raise rundir.disk_error(exc, "saving the adapter") from None
    heartbeat.set("scoring the held-out files")
    with clock.phase("drift"):
        from training import drift, holdout

        held = holdout.new_texts(rundir.read_jsonl(work / "holdout.jsonl"))
        tokens = drift.MAX_TOKENS
        if clock.limited:  # two forward passes at the labelling rate, in what the budget has left
            spare = clock.remaining() - budget.reserve_s(clock.budget_s or 0.0)
            tokens = min(tokens, int(spare * (prepared.get("label_tokens_per_s") or 0) / 2))
        moved = drift.measure(peft_model, tokenizer, held, tokens) if held and tokens > 0 else None
    if moved and "text_bits_change" in moved:
        _say(request, f"held-out text: {moved['base']['text_bits']:.3f} bits/token with the base "
             f"model, {moved['adapter']['text_bits']:.3f} with the adapter")  # fmt: skip
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
        "kl": opts.kl,
        "kl_losses": result.kls,
        "text": opts.text,
        "text_losses": result.texts,
        "drift": moved,
        "device": str(next(peft_model.parameters()).device),
        "torch_threads": torch.get_num_threads(),
        "processes": state.num_processes,
        "budget": _budget_report(request, clock, plan, prepared, result, len(examples)),
    }
    rundir.write_json(work / "report.json", report)
    rundir.finish(work, run)
    return RunResult(run, result.steps, len(examples), result.final_loss, resumed, report)


def _budget_report(request: TrainRequest, clock: budget.Clock, plan: dict, prepared: dict,
                   result, examples: int) -> dict:  # fmt: skip
    """What the budget bought: its plan (from the rates measured before labelling) and what ran."""
    planned = {k: v for k, v in plan.items() if k != "clock"}
    return {
        "budget_s": clock.budget_s,
        "given": request.budget or f"default {budget.DEFAULT_BUDGET}"
        + ("" if clock.limited else ", unused: --max-examples and --max-steps fix the run"),
        "plan": planned or None,
        "states_labelled": examples,
        "steps_planned": result.planned_steps,
        "steps_run": result.steps,
        "stopped_early": result.stopped_by_budget,
        "measured": {
            "label_tokens_per_s": prepared["label_tokens_per_s"],
            "train_tokens_per_s": result.tokens / result.train_seconds if result.train_seconds else None,
            "train_steps_per_s": result.steps / result.train_seconds if result.train_seconds else None,
        },
        "phases_s": clock.phases(),
        "spent_before_s": float(clock.before.get("elapsed_s", 0.0)),
        "elapsed_s": clock.elapsed(),
    }
