"""Build the Empower adapter pairterm ships: `python -m training.build_shipped_adapter RUN`.

One command, no network: train Empower on the running Python's standard library (PSF-2.0
licensed source that ships with every CPython), export it adapter-only, and write its provenance
record. An interrupted build resumes from RUN.partial; a finished RUN is reused, so the same
run can first be a row of `pairterm eval compare` and then be shipped. (The runtime side, which
finds the installed adapter and decides when it fits a model, is `pairterm.shipped_adapter`.)
"""

from __future__ import annotations

import argparse
import json
import platform
import shlex
import shutil
import sys
import sysconfig
from datetime import UTC, datetime
from pathlib import Path

from pairterm import atomic
from pairterm.argparsing import ArgumentParser
from pairterm.errors import EXIT_USER_ERROR, UserError

# Tests, generated tables and bundled data are not how people write Python.
EXCLUDE = (
    "test/*", "*/test/*", "*/tests/*", "*/idle_test/*", "pydoc_data/*", "encodings/*",
    "__phello__/*", "config-*/*",
)  # fmt: skip

# Chosen with `pairterm eval compare` (README, "The default adapter"), whose trained rows all use
# SHARED so that they differ only in their labels. Each state's prompt is its 192 preceding
# tokens; the cap and density bound labeling to about 50k tokens of text; the whole run takes
# about 22 minutes on 2 CPU cores.
SHARED = (
    "--include", "*.py", *(arg for pattern in EXCLUDE for arg in ("--exclude", pattern)),
    "--max-examples", "960", "--density", "0.02", "--context", "192",
    "--max-completion", "64", "--batch-size", "8", "--grad-accum", "2", "--lr", "5e-4",
    "--seed", "0",
)  # fmt: skip
# The pull towards the base (`--kl`) is stronger than `pairterm train`'s default: what this
# adapter learns about the standard library's text is not the user's code, only where to stop
# is meant to carry over (--kl 4 against 1: held-out text +0.09 against +0.15 bits a token,
# and more keystrokes saved on the typing benchmark, README "The shipped adapter"). For the same
# reason it does not learn the library's own next tokens (`--text 0`, where a personal run's
# default is 1): it was built that way, and the record says so.
RECIPE = ("--method", "empower", "--eta", "2", "--max-steps", "200", "--kl", "4", "--text", "0",
          *SHARED)


def stdlib_dir() -> Path:
    return Path(sysconfig.get_paths()["stdlib"])


def train_argv(run: Path, source: Path | None = None) -> list[str]:
    return [str(source or stdlib_dir()), "--out", str(run), *RECIPE]


def provenance(run: Path, adapter: Path) -> dict[str, object]:
    """What a user needs to trust and reproduce the shipped adapter."""
    from pairterm.model_file import file_sha256
    from training import rundir

    stored = rundir.read_json(run / "run.json")
    report = rundir.read_json(run / "report.json")
    base = Path(stored["base"]["path"])
    return {
        "adapter_sha256": file_sha256(adapter),
        "base_model": {"file": base.name, "bytes": base.stat().st_size,
                       "sha256": stored["base"]["sha256"]},  # fmt: skip
        "method": stored["method"],
        "eta": stored["eta"],
        "steps": report["steps"],
        "examples": report["examples"],
        "documents": report["documents"],
        "final_loss": report["final_loss"],
        "kl": report.get("kl", 0.0),
        "text": report.get("text", 0.0),
        # bits per token of held-out standard-library text, base model against adapter
        "drift": report.get("drift"),
        "train_wall_s": round(report["wall_s"], 1),
        "corpus": {
            "what": f"CPython {platform.python_version()} standard library (*.py, tests excluded)",
            "license": "PSF-2.0",
        },
        "command": "python -m training.build_shipped_adapter RUN",
        # as run, with the machine's paths replaced by names
        "train_command": "pairterm train " + shlex.join(
            ["STDLIB", *stored["argv"][1:]]
        ).replace(shlex.quote(str(run)), "RUN"),
        "lora": stored["lora"],
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def build(run: Path, install: bool) -> dict[str, object]:
    from ggml_export.export import export_adapter
    from pairterm import shipped_adapter
    from training import request, rundir
    from training import run as training_run

    if not run.is_dir():
        if rundir.partial_dir(run).is_dir():
            training_run.resume(run)
        else:
            training_run.train(request.from_argv(train_argv(run)))
    adapter = run.with_name(run.name + ".gguf")
    if not adapter.is_file():
        export_adapter(run, adapter)
    record = provenance(run, adapter)
    record_path = run.with_name(run.name + ".json")
    rundir.write_json(record_path, record)
    if install:
        # a half-copied adapter must never be loadable
        for src, dst in ((adapter, shipped_adapter.ADAPTER_FILE),
                         (record_path, shipped_adapter.PROVENANCE_FILE)):  # fmt: skip
            with atomic.replacing(dst) as tmp:
                shutil.copyfile(src, tmp)
    return record


def main(argv: list[str]) -> int:
    p = ArgumentParser(prog="python -m training.build_shipped_adapter", description=__doc__)
    p.add_argument("run", type=Path, nargs="?", help="run directory (the adapter goes to RUN.gguf)")
    p.add_argument("--install", action="store_true",
                   help="copy the adapter and its record into pairterm/data as the default")
    p.add_argument("--print-train-args", action="store_true",
                   help="print the data and training flags every compared row shares, and exit")
    args: argparse.Namespace = p.parse_args(argv)
    if args.print_train_args:
        print(shlex.join(SHARED))
        return 0
    if args.run is None:
        raise UserError("give the run directory: python -m training.build_shipped_adapter RUN")
    record = build(args.run.expanduser(), args.install)
    json.dump(record, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except UserError as exc:
        print(f"python -m training.build_shipped_adapter: error: {exc}", file=sys.stderr)
        sys.exit(EXIT_USER_ERROR)
