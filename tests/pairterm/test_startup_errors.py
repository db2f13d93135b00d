"""Starting `pairterm FILE` with a mistyped config or an unusable state directory: one line on
stderr and exit status 2, from the real command in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pairterm import paths


def start(tmp_path: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pairterm", str(tmp_path / "new.py")],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60,
        env={**os.environ, **(env or {})},
    )  # fmt: skip


def write_config(text: str) -> None:
    path = paths.config_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))


def one_line_exit_2(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("pairterm: error:")
    assert "Traceback" not in proc.stderr
    return proc.stderr


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("etaa = 3\n", ["unknown key `etaa`", "did you mean `eta`"]),
        ("[engine]\nmax_token = 3\n", ["unknown [engine] key `max_token`", "`max_tokens`"]),
        ("[engien]\neta = 3\n", ["unknown section `engien`", "did you mean `engine`"]),
        ("colour = 'red'\n", ["unknown key `colour`", "known keys: adapter,"]),
    ],
)
def test_an_unknown_config_key_is_named_in_one_line(
    tmp_path: Path, text: str, says: list[str]
) -> None:
    write_config(text)
    err = one_line_exit_2(start(tmp_path))
    assert all(part in err for part in says), err


def test_known_keys_at_the_top_level_and_under_engine_still_load(tmp_path: Path) -> None:
    from pairterm.config import build_config

    write_config("threads = 3\n[engine]\neta = 4.5\n")
    cfg = build_config()
    assert (cfg.threads, cfg.eta) == (3, 4.5)


def test_a_state_dir_that_cannot_be_created_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")  # a file where the state directory's parent should be: even root fails
    err = one_line_exit_2(start(tmp_path, {"XDG_STATE_HOME": str(blocker)}))
    assert "cannot create the state directory" in err and str(blocker) in err


def test_a_read_only_state_dir_is_one_line(tmp_path: Path) -> None:
    # chmod does not stop root, so the directory is a tmpfs mounted read-only.
    mount = tmp_path / "ro"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(mount)],
                          capture_output=True, text=True)  # fmt: skip
    if made.returncode != 0:
        pytest.skip(f"cannot mount a read-only tmpfs here: {made.stderr.strip()}")
    try:
        err = one_line_exit_2(start(tmp_path, {"XDG_STATE_HOME": str(mount)}))
        assert str(mount) in err and ("Read-only" in err or "not writable" in err)
    finally:
        subprocess.run(["umount", str(mount)], check=True)
