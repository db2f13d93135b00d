"""Peak memory and step time of a training micro-batch: in the trainer's pieces against whole.

    .venv/bin/python benchmarks/train_memory.py [--base NAME|GGUF] [--examples 8] [--steps 2] [--json]

Each configuration runs in a process of its own (peak resident memory, `ru_maxrss`, only
grows): the base model (default: the one `pairterm train` uses), LoRA as the trainer wraps it,
`--examples` examples with the recipe's 192-token prompt cut from a standard-library module (not
code of ours) and a 4-token completion, the trainer's own loss (KL and text terms at 1) and
backward, `--steps` times; the first step is warm-up, the figure is the last. The baseline is
the same step as one forward over the whole micro-batch, measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

from latency import print_report

PROMPT, COMPLETION = 192, 4


def one(base: str | None, examples: int, steps: int, whole: bool) -> dict:
    import torch

    from pairterm.paths import usable_cores
    from training.base import load_base
    from training.loss import (
        KL_PROMPT,
        collate,
        completion_loss_sum,
        forward_pieces,
        tokens_per_forward,
    )
    from training.request import TrainOptions
    from training.trainer import wrap_lora

    torch.set_num_threads(usable_cores())
    model, tokenizer, info = load_base(base)
    loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    text = (Path(sysconfig.get_paths()["stdlib"]) / "argparse.py").read_text(encoding="utf-8")
    ids = tokenizer(text)["input_ids"]
    step = PROMPT + COMPLETION
    exs = [{"prompt_ids": ids[i * step : i * step + PROMPT],
            "completion_ids": ids[i * step + PROMPT : (i + 1) * step]} for i in range(examples)]  # fmt: skip
    limit = 1 << 30 if whole else tokens_per_forward(model.config)
    model = wrap_lora(model, TrainOptions())
    model.train()
    pieces = forward_pieces(exs, limit)
    seconds = []
    for _ in range(steps):
        start = time.perf_counter()
        for piece in pieces:
            terms = completion_loss_sum(model, collate(piece, tokenizer.pad_token_id, KL_PROMPT), 1.0,
                                        [info["eos_token_id"]], 1.0)  # fmt: skip
            sum(terms).backward()
        seconds.append(time.perf_counter() - start)
        model.zero_grad(set_to_none=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {"base": Path(info["path"]).name, "pieces": len(pieces), "loaded_bytes": loaded,
            "peak_bytes": peak, "step_s": seconds[-1]}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--base", help="base model (default: what `pairterm train` uses)")
    p.add_argument("--examples", type=int, default=8, help="examples in the micro-batch (8)")
    p.add_argument("--steps", type=int, default=2, help="steps; the last one is timed (2)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--child", choices=("pieces", "whole"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        print(json.dumps(one(args.base, args.examples, max(1, args.steps), args.child == "whole")))
        return 0
    runs = {}
    for how in ("pieces", "whole"):
        cmd = [sys.executable, __file__, "--child", how, "--examples", str(args.examples),
               "--steps", str(args.steps)] + (["--base", args.base] if args.base else [])  # fmt: skip
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            print(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed", file=sys.stderr)
            return done.returncode
        runs[how] = json.loads(done.stdout.strip().splitlines()[-1])
    pieces, whole = runs["pieces"], runs["whole"]
    report = {
        "base": pieces["base"], "examples": args.examples, "pieces": pieces["pieces"],
        "peak_gb": round(pieces["peak_bytes"] / 1e9, 2), "whole_peak_gb": round(whole["peak_bytes"] / 1e9, 2),
        "loaded_gb": round(pieces["loaded_bytes"] / 1e9, 2),
        "peak_ratio": round(pieces["peak_bytes"] / whole["peak_bytes"], 3),
        "step_s": round(pieces["step_s"], 1), "whole_step_s": round(whole["step_s"], 1),
        "step_ratio": round(pieces["step_s"] / whole["step_s"], 3),
    }  # fmt: skip
    print_report(report, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
