"""Where bubblewrap cannot run, the evaluation tests run HumanEval programs unsandboxed, as
`--unsafe-exec` would (the sandbox's own tests skip there, saying why; the refusal is tested
with the flag off)."""

from __future__ import annotations

import pytest

from pairterm.evaluation import execution


@pytest.fixture(autouse=True)
def _unsafe_exec_without_bwrap(monkeypatch: pytest.MonkeyPatch) -> None:
    if execution.sandbox_problem() is not None:
        monkeypatch.setattr(execution, "_unsafe_allowed", True)
