"""The shipped adapter's recipe: valid `pairterm train` flags, and the one it was built with."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

from pairterm import shipped_adapter
from training import build_shipped_adapter as recipe
from training import request


def test_recipe_is_accepted_by_pairterm_train(tmp_path) -> None:
    args = request.from_argv(recipe.train_argv(tmp_path / "run", tmp_path))
    request.check(args)
    assert (args.method, args.eta, args.source) == ("empower", "2", str(tmp_path))
    # tests and generated data stay out; plain library modules stay in
    from training import filters

    assert filters._matches("unittest/test/test_case.py", args.exclude)
    assert filters._matches("test/test_os.py", args.exclude)
    assert not filters._matches("json/decoder.py", args.exclude)


def test_shipped_adapter_was_built_with_this_recipe() -> None:
    record = shipped_adapter.provenance()
    assert record is not None
    command = shlex.split(str(record["train_command"]))
    assert command[:2] == ["pairterm", "train"]
    built = request.from_argv(command[2:])
    expected = request.from_argv(recipe.train_argv(Path("RUN"), Path("STDLIB")))
    assert built == expected
    assert record["kl"] == expected.kl == 4.0
    assert record["text"] == expected.text == 0.0  # `pairterm train`'s default is 1
    # nothing of the machine it was built on: no absolute path anywhere in the record
    assert not re.search(r"(?<![*\w.])/[A-Za-z]", json.dumps(record)), record
