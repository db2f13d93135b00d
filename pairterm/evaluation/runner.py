"""Evaluate one assistant configuration on a list of documents."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pairterm.config import EngineConfig
from pairterm.evaluation.corpus import Document
from pairterm.evaluation.env import Assistant, Human, ReplayHuman, Rules, Tokens, run_session
from pairterm.evaluation.metrics import DocumentResult, summarize
from pairterm.stats_core import percentile

OnResult = Callable[[DocumentResult], None]


@dataclass(frozen=True)
class HumanSpec:
    """Which simulated human: None model = the replay human."""

    model: Path | None = None
    think_tokens: int = 128
    test_timeout_s: float = 10.0


def play(
    docs: Sequence[Document],
    assistant: Assistant,
    human: Human,
    tokens: Tokens,
    rules: Rules,
    on_result: OnResult | None = None,
) -> list[DocumentResult]:
    """Documents one after another on the same assistant (its prefix cache stays warm)."""
    results = []
    for doc in docs:
        result, _ = run_session(doc, assistant, human, tokens, rules)
        results.append(result)
        if on_result is not None:
            on_result(result)
    return results


def eta_json(eta: float) -> float | str:
    return "inf" if math.isinf(eta) else eta


def evaluate(
    config: EngineConfig,
    docs: Sequence[Document],
    rules: Rules,
    human_spec: HumanSpec | None = None,
    on_result: OnResult | None = None,
) -> dict[str, object]:
    """Run every document with the engine `config` describes; the summary plus per-document
    results under `documents`. Documents per minute count session time, not model loading."""
    from pairterm.engine import Engine
    from pairterm.evaluation.engine_side import EngineAssistant, EngineTokens

    human_spec = human_spec or HumanSpec()
    engine = Engine(config)
    human: Human | None = None
    try:
        tokens = EngineTokens(engine)
        assistant = EngineAssistant(engine)
        if human_spec.model is not None:
            from pairterm.evaluation.llm_human import LLMHuman

            human = LLMHuman(
                human_spec.model,
                tokens,
                rules,
                threads=config.threads,
                think_tokens=human_spec.think_tokens,
                test_timeout_s=human_spec.test_timeout_s,
            )
        else:
            human = ReplayHuman(tokens, rules)
        started = time.perf_counter()
        results = play(docs, assistant, human, tokens, rules, on_result)
        wall = time.perf_counter() - started
    finally:
        close = getattr(human, "close", None)
        if close is not None:
            close()
        engine.close()
    summary = summarize(results, wall)
    p50 = percentile(assistant.latencies_ms, 0.5)
    summary["suggest_ms_p50"] = round(p50, 2) if p50 is not None else None
    summary["settings"] = {
        "model": str(config.model_path()),
        "adapter": str(config.adapter) if config.adapter else None,
        "eta": eta_json(config.eta),
        "max_tokens": config.max_tokens,
        "human": str(human_spec.model) if human_spec.model else "replay",
        "human_tokens": rules.human_tokens,
        "max_rounds": rules.max_rounds,
        "lenient_whitespace": rules.lenient_whitespace,
    }
    summary["documents"] = [r.to_json() for r in results]
    return summary
