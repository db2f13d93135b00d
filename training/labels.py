"""The pure core of labeling: which states to train on and how long each completion is.

No torch here. Surprises are in bits, one per token of the human's text after the state:
`surprises[k]` is −log2 π̂(token n+k | tokens before it). docs/design.md §4 defines the rules.
"""

from __future__ import annotations

import math
import random
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from pairterm.errors import UserError
from pairterm.gate import gate_length

SFT_RAND_MAX = 30


@dataclass(frozen=True)
class Method:
    """`empower`, `sft-N` (fixed N tokens), `sft-rand` (1..30 tokens) or `next-N` (N tokens with
    no end-of-generation after them unless the person's text ends there: `stops` is False)."""

    name: str
    fixed: int | None = None
    stops: bool = True

    def __str__(self) -> str:
        return self.name


def parse_method(text: str) -> Method:
    value = text.strip().lower()
    if value in ("empower", "sft-rand"):
        return Method(value)
    match = re.fullmatch(r"(sft|next)-(\d+)", value)
    if match and int(match.group(2)) >= 1:
        return Method(value, fixed=int(match.group(2)), stops=match.group(1) == "sft")
    raise UserError(f"--method must be empower, sft-N, next-N (N >= 1) or sft-rand, got {text!r}")


def empower_length(surprises: Sequence[float], eta: float) -> int:
    """i* = max{i : c(i) < eta}, c(i) the sum of the first i surprises (0 when even the first
    token reaches η, all of them when none does). It is the runtime gate's own rule, so what the
    model is trained to write is exactly what the editor's gate would let through."""
    return gate_length(surprises, eta)


def completion_length(
    method: Method, surprises: Sequence[float], eta: float, rng: random.Random, cap: int
) -> int:
    """Tokens of the human's continuation to train on, before the end-of-generation token.

    `surprises` holds the tokens left in the document after the state (so its length bounds
    every method). `rng` is only drawn from for sft-rand, once per state, so the other methods
    see the same states whatever the order of calls.
    """
    left = min(len(surprises), cap)
    if method.name == "empower":
        return empower_length(surprises[:left], eta)
    if method.name == "sft-rand":
        return min(rng.randint(1, SFT_RAND_MAX), left)
    assert method.fixed is not None
    return min(method.fixed, left)


def states_for(n_tokens: int, density: float, min_prefix: int) -> int:
    """How many states to sample from a document: about `density` per token, at least one."""
    usable = n_tokens - min_prefix
    if usable <= 0:
        return 0
    return max(1, min(usable, round(usable * density)))


def sample_states(n_tokens: int, k: int, min_prefix: int, rng: random.Random) -> list[int]:
    """k distinct states n (prefix = tokens[:n]) drawn uniformly from [min_prefix, n_tokens - 1].

    A state at the very end would leave the human nothing to write, so it is never drawn.
    """
    usable = range(min_prefix, n_tokens)
    if k <= 0 or len(usable) == 0:
        return []
    return sorted(rng.sample(usable, min(k, len(usable))))


def cumulative_bits(surprises: Sequence[float], length: int) -> float:
    return float(math.fsum(surprises[:length]))


def label_stats(lengths: Sequence[int], bins: Sequence[int] = (0, 1, 2, 4, 8, 16, 32, 64)) -> dict:
    """Completion-length histogram (bins are lower edges) and the share of empty completions."""
    histogram: Counter[str] = Counter()
    for length in lengths:
        edge = max(b for b in bins if b <= length)
        upper = next((b for b in bins if b > edge), None)
        label = str(edge) if upper == edge + 1 else (f"{edge}-{upper - 1}" if upper else f"{edge}+")
        histogram[label] += 1
    ordered = {}
    for i, edge in enumerate(bins):
        upper = bins[i + 1] if i + 1 < len(bins) else None
        label = str(edge) if upper == edge + 1 else (f"{edge}-{upper - 1}" if upper else f"{edge}+")
        ordered[label] = histogram.get(label, 0)
    n = len(lengths)
    return {
        "examples": n,
        "empty_share": (sum(1 for x in lengths if x == 0) / n) if n else 0.0,
        "mean_length": (sum(lengths) / n) if n else 0.0,
        "max_length": max(lengths, default=0),
        "length_histogram": ordered,
    }


def lr_at(step: int, total: int, peak: float, warmup: int) -> float:
    """Linear warmup to `peak`, then linear decay to 0 at `total` (step counts from 0)."""
    if warmup > 0 and step < warmup:
        return peak * (step + 1) / warmup
    remaining = max(1, total - warmup)
    return peak * max(0.0, (total - step) / remaining)
