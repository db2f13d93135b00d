"""`pairterm export RUN --out FILE.gguf` (also `python -m ggml_export`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from pairterm.argparsing import ArgumentParser
from pairterm.errors import UserError


def build_parser() -> ArgumentParser:
    from ggml_export.quantize import QUANTS
    from ggml_export.writer import OUTTYPES

    p = ArgumentParser(
        prog="pairterm export",
        description="Write a training run as GGUF for llama.cpp: a LoRA adapter or a merged model.",
    )
    p.add_argument("run", type=Path, help="training run directory (from `pairterm train`)")
    p.add_argument("--out", type=Path, required=True, help="output .gguf file")
    p.add_argument("--adapter-only", action="store_true",
                   help="write only the LoRA adapter (load it with `pairterm --adapter FILE`)")
    p.add_argument("--outtype", choices=list(OUTTYPES), default=None,
                   help="tensor type written in Python (default f16)")
    p.add_argument("--quant", metavar="TYPE", default=None,
                   help=f"quantize with llama.cpp after merging: {', '.join(QUANTS)}")
    p.add_argument("--base", type=Path, default=None,
                   help="base model to use instead of the one run.json names (if it moved)")
    p.add_argument("--verify", action="store_true",
                   help="compare the exported file in llama.cpp with transformers on held-out "
                        "code (q8_0: beside llama.cpp's own q8_0 of the f16 file)")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument("--force", action="store_true", help="overwrite an existing output file")
    return p


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    from ggml_export.export import ExportRequest, export

    req = ExportRequest(run=args.run, out=args.out, adapter_only=args.adapter_only,
                        outtype=args.outtype, quant=args.quant, force=args.force, base=args.base)
    result, run, base = export(req)
    status = 0
    if args.verify:
        from ggml_export.verify import failure_reasons, verify

        report = verify(result, run, base, args.out)
        result["verify"] = report
        if not report["passed"]:
            print(f"pairterm export: verification failed: {', '.join(failure_reasons(report))} "
                  f"(file kept at {args.out})", file=sys.stderr)
            status = 1
    if args.json:
        print(json.dumps(result))
    else:
        _print_human(result)
    return status


def _print_human(result: dict) -> None:
    what = "adapter" if result["kind"] == "adapter" else f"merged {result['quant'] or result['outtype']}"
    print(f"wrote {result['out']} ({what}, {result['arch']}, {result['bytes'] / 1e6:.1f} MB) "
          f"in {result['seconds']:.1f} s")
    q = result.get("quantization")
    if q:
        types = ", ".join(f"{k}×{v}" for k, v in sorted(q["tensor_types"].items()))
        print(f"  tensor types: {types}")
        if q["fallbacks"]:
            print(f"  {len(q['fallbacks'])} tensor(s) fell back from {q['quant']}: "
                  + ", ".join(f"{n}→{t}" for n, t in list(q["fallbacks"].items())[:8])
                  + (" …" if len(q["fallbacks"]) > 8 else ""))
    v = result.get("verify")
    if v:
        print(f"  verify: top1_agreement {v['top1_agreement']:.4f}, max logit diff "
              f"{v['max_logit_diff']:.4f}, greedy identical {v['greedy_identical']}, "
              f"tokenizer identical {v['tokenizer_identical']}")
        q8 = v.get("llama_cpp_q8_0")
        if q8:
            print(f"  q8_0 top1_agreement: ours {q8['ours_top1_agreement']:.4f}, llama.cpp's "
                  f"quantizer on our f16 {q8['top1_agreement']:.4f}, difference "
                  f"{q8['difference']:+.4f} (rule: {q8['rule']})")
        avm = v.get("adapter_vs_merged")
        if avm:
            print(f"  adapter on base vs merged: top1 {avm['top1_agreement']:.4f}, "
                  f"max logit diff {avm['max_logit_diff']:.4f}")
        print("  verify: " + ("passed" if v["passed"] else "FAILED"))


def run_cli() -> int:
    """`python -m ggml_export`: same errors-as-one-line contract as `pairterm export`."""
    from pairterm.errors import EXIT_USER_ERROR

    try:
        return main(sys.argv[1:])
    except UserError as exc:
        print(f"pairterm export: error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("pairterm export: interrupted", file=sys.stderr)
        return 130
