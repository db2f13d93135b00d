"""The command-line contract: JSON shapes, exit codes, one-line errors, no network."""

from __future__ import annotations

import importlib.metadata
import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from pairterm import shipped_adapter
from pairterm.cli import main

SRC = "def add(a, b):\n    return a + b\n\n\ndef mul(a, b):\n"


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_suggest_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "m.py"
    f.write_text(SRC)
    code, out, _ = run(["suggest", str(f), "--line", "5", "--column", "15", "--json", "--eta", "inf",
                        "--max-tokens", "12", "--adapter", "none"], capsys)
    assert code == 0
    data = json.loads(out)
    assert data["adapter"] is None
    for key in ("text", "tokens", "total_bits", "stop_reason", "latency_ms"):
        assert key in data
    assert data["text"].startswith("\n    return a")
    assert data["total_bits"] == pytest.approx(sum(data["token_bits"]), abs=1e-3)


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["suggest", "{f}", "--line", "99", "--column", "1"], "outside the file"),
        (["suggest", "{f}", "--line", "1", "--column", "40"], "outside line 1"),
        (["suggest", "{missing}", "--line", "1", "--column", "1"], "not found"),
        (["suggest", "{f}", "--line", "1", "--column", "1", "--eta", "-1"], "--eta"),
        (["suggest", "{f}", "--line", "1", "--column", "1", "--model", "{missing}"], "model file not found"),
        (["doctor", "--model", "{f}"], "not a GGUF"),
        (["suggest", "{bin}", "--line", "1", "--column", "1"], "binary"),
        (["suggest", "{latin}", "--line", "1", "--column", "1"], "not valid UTF-8"),
        (["suggest", "{f}", "--line", "1", "--column", "1", "--bogus"], "unrecognized"),
    ],
)
def test_user_errors_are_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], needle: str
) -> None:
    f = tmp_path / "m.py"
    f.write_text(SRC)
    (tmp_path / "b.bin").write_bytes(b"\x7fELF\x00\x00\x01")
    (tmp_path / "l.py").write_bytes("x = 'caf\xe9'\n".encode("latin-1"))
    names = {"f": f, "missing": tmp_path / "nope.py", "bin": tmp_path / "b.bin", "latin": tmp_path / "l.py"}
    code, out, err = run([a.format(**names) for a in argv], capsys)
    assert code == 2
    assert needle in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_doctor_json_names_model_and_loads_it(capsys: pytest.CaptureFixture[str], default_model: Path) -> None:
    code, out, _ = run(["doctor", "--json", "--adapter", "empower"], capsys)
    assert code == 0
    data = json.loads(out)
    assert data["model"] == str(default_model)
    assert data["model_metadata"]["general.architecture"] == "llama"
    assert data["load_ok"] is True
    assert data["adapter"] == str(shipped_adapter.ADAPTER_FILE)
    assert data["adapter_source"] == "shipped"
    assert data["adapter_provenance"]["method"] == "empower"
    # the version pip installed, which is what a bug report must name
    assert data["llama_cpp_python"] == importlib.metadata.version("llama_cpp_python")
    code, out, _ = run(["doctor", "--json"], capsys)
    data = json.loads(out)
    assert (code, data["adapter"], data["adapter_source"], data["load_ok"]) == (0, None, "none", True)


def test_runtime_never_opens_a_socket(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    attempts: list[object] = []

    def refuse(*args: object, **kwargs: object) -> None:
        attempts.append(args)
        raise OSError("network is forbidden in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    f = tmp_path / "m.py"
    f.write_text(SRC)
    assert main(["suggest", str(f), "--line", "6", "--column", "1", "--json"]) == 0
    assert main(["doctor", "--json"]) == 0
    capsys.readouterr()
    assert attempts == []


def test_console_script_runs_as_a_subprocess(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "pairterm", "suggest", str(tmp_path / "x.py"),
                           "--line", "1", "--column", "1"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("pairterm: error: file not found")
