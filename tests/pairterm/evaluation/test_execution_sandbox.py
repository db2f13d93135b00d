"""Model-written code runs in a bubblewrap sandbox: each program below would succeed (exit 0,
so `passes_tests` says True) if it could do what it tries; in the sandbox it cannot. Without
bwrap the run is refused unless --unsafe-exec is given."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pairterm.errors import UserError
from pairterm.evaluation import execution
from pairterm.evaluation.execution import passes_tests

PROBLEM = execution.sandbox_problem()
needs_bwrap = pytest.mark.skipif(
    PROBLEM is not None, reason=f"no sandbox here ({PROBLEM}); `apt-get install bubblewrap`"
)
CHECK = "def check(f):\n    assert f() == 0\n"


def run(body: str, timeout_s: float = 20.0) -> bool:
    program = "def solve():\n" + "".join(f"    {line}\n" for line in body.splitlines())
    return passes_tests(program, CHECK, "solve", timeout_s)


def sandboxed_processes() -> list[str]:
    out = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if f"{execution.SANDBOX_DIR}/candidate.py" in line]


@needs_bwrap
def test_a_correct_program_passes_and_a_wrong_one_fails_in_the_sandbox() -> None:
    assert run("import math, collections, json\nreturn 0") is True
    assert run("return 1") is False


@needs_bwrap
def test_no_network_even_to_this_machine() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        server.settimeout(0)
        port = server.getsockname()[1]
        assert run(f"import socket\nsocket.create_connection(('127.0.0.1', {port}), 2)\nreturn 0") is False
        with pytest.raises(BlockingIOError):
            server.accept()  # nothing ever connected


@needs_bwrap
def test_no_writes_outside_its_private_directory(tmp_path: Path) -> None:
    target = tmp_path / "escaped.txt"
    home = Path.home() / f"pairterm-escape-{os.getpid()}"
    body = f"open({str(target)!r}, 'w').write('x')\nopen({str(home)!r}, 'w').write('x')\nreturn 0"
    assert run(body) is False
    assert not target.exists() and not home.exists()
    assert run("open('mine.txt', 'w').write('x')\nreturn 0") is True  # its own directory works


@needs_bwrap
def test_a_fork_bomb_hits_the_process_limit_and_leaves_nothing_behind() -> None:
    body = (
        "import os, time\n"
        "for n in range(1000):\n"
        "    if os.fork() == 0:\n"
        "        time.sleep(60)\n"
        "        os._exit(0)\n"
        "return 0"
    )
    started = time.monotonic()
    assert run(body, timeout_s=30) is False
    assert time.monotonic() - started < 25  # stopped by the limit, not by the timeout
    deadline = time.monotonic() + 5
    while sandboxed_processes() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert sandboxed_processes() == []


@needs_bwrap
def test_a_huge_file_and_an_endless_loop_are_stopped() -> None:
    chunk = "'x' * 2**20"
    assert run(f"with open('big', 'w') as fh:\n    for _ in range(512):\n        fh.write({chunk})\nreturn 0") is False
    started = time.monotonic()
    assert run("while True:\n    pass", timeout_s=2) is False
    assert time.monotonic() - started < 10
    assert sandboxed_processes() == []


def test_without_bwrap_running_model_code_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setattr(execution, "_unsafe_allowed", False)  # no --unsafe-exec
    with pytest.raises(UserError, match="bubblewrap.*--unsafe-exec"):
        run("return 0")


def test_eval_with_a_human_model_refuses_without_bwrap_unless_unsafe_exec(tmp_path: Path) -> None:
    missing = tmp_path / "human.gguf"
    argv = [sys.executable, "-m", "pairterm", "eval", "--corpus", "humaneval", "--limit", "1",
            "--human-model", str(missing)]  # fmt: skip
    env = {**os.environ, "PATH": "/nonexistent"}  # a machine without bwrap
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert "refusing to run model-written code without a sandbox" in proc.stderr
    assert "bubblewrap" in proc.stderr and "--unsafe-exec" in proc.stderr
    unsafe = subprocess.run([*argv, "--unsafe-exec"], capture_output=True, text=True, env=env,
                            timeout=120)  # fmt: skip
    # past the sandbox check: it now stops at the missing model, a different one-line error
    assert "refusing" not in unsafe.stderr and "unsandboxed" in unsafe.stderr
    assert unsafe.returncode == 2 and str(missing) in unsafe.stderr


@needs_bwrap
def test_many_files_under_the_size_limit_cannot_fill_the_disk(tmp_path: Path) -> None:
    # Four 60 MB files pass the per-file limit; together they exceed what the sandbox may write,
    # in its own directory and in /tmp alike (unsandboxed, both programs succeed).
    write = "for n in range(4):\n    with open({!r} + str(n), 'w') as fh:\n        fh.write('x' * 60 * 2**20)\nreturn 0"
    assert run(write.format("f")) is False
    assert run(write.format("/tmp/f")) is False
