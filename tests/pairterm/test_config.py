"""Settings: defaults, then config.toml, then flags; bad config is a one-line error."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pairterm import paths, shipped_adapter
from pairterm.argparsing import ArgumentParser
from pairterm.config import DEFAULT_ETA, add_engine_args, build_config, config_from_args
from pairterm.errors import UserError
from pairterm.model_file import file_sha256, gguf_metadata


def parse(argv: list[str]):  # type: ignore[no-untyped-def]
    parser = ArgumentParser(prog="t")
    parser.add_argument("--no-log", action="store_true")
    add_engine_args(parser)
    return config_from_args(parser.parse_args(argv))


def write_config(text: str) -> Path:
    path = paths.config_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def test_defaults_without_a_config_file() -> None:
    cfg = parse([])
    assert cfg.eta == DEFAULT_ETA and cfg.log is True
    # no adapter unless asked for: the shipped one saves fewer keystrokes than none
    assert cfg.adapter is None and cfg.adapter_source == "none"


def test_the_shipped_adapter_a_given_one_or_none() -> None:
    shipped = parse(["--adapter", "Empower"])
    assert (shipped.adapter, shipped.adapter_source) == (shipped_adapter.ADAPTER_FILE, "shipped")
    assert parse(["--adapter", "none"]).adapter is None
    assert parse(["--adapter", "NONE"]).adapter_source == "none"
    given = parse(["--adapter", "/tmp/mine.gguf"])
    assert (given.adapter, given.adapter_source) == (Path("/tmp/mine.gguf"), "given")
    write_config("""
        adapter = "empower"
    """)
    assert parse([]).adapter == shipped_adapter.ADAPTER_FILE
    assert parse(["--adapter", "none"]).adapter is None  # the flag beats the file


def test_the_default_adapter_only_fits_its_base_model(tmp_path: Path, default_model: Path) -> None:
    other = tmp_path / "other.gguf"
    other.write_bytes(b"GGUF" + bytes(64))
    with pytest.raises(UserError, match="does not fit other.gguf"):
        parse(["--model", str(other), "--adapter", "empower"])
    # the same bytes under another name are the same base model
    copy = tmp_path / "copy.gguf"
    copy.symlink_to(default_model)
    assert parse(["--model", str(copy), "--adapter", "empower"]).adapter == shipped_adapter.ADAPTER_FILE


def test_shipped_adapter_records_the_installed_base_model(default_model: Path) -> None:
    record = shipped_adapter.provenance()
    assert record is not None, "pairterm/data/default-adapter.{gguf,json} must ship"
    assert record["base_model"]["sha256"] == file_sha256(default_model)
    assert record["adapter_sha256"] == file_sha256(shipped_adapter.ADAPTER_FILE)
    assert record["method"] == "empower" and record["corpus"]["license"] == "PSF-2.0"
    # the adapter really is a LoRA adapter GGUF for this architecture
    meta = gguf_metadata(shipped_adapter.ADAPTER_FILE)
    assert meta["general.type"] == "adapter" and meta["adapter.type"] == "lora"


def test_config_file_then_flags() -> None:
    write_config("""
        [engine]
        eta = 3.5
        max_tokens = 20
        adapter = "/tmp/me.lora.gguf"
        log = false
    """)
    cfg = parse([])
    assert (cfg.eta, cfg.max_tokens, cfg.adapter, cfg.log) == (3.5, 20, Path("/tmp/me.lora.gguf"), False)
    cfg = parse(["--eta", "inf", "--max-tokens", "7", "--adapter", "none"])
    assert math.isinf(cfg.eta) and cfg.max_tokens == 7 and cfg.adapter is None


def test_no_log_flag_turns_logging_off() -> None:
    assert parse(["--no-log"]).log is False


@pytest.mark.parametrize(
    ("text", "needle"),
    [("eta = [", "not valid TOML"), ('eta = "high"', "wrong type"), ("max_tokens = 0", "between 1 and"), ("max_tokens = 5000", "between 1 and"), ("threads = 0", "at least 1")],
)
def test_bad_config_is_a_user_error(text: str, needle: str) -> None:
    write_config(text)
    with pytest.raises(UserError, match=needle):
        build_config()


def test_pairterm_runs_without_torch(tmp_path: Path) -> None:
    """The product must not need the training extra: block torch & co and run a suggestion."""
    source = tmp_path / "m.py"
    source.write_text("def add(a, b):\n")
    script = textwrap.dedent(f"""
        import sys
        class Block:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ("torch", "transformers", "peft", "accelerate"):
                    raise ImportError("blocked: " + name)
        sys.meta_path.insert(0, Block())
        from pairterm.cli import main
        code = main(["suggest", {str(source)!r}, "--line", "1", "--column", "15", "--json"])
        assert not any(m.split(".")[0] == "torch" for m in sys.modules)
        sys.exit(code)
    """)
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    assert '"text"' in proc.stdout


def test_threads_default_to_the_cores_this_process_may_use() -> None:
    import subprocess
    import sys

    code = ("import os; os.sched_setaffinity(0, {min(os.sched_getaffinity(0))}); "
            "from pairterm.config import EngineConfig; print(EngineConfig().threads)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "1"
