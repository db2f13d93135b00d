"""How far an adapter moves the model's predictions of code nobody here trained on.

An Empower adapter should change where the model stops, not what it would write. This scores
the timed-typing benchmark's files (Textual modules written after the models' data; `--files`
takes others) token by token with the model alone and with the adapter, in the same run and
through the same llama.cpp runtime the editor uses:

- `bits`: mean surprise of the file's next token (nats would be `bits · ln 2`);
- `text_bits`: the same with the end-of-generation tokens left out, as the gate reads it;
- `stop_mass`: mean probability put on ending generation at a position.

`text_bits_change` (adapter − model alone, with its standard error over the files) is the cost
in what the model would write; an adapter that only learned when to stop keeps it near 0.

    python benchmarks/drift.py [--model NAME|PATH] [--adapter PATH|empower] [--tokens N] [--json]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
from latency import print_report
from typing_bench import default_corpus

from pairterm.config import build_config
from pairterm.engine import Engine
from pairterm.evaluation.metrics import mean_se


def file_scores(engine: Engine, texts: list[str], tokens: int) -> list[np.ndarray]:
    """Per file, the engine's (bits, text bits, stop mass) rows for its first `tokens` tokens."""
    out = []
    for text in texts:
        ids = engine.tokenize(text, add_bos=False)[: tokens + 1]
        out.append(engine.score(engine.detokenize(ids)))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="model name or GGUF path (default: SmolLM2-135M)")
    parser.add_argument("--adapter", default="empower", help="LoRA GGUF or 'empower' (the shipped one)")
    parser.add_argument("--files", nargs="+", metavar="F", help="files instead of the corpus")
    parser.add_argument("--tokens", type=int, default=1024, help="tokens scored per file")
    parser.add_argument("--threads", type=int, help="CPU threads")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    if args.files:
        names = list(args.files)
        texts = [open(f, encoding="utf-8").read() for f in args.files]
    else:
        corpus = default_corpus()
        names = [f"{c.version}: {c.name}" for c in corpus]
        texts = [c.path.read_text(encoding="utf-8") for c in corpus]
    overrides = {"model": args.model or "smollm2-135m", "threads": args.threads}
    started = time.perf_counter()
    scores = {}
    adapter_name = None
    for which, adapter in (("model", "none"), ("adapter", args.adapter)):
        config = build_config({**overrides, "adapter": adapter}, file=Path(os.devnull))
        engine = Engine(config)
        try:
            if which == "adapter":
                adapter_name = engine.adapter_name
            scores[which] = file_scores(engine, texts, args.tokens)
        finally:
            engine.close()
    report: dict[str, object] = {"model": config.model_path().name, "adapter": adapter_name}
    for which in ("model", "adapter"):
        pooled = np.concatenate(scores[which])
        for k, name in enumerate(("bits", "text_bits", "stop_mass")):
            report[f"{which}_{name}"] = round(float(pooled[:, k].mean()), 4)
    for k, name in ((1, "text_bits_change"), (0, "bits_change")):
        diffs = [float(a[:, k].mean() - m[:, k].mean())
                 for a, m in zip(scores["adapter"], scores["model"], strict=True)]  # fmt: skip
        mean, se, _ = mean_se(diffs)
        report[name], report[f"{name}_se"] = round(mean or 0.0, 4), round(se or 0.0, 4)
    report["tokens"] = int(sum(len(s) for s in scores["model"]))
    report["files"] = names
    report["wall_s"] = round(time.perf_counter() - started, 1)
    print_report(report, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
