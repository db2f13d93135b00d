"""`pairterm doctor`: what pairterm would run with, and whether the model actually loads."""

from __future__ import annotations

import json
import os
import platform

from rich.console import Console
from rich.table import Table

from pairterm import __version__, paths, shipped_adapter
from pairterm.argparsing import ArgumentParser
from pairterm.config import add_engine_args, config_from_args
from pairterm.engine import Engine
from pairterm.model_file import gguf_metadata


def collect(argv: list[str]) -> dict[str, object]:
    parser = ArgumentParser(prog="pairterm doctor", description=__doc__)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    add_engine_args(parser)
    args = parser.parse_args(argv)
    config = config_from_args(args)
    model = config.model_path()
    report: dict[str, object] = {
        "pairterm": __version__,
        "python": platform.python_version(),
        "model": str(model),
        "model_bytes": model.stat().st_size if model.is_file() else None,
        "model_metadata": gguf_metadata(model),
        "adapter": str(config.adapter) if config.adapter else None,
        "adapter_source": config.adapter_source,
        "eta": config.eta if config.eta != float("inf") else "inf",
        "max_tokens": config.max_tokens,
        "threads": config.threads,
        "cpu_count": os.cpu_count(),
        "usable_cores": paths.usable_cores(),
        "config_file": str(paths.config_file()),
        "config_file_exists": paths.config_file().is_file(),
        "state_dir": str(paths.state_dir()),
        "log_file": str(paths.log_file()),
    }
    if config.adapter:
        report["adapter_metadata"] = gguf_metadata(config.adapter)
    if config.adapter_source == "shipped":
        report["adapter_provenance"] = shipped_adapter.provenance()
    import llama_cpp

    report["llama_cpp_python"] = llama_cpp.__version__
    engine = Engine(config)  # raises a one-line UserError when it cannot load
    # Fill-in-the-middle: the model reads the text after the cursor (and project files).
    report["fim"] = engine.fim_available is not None
    report["fim_used"] = engine.fim is not None
    report["project_context"] = bool(
        engine.fim is not None and engine.fim.sep is not None and config.context_tokens > 0)
    try:
        probe = engine.suggest("def add(a, b):\n    return", "")
        report["load_ok"] = True
        report["probe_latency_ms"] = round(probe.latency_ms, 1)
    finally:
        engine.close()
    report["_json"] = args.json
    return report


def main(argv: list[str]) -> int:
    report = collect(argv)
    as_json = bool(report.pop("_json"))
    if as_json:
        print(json.dumps(report, default=str))
        return 0
    table = Table(title="pairterm doctor", show_header=False)
    for key, value in report.items():
        table.add_row(key, json.dumps(value, default=str) if isinstance(value, dict) else str(value))
    Console().print(table)
    return 0
