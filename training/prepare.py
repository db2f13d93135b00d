"""The run's data stage: collect sources, split off the holdout, label examples.

Writes holdout.jsonl, split.json, examples.jsonl, label_stats.json and, last, prepare.json, whose
presence tells a resumed run that the examples are complete and can be reused.
"""

from __future__ import annotations

import time
from pathlib import Path

from pairterm.errors import UserError
from training import filters, labels, rundir
from training.sources import Collected, SourceOptions


def source_options(args) -> SourceOptions:
    from training import sources

    return SourceOptions(
        authors=tuple(args.author),
        include=tuple(args.include) or filters.DEFAULT_INCLUDE,
        exclude=tuple(args.exclude),
        since=sources.parse_date(args.since, "--since") if args.since else None,
        until=sources.parse_date(args.until, "--until") if args.until else None,
        max_bytes=args.max_file_bytes,
        rev=args.rev,
    )


def collect(args, work: Path) -> Collected:
    """Sources and the holdout split (before the model loads, so bad input fails fast)."""
    from training import holdout as held_out
    from training import sources

    collected = sources.collect(Path(args.source).expanduser(), source_options(args))
    train_docs, holdout, split = sources.split_holdout(collected.documents, args.holdout, args.seed)
    doc_ref = lambda d: {"path": d.path, "commit": d.commit, "blob": d.blob, "time": d.time}  # noqa: E731
    rundir.write_jsonl(work / "holdout.jsonl", held_out.records(holdout, train_docs))
    rundir.write_json(
        work / "split.json",
        {**split, "source": collected.info, "train": [doc_ref(d) for d in train_docs],
         "holdout": [doc_ref(d) for d in holdout]},
    )  # fmt: skip
    collected.documents = train_docs
    collected.info = {**collected.info, "holdout": len(holdout)}
    return collected


def label(
    work: Path, collected, model, tokenizer, info: dict, options, show: bool,
    planner=None, heartbeat=None,
) -> tuple[list[dict], dict]:
    """Label the training documents; writes examples and label stats. Deterministic, but for
    the number of states a time budget's `planner` (`training.calibrate.Planner`) chooses."""
    import torch

    from training import labeling

    train_docs = collected.documents
    doc_ids = [labeling.tokenize(tokenizer, d.text) for d in train_docs]
    total_tokens = sum(len(ids) for ids in doc_ids)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model.to(device)
    form = labeling.example_form(tokenizer, options, info["eos_token_id"])
    if planner is not None:
        options = planner.choose_states(model, doc_ids, options, tokenizer.pad_token_id, form)
    if planner is not None and planner.chosen is not None:
        states, labeled = planner.chosen  # the budget already chose them, for these options
    else:
        states = labeling.choose_states(doc_ids, options)
        labeled = labeling.labeled_tokens(doc_ids, options, states) if states else 0
    if not states:
        raise UserError(
            "the training files are too short to sample states from "
            f"(fewer than {options.min_prefix + 1} tokens)"
        )
    later = planner.record.get("planned_train_estimate_s", 0.0) if planner is not None else 0.0
    if heartbeat is not None:
        heartbeat.set("labeling", labeled, "tokens", later_s=later)
    t0 = time.perf_counter()
    progress = _progress(show)

    def advance(n: int) -> None:
        progress.advance(task, n)
        if heartbeat is not None:
            heartbeat.advance(n)

    with progress:
        task = progress.add_task("labeling", total=labeled)
        surprises = labeling.document_surprises(
            model, doc_ids, options, tokenizer.pad_token_id, advance, states
        )
    label_s = time.perf_counter() - t0
    decode = lambda ids: tokenizer.decode(ids)  # noqa: E731
    examples = list(
        labeling.build_examples(
            train_docs,
            doc_ids,
            surprises,
            states,
            options,
            info["eos_token_id"],
            decode,
            form=form,
        )
    )
    stats = labels.label_stats([ex["tokens"] for ex in examples])
    stats.update(
        method=options.method.name, eta=options.eta, documents=len(train_docs), tokens=total_tokens,
        prompt_form="fim" if form.fim else "prefix",
    )
    rundir.write_json(work / "label_stats.json", stats)
    prepared = {
        "skipped": dict(sorted(collected.skipped.items())),
        "documents": {"train": len(train_docs), "holdout": collected.info["holdout"]},
        "label_tokens": labeled,
        "label_s": label_s,
        "label_tokens_per_s": labeled / label_s if label_s > 0 else None,
        "empty_share": stats["empty_share"],
        "source": collected.info,
    }
    if planner is not None:
        planner.choose_steps(examples)
        prepared["budget"] = {**planner.record, "clock": planner.clock.state()}
    rundir.write_jsonl(work / "examples.jsonl", examples)
    # written last: its presence says the examples above are complete and may be reused on resume
    rundir.write_json(work / "prepare.json", prepared)
    return examples, prepared


def _progress(show: bool):
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), TaskProgressColumn(),
        TextColumn("{task.completed:.0f}/{task.total:.0f} tokens"), TimeRemainingColumn(),
        console=Console(stderr=True), disable=not show,
    )  # fmt: skip
