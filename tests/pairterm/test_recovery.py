"""Unsaved edits survive a SIGKILL: a real editor process is killed, then the file reopened."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from pairterm.config import EngineConfig
from pairterm.editor.app import PairtermApp
from pairterm.editor.recovery import RecoveryStore
from pairterm.editor.screens import Confirm
from pairterm.interaction_log import InteractionLog

CHILD = textwrap.dedent(
    """
    import asyncio, sys, time
    from pathlib import Path
    from pairterm.config import EngineConfig
    from pairterm.editor.app import PairtermApp
    from pairterm.editor.recovery import RecoveryStore
    from pairterm.errors import UserError
    from pairterm.interaction_log import InteractionLog

    path, rec = Path(sys.argv[1]), Path(sys.argv[2])

    def no_model(_):
        raise UserError("no model in this test")

    async def main():
        app = PairtermApp(path, path.read_text(), EngineConfig(), log=InteractionLog(None, "editor"),
                          recovery=RecoveryStore(rec), engine_factory=no_model)
        async with app.run_test() as pilot:
            await pilot.press("end", "enter", *"unsaved", "space", *"work")
            while not any(rec.glob("*.json")):
                await pilot.pause(0.1)
            print("READY", flush=True)
            time.sleep(600)  # killed long before this ends

    asyncio.run(main())
    """
)


async def test_unsaved_edits_survive_sigkill(tmp_path: Path) -> None:
    path = tmp_path / "notes.py"
    path.write_text("first = 1\n")
    rec = tmp_path / "recovery"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(path), str(rec)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        line = ""
        while time.monotonic() < deadline and "READY" not in line:
            line = child.stdout.readline() if child.stdout else ""
            if child.poll() is not None:
                break
        assert "READY" in line, child.stderr.read() if child.stderr else ""
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == -signal.SIGKILL
    assert path.read_text() == "first = 1\n"  # the file itself was never touched

    app = _app(path, path.read_text(), RecoveryStore(rec))
    async with app.run_test() as pilot:
        await pilot.pause(0.1)
        assert isinstance(app.screen, Confirm)
        await pilot.press("y")
        await pilot.pause(0.05)
        assert app.editor.text == "first = 1\nunsaved work\n"
        await pilot.press("ctrl+s")
        await pilot.pause(0.1)
    assert "unsaved work" in path.read_text()
    assert not any(rec.glob("*.json"))  # saved: nothing left to recover


async def test_discarding_recovery_removes_it(tmp_path: Path) -> None:
    path = tmp_path / "a.py"
    path.write_text("x\n")
    store = RecoveryStore(tmp_path / "rec")
    store.write(path, "x\nmore\n")
    app = _app(path, "x\n", store)
    async with app.run_test() as pilot:
        await pilot.pause(0.1)
        await pilot.press("n")
        await pilot.pause(0.05)
        assert app.editor.text == "x\n"
    assert store.load(path) is None


def _no_model(_: EngineConfig) -> object:
    from pairterm.errors import UserError

    raise UserError("no model in this test")


def _app(path: Path | None, text: str, store: RecoveryStore) -> PairtermApp:
    """The editor on `path` with this recovery store and no model."""
    return PairtermApp(path, text, EngineConfig(), log=InteractionLog(None, "editor"),
                       recovery=store, engine_factory=_no_model)


def _copies(directory: Path) -> list[dict[str, object]]:
    import json

    return [json.loads(f.read_text()) for f in directory.glob("*.json")] if directory.is_dir() else []


async def test_recovery_copies_go_on_after_a_save(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from pairterm.editor import recovery

    monkeypatch.setattr(recovery, "RECOVERY_DELAY_S", 0.5)
    monkeypatch.setattr(recovery, "RECOVERY_MAX_WAIT_S", 1.0)
    path = tmp_path / "a.py"
    path.write_text("x\n")
    store = RecoveryStore(tmp_path / "rec")
    app = _app(path, "x\n", store)
    async with app.run_test() as pilot:
        await pilot.press("a", "ctrl+s")  # saved before the first copy was due
        await pilot.pause(0.05)
        assert path.read_text() == "ax\n" and store.load(path) is None
        await pilot.pause(1.2)  # longer than the longest wait for a copy
        await pilot.press("b")
        for _ in range(100):
            if store.load(path) is not None:
                break
            await pilot.pause(0.05)
        found = store.load(path)
        assert found is not None and found.text == "abx\n"


async def test_enter_on_the_recovery_question_restores(tmp_path: Path) -> None:
    path = tmp_path / "a.py"
    path.write_text("x\n")
    store = RecoveryStore(tmp_path / "rec")
    store.write(path, "x\nmore\n")
    app = _app(path, "x\n", store)
    async with app.run_test() as pilot:
        await pilot.pause(0.1)
        assert isinstance(app.screen, Confirm)
        await pilot.press("enter")
        await pilot.pause(0.05)
        assert app.editor.text == "x\nmore\n" and app.dirty
        assert store.load(path) is not None  # kept until the restored text is saved
        await pilot.press("ctrl+s")
        await pilot.pause(0.1)
    assert path.read_text() == "x\nmore\n"
    assert store.load(path) is None


async def test_recovery_copies_are_private(tmp_path: Path) -> None:
    import stat as st

    path = tmp_path / "secret.py"
    path.write_text("token = 1\n")
    os.chmod(path, 0o600)
    state = tmp_path / "state" / "pairterm" / "recovery"  # none of it exists yet
    app = _app(path, "token = 1\n", RecoveryStore(state))
    async with app.run_test() as pilot:
        await pilot.press("x")
        app.keeper.write_now(app.buffer)  # no need to wait for the pause in typing
        for _ in range(100):
            if any(state.glob("*.json")):
                break
            await pilot.pause(0.05)
    [copy] = list(state.glob("*.json"))
    assert "xtoken" in copy.read_text()
    assert st.S_IMODE(copy.stat().st_mode) == 0o600
    assert st.S_IMODE(state.stat().st_mode) == 0o700
    assert st.S_IMODE(state.parent.stat().st_mode) == 0o700  # created by us: private too


UNTITLED_CHILD = textwrap.dedent(
    """
    import asyncio, sys, time
    from pathlib import Path
    from pairterm.config import EngineConfig
    from pairterm.editor.app import PairtermApp
    from pairterm.editor.recovery import RecoveryStore
    from pairterm.errors import UserError
    from pairterm.interaction_log import InteractionLog

    rec = Path(sys.argv[1])

    def no_model(_):
        raise UserError("no model in this test")

    async def main():
        app = PairtermApp(None, "", EngineConfig(), log=InteractionLog(None, "editor"),
                          recovery=RecoveryStore(rec), engine_factory=no_model)
        async with app.run_test() as pilot:
            await pilot.press(*"draft", "enter", *"plan")
            deadline = time.monotonic() + 30
            while not any(rec.glob("*.json")) and time.monotonic() < deadline:
                await pilot.pause(0.1)
            print("READY" if any(rec.glob("*.json")) else "NO COPY", flush=True)
            time.sleep(600)  # killed long before this ends

    asyncio.run(main())
    """
)


async def test_an_untitled_buffer_survives_sigkill(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)  # untitled copies belong to the folder pairterm ran in
    rec = tmp_path / "recovery"
    child = subprocess.Popen([sys.executable, "-c", UNTITLED_CHILD, str(rec)], cwd=tmp_path,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = child.stdout.readline() if child.stdout else ""
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
    assert "READY" in line, child.stderr.read() if child.stderr else ""
    [record] = _copies(rec)
    assert record["text"] == "draft\nplan" and str(record["path"]).startswith("untitled:")

    app = _app(None, "", RecoveryStore(rec))
    async with app.run_test() as pilot:
        await pilot.pause(0.1)
        assert isinstance(app.screen, Confirm)
        await pilot.press("enter")
        await pilot.pause(0.1)
        assert app.editor.text == "draft\nplan" and app.dirty
        # Adopted: one copy, now this session's, so a second crash still keeps the text.
        [record] = _copies(rec)
        assert record["pid"] == os.getpid() and record["text"] == "draft\nplan"


def _messages(app: PairtermApp) -> list[str]:
    return [str(n.message) for n in app._notifications]


def _kept(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.kept-*.json"))


async def test_escape_keeps_the_crashed_copy_through_edits_and_a_save(tmp_path: Path,
                                                                       monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from pairterm.editor import recovery

    monkeypatch.setattr(recovery, "RECOVERY_DELAY_S", 0.2)
    path = tmp_path / "a.py"
    path.write_text("x\n")
    store = RecoveryStore(tmp_path / "rec")
    store.write(path, "x\ncrashed work\n")
    app = _app(path, "x\n", store)
    async with app.run_test() as pilot:
        await pilot.pause(0.1)
        assert isinstance(app.screen, Confirm)
        await pilot.press("escape")
        await pilot.pause(0.05)
        assert app.editor.text == "x\n"
        await pilot.press("z")
        for _ in range(100):  # this session's own copy, written under the same key
            found = store.load(path)
            if found is not None and found.text == "zx\n":
                break
            await pilot.pause(0.05)
        await pilot.press("ctrl+s")
        await pilot.pause(0.1)
        messages = _messages(app)
    assert path.read_text() == "zx\n" and store.load(path) is None
    [kept] = _kept(store.directory)
    assert json.loads(kept.read_text())["text"] == "x\ncrashed work\n"
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert any(str(kept) in m for m in messages), messages


async def test_a_copy_older_than_its_file_is_not_restored_by_enter(tmp_path: Path) -> None:
    path = tmp_path / "a.py"
    path.write_text("x\n")
    store = RecoveryStore(tmp_path / "rec")
    store.write(path, "x\nold copy\n")
    path.write_text("newer from git\n")  # e.g. a checkout after the crash
    later = time.time() + 5
    os.utime(path, (later, later))
    app = _app(path, path.read_text(), store)
    async with app.run_test() as pilot:
        await pilot.pause(0.1)
        assert isinstance(app.screen, Confirm)
        assert "changed on disk after this copy was made" in app.screen.question
        await pilot.press("enter")
        await pilot.pause(0.05)
        assert app.editor.text == "newer from git\n" and not app.dirty
        await pilot.press("ctrl+s")
        await pilot.pause(0.1)
        messages = _messages(app)
    assert path.read_text() == "newer from git\n"
    [kept] = _kept(store.directory)
    assert json.loads(kept.read_text())["text"] == "x\nold copy\n"
    assert any(str(kept) in m for m in messages), messages


async def test_no_keeps_a_copy_older_than_its_file_and_restore_still_works(tmp_path: Path) -> None:
    path = tmp_path / "a.py"
    for answer, expected in (("n", "newer\n"), ("y", "x\nold copy\n")):
        path.write_text("x\n")
        store = RecoveryStore(tmp_path / f"rec-{answer}")
        store.write(path, "x\nold copy\n")
        path.write_text("newer\n")
        later = time.time() + 5
        os.utime(path, (later, later))
        app = _app(path, "newer\n", store)
        async with app.run_test() as pilot:
            await pilot.pause(0.1)
            await pilot.press(answer)
            await pilot.pause(0.05)
            assert app.editor.text == expected
        kept = [json.loads(f.read_text())["text"] for f in _kept(store.directory)]
        assert kept == (["x\nold copy\n"] if answer == "n" else [])


async def test_a_save_during_a_slow_copy_write_leaves_no_copy(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import threading

    from pairterm.editor import recovery

    inside, done = threading.Event(), threading.Event()
    real_write = recovery._write_staged

    def slow_write(target: Path, data: bytes) -> object:
        inside.set()
        time.sleep(0.8)  # the save below happens in here
        try:
            return real_write(target, data)
        finally:
            done.set()

    monkeypatch.setattr(recovery, "_write_staged", slow_write)
    path = tmp_path / "a.py"
    path.write_text("x\n")
    store = RecoveryStore(tmp_path / "rec")
    app = _app(path, "x\n", store)
    async with app.run_test() as pilot:
        await pilot.press("a")
        app.keeper.write_now(app.buffer)
        for _ in range(100):
            if inside.is_set():
                break
            await pilot.pause(0.02)
        assert inside.is_set() and not done.is_set()
        await pilot.press("ctrl+s")
        await pilot.pause(0.05)
        assert path.read_text() == "ax\n" and not done.is_set()
        for _ in range(100):
            if done.is_set():
                break
            await pilot.pause(0.05)
        await app.workers.wait_for_complete()
    assert done.is_set()
    assert store.load(path) is None and _copies(store.directory) == []
    assert [f.name for f in store.directory.iterdir()] == []  # no staged leftovers either


def test_an_untitled_copy_is_offered_after_a_reboot_even_if_its_pid_is_alive_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # After a power cut the old pid may belong to a live process by now; the copy is still an
    # orphan, told apart by the boot id and the process's start time.
    monkeypatch.chdir(tmp_path)
    store = RecoveryStore(tmp_path / "recovery")
    key = store.untitled_key(1)
    store.write(key, "notes")
    assert store.orphaned_untitled(tmp_path) == []  # its process (this one) is alive
    file = store.file_for(key)
    record = json.loads(file.read_text())
    for changed in ({"boot": "another-boot"}, {"started": "1"}):
        file.write_text(json.dumps({**record, **changed}))
        [(found_key, found)] = store.orphaned_untitled(tmp_path)
        assert found_key == key and found.text == "notes"
