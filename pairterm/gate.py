"""The empowerment gate: the numbers the runtime shares with training, as pure functions.

docs/design.md §3: decode greedily, sum each token's surprise −log2 p (from raw logits), and stop
before the token that would make the sum reach η bits. Low-surprise text is boilerplate the
assistant may write; the first high-surprise token is the programmer's decision. Training
labels its examples with the same rule (gate_length). Where a suggestion must end for layout
reasons is pairterm.stops; how it is cleaned for display, pairterm.postfilter.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

LN2 = math.log(2.0)


def greedy_token_bits(logits: np.ndarray, eog: np.ndarray | None = None) -> tuple[int, float]:
    """The argmax token and its surprise in bits under softmax(logits), renormalised without the
    end-of-generation tokens `eog` (ids) when given.

    Stopping is not surprise about the person's text: a model trained to stop where the person
    decides puts mass on end-of-generation, and counting that mass against η would make the gate
    stop it a second time, earlier (docs/design.md §3). Runs once per decoded token over the
    whole vocabulary, so it stays in float32 and does one pass of exp:
    −log2 p(argmax) = log2 Σ exp(l − max), the sum over the tokens that are not `eog`.
    """
    logits = np.asarray(logits, dtype=np.float32)
    token = int(np.argmax(logits))
    shifted = np.exp(logits - logits[token])
    if eog is not None and len(eog):
        shifted[eog] = 0.0  # summing without them, not subtracting them: no cancellation
    total = float(shifted.sum(dtype=np.float64))
    return token, float(math.log(total) / LN2) if total > 0 else math.inf


def token_bits(logits: np.ndarray, token: int, eog: np.ndarray | None = None) -> float:
    """Surprise in bits of a given token under softmax(logits), without `eog` when given."""
    logits = np.asarray(logits, dtype=np.float32)
    if eog is not None and len(eog):
        logits = logits.copy()
        logits[eog] = -np.inf
    top = float(logits.max())
    log_z = top + math.log(float(np.exp(logits - top).sum(dtype=np.float64)))
    return (log_z - float(logits[token])) / LN2


def heal_consistent(piece: str, remaining: str) -> bool:
    """May a token with text `piece` be written while `remaining` of the person's whitespace is
    still to be reproduced? It must lie within it, or cover it and go on with visible text
    (not with yet more indentation than they typed)."""
    if not piece:
        return False
    if remaining.startswith(piece):
        return True
    if not piece.startswith(remaining):
        return False
    extra = piece[len(remaining) :]
    return not (remaining[-1] in " \t" and extra[:1] in (" ", "\t"))


def within_budget(total_bits: float, next_bits: float, eta: float) -> bool:
    """True if the next token may be added: the running sum must stay strictly below η."""
    return total_bits + next_bits < eta


def gate_length(surprises: Sequence[float], eta: float) -> int:
    """How many leading tokens the gate keeps for a sequence of per-token surprises (bits)."""
    total = 0.0
    for i, bits in enumerate(surprises):
        if not within_budget(total, bits, eta):
            return i
        total += bits
    return len(surprises)
