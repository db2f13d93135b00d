"""Run a HumanEval program against its tests in a separate Python process with a time limit.

The program is model-written code: it runs in a fresh interpreter in isolated mode (-I), in an
empty temporary directory, in its own process group so that a timeout kills whatever it spawned,
with an address-space cap so a runaway allocation fails instead of swapping the machine.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

MEMORY_LIMIT_BYTES = 2 * 1024**3


def _limit_memory() -> None:  # runs in the child before exec
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT_BYTES, MEMORY_LIMIT_BYTES))
    except (ImportError, ValueError, OSError):
        pass


def passes_tests(program: str, test: str, entry_point: str, timeout_s: float = 10.0) -> bool:
    """True iff `program` followed by HumanEval's `check(entry_point)` exits cleanly in time."""
    source = f"{program}\n\n{test}\n\ncheck({entry_point})\n"
    with tempfile.TemporaryDirectory(prefix="pairterm-eval-") as tmp:
        path = Path(tmp) / "candidate.py"
        path.write_text(source, encoding="utf-8")
        proc = subprocess.Popen(
            [sys.executable, "-I", str(path)],
            cwd=tmp,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_limit_memory if os.name == "posix" else None,
        )
        try:
            return proc.wait(timeout=timeout_s) == 0
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()
            return False
