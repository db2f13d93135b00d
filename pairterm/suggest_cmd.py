"""`pairterm suggest FILE --line L --column C`: one suggestion from the editor's engine."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

from pairterm.argparsing import ArgumentParser
from pairterm.config import add_engine_args, config_from_args
from pairterm.engine import Engine
from pairterm.project_context import gather, relative_name
from pairterm.textfile import offset_of, read_text


def main(argv: list[str]) -> int:
    parser = ArgumentParser(prog="pairterm suggest", description=__doc__)
    parser.add_argument("file", type=Path)
    parser.add_argument("--line", type=int, required=True, help="1-based line")
    parser.add_argument("--column", type=int, required=True, help="1-based column")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    add_engine_args(parser)
    args = parser.parse_args(argv)
    text = read_text(args.file)
    cursor = offset_of(text, args.line, args.column)
    config = config_from_args(args)
    engine = Engine(config)
    try:
        files = gather(args.file, text) if engine.fim and config.context_tokens > 0 else []
        # One answer, not a stream: the decode time budget that keeps the editor responsive
        # would only truncate it here.
        result = engine.suggest(text[:cursor], text[cursor:], max_decode_ms=math.inf,
                                context=files, path=relative_name(args.file))
    finally:
        engine.close()
    if args.json:
        payload = result.to_json()
        payload.update(model=str(engine.model_path), adapter=str(config.adapter or "") or None,
                       eta=config.eta if config.eta != float("inf") else "inf")
        print(json.dumps(payload, ensure_ascii=False))
    else:
        sys.stdout.write(result.text + ("\n" if result.text else ""))
    return 0
