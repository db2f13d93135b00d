"""`pairterm eval`: the assistant against a simulated human. (`pairterm eval compare`, the
table of trained rows, is `training.compare`: pairterm/cli.py dispatches it there.)

    pairterm eval --corpus humaneval|DIR|RUN [--limit N] [--max-rounds N] [--human-tokens K]
                  [--lenient-whitespace] [--human-model GGUF [--unsafe-exec]] [engine flags] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pairterm.argparsing import ArgumentParser
from pairterm.config import EngineConfig, add_engine_args, config_from_args
from pairterm.errors import UserError
from pairterm.evaluation.corpus import Document, FileSplit, load_corpus
from pairterm.evaluation.env import Rules
from pairterm.evaluation.runner import HumanSpec, OnResult, evaluate


def add_environment_args(parser: argparse.ArgumentParser) -> None:
    """Flags that define the data and the simulated human (shared with `eval compare`)."""
    parser.add_argument(
        "--corpus", help="humaneval (default), a directory of files, or a training run directory"
    )
    parser.add_argument("--limit", type=int, metavar="N", help="evaluate the first N documents")
    parser.add_argument("--max-rounds", type=int, metavar="N", help="round cap per document (50)")
    parser.add_argument("--human-tokens", type=int, metavar="K", help="tokens the human writes per round (10)")
    parser.add_argument(
        "--lenient-whitespace",
        action="store_true",
        default=None,
        help="accept suggestions that differ only in trailing whitespace",
    )
    parser.add_argument("--start-lines", type=int, metavar="N", help="plain files: lines given at the start (12)")
    parser.add_argument(
        "--target-chars", type=int, metavar="N", help="plain files: characters the human writes (1200)"
    )
    parser.add_argument("--human-model", metavar="GGUF", help="an instruct GGUF plays the human (HumanEval)")
    parser.add_argument(
        "--human-think-tokens", type=int, metavar="N", help="LLM human: tokens of thoughts per review (128)"
    )


def _positive(name: str, value: int | None, default: int, minimum: int = 1) -> int:
    if value is None:
        return default
    if value < minimum:
        raise UserError(f"--{name} must be at least {minimum}, got {value}")
    return value


def environment_from_args(
    args: argparse.Namespace,
) -> tuple[str, int | None, Rules, FileSplit, HumanSpec]:
    rules = Rules(
        human_tokens=_positive("human-tokens", args.human_tokens, 10),
        max_rounds=_positive("max-rounds", args.max_rounds, 50),
        lenient_whitespace=bool(args.lenient_whitespace),
    )
    split = FileSplit(
        start_lines=_positive("start-lines", args.start_lines, 12),
        target_chars=_positive("target-chars", args.target_chars, 1200),
    )
    limit = _positive("limit", args.limit, 0) if args.limit is not None else None
    corpus = args.corpus or "humaneval"
    human = HumanSpec(
        model=Path(args.human_model).expanduser() if args.human_model else None,
        think_tokens=_positive("human-think-tokens", args.human_think_tokens, 128),
    )
    if human.model is not None and corpus != "humaneval":
        raise UserError("--human-model needs --corpus humaneval: its pass@1 runs the problems' tests")
    return corpus, limit, rules, split, human


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog="pairterm eval",
        description="Measure the assistant against a simulated human (the Empower paper's "
        "environment). `pairterm eval compare --help` for the comparison table.",
    )
    add_environment_args(parser)
    add_engine_args(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--per-document", action="store_true", help="with --json: include each document's counters"
    )
    parser.add_argument(
        "--unsafe-exec",
        action="store_true",
        help="--human-model without bubblewrap: run the model's code unsandboxed",
    )
    return parser


@contextmanager
def document_progress(n_docs: int, label: str) -> Iterator[OnResult | None]:
    """A rich progress bar on stderr while documents are played (only on a terminal: stdout
    may carry the JSON object); yields the callback that advances it."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    console = Console(stderr=True)
    if not console.is_terminal:
        yield None
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeRemainingColumn(), TextColumn("{task.fields[last]}"))  # fmt: skip
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(label, total=n_docs, last="")
        yield lambda result: progress.update(task, advance=1, last=result.doc_id)


def run_eval(
    config: EngineConfig, docs: list[Document], rules: Rules, human: HumanSpec, label: str
) -> dict[str, object]:
    with document_progress(len(docs), label) as advance:
        return evaluate(config, docs, rules, human, advance)


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    corpus, limit, rules, split, human = environment_from_args(args)
    if human.model is not None:  # its tests run model-written code: refuse before loading models
        from pairterm.evaluation import execution

        if args.unsafe_exec:
            execution.allow_unsafe_exec()
        if not execution.require_sandbox():
            print("pairterm eval: warning: model-written code runs unsandboxed (--unsafe-exec)",
                  file=sys.stderr)  # fmt: skip
    config = config_from_args(args)
    docs = load_corpus(corpus, split, limit)
    summary = run_eval(config, docs, rules, human, f"eval {corpus}")
    summary["corpus"] = corpus
    if args.json:
        if not args.per_document:
            summary.pop("documents", None)
        json.dump(summary, sys.stdout)
        sys.stdout.write("\n")
    else:
        from pairterm.evaluation.report import print_summary

        print_summary(summary, f"pairterm eval — {corpus}")
    return 0
