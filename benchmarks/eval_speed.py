"""How fast `pairterm eval` plays documents, and what llama.cpp's prefix cache is worth to it.

Plays the same HumanEval problems twice with the replay human and the same engine settings:
once as `pairterm eval` does (rounds of a document in order on one engine, so each round only
prefills what was appended since the last), and once with the context cleared before every
round (the bare baseline: every suggestion prefills its whole prompt). Both runs must produce the
same sessions; the ratio of their speeds is the cache's contribution.

    .venv/bin/python benchmarks/eval_speed.py [--limit 10] [--max-rounds 50] [--threads N]
                                              [--model NAME|GGUF] [--json]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

from pairterm.config import build_config
from pairterm.engine import Engine
from pairterm.evaluation.corpus import load_humaneval
from pairterm.evaluation.engine_side import EngineAssistant, EngineTokens
from pairterm.evaluation.env import ReplayHuman, Rules
from pairterm.evaluation.metrics import summarize
from pairterm.evaluation.runner import play


class ColdAssistant(EngineAssistant):
    """The baseline: llama.cpp's context is emptied before each suggestion."""

    def propose(self, before: str) -> str:
        self.engine.llama.reset()
        return super().propose(before)


def measure(engine: Engine, cold: bool, docs: list, rules: Rules) -> dict[str, object]:
    assistant = (ColdAssistant if cold else EngineAssistant)(engine)
    tokens = EngineTokens(engine)
    engine.llama.reset()
    start = time.perf_counter()
    results = play(docs, assistant, ReplayHuman(tokens, rules), tokens, rules)
    summary = summarize(results, time.perf_counter() - start)
    summary["sessions"] = [(r.doc_id, r.proposed, r.accepted, r.tokens_written) for r in results]
    return summary


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--limit", type=int, default=10)
    p.add_argument("--max-rounds", type=int, default=50)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--eta", type=float, default=math.inf, help="runtime gate (default: off)")
    p.add_argument("--model", default=None, help="a model name or GGUF (default: the default)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    docs = load_humaneval(args.limit)
    rules = Rules(max_rounds=args.max_rounds)
    config = build_config({"threads": args.threads, "eta": args.eta, "log": False,
                           "model": args.model, "adapter": "none"}, file=Path("/dev/null"))
    engine = Engine(config)
    try:
        warm = measure(engine, False, docs, rules)
        cold = measure(engine, True, docs, rules)
    finally:
        engine.close()
    same = warm.pop("sessions") == cold.pop("sessions")
    report = {
        "model": engine.model_name,
        "documents": len(docs),
        "rounds": warm["rounds"],
        "threads": args.threads,
        "eta": "inf" if math.isinf(args.eta) else args.eta,
        "documents_per_minute": warm["documents_per_minute"],
        "documents_per_minute_cold_cache": cold["documents_per_minute"],
        "speedup_vs_cold_cache": float(cold["wall_s"]) / float(warm["wall_s"]),  # type: ignore[arg-type]
        "same_sessions": same,
        "accept_ratio": warm["accept_ratio"],
        "dpr": warm["dpr"],
    }
    if args.json:
        json.dump(report, sys.stdout)
        print()
    else:
        for key, value in report.items():
            print(f"{key:34} {value:.3f}" if isinstance(value, float) else f"{key:34} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
