"""Keystroke → suggestion latency of the engine while replaying the typing of real files.

Each file (standard-library modules: code not written here) is opened at a point deep enough
for the prompt window to be full, then typed on character by character. As in the editor, a
keystroke that matches the ghost text on screen consumes it without a model call; every other
keystroke asks the engine, at human typing speed (`--cps`). The latency is from the request
to the finished suggestion; the editor adds its debounce (`debounce_ms`) before the request.
The baseline is a bare llama-cpp-python greedy decode (`generate`
with its own prefix cache) of the same number of tokens from the same prompt text, run on a
second model instance interleaved call by call, so both see the same machine load.

    python benchmarks/latency.py [--json] [--chars N] [--files a.py b.py]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sysconfig
import time
from pathlib import Path

from llama_cpp import Llama

from pairterm.config import build_config
from pairterm.engine import Engine, prompt_window, split_heal
from pairterm.model_load import open_llama
from pairterm.stats_core import percentile

STDLIB = Path(sysconfig.get_paths()["stdlib"])
DEFAULT_FILES = ["textwrap.py", "json/encoder.py", "shlex.py"]


def print_report(report: dict[str, object], as_json: bool) -> None:
    """One JSON object, or a key/value table: how every benchmark here prints its figures."""
    if as_json:
        print(json.dumps(report))
        return
    width = max(len(k) for k in report)
    for key, value in report.items():
        print(f"{key:<{width}}  {value}")


def bare_decode(llama: Llama, prompt_text: str, n: int) -> float:
    """Seconds for llama-cpp-python alone to tokenize `prompt_text` and greedily produce `n`
    tokens after it."""
    start = time.perf_counter()
    prompt = llama.tokenize(prompt_text.encode("utf-8"), add_bos=True, special=False)
    greedy(llama, prompt, n)
    return time.perf_counter() - start


def greedy(llama: Llama, prompt: list[int], n: int) -> None:
    """llama-cpp-python's own greedy decode of `n` tokens after `prompt` (its prefix cache on)."""
    produced = 0
    for _ in llama.generate(prompt, top_k=1, top_p=1.0, min_p=0.0, temp=0.0, reset=True):
        produced += 1
        if produced >= n:
            break


def replay(
    engine: Engine, bare: Llama, text: str, start: int, chars: int, cps: float
) -> dict[str, list[float]]:
    """Type `chars` characters from `start` at `cps` characters per second. The baseline for
    each model call runs halfway through the pause before the next keystroke, so that it, like
    the engine, starts from an idle machine (run straight after the engine it would find caches
    and clocks warm, which flattered it by several percent at short suggestions)."""
    latencies, bare_times, engine_times, tokens, decode_ms = [], [], [], [], []
    consumed = 0
    ghost = ""
    next_key = time.perf_counter()
    interval = 1.0 / cps
    for pos in range(start, min(start + chars, len(text))):
        next_key += interval
        pause = next_key - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        typed = text[pos]
        if ghost.startswith(typed):
            ghost = ghost[1:]
            consumed += 1
            if ghost:
                continue
        before = text[: pos + 1]
        result = engine.suggest(before, "")
        ghost = result.text
        latencies.append(result.latency_ms)
        engine_times.append(result.latency_ms / 1000.0)
        tokens.append(result.tokens)
        decode_ms.append(result.decode_ms)
        # The same prompt the engine decoded from (it ends before whitespace the engine heals),
        # and as many tokens as it decoded, plus the one it looked at and stopped before.
        context, _ = split_heal(before)
        window = prompt_window(context, engine.config.window_chars, engine.config.window_step)
        midway = next_key + interval / 2 - time.perf_counter()
        if midway > 0:
            time.sleep(midway)
        bare_times.append(bare_decode(bare, window, result.heal_tokens + result.tokens + 1))
    return {"latency_ms": latencies, "bare_s": bare_times, "engine_s": engine_times,
            "tokens": tokens, "decode_ms": decode_ms, "consumed": [consumed]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--chars", type=int, default=150, help="characters typed per file")
    parser.add_argument("--files", nargs="*", default=DEFAULT_FILES, help="stdlib-relative paths")
    parser.add_argument("--eta", type=float, default=None)
    parser.add_argument("--model", default=None, help="a model name or GGUF (default: the default)")
    parser.add_argument("--adapter", default=None, help="LoRA GGUF, 'empower' (the shipped one) or 'none' (default)")
    parser.add_argument("--cps", type=float, default=6.0, help="typing speed, characters/s")
    args = parser.parse_args()
    # What a user runs, but not this machine's config file.
    config = build_config({"eta": args.eta, "adapter": args.adapter, "model": args.model},
                          file=Path(os.devnull))
    engine = Engine(config)
    # the baseline decodes with the same adapter: the ratio measures pairterm, not the LoRA
    bare = open_llama(config, engine.model_path)  # as the engine loads its own
    merged: dict[str, list[float]] = {}
    for name in args.files:
        text = (STDLIB / name).read_text(encoding="utf-8")
        start = text.find("\n", min(len(text) // 2, 6000)) + 1  # a full window behind the cursor
        engine.suggest(text[:start], "")  # opening the file: one cold prefill, not a keystroke
        opening = prompt_window(split_heal(text[:start])[0], config.window_chars, config.window_step)
        bare_decode(bare, opening, 1)
        for key, values in replay(engine, bare, text, start, args.chars, args.cps).items():
            merged.setdefault(key, []).extend(values)
    lat = merged["latency_ms"]
    decode_s = sum(merged["decode_ms"]) / 1000.0
    report = {
        "model": engine.model_path.name,
        "adapter": engine.adapter_name,
        "eta": config.eta,
        "threads": config.threads,
        "files": args.files,
        "typing_cps": args.cps,
        "keystrokes": len(lat) + int(sum(merged["consumed"])),
        "model_calls": len(lat),
        "consumed_keystrokes": int(sum(merged["consumed"])),
        "latency_p50_ms": round(percentile(lat, 0.5) or 0.0, 1),
        "latency_p95_ms": round(percentile(lat, 0.95) or 0.0, 1),
        "latency_mean_ms": round(statistics.fmean(lat), 1),
        "tokens_generated": int(sum(merged["tokens"])),
        "decode_tokens_per_s": round(sum(merged["tokens"]) / decode_s, 1) if decode_s else None,
        "engine_s": round(sum(merged["engine_s"]), 3),
        "bare_s": round(sum(merged["bare_s"]), 3),
        "overhead_ratio": round(sum(merged["engine_s"]) / sum(merged["bare_s"]), 3),
    }
    engine.close()
    bare.close()
    print_report(report, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
