"""Which other files of a project the model sees, and what of each."""

from __future__ import annotations

import os
from pathlib import Path

from pairterm.project_context import IMPORT_CHARS, gather, imports_above
from pairterm.python_outline import python_outline

GEOMETRY = '''"""Shapes."""

import math

ORIGIN = (0, 0)


def distance(a, b):
    """Straight-line distance."""
    return math.dist(a, b)


class Size:
    """Width and height."""

    def area(self) -> int:
        return self.width * self.height


class Region:
    """A rectangle."""

    def contains(self, x: int, y: int) -> bool:
        """Is the point inside?"""
        return self.x <= x < self.x + self.width
'''


def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'shapes'\n")
    pkg = tmp_path / "shapes"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "geometry.py").write_text(GEOMETRY)
    (pkg / "util.py").write_text("def clamp(value, low, high):\n    return max(low, min(value, high))\n")
    (pkg / "notes.py").write_text("TODO = []\n")
    return pkg


def test_the_outline_keeps_signatures_and_first_doc_lines_but_no_bodies() -> None:
    outline = python_outline(GEOMETRY)
    assert "def distance(a, b):" in outline and '"""Straight-line distance."""' in outline
    assert "    def contains(self, x: int, y: int) -> bool:" in outline
    assert "return" not in outline and "import math" not in outline
    assert outline.index("ORIGIN") < outline.index("class Size") < outline.index("class Region")


def test_the_names_a_file_imports_come_first_in_the_outline_of_their_module(tmp_path: Path) -> None:
    pkg = project(tmp_path)
    here = pkg / "layout.py"
    text = ("from shapes.geometry import Region\nfrom .util import clamp\n\n\n"
            "def fit(r: Region):\n    return r.contains(0, 0) and r")
    here.write_text(text)

    files = gather(here, text)

    assert [f.path for f in files[:2]] == ["shapes/geometry.py", "shapes/util.py"]
    geometry = files[0].text
    # Region's definition leads, so that a budget that cuts the end keeps it; the rest follows
    assert geometry.startswith('class Region:\n    """A rectangle."""\n    def contains(')
    assert geometry.index("class Region") < geometry.index("ORIGIN") < geometry.index("class Size")
    assert "shapes/layout.py" not in [f.path for f in files]


BIG = "class Server:\n    def __init__(self, name):\n        pass\n" + "".join(
    f"\n    def handler_{i}(self, request):\n        return {i}\n" for i in range(30))


def test_of_an_imported_class_the_members_the_file_uses_lead_the_others_come_last(
        tmp_path: Path) -> None:
    pkg = project(tmp_path)
    (pkg / "server.py").write_text(BIG)
    here = pkg / "app.py"
    text = ("from shapes.geometry import Size\nfrom shapes.server import Server\n\n"
            "s = Server('x')\ns.handler_7(None)\ns.handler_21(None)\n")
    here.write_text(text)

    files = gather(here, text)

    server = files[0]  # used three times against Size's none: first, though imported second
    assert [f.path for f in files[:2]] == ["shapes/server.py", "shapes/geometry.py"]
    lead = server.text[: server.lead]
    assert lead == ("class Server:\n    def __init__(self, name):\n        ...\n"
                    "    def handler_7(self, request):\n        ...\n"
                    "    def handler_21(self, request):\n        ...\n")
    # the rest of the class follows under its class line, once every file's lead has had room
    assert server.text[server.lead :].startswith("class Server:\n    def handler_0(")
    assert server.text.count("def handler_") == 30


def test_a_signature_is_one_line_without_its_comments_and_overload_stubs_are_left_out() -> None:
    source = ("from typing import overload\n\n\nclass Client:\n"
              "    @overload\n    def call(self, x: int) -> int: ...\n"
              "    @overload\n    def call(self, x: str) -> str: ...\n"
              "    @staticmethod\n    async def call(\n        x,  # what to send\n"
              "        *,\n        timeout: float = 1.0,\n    ) -> object:\n"
              '        """Send it."""\n        return x\n')
    assert python_outline(source) == ("class Client:\n    @staticmethod\n"
                                      "    async def call(x, *, timeout: float=1.0) -> object:\n"
                                      '        """Send it."""\n')


def test_a_plain_import_shows_the_module_in_file_order_then_recent_files(tmp_path: Path) -> None:
    pkg = project(tmp_path)
    os.utime(pkg / "notes.py", (2_000_000_000, 2_000_000_000))  # the newest file of the project
    here = pkg / "draw.py"
    text = "import shapes.geometry\n\nshapes.geometry."
    here.write_text(text)

    files = gather(here, text)

    assert files[0].path == "shapes/geometry.py"
    assert files[0].text.startswith("ORIGIN = (0, 0)\ndef distance(a, b):")
    assert files[1].path == "shapes/notes.py"  # not imported: the most recently modified next


def test_the_imports_above_the_window_are_whole_statements_each_on_one_line() -> None:
    text = ("'''Doc.'''\nimport os\nfrom shapes.geometry import (\n    Region,\n    Size,\n)\n\n"
            "CONSTANT = 1\n\n\ndef f():\n    import json\n    return Region\n")
    start = text.index("def f")
    assert imports_above(text, start) == "import os\nfrom shapes.geometry import Region, Size\n"
    # what the window holds already is not repeated, nor an import cut off by the window's start
    assert imports_above(text, text.index("    Size")) == "import os\n"
    assert imports_above(text, 0) == ""


def test_the_imports_above_the_window_stop_at_a_whole_statement_within_their_size() -> None:
    text = "".join(f"from package.module_{i} import name_{i}\n" for i in range(200)) + "x = 1\n"
    shown = imports_above(text, text.index("x = 1"))
    assert shown.endswith("\n") and 0 < len(shown) <= IMPORT_CHARS
    assert text.startswith(shown)


def test_comments_continuations_and_prose_do_not_spoil_the_imports_above() -> None:
    text = ('"""Module notes.\n\nfrom the start (see below\n"""\n'
            "from x import (  # noqa: F401\n    a,  # why\n    b as c,\n)\n"
            "from y import d, \\\n    e\nimport os  # (legacy\nfrom . import sibling\n\n"
            "def f():\n    return a\n")
    assert imports_above(text, text.index("def f")) == (
        "from x import a, b as c\nfrom y import d, e\nimport os\nfrom . import sibling\n")


def test_a_stub_file_keeps_its_overloads_as_they_are_all_it_says() -> None:
    source = ("from typing import overload\n\n@overload\ndef get(x: int) -> int: ...\n"
              "@overload\ndef get(x: str) -> str: ...\n")
    assert python_outline(source) == ("@overload\ndef get(x: int) -> int:\n    ...\n"
                                      "@overload\ndef get(x: str) -> str:\n    ...\n")


def test_modules_are_ranked_by_use_of_what_they_give_not_by_the_import_lines(
        tmp_path: Path) -> None:
    pkg = project(tmp_path)
    (pkg / "__init__.py").write_text("VERSION = '1'\n")
    (pkg / "server.py").write_text(BIG)
    here = pkg / "app.py"
    # every import line names the package, and Server arrives under another name
    text = ("from shapes import VERSION\nfrom shapes.geometry import Size\nfrom shapes.util import clamp\n"
            "from shapes.server import Server as S\n\nS('a')\nS('b')\nclamp(1, 0, 2)\n")
    here.write_text(text)

    assert [f.path for f in gather(here, text)[:4]] == [
        "shapes/server.py", "shapes/util.py", "shapes/__init__.py", "shapes/geometry.py"]
