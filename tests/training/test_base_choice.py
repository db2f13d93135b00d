"""Which model `pairterm train` trains for when none is named: the one the editor runs, so that
`pairterm --adapter RUN.gguf` fits without `--model`; catalog names work as for `--model`."""

from __future__ import annotations

import pytest

from pairterm.config import build_config
from pairterm.errors import UserError
from pairterm.model_catalog import DEFAULT_MODEL, get
from pairterm.paths import small_model_path
from training.base import resolve_base


@pytest.mark.usefixtures("installed_models")
def test_without_base_training_is_for_the_code_model_the_editor_runs() -> None:
    path, kind = resolve_base(None)
    assert kind == "gguf" and path == build_config().model_path()
    assert path.name == get(DEFAULT_MODEL).file_name  # `make test` installs it


def test_without_the_code_model_it_is_the_small_model_the_editor_then_runs() -> None:
    assert resolve_base(None) == (small_model_path(), "gguf") == (build_config().model_path(), "gguf")


def test_a_model_name_is_a_base() -> None:
    assert resolve_base("smollm2-135m") == (small_model_path(), "gguf")


def test_a_named_model_not_installed_says_how_to_install_it() -> None:
    with pytest.raises(UserError, match=f"pairterm model install {DEFAULT_MODEL}"):
        resolve_base(DEFAULT_MODEL)
