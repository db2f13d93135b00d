"""Does a personal adapter write more of its author's code than the shipped one?

    python benchmarks/personal.py REPO --author A [--include GLOB] [--train-args ARGS]
                                  [--work DIR] [--budget 30m] [--json]

1. `pairterm train REPO --author A` with the default recipe and time budget: the author's
   newest commits are held out (`RUN/holdout.jsonl`), never trained on, and with each held-out
   file the run names its new lines, those the newest trained version of the file lacks.
2. `pairterm export RUN --adapter-only`.
3. On those new lines only (older versions of the same files were trained on), three rows with
   the same model (`--model`, default SmolLM2-135M, the shipped adapter's base, on which the
   README's table was measured) and the gate: no adapter, the shipped Empower adapter (only on
   the model it was trained for), the personal adapter.
   - `pairterm eval --corpus RUN` (the replay human): accept ratio, share of characters written
     by accepted suggestions, DPR, each mean ± standard error over the pieces of new lines;
   - the timed-typing benchmark (benchmarks/typing.py), regions inside the new lines of the
     held-out Python files that have the most of them (`--within`).
4. Paired differences (same pieces, same regions) of the personal row against the other two.

Everything goes to `--work` (default `personal-<repo name>`); a rerun reuses what is finished
(an interrupted training resumes), so the command can be stopped and started again.
"""

from __future__ import annotations

import argparse
import ast
import json
import shlex
import subprocess
import sys
from pathlib import Path

from latency import print_report

from pairterm import atomic
from pairterm.evaluation.corpus import file_lines
from pairterm.evaluation.metrics import mean_se, paired_difference
from training import rundir

HERE = Path(__file__).resolve().parent
ROWS = ("none", "empower", "personal")
EVAL_METRICS = ("accept_ratio", "accepted_char_share", "dpr")
OTHER_BREAKS = "\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"  # str.splitlines breaks there too


def shipped_fits(model: str) -> bool:
    """Whether the shipped Empower adapter was trained for `model` (a name or a GGUF path)."""
    from pairterm import shipped_adapter
    from pairterm.model_catalog import resolve_model_name

    return shipped_adapter.for_model(resolve_model_name(model) or Path(model)) is not None


def run(cmd: list[str], out: Path | None = None, cwd: Path | None = None) -> None:
    """Run a step; its stdout goes to `out` (written whole, then renamed), else to stderr."""
    print("+ " + " ".join(cmd), file=sys.stderr, flush=True)
    # a step's own report goes to stderr with its progress: stdout is this script's figures only
    done = subprocess.run(
        cmd, stdout=subprocess.PIPE if out else sys.stderr, text=True, check=False, cwd=cwd
    )
    if done.returncode != 0:
        raise SystemExit(f"personal.py: step failed with exit {done.returncode}: {' '.join(cmd)}")
    if out is not None:
        atomic.write_text(out, done.stdout)


def pairterm(*args: str) -> list[str]:
    return [sys.executable, "-m", "pairterm", *args]


def held_out_python(run_dir: Path, into: Path) -> dict[Path, list[list[int]]]:
    """The run's held-out Python files that parse and have new lines (training/holdout.py),
    written out for the typing benchmark, with those lines; a run written before runs named
    them gives every line of every held-out file."""
    into.mkdir(parents=True, exist_ok=True)
    files = {}
    for i, doc in enumerate(rundir.read_jsonl(run_dir / "holdout.jsonl")):
        text = doc["text"]
        spans = doc.get("new", [[0, len(text.split("\n")) - 1]])
        # the benchmark splits lines at newlines only; skip the rare file with other breaks
        if not doc["path"].endswith(".py") or not spans or any(c in text for c in OTHER_BREAKS):
            continue
        try:
            ast.parse(text)
        except (SyntaxError, ValueError):
            continue
        path = into / f"{i:03d}_{Path(doc['path']).name}"
        path.write_text(text, encoding="utf-8")
        files[path] = spans
    return files


def new_chars(path: Path, spans: list[list[int]]) -> int:
    lines = file_lines(path.read_text(encoding="utf-8"))
    return sum(len(line) for first, last in spans for line in lines[first : last + 1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("repo", type=Path, help="a git repository")
    parser.add_argument("--author", required=True, action="append", help="whose history (repeatable)")
    parser.add_argument("--include", action="append", default=[], metavar="GLOB",
                        help="files to train and evaluate on (repeatable; default: source files)")
    parser.add_argument("--train-args", default="", metavar="ARGS",
                        help="more `pairterm train` flags, one quoted string (say \"--text 1\")")
    parser.add_argument("--work", type=Path, help="where runs and results go")
    parser.add_argument("--budget", default="30m", help="training time budget (default 30m)")
    parser.add_argument("--model", default="smollm2-135m", metavar="NAME|GGUF",
                        help="the base model trained and evaluated (default smollm2-135m)")
    parser.add_argument("--typing-files", type=int, default=6,
                        help="held-out Python files typed, those with the most new lines (6)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    work = (args.work or Path(f"personal-{args.repo.resolve().name}")).resolve()
    work.mkdir(parents=True, exist_ok=True)
    run_dir, partial = work / "run", work / "run.partial"
    if not run_dir.is_dir():
        authors = [a for author in args.author for a in ("--author", author)]
        authors += [a for glob in args.include for a in ("--include", glob)]
        if partial.is_dir():
            run(pairterm("train", "--resume", str(run_dir)))
        else:
            run(pairterm("train", str(args.repo), *authors, "--out", str(run_dir), "--base",
                         args.model, "--budget", args.budget, *shlex.split(args.train_args)))  # fmt: skip
    adapter = work / "personal.gguf"
    if not adapter.is_file():
        run(pairterm("export", str(run_dir), "--out", str(adapter), "--adapter-only"))
    adapters = {"none": "none", "empower": "empower", "personal": str(adapter)}
    rows = [row for row in ROWS if row != "empower" or shipped_fits(args.model)]

    evals = {}
    for row in rows:
        out = work / f"eval-{row}.json"
        if not out.is_file():
            run(pairterm("eval", "--corpus", str(run_dir), "--model", args.model, "--adapter",
                         adapters[row], "--json", "--per-document"), out)  # fmt: skip
        evals[row] = rundir.read_json(out)

    # the person retypes new lines only: the files with the most of them
    held = held_out_python(run_dir, work / "held-out-py")
    typed = sorted(held, key=lambda p: -new_chars(p, held[p]))[: args.typing_files]
    typed = sorted(typed)
    # names relative to the work folder: the benchmark seeds each file's regions by its name,
    # so runs in another folder (another recipe) type the same regions
    names = [str(p.relative_to(work)) for p in typed]
    within = work / "typing-new-lines.json"
    atomic.write_text(within, json.dumps({name: held[p] for name, p in zip(names, typed, strict=True)}))
    typing = {}
    for row in rows:
        out = work / f"typing-{row}.json"
        if typed and not out.is_file():
            run([sys.executable, str(HERE / "typing.py"), "--model", args.model, "--adapter",
                 adapters[row], "--json", "--within", within.name, "--files", *names], out,
                cwd=work)  # fmt: skip
        if out.is_file():
            typing[row] = rundir.read_json(out)

    train_report = rundir.read_json(run_dir / "report.json")
    report: dict[str, object] = {
        "repo": args.repo.resolve().name,
        "model": args.model,
        "author": args.author,
        "held_out_files": evals["none"]["n_documents"],
        "train_examples": train_report["examples"],
        "train_steps": train_report["steps"],
        "train_wall_s": round(train_report["wall_s"], 1),
        "budget_s": train_report.get("budget", {}).get("budget_s"),
        "train_args": args.train_args,
        "kl": train_report.get("kl"),
        "text": train_report.get("text", 0.0),
        # the held-out files' text, bits per token: base model, and the change the adapter makes
        "held_out_text_bits": train_report.get("drift", {}).get("base", {}).get("text_bits"),
        "held_out_text_bits_change": train_report.get("drift", {}).get("text_bits_change"),
    }
    for row in rows:
        for metric in EVAL_METRICS:
            report[f"{row}_{metric}"] = evals[row][metric]
            report[f"{row}_{metric}_se"] = evals[row][f"{metric}_se"]
        if row in typing:
            report[f"{row}_saved_share"] = typing[row]["saved_share"]
    for other in [row for row in rows if row != "personal"]:
        for metric in EVAL_METRICS:
            mean, se, _ = paired_difference(
                evals["personal"]["documents"], evals[other]["documents"], metric
            )
            report[f"personal_minus_{other}_{metric}"] = mean
            report[f"personal_minus_{other}_{metric}_se"] = se
        if "personal" in typing and other in typing:
            regions = {r["region"]: r["saved_share"] for r in typing[other]["per_region"]}
            diffs = [r["saved_share"] - regions[r["region"]]
                     for r in typing["personal"]["per_region"] if r["region"] in regions]  # fmt: skip
            mean, se, _ = mean_se(diffs)
            report[f"personal_minus_{other}_saved_share"] = mean
            report[f"personal_minus_{other}_saved_share_se"] = se
    report["typing_files"] = [p.name for p in typed]
    print_report(report, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
