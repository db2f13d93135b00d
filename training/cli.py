"""`pairterm train SOURCE --out RUN` and `pairterm train --resume RUN`: flags in, one run out.

The work is `training.run`; this module only turns the command line into a request and the
result into a line on stderr. `--resume RUN` continues from RUN.partial with the settings the run
was started with: flags that change the data or the training must agree with them (else one
line and exit 2), while --threads, --quiet, --checkpoint-every and --budget are taken from the
resume (a resume counts the time the run already spent against the budget).
"""

from __future__ import annotations

import sys
from pathlib import Path

from pairterm.errors import UserError
from training import request as req
from training import run as runs
from training.budget import duration


def main(argv: list[str]) -> int:
    args = req.build_parser().parse_args(argv)
    named = args.resume if isinstance(args.resume, str) else args.out
    run = Path(named or "").expanduser()
    try:
        if args.resume:
            if not named:
                raise UserError("--resume needs the run directory: pairterm train --resume RUN")
            if isinstance(args.resume, str) and args.out and Path(args.out).expanduser() != run:
                raise UserError(f"--out {args.out} is not the run being resumed ({run}); drop --out")
            result = runs.resume(run, req.given_flags(argv))
        else:
            result = runs.train(req.from_args(args))
    except KeyboardInterrupt:
        print(f"pairterm train: stopped; continue with `pairterm train --resume {run}`", file=sys.stderr)
        raise
    if result is None:  # another rank of `accelerate launch` wrote the run
        return 0
    loss = "n/a" if result.final_loss is None else f"{result.final_loss:.3f}"
    spent = result.report["budget"]
    took = f"in {duration(spent['elapsed_s'])}"
    if spent["budget_s"] is not None:
        took += f" of a {duration(spent['budget_s'])} budget"
    if spent["stopped_early"]:
        took += f", stopped by it after {spent['steps_run']} of {spent['steps_planned']} planned steps"
    print(
        f"pairterm train: trained {result.steps} steps on {result.examples} "
        f"{result.report['method']} examples (final loss {loss}) {took}; "
        f"adapter in {result.adapter_dir}",
        file=sys.stderr,
    )
    return 0
