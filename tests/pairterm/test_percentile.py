"""One percentile rule: stats, the evaluation summary and the benchmarks give the same figure."""

from __future__ import annotations

import numpy as np
import pytest

from pairterm.config import EngineConfig
from pairterm.evaluation import runner
from pairterm.evaluation.env import Rules
from pairterm.stats_core import percentile

LATENCIES = [40.0, 10.0, 30.0, 20.0]  # an even count: the two rules disagreed on p50 here


def test_fixed_numbers() -> None:
    assert percentile(LATENCIES, 0.5) == 25.0
    assert percentile(LATENCIES, 0.95) == pytest.approx(38.5)
    assert percentile(LATENCIES, 0.0) == 10.0 and percentile(LATENCIES, 1.0) == 40.0
    assert percentile([7.0], 0.5) == 7.0 and percentile([], 0.5) is None


@pytest.mark.parametrize("q", [0.0, 0.1, 0.5, 0.9, 0.95, 0.99, 1.0])
def test_agrees_with_numpy_linear_method(q: float) -> None:
    values = [float(v) for v in np.random.default_rng(7).exponential(120.0, 101)]
    assert percentile(values, q) == pytest.approx(float(np.quantile(values, q, method="linear")))


def test_the_evaluation_summary_reports_the_same_p50(monkeypatch: pytest.MonkeyPatch) -> None:
    import pairterm.engine
    import pairterm.evaluation.engine_side as engine_side

    class Stub:
        def __init__(self, *_args: object) -> None:
            self.latencies_ms = list(LATENCIES)

        def close(self) -> None:
            pass

    monkeypatch.setattr(pairterm.engine, "Engine", Stub)
    monkeypatch.setattr(engine_side, "EngineAssistant", Stub)
    monkeypatch.setattr(engine_side, "EngineTokens", Stub)
    monkeypatch.setattr(runner, "play", lambda *_args: [])
    summary = runner.evaluate(EngineConfig(), [], Rules())
    assert summary["suggest_ms_p50"] == 25.0
