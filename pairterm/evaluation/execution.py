"""Run a HumanEval program against its tests in a separate Python process with a time limit.

The program is model-written code, so it runs inside a bubblewrap (`bwrap`) sandbox: no network
(a network namespace of its own), its own process and IPC namespaces, the file system read-only
except a private temporary directory, and limits on memory, processes and file size. When run
as root it also drops to the unprivileged `nobody` uid, because the kernel does not apply
RLIMIT_NPROC to root. The sandbox dies with pairterm and a timeout kills everything it spawned.

Without a working bwrap, running the code is refused unless the person asks for it with
`--unsafe-exec`: then only the limits apply (and root ignores the process limit).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from pairterm.errors import UserError

MEMORY_LIMIT_BYTES = 2 * 1024**3
FILE_SIZE_LIMIT_BYTES = 64 * 1024**2
# All the program may write, in its directory and in /tmp each: both are memory-backed tmpfs
# of this size, so many files under the per-file limit cannot fill the host's disk or memory.
DISK_LIMIT_BYTES = 128 * 1024**2
PROCESS_LIMIT = 64
NOBODY = 65534
SANDBOX_DIR = "/sandbox"
PYTHON_DIR = "/opt/python"

# Runs in the child before the program: limits first, then (when root) give up root, then the
# program as __main__. -I -S: nothing from the environment or site-packages is imported.
_LIMITS = (
    f"(resource.RLIMIT_AS, {MEMORY_LIMIT_BYTES}), (resource.RLIMIT_FSIZE, {FILE_SIZE_LIMIT_BYTES}), "
    f"(resource.RLIMIT_NPROC, {PROCESS_LIMIT}), (resource.RLIMIT_CORE, 0)"
)
PROLOGUE = f"""\
import os, resource, sys
for limit, value in ({_LIMITS}):
    resource.setrlimit(limit, (value, value))
if sys.argv[1] == "drop" and os.getuid() == 0:
    os.setgroups([]); os.setgid({NOBODY}); os.setuid({NOBODY})
path = sys.argv[2]
sys.argv = sys.argv[2:]
with open(path, encoding="utf-8") as fh:
    code = compile(fh.read(), path, "exec")
exec(code, {{"__name__": "__main__", "__file__": path}})
"""

_unsafe_allowed = False
_probed: dict[str, str | None] = {}


def allow_unsafe_exec() -> None:
    """`--unsafe-exec`: without a working bwrap, run model-written code unsandboxed."""
    global _unsafe_allowed
    _unsafe_allowed = True


def _python() -> str:
    # The base interpreter, not a venv's launcher: the sandbox binds its prefix only.
    return os.path.realpath(sys.executable)


def _bwrap_args(bwrap: str, workdir: Path) -> list[str]:
    python = Path(_python())
    prefix = python.parents[1]
    root = os.geteuid() == 0
    args = [bwrap, "--die-with-parent", "--new-session", "--unshare-net", "--unshare-pid",
            "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try", "--clearenv",
            "--ro-bind", "/usr", "/usr", "--ro-bind-try", "/etc/ld.so.cache", "/etc/ld.so.cache",
            "--proc", "/proc", "--dev", "/dev",
            "--perms", "1777", "--size", str(DISK_LIMIT_BYTES), "--tmpfs", "/tmp"]  # fmt: skip
    if root:
        # bwrap run by root: the child keeps just enough to become nobody, and no user
        # namespace (nobody would not be mapped in it).
        args += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    else:
        args += ["--unshare-user"]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64"):
        if os.path.islink(top):  # merged /usr: /lib -> usr/lib
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    if not str(prefix).startswith("/usr/"):
        # Mounted where nobody can reach it: its real parents may be private (pyenv in /root).
        # (bwrap run by root makes missing parents 0700: made here, open to all)
        args += ["--perms", "0755", "--dir", str(Path(PYTHON_DIR).parent)]
        args += ["--ro-bind", str(prefix), PYTHON_DIR]
        python = Path(PYTHON_DIR) / python.relative_to(prefix)
    args += ["--perms", "1777", "--size", str(DISK_LIMIT_BYTES), "--tmpfs", SANDBOX_DIR,
             "--ro-bind", str(workdir / "candidate.py"), f"{SANDBOX_DIR}/candidate.py",
             "--chdir", SANDBOX_DIR,
             "--setenv", "HOME", SANDBOX_DIR, "--setenv", "PATH", "/usr/bin:/bin", "--"]  # fmt: skip
    return args + [str(python), "-I", "-S", "-c", PROLOGUE, "drop", f"{SANDBOX_DIR}/candidate.py"]


def sandbox_problem() -> str | None:
    """None when bwrap can run a sandbox here; else why not, in a few words."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return "bubblewrap (bwrap) is not installed"
    if bwrap not in _probed:
        with tempfile.TemporaryDirectory(prefix="pairterm-probe-") as tmp:
            _prepare_workdir(Path(tmp), "pass\n")
            try:
                proc = subprocess.run(_bwrap_args(bwrap, Path(tmp)), capture_output=True,
                                      text=True, timeout=30, stdin=subprocess.DEVNULL)  # fmt: skip
                lines = (proc.stderr.strip() or f"exit status {proc.returncode}").splitlines()
                _probed[bwrap] = None if proc.returncode == 0 else f"bwrap fails here: {lines[-1]}"
            except (OSError, subprocess.TimeoutExpired) as exc:
                _probed[bwrap] = f"bwrap fails here: {exc}"
    return _probed[bwrap]


def require_sandbox() -> bool:
    """True: run model-written code in the sandbox; False: unsandboxed, as `--unsafe-exec`
    asked. UserError when neither is possible."""
    problem = sandbox_problem()
    if problem is None:
        return True
    if _unsafe_allowed:
        return False
    fix = ("install bubblewrap (Debian: apt-get install bubblewrap)" if shutil.which("bwrap") is None
           else "allow unprivileged user namespaces for bwrap")  # fmt: skip
    raise UserError(
        f"refusing to run model-written code without a sandbox: {problem}; {fix} "
        "or pass --unsafe-exec to run it unsandboxed"
    )


def _prepare_workdir(tmp: Path, source: str) -> None:
    (tmp / "candidate.py").write_text(source, encoding="utf-8")
    if os.geteuid() == 0:  # the program runs as nobody and writes only here
        os.chown(tmp, NOBODY, NOBODY)
        os.chmod(tmp / "candidate.py", 0o644)


def passes_tests(program: str, test: str, entry_point: str, timeout_s: float = 10.0) -> bool:
    """True iff `program` followed by HumanEval's `check(entry_point)` exits cleanly in time."""
    sandboxed = require_sandbox()
    source = f"{program}\n\n{test}\n\ncheck({entry_point})\n"
    with tempfile.TemporaryDirectory(prefix="pairterm-eval-") as tmp:
        workdir = Path(tmp)
        _prepare_workdir(workdir, source)
        if sandboxed:
            bwrap = shutil.which("bwrap")
            assert bwrap is not None
            argv = _bwrap_args(bwrap, workdir)
        else:
            argv = [_python(), "-I", "-S", "-c", PROLOGUE, "keep", str(workdir / "candidate.py")]
        proc = subprocess.Popen(
            argv,
            cwd=tmp,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            return proc.wait(timeout=timeout_s) == 0
        except subprocess.TimeoutExpired:
            # The group holds bwrap (its sandbox dies with it) or the unsandboxed program.
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()
            return False
