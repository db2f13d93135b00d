"""Files in Latin-1 and CP-1252 open, say so, and save back byte for byte in their encoding."""

from __future__ import annotations

from pathlib import Path

import pytest

from pairterm.config import EngineConfig
from pairterm.editor.app import PairtermApp
from pairterm.editor.recovery import RecoveryStore
from pairterm.errors import UserError
from pairterm.interaction_log import InteractionLog
from pairterm.textfile import read_document

from .editor_support import ScriptedEngine

LATIN1 = "nom = 'café déjà'\n".encode("latin-1")
CP1252 = "prix = '10 €' — “cité”\n".encode("cp1252")


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_utf8_first_then_latin1_then_cp1252_and_the_rest_refused(tmp_path: Path) -> None:
    assert read_document(write(tmp_path, "u.py", "é €\n".encode())).encoding == "utf-8"
    assert read_document(write(tmp_path, "l.py", LATIN1)).encoding == "latin-1"
    decoded = read_document(write(tmp_path, "w.py", CP1252))
    assert decoded.encoding == "cp1252" and "€" in decoded.text and "“cité”" in decoded.text
    with pytest.raises(UserError, match="0x81"):  # undefined in CP-1252, a C1 control in Latin-1
        read_document(write(tmp_path, "bad.py", b"x = '\xe9\x81'\n"))
    with pytest.raises(UserError, match="binary"):
        read_document(write(tmp_path, "nul.py", b"x\x00\xe9\n"))


def make(path: Path) -> PairtermApp:
    decoded = read_document(path)
    return PairtermApp(path, decoded.text, EngineConfig(), log=InteractionLog(None, "editor"),
                       recovery=RecoveryStore(path.parent / "rec"), encoding=decoded.encoding,
                       engine_factory=lambda c: ScriptedEngine(lambda b, a: ""))  # type: ignore[arg-type,return-value]


@pytest.mark.parametrize(("data", "encoding"), [(LATIN1, "latin-1"), (CP1252, "cp1252")])
async def test_an_8_bit_file_shows_its_encoding_and_saves_back_in_it(
    tmp_path: Path, data: bytes, encoding: str
) -> None:
    path = write(tmp_path, "f.py", data)
    app = make(path)
    async with app.run_test(size=(100, 20)) as pilot:
        assert encoding in str(app.query_one("#status").render())
        await pilot.press("x", "backspace", "ctrl+s")  # unchanged text, saved
        await pilot.pause(0.05)
        assert path.read_bytes() == data
        await pilot.press("ctrl+end")
        app.editor.insert("# é\n")  # é is in both encodings
        await pilot.press("ctrl+s")
        await pilot.pause(0.05)
    assert path.read_bytes() == data + "# é\n".encode(encoding)


async def test_a_character_the_encoding_cannot_hold_is_refused_and_nothing_is_lost(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, "f.py", LATIN1)
    app = make(path)
    async with app.run_test(size=(100, 20)) as pilot:
        await pilot.press("ctrl+end")
        app.editor.insert("→")  # neither in Latin-1 nor in CP-1252
        await pilot.press("ctrl+s")
        await pilot.pause(0.1)
        assert path.read_bytes() == LATIN1  # not re-encoded, not written
        assert app.dirty and app.editor.text.endswith("→")
        messages = [n.message for n in app._notifications]
        assert any("U+2192" in m and "latin-1" in m and "line 2" in m for m in messages)


async def test_a_latin1_file_that_needs_a_cp1252_character_widens_to_cp1252(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, "f.py", LATIN1)
    app = make(path)
    async with app.run_test(size=(100, 20)) as pilot:
        await pilot.press("ctrl+end")
        app.editor.insert("# 10 €\n")  # not in Latin-1; CP-1252's 0x80
        await pilot.press("ctrl+s")
        await pilot.pause(0.1)
        assert not app.dirty
        assert "cp1252" in str(app.query_one("#status").render())
    # every byte the file had is unchanged: the two encodings agree outside 0x80-0x9F
    assert path.read_bytes() == LATIN1 + b"# 10 \x80\n"


def test_the_editor_command_opens_a_latin1_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pairterm.cli import main

    started: list[PairtermApp] = []
    monkeypatch.setattr(PairtermApp, "run", lambda self: started.append(self))
    path = write(tmp_path, "f.py", LATIN1)
    assert main([str(path)]) == 0
    assert started[0].buffer.encoding == "latin-1"
    assert started[0].editor.text == LATIN1.decode("latin-1")
