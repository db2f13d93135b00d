"""`pairterm eval compare`: the Empower paper's Table 1 at our scale.

Every row is the same base model on the same documents with the same simulated human; rows
differ only in what the paper varies: a token cap (Base-N), or a LoRA adapter trained as
`pairterm train --method ...` would (`training.run.train`) and exported as `pairterm export
--adapter-only` would (`ggml_export.export.export_adapter`) (SFT-N, SFT-RAND, Empower), each
optionally with the runtime gate on top. It lives on the training side: it trains and exports,
and the runtime's evaluation (`pairterm.evaluation`) is what it calls to measure each row.

Work is kept under OUT so an interrupted comparison resumes: a finished training run, an exported
adapter and each row's evaluation (keyed by its settings) are reused, not redone.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import shlex
import sys
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path

from rich.console import Console

from pairterm.argparsing import ArgumentParser
from pairterm.config import DEFAULT_ETA, EngineConfig, config_from_args, parse_eta
from pairterm.errors import UserError
from pairterm.evaluation.cli import add_environment_args, environment_from_args, run_eval
from pairterm.evaluation.corpus import load_corpus, load_run
from pairterm.evaluation.metrics import paired_difference
from pairterm.evaluation.runner import eta_json
from training import rundir
from training.request import TrainRequest, given_flags


@dataclass(frozen=True)
class RowKind:
    label: str
    method: str | None = None  # training method; None = the untrained base model
    cap: int | None = None  # Base-N token cap


ROWS = {
    "base": RowKind("Base"),
    "base-10": RowKind("Base-10", cap=10),
    "base-20": RowKind("Base-20", cap=20),
    "sft-10": RowKind("SFT-10", "sft-10"),
    "sft-20": RowKind("SFT-20", "sft-20"),
    "sft-rand": RowKind("SFT-RAND", "sft-rand"),
    "empower": RowKind("Empower", "empower"),
    "next-20": RowKind("Next-20", "next-20"),
}
CONFIG_KEYS = {
    "rows", "out", "train_source", "train_eta", "gate", "max_steps", "train_args", "fresh",
    "corpus", "limit", "max_rounds", "human_tokens", "lenient_whitespace", "start_lines",
    "target_chars", "human_model", "human_think_tokens", "model", "max_tokens", "threads",
    "gated_only",
}  # fmt: skip


def build_parser() -> ArgumentParser:
    p = ArgumentParser(
        prog="pairterm eval compare",
        description="Train and evaluate the paper's rows (Base, Base-10, Base-20, SFT-10, SFT-20, "
        "SFT-RAND, Empower) on the same data; writes results.json, table.md and chart.png. "
        "--corpus also takes `holdout`: the held-out files of the trained rows' source.",
    )
    p.add_argument("--config", metavar="TOML", help="settings file; flags given here win")
    p.add_argument("--out", metavar="DIR", help="where results and runs go (default eval-compare)")
    p.add_argument("--rows", help=f"comma-separated, from {','.join(ROWS)} (default all)")
    p.add_argument("--train-source", metavar="SRC", help="git repository or directory to train on")
    p.add_argument("--train-eta", metavar="BITS", help=f"Empower's η for training (default {DEFAULT_ETA})")
    p.add_argument("--gate", metavar="BITS", help="also evaluate every row with the runtime gate at η=BITS")
    p.add_argument("--gated-only", action="store_true", default=None,
                   help="with --gate: evaluate only the gated rows (as the editor runs them)")
    p.add_argument("--max-steps", type=int, metavar="N", help="training steps per trained row (200)")
    p.add_argument("--train-args", metavar="ARGS", help="extra `pairterm train` flags, one quoted string")
    p.add_argument("--fresh", action="store_true", default=None, help="re-evaluate rows already done")
    add_environment_args(p)
    p.add_argument("--model", metavar="NAME|GGUF",
                   help="base model for every row (default: the editor's default model)")
    p.add_argument("--max-tokens", type=int, metavar="N", help="token cap of uncapped rows (48)")
    p.add_argument("--threads", type=int, metavar="N", help="CPU threads for llama.cpp")
    p.add_argument("--json", action="store_true", help="print results.json to stdout")
    return p


def config_argv(path: Path) -> list[str]:
    """A TOML settings file as flags, so that it is validated exactly like the command line."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read config {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"config {path} is not valid TOML: {exc}") from None
    table = data.get("compare", data)
    argv: list[str] = []
    for key, value in table.items():
        if key not in CONFIG_KEYS:
            raise UserError(f"config {path}: unknown key `{key}` (known: {', '.join(sorted(CONFIG_KEYS))})")
        flag = "--" + key.replace("_", "-")
        if isinstance(value, bool):
            argv += [flag] if value else []
        elif isinstance(value, list):
            argv += [flag, ",".join(str(v) for v in value)]
        else:
            argv += [flag, str(value)]
    return argv


def parse(argv: list[str]) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.config:
        # Flags from the file go first: argparse keeps the last value, so the command line wins.
        args = parser.parse_args(config_argv(Path(args.config).expanduser()) + argv)
    return args


def parse_rows(text: str | None) -> list[str]:
    keys = [k.strip().lower() for k in (text or ",".join(ROWS)).split(",") if k.strip()]
    unknown = [k for k in keys if k not in ROWS]
    if unknown or not keys:
        raise UserError(f"--rows: unknown row {', '.join(unknown) or '(none)'}; choose from {','.join(ROWS)}")
    return list(dict.fromkeys(keys))


def row_request(key: str, args: argparse.Namespace, train_eta: float, run: Path,
                model: Path | None) -> TrainRequest:
    """What trains row `key`: its method, η and step budget, then --train-args on top (as in
    `pairterm train`, a flag given twice takes its last value, so --train-args wins)."""
    extra = given_flags(shlex.split(args.train_args or ""))
    fixed = sorted({"source", "out", "resume", "force"} & set(extra))
    if fixed:
        raise UserError(f"--train-args: {', '.join(fixed)} is set by `eval compare` for each row; drop it")
    request = TrainRequest(
        source=str(Path(args.train_source).expanduser()), out=str(run),
        method=ROWS[key].method or key, eta=repr(train_eta), max_steps=args.max_steps or 200,
        base=str(model) if model is not None else None,
        # rows compare labels on the same states: a time budget would size each row's data by
        # how fast that row's process happened to run (--train-args can still set one)
        budget="none",
    )  # fmt: skip
    return replace(request, **extra)


def train_and_export(
    key: str, args: argparse.Namespace, train_eta: float, out: Path, model: Path | None
) -> tuple[Path, Path]:
    """Train one row and export its adapter; finished work is reused, interrupted work resumed."""
    run = out / "runs" / key
    adapter = out / "adapters" / f"{key}.gguf"
    if not run.is_dir():
        from training import run as training_run  # heavy: only when a row needs training

        request = row_request(key, args, train_eta, run, model)
        try:
            if rundir.partial_dir(run).exists():
                training_run.resume(run)
            else:
                training_run.train(request)
        except UserError as exc:
            raise UserError(f"training row {key}: {exc}") from None
    if not adapter.is_file():
        from ggml_export.export import export_adapter

        adapter.parent.mkdir(parents=True, exist_ok=True)
        try:
            written = export_adapter(run, adapter)
        except UserError as exc:
            raise UserError(f"exporting row {key}: {exc}") from None
        Console(stderr=True).print(
            f"exported {key} adapter → {written.out} ({written.bytes / 1e6:.1f} MB)", soft_wrap=True
        )
    return run, adapter


def _file_id(path: Path | None) -> list[object] | None:
    """Path, size and mtime: a re-exported adapter invalidates the rows evaluated with it."""
    if path is None:
        return None
    stat = path.stat()
    return [str(path.resolve()), stat.st_size, stat.st_mtime_ns]


def _fingerprint(settings: dict[str, object]) -> str:
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]


def main(argv: list[str]) -> int:
    args = parse(argv)
    keys = parse_rows(args.rows)
    corpus, limit, rules, split, human = environment_from_args(args)
    train_eta = parse_eta(args.train_eta) if args.train_eta else DEFAULT_ETA
    gate = parse_eta(args.gate) if args.gate else None
    if args.gated_only and gate is None:
        raise UserError("--gated-only needs --gate BITS")
    if args.max_steps is not None and args.max_steps < 1:
        raise UserError(f"--max-steps must be at least 1, got {args.max_steps}")
    base: EngineConfig = replace(
        config_from_args(args), eta=math.inf, adapter=None, adapter_source="none", log=False
    )
    trained = [k for k in keys if ROWS[k].method]
    if trained and not args.train_source:
        raise UserError(f"rows {','.join(trained)} need training: pass --train-source SRC")
    if corpus == "holdout" and not trained:
        raise UserError("--corpus holdout uses a trained row's held-out files: add a trained row")
    out = Path(args.out or "eval-compare").expanduser()
    out.mkdir(parents=True, exist_ok=True)
    console = Console(stderr=True)

    adapters: dict[str, Path] = {}
    runs: dict[str, Path] = {}
    for key in trained:
        console.print(f"[bold]training[/] {ROWS[key].label} → {out / 'runs' / key}")
        runs[key], adapters[key] = train_and_export(key, args, train_eta, out, base.model)
    docs = load_run(runs[trained[0]], split, limit) if corpus == "holdout" else load_corpus(
        corpus, split, limit
    )

    plan: list[tuple[str, str, EngineConfig]] = []
    for key in keys:
        kind = ROWS[key]
        label = f"{kind.label}(η={train_eta:g})" if key == "empower" else kind.label
        cfg = replace(base, max_tokens=kind.cap or base.max_tokens, adapter=adapters.get(key))
        if not args.gated_only:
            plan.append((key, label, cfg))
        if gate is not None:
            plan.append((f"{key}+gate", f"{label} + gate η={gate:g}", replace(cfg, eta=gate)))

    rows: list[dict[str, object]] = []
    base_model = base.model_path().stem
    for i, (key, label, cfg) in enumerate(plan, 1):
        settings = {
            "corpus": corpus, "limit": limit, "rules": rules.__dict__, "split": split.__dict__,
            "human": str(human.model) if human.model else "replay", "model": str(cfg.model_path()),
            "adapter": _file_id(cfg.adapter), "eta": eta_json(cfg.eta),
            "max_tokens": cfg.max_tokens, "documents": [d.doc_id for d in docs],
        }  # fmt: skip
        cache = out / "rows" / f"{key}.json"
        summary = _cached(cache, _fingerprint(settings)) if not args.fresh else None
        if summary is None:
            summary = run_eval(cfg, docs, rules, human, f"[{i}/{len(plan)}] {label}")
            _write_json(cache, {"fingerprint": _fingerprint(settings), "summary": summary})
        rows.append({"key": key, "name": label, "base_model": base_model, "summary": summary,
                     "settings": summary.get("settings")})  # fmt: skip
        console.print(f"{label}: accept {_short(summary, 'accept_ratio')}, DPR {_short(summary, 'dpr')}")

    # The table goes to stdout unless stdout is reserved for the JSON object.
    write_outputs(out, rows, corpus, len(docs), console if args.json else Console())
    if args.json:
        sys.stdout.write((out / "results.json").read_text(encoding="utf-8"))
    return 0


def _short(summary: dict[str, object], metric: str) -> str:
    value = summary.get(metric)
    return f"{value:.3f}" if isinstance(value, int | float) else "–"


def _cached(path: Path, fingerprint: str) -> dict[str, object] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("fingerprint") != fingerprint:
        return None
    summary = data.get("summary")
    return summary if isinstance(summary, dict) else None


def _write_json(path: Path, data: object) -> None:
    from pairterm.evaluation.report import write_text_atomic

    write_text_atomic(path, json.dumps(data, indent=1) + "\n")


def write_outputs(
    out: Path, rows: list[dict[str, object]], corpus: str, n_docs: int, console: Console
) -> None:
    from pairterm.evaluation.report import chart, markdown_table, rows_table, write_text_atomic

    settings = rows[0].get("settings") if rows else None
    human = settings.get("human", "replay") if isinstance(settings, dict) else "replay"
    who = "Replay human" if human == "replay" else f"LLM human ({Path(str(human)).name})"
    caption = (
        f"{who} on {n_docs} documents of `{corpus}`; mean (± standard error) over documents. "
        "DPR: γ=0.999, α=0.1, β=0.5; rows without a gate decode up to their token cap."
    )
    slim = [{k: v for k, v in r.items() if k != "summary"} | {"summary": _slim(r)} for r in rows]
    add_paired(slim)
    _write_json(out / "results.json", {"corpus": corpus, "n_documents": n_docs, "rows": slim})
    write_text_atomic(out / "table.md", markdown_table(rows, caption))
    chart(rows, out / "chart.png", f"pairterm eval compare — {corpus}")
    console.print(rows_table(rows, f"pairterm eval compare — {corpus}"))
    console.print(f"wrote {out / 'results.json'}, {out / 'table.md'}, {out / 'chart.png'}")


def add_paired(rows: list[dict[str, object]]) -> None:
    """Each row's per-document difference from the first row (`vs_first`), for DPR and accept
    ratio: on the same documents a paired error is far smaller than the unpaired ones."""
    if not rows:
        return
    first = rows[0]["summary"]
    assert isinstance(first, dict)
    for row in rows:
        summary = row["summary"]
        assert isinstance(summary, dict)
        docs, ref = summary.get("documents"), first.get("documents")
        if not isinstance(docs, list) or not isinstance(ref, list):
            continue
        row["vs_first"] = {"reference": rows[0]["name"]}
        for metric in ("dpr", "accept_ratio", "accepted_char_share"):
            mean, se, n = paired_difference(docs, ref, metric)
            row["vs_first"][metric] = {"mean": mean, "se": se, "n": n}  # type: ignore[index]


def _slim(row: dict[str, object]) -> dict[str, object]:
    summary = row["summary"]
    assert isinstance(summary, dict)
    return {k: v for k, v in summary.items() if k not in ("settings",)}
