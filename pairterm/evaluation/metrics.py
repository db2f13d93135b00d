"""What one simulated session produced, its metrics, and their mean ± standard error.

docs/design.md §5 and the Empower paper §5.2: DPR = 1[correct] · γ^(α·tokens read + β·tokens written),
γ = 0.999, α = 0.1, β = 0.5 — reading a suggestion costs a tenth of a token written by hand.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

GAMMA = 0.999
ALPHA = 0.1
BETA = 0.5

# The per-document metrics, in the order tables show them.
METRICS = (
    "pass_at_1",
    "accept_ratio",
    "dpr",
    "accepted_char_share",
    "suggestions_per_100_chars",
    "mean_suggestion_chars",
)


@dataclass
class DocumentResult:
    """Counters for one document's session; `chars_*` count characters added to the document."""

    doc_id: str
    rounds: int = 0
    proposed: int = 0
    accepted: int = 0
    tokens_read: int = 0
    tokens_written: int = 0
    suggestion_chars: int = 0
    chars_accepted: int = 0
    chars_typed: int = 0
    correct: bool = False
    end: str = ""  # complete | round_cap | finish
    seconds: float = 0.0

    def metrics(self) -> dict[str, float | None]:
        """The metrics of this document; None where undefined (no suggestion shown)."""
        added = self.chars_accepted + self.chars_typed
        return {
            "pass_at_1": 1.0 if self.correct else 0.0,
            "accept_ratio": self.accepted / self.proposed if self.proposed else None,
            "dpr": dpr(self.correct, self.tokens_read, self.tokens_written),
            "accepted_char_share": self.chars_accepted / added if added else 0.0,
            "suggestions_per_100_chars": 100.0 * self.proposed / added if added else 0.0,
            "mean_suggestion_chars": (
                self.suggestion_chars / self.proposed if self.proposed else None
            ),
        }

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = asdict(self)
        data["seconds"] = round(self.seconds, 3)
        data.update(self.metrics())
        return data


def dpr(
    correct: bool,
    tokens_read: int,
    tokens_written: int,
    gamma: float = GAMMA,
    alpha: float = ALPHA,
    beta: float = BETA,
) -> float:
    """Discounted Pass Rate of one session."""
    if not correct:
        return 0.0
    return gamma ** (alpha * tokens_read + beta * tokens_written)


def mean_se(values: Iterable[float | None]) -> tuple[float | None, float | None, int]:
    """Mean, standard error of the mean (sample std / √n) and n, skipping None.

    The error is None below two values: one document says nothing about the spread.
    """
    xs = [float(v) for v in values if v is not None]
    n = len(xs)
    if n == 0:
        return None, None, 0
    mean = sum(xs) / n
    if n < 2:
        return mean, None, n
    var = sum((x - mean) ** 2 for x in xs) / (n - 1)
    return mean, math.sqrt(var / n), n


def summarize(results: Sequence[DocumentResult], wall_s: float | None = None) -> dict[str, object]:
    """One flat object: n_documents, each metric and `<metric>_se`, counts, documents per minute."""
    out: dict[str, object] = {"n_documents": len(results)}
    per_doc = [r.metrics() for r in results]
    for name in METRICS:
        mean, se, n = mean_se(m[name] for m in per_doc)
        out[name] = mean
        out[f"{name}_se"] = se
        if n != len(results):
            out[f"{name}_n"] = n
    out["proposed"] = sum(r.proposed for r in results)
    out["accepted"] = sum(r.accepted for r in results)
    out["tokens_read"] = sum(r.tokens_read for r in results)
    out["tokens_written"] = sum(r.tokens_written for r in results)
    out["rounds"] = sum(r.rounds for r in results)
    seconds = sum(r.seconds for r in results) if wall_s is None else wall_s
    out["wall_s"] = round(seconds, 3)
    out["documents_per_minute"] = 60.0 * len(results) / seconds if seconds > 0 else None
    return out


def paired_difference(
    docs: Sequence[dict[str, object]], reference: Sequence[dict[str, object]], metric: str
) -> tuple[float | None, float | None, int]:
    """Mean ± standard error of (row − reference) over the documents both rows have a value for.

    Rows are evaluated on the same documents, so the per-document difference removes the large
    spread between easy and hard documents that the unpaired errors carry.
    """
    ref = {d["doc_id"]: d.get(metric) for d in reference}
    diffs = []
    for d in docs:
        a, b = d.get(metric), ref.get(d["doc_id"])
        if isinstance(a, int | float) and isinstance(b, int | float):
            diffs.append(float(a) - float(b))
    return mean_se(diffs)
