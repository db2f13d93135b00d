"""Every benchmark script starts. benchmarks/typing.py shares its name with the standard
library's `typing`, and a script run from that folder finds it first: it must stand aside."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.mark.parametrize("script", sorted(p.name for p in BENCHMARKS.glob("*.py")
                                          if not p.name.startswith("typing_")))
def test_the_script_starts_and_explains_itself(script: str) -> None:
    run = subprocess.run([sys.executable, str(BENCHMARKS / script), "--help"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "usage:" in run.stdout
