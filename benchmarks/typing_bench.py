"""Keystrokes the assistant saves while a person retypes code that no model here has seen.

The corpus is a fixed list of modules from packages in the virtualenv that were written after
the models' training data was collected (Textual modules created from December 2024 on; never
the standard library, which the shipped adapter trained on). `--files` replaces it. In each file,
`--regions` regions of whole lines are chosen (seeded by `--seed`): a function body (without its
docstring) or a run of 6-15 lines that starts at a statement, at most `--chars` keystrokes per
file in all; with `--cross-file`, single statements that use a name defined in another file of
the project and absent from what the prompt holds of this one (benchmarks/typing_regions.py),
where project context can matter. The person retypes each region with the rest of the file in place: `before` is the
file up to the region plus what is typed so far, `after` is the file after the region.

Typing runs on a virtual clock: `--cps` keystrokes a second, and `--line-pause` seconds more
after each keystroke that ends a line. A region starts as if the person had just pressed Enter
to open its first line (outside the count, the same with help or without). The leading
indentation of every line is written by the editor's auto-indent and costs no keystroke, with
help or without.

What the editor does is replayed against that clock, with the engine's real compute timed:
after each keystroke a request is due `debounce_ms` later, unless the keystroke consumed the
ghost text on screen and some of it is left. The request (`SuggestionSource.suggest`, as the
editor calls it) is cancelled once its compute outlasts the time left before the next keystroke,
and a suggestion is shown only if it is ready by then. A call stops only at its next check of
the cancellation, so a request may find the engine still busy and start late. The rest of that time goes to the
prefetch (`SuggestionSource.follow_up`): a suggestion cut by the decode time budget is extended
on screen by its continuation if that is ready in time; any other prefetch is cached for when
the person accepts. Before each region both models prefill the region's start once, outside
the clock, as benchmarks/latency.py does when it opens a file.

The simulated person, at each keystroke: takes a suggestion that the upcoming text starts with
in full (Tab); else takes its words one by one as far as the upcoming text has them (Ctrl+Right,
one keystroke each); else types the next character. A Tab or Ctrl+Right that would write no
more than the keystroke itself (a one-character word) counts as typing, not as acceptance.

The baseline for `overhead_ratio` is a bare llama-cpp-python greedy decode, on a second model
instance, of as many tokens from the same prompt tokens the engine evaluated, run right after
each completed model call (benchmarks/latency.py).

    python benchmarks/typing.py [--model NAME|PATH] [--adapter PATH|empower|none] [--no-fim]
                                [--no-context] [--cross-file] [--files F ...] [--json]
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from latency import greedy, print_report
from typing_regions import cross_file_regions, pick_regions, project_names, region_at
from typing_sim import RegionStats, simulate_region

from pairterm.evaluation.metrics import mean_se
from pairterm.stats_core import percentile
from pairterm.suggestion import Suggestion

# (distribution, file inside it). Textual modules first committed between December 2024 and
# August 2025, after SmolLM2's and Qwen2.5-Coder's data, that import other modules of their
# package, so that project context can matter.
DEFAULT_FILES = [
    ("textual", "textual/markup.py"),
    ("textual", "textual/style.py"),
    ("textual", "textual/getters.py"),
    ("textual", "textual/highlight.py"),
    ("textual", "textual/layouts/stream.py"),
    ("textual", "textual/selection.py"),
]

# -- the corpus and its regions -----------------------------------------------------------------
@dataclass(frozen=True)
class CorpusFile:
    path: Path
    name: str  # as reported: the path inside its distribution, or as given
    version: str | None  # "textual 8.2.8" for a file of an installed distribution


def default_corpus() -> list[CorpusFile]:
    files = []
    for dist, inner in DEFAULT_FILES:
        found = Path(str(importlib.metadata.distribution(dist).locate_file(inner)))
        if not found.is_file():
            raise SystemExit(f"{inner} is not in the installed {dist}; pass --files")
        files.append(CorpusFile(found, inner, f"{dist} {importlib.metadata.version(dist)}"))
    return files


def package_files(path: Path) -> list[Path]:
    """The Python files of the package `path` belongs to (its top folder under the project
    root), where the names other files can tell the model are defined."""
    from pairterm.project_context import project_root

    root = project_root(path).resolve()
    here = path.resolve()
    top = root / here.relative_to(root).parts[0] if here.is_relative_to(root) else here.parent
    return sorted(top.rglob("*.py")) if top.is_dir() else [here]


# -- the real engine ----------------------------------------------------------------------------
def bare_decode_tokens(llama: Any, prompt: list[int], n: int) -> float:
    """Seconds for llama-cpp-python alone to tokenize the text of `prompt` and greedily produce
    `n` tokens after it. It decodes from `prompt` itself (the token ids the engine evaluated,
    FIM and project files included), which the text need not tokenize back to; the tokenizing
    is timed because the engine, like any caller, starts from text."""
    text = llama.detokenize(prompt, special=True)
    start = time.perf_counter()
    llama.tokenize(text, add_bos=False, special=True)
    greedy(llama, prompt, n)
    return time.perf_counter() - start


class Baseline:
    """The bare decode for each completed engine call, and both sides' times."""

    def __init__(self, engine: Any, bare: Any) -> None:
        self.engine, self.bare = engine, bare
        self.engine_s: list[float] = []
        self.bare_s: list[float] = []

    def run(self, n: int) -> float:
        # the same prompt the engine evaluated (its last call ran the model: see on_call)
        return bare_decode_tokens(self.bare, list(self.engine.last_prompt), n)

    def __call__(self, before: str, result: Suggestion) -> None:
        # as many tokens as the engine decoded, plus the one it looked at and stopped before
        self.bare_s.append(self.run(result.heal_tokens + result.tokens + 1))
        self.engine_s.append(result.latency_ms / 1000.0)


def run_benchmark(args: argparse.Namespace) -> dict[str, Any]:
    from pairterm.config import build_config
    from pairterm.engine import Engine
    from pairterm.model_load import open_llama
    from pairterm.project_context import gather, relative_name
    from pairterm.prompt import SUFFIX_CHARS
    from pairterm.suggestion_source import SuggestionSource

    overrides: dict[str, object] = {
        "model": args.model, "adapter": args.adapter, "eta": args.eta, "threads": args.threads,
        "fim": not args.no_fim, "context_tokens": 0 if args.no_context else args.context_tokens,
        "max_decode_ms": args.max_decode_ms, "debounce_ms": args.debounce_ms,
    }  # fmt: skip
    # What a user runs, but not this machine's config file.
    config = build_config(overrides, file=Path(os.devnull))
    corpus = (
        [CorpusFile(Path(f), f, None) for f in args.files] if args.files else default_corpus()
    )
    # --within: the lines of each file regions may take (a held-out file's new lines)
    within = json.loads(Path(args.within).read_text(encoding="utf-8")) if args.within else {}
    wall = time.perf_counter()
    load = os.getloadavg()[0]
    engine = Engine(config)
    # the baseline decodes with the same adapter: the ratio measures pairterm, not the LoRA
    # (loaded as the engine loads its own: same settings, llama.cpp's load noise held back)
    bare = open_llama(config, engine.model_path)
    source = SuggestionSource(engine)
    baseline = Baseline(engine, bare)
    per_region: list[RegionStats] = []
    per_file = []
    try:
        for item in corpus:
            text = item.path.read_text(encoding="utf-8")
            rng = random.Random(f"{args.seed}:{item.name}")
            if args.cross_file:
                outside = project_names(package_files(item.path), item.path)
                spans = cross_file_regions(text, outside, args.regions, args.chars, rng,
                                           config.window_chars, SUFFIX_CHARS)
                if len(spans) < args.regions:
                    print(f"typing.py: {len(spans)} cross-file regions in {item.name}",
                          file=sys.stderr)
            else:
                spans = pick_regions(text, args.regions, args.chars, rng, within.get(item.name))
            file_stats = []
            shown_files = 0  # the most project files any region of this file saw
            for first, last in spans:
                region = region_at(text, first, last, f"{item.name}:{first + 1}-{last + 1}")
                # What the editor shows the model (the engine takes what fits): gathered from
                # the file as saved before the region was typed, so that the context cannot
                # choose by the names of the very text it is measured on.
                context = ([] if args.no_context or args.no_project_files
                           else gather(item.path, region.before + region.after))
                source.set_context(context, relative_name(item.path))
                shown_files = max(shown_files, len(context))
                # opening the file at the region: one cold prefill for each model, off the clock
                engine.suggest(region.before, region.after, context=source.context,
                               path=source.path)
                baseline.run(1)
                file_stats.append(simulate_region(
                    source, region, time.perf_counter, cps=args.cps, line_pause=args.line_pause,
                    debounce_s=config.debounce_ms / 1000.0, on_call=baseline,
                ))  # fmt: skip
            per_region.extend(file_stats)
            per_file.append({"file": item.name, "version": item.version,
                             "context_files": shown_files, **summarize(file_stats)})
        fim = getattr(engine, "fim", None) is not None
    finally:
        engine.close()
        bare.close()
    engine_s, bare_s = sum(baseline.engine_s), sum(baseline.bare_s)
    report: dict[str, Any] = {
        "model": engine.model_path.name,
        "adapter": engine.adapter_name,
        "fim": fim,
        # the engine shows other files only in a FIM prompt
        "context": fim and any(f["context_files"] for f in per_file),
        "own_imports": fim and config.context_tokens > 0,
        "context_tokens": config.context_tokens,
        "eta": config.eta,
        "regions_kind": "cross-file" if args.cross_file else "within given lines" if within else "anywhere",
        "files": [f"{f.version}: {f.name}" if f.version else f.name for f in corpus],
        "seed": args.seed,
        "cps": args.cps,
        "line_pause_s": args.line_pause,
        "debounce_ms": config.debounce_ms,
        "max_decode_ms": config.max_decode_ms,
        "threads": config.threads,
        # llama.cpp's threads stall on cores that other work keeps busy: times are then noise
        "loadavg_1min_at_start": round(load, 2),
        **summarize(per_region),
        "baseline_calls": len(baseline.bare_s),
        "engine_s": round(engine_s, 3),
        "bare_s": round(bare_s, 3),
        "overhead_ratio": round(engine_s / bare_s, 3) if bare_s else None,
        "wall_s": round(time.perf_counter() - wall, 1),
    }
    if args.json:
        report["per_file"] = per_file
        report["per_region"] = [
            {"region": r.name, "chars": r.chars, "keystrokes": r.keystrokes,
             "saved_share": round(r.saved_share, 4), "shown": r.shown, "accepted": r.accepted}
            for r in per_region
        ]  # fmt: skip
    return report


def summarize(regions: Sequence[RegionStats]) -> dict[str, Any]:
    """Totals over regions; saved_share pooled, and as the mean of per-region shares ± SE."""
    chars = sum(r.chars for r in regions)
    keystrokes = sum(r.keystrokes for r in regions)
    shown = sum(r.shown for r in regions)
    accepted = sum(r.accepted for r in regions)
    latencies = [ms for r in regions for ms in r.latencies_ms]
    shares = [r.saved_share for r in regions if r.chars]
    mean, se, _ = mean_se(shares)

    def rounded(value: float | None, digits: int) -> float | None:
        return None if value is None else round(value, digits)

    return {
        "regions": len(regions),
        "chars": chars,
        "keystrokes": keystrokes,
        "saved_share": rounded(1 - keystrokes / chars if chars else None, 4),
        "saved_share_mean": rounded(mean, 4),
        "saved_share_se": rounded(se, 4),
        "shown": shown,
        "accepted": accepted,
        "accept_ratio": rounded(accepted / shown if shown else None, 4),
        "shown_per_100_chars": rounded(100 * shown / chars if chars else None, 2),
        "chars_per_suggestion": rounded(
            sum(r.shown_chars for r in regions) / shown if shown else None, 2),
        "accepted_chars": sum(r.accepted_chars for r in regions),
        "requests": sum(r.requests for r in regions),
        "model_calls": len(latencies),
        "cache_hits": sum(r.cache_hits for r in regions),
        "cancelled": sum(r.cancelled for r in regions),
        "late": sum(r.late for r in regions),
        "waited": sum(r.waited for r in regions),
        "follow_ups": sum(r.follow_ups for r in regions),
        "extended": sum(r.extended for r in regions),
        "p50_ms": rounded(percentile(latencies, 0.5), 1),
        "p95_ms": rounded(percentile(latencies, 0.95), 1),
        "seconds": round(sum(r.compute_s for r in regions), 3),
        "typing_s": round(sum(r.typing_s for r in regions), 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="model name or GGUF path (default: SmolLM2-135M)")
    parser.add_argument("--adapter", help="LoRA GGUF, 'empower' (the shipped one) or 'none' (default)")
    parser.add_argument("--no-fim", action="store_true", help="prompt with the text before only")
    parser.add_argument("--no-context", action="store_true", help="no other project files")
    parser.add_argument("--context-tokens", type=int, metavar="N",
                        help="token budget of the project files (default: the config's)")
    parser.add_argument("--files", nargs="+", metavar="F", help="Python files instead of corpus")
    parser.add_argument("--json", action="store_true", help="one JSON object, per file too")
    parser.add_argument("--seed", type=int, default=0, help="chooses the regions")
    parser.add_argument("--regions", type=int, default=2, help="regions per file")
    parser.add_argument("--no-project-files", action="store_true",
                        help="project context without other files: the file's own imports only")
    parser.add_argument("--cross-file", action="store_true",
                        help="only statements using a name defined in another project file")
    parser.add_argument("--chars", type=int, default=600, help="keystrokes per file, at most")
    parser.add_argument("--within", metavar="JSON",
                        help="{file as given: [[first, last], ...]}: regions only in those lines "
                             "(0-based); benchmarks/personal.py passes a held-out file's new lines")
    parser.add_argument("--cps", type=float, default=5.0, help="typing speed, keystrokes/s")
    parser.add_argument("--line-pause", type=float, default=1.0, help="seconds after a line end")
    parser.add_argument("--eta", help="surprise budget in bits (default: the config's)")
    parser.add_argument("--threads", type=int, help="CPU threads for each model")
    parser.add_argument("--max-decode-ms", type=int, help="decode time budget per call")
    parser.add_argument("--debounce-ms", type=int, help="wait after a keystroke (default: the config's)")
    args = parser.parse_args()
    if args.cps <= 0 or args.line_pause < 0 or args.regions < 1 or args.chars < 1:
        parser.error("--cps, --regions and --chars must be positive, --line-pause >= 0")
    report = run_benchmark(args)
    print_report(report, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())  # normally run as `python benchmarks/typing.py`
