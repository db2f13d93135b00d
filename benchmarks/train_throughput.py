"""Labeling and training throughput of `pairterm train`, each against a bare baseline.

On the default model (or --base) and real Python not written here (standard-library modules):

- labeling: tokens/s of Empower labeling (one forward per window, surprises, states, examples)
  against a bare `model(input_ids, attention_mask)` forward over the very same batches. The two
  alternate batch by batch so that a busy machine slows both alike.
- training: tokens/s of the training loop (`training.trainer.train`: LoRA, accumulation,
  optimizer, progress bookkeeping) against a bare forward+backward of the same LoRA model on the
  same micro-batches with the same kept logits, no optimizer. The bare runs before and after the
  loop and the mean is used. A second baseline computes every position's logits (the textbook
  loop), to show what keeping only completion logits is worth.

    .venv/bin/python benchmarks/train_throughput.py [--label-tokens 3000] [--steps 3] [--json]

Targets (issue 3): labeling >= 0.9x, training >= 0.8x the bare baseline.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from training import labeling, labels
from training.base import load_base
from training.sources import Document
from training.trainer import (
    TrainOptions,
    collate,
    completion_loss_sum,
    step_batches,
    train,
    wrap_lora,
)

STDLIB_FILES = (
    "textwrap.py",
    "shlex.py",
    "fnmatch.py",
    "colorsys.py",
    "bisect.py",
    "heapq.py",
    "glob.py",
)


def corpus(max_tokens: int, tokenizer) -> tuple[list[Document], list[list[int]]]:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    docs, ids, total = [], [], 0
    for name in STDLIB_FILES:
        text = (stdlib / name).read_text(encoding="utf-8")
        toks = labeling.tokenize(tokenizer, text)[: max_tokens - total]
        if len(toks) < 16:
            break
        docs.append(Document(name, tokenizer.decode(toks), 0.0))
        ids.append(toks)
        total += len(toks)
    return docs, ids


def _timed_bare(model, ids: torch.Tensor, mask: torch.Tensor) -> float:
    t = time.perf_counter()
    model(input_ids=ids, attention_mask=mask)
    return time.perf_counter() - t


def _timed_label(model, batch, pad: int, surprises: list[list[float]]) -> float:
    """What labeling does per batch: the pass plus scattering surprises into their documents."""
    t = time.perf_counter()
    for w, bits in zip(batch, labeling.surprise_batch(model, batch, pad), strict=True):
        surprises[w.doc][w.start : w.start + len(bits)] = bits.tolist()
    return time.perf_counter() - t


def bench_labeling(model, tokenizer, info, doc_ids, docs, opts) -> dict:
    pad = tokenizer.pad_token_id
    plan = labeling.batches(
        labeling.plan_windows(doc_ids, opts.window, opts.overlap), opts.batch_tokens
    )
    bare_s = label_s = 0.0
    surprises = [[float("nan")] * len(x) for x in doc_ids]
    with torch.inference_mode():
        model(input_ids=torch.tensor([doc_ids[0][:32]]))  # warm-up, not timed
        for i, batch in enumerate(plan):
            ids, mask = labeling.pad(batch, pad)
            if i % 2:
                label_s += _timed_label(model, batch, pad, surprises)
                bare_s += _timed_bare(model, ids, mask)
            else:
                bare_s += _timed_bare(model, ids, mask)
                label_s += _timed_label(model, batch, pad, surprises)
    t = time.perf_counter()
    states = labeling.choose_states(doc_ids, opts)
    examples = list(
        labeling.build_examples(
            docs, doc_ids, surprises, states, opts, info["eos_token_id"], tokenizer.decode
        )
    )
    label_s += time.perf_counter() - t
    tokens = sum(len(x) for x in doc_ids)
    return {
        "tokens": tokens,
        "windows": sum(len(b) for b in plan),
        "forward_passes": len(plan),
        "states": len(examples),
        "label_tokens_per_s": tokens / label_s,
        "bare_forward_tokens_per_s": tokens / bare_s,
        "label_ratio": bare_s / label_s,
        "empty_share": labels.label_stats([e["tokens"] for e in examples])["empty_share"],
        "examples": examples,
    }


def bare_training(
    model, examples, opts: TrainOptions, pad: int, full_logits: bool
) -> tuple[int, float]:
    tokens, start = 0, time.perf_counter()
    for step in range(opts.max_steps):
        micro = [
            [examples[i] for i in idx] for idx in step_batches(step, len(examples), opts, 1, 0)
        ]
        targets = sum(len(ex["completion_ids"]) for mb in micro for ex in mb)
        for batch_examples in micro:
            batch = collate(batch_examples, pad)
            if full_logits:
                logits = model(
                    input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]
                ).logits
                loss = F.cross_entropy(
                    logits[batch["keep"]].float(), batch["labels"], reduction="sum"
                )
            else:
                loss = completion_loss_sum(model, batch)
            (loss / targets).backward()
            tokens += int(batch["attention_mask"].sum())
        model.zero_grad(set_to_none=True)
    return tokens, time.perf_counter() - start


def bench_training(model, tokenizer, examples, opts: TrainOptions) -> dict:
    pad = tokenizer.pad_token_id
    bare_model = wrap_lora(copy.deepcopy(model), opts)
    bare_model.train()
    bare_training(
        bare_model, examples, TrainOptions(**{**opts.__dict__, "max_steps": 1}), pad, False
    )  # warm-up
    t1, s1 = bare_training(bare_model, examples, opts, pad, False)
    with tempfile.TemporaryDirectory() as tmp:
        _, result, _ = train(model, examples, opts, Path(tmp), pad, show_progress=False)
    t2, s2 = bare_training(bare_model, examples, opts, pad, False)
    tf, sf = bare_training(bare_model, examples, opts, pad, True)
    assert t1 == t2 == result.tokens == tf, "the loop and the baselines must see the same tokens"
    bare_tps = (t1 + t2) / (s1 + s2)
    loop_tps = result.tokens / result.train_seconds
    return {
        "steps": opts.max_steps,
        "tokens": result.tokens,
        "train_tokens_per_s": loop_tps,
        "bare_fwd_bwd_tokens_per_s": bare_tps,
        "train_ratio": loop_tps / bare_tps,
        "bare_full_logits_tokens_per_s": tf / sf,
        "train_ratio_vs_full_logits": loop_tps / (tf / sf),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--base", help="base model (default: the editor's GGUF)")
    p.add_argument("--label-tokens", type=int, default=3000)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--context", type=int, default=128)
    p.add_argument("--eta", type=float, default=6.0)
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    t = time.perf_counter()
    model, tokenizer, info = load_base(args.base)
    load_s = time.perf_counter() - t
    docs, doc_ids = corpus(args.label_tokens, tokenizer)
    lab_opts = labeling.LabelOptions(
        labels.parse_method("empower"), args.eta, context=args.context, density=1 / 16
    )
    lab = bench_labeling(model, tokenizer, info, doc_ids, docs, lab_opts)
    examples = lab.pop("examples")
    tr_opts = TrainOptions(
        batch_size=args.batch_size, grad_accum=1, max_steps=args.steps, checkpoint_every=10**9
    )
    tr = bench_training(model, tokenizer, examples, tr_opts)
    out = {
        "model": Path(info["path"]).name,
        "threads": torch.get_num_threads(),
        "load_s": load_s,
        "labeling": lab,
        "training": tr,
        "label_ratio": lab["label_ratio"],
        "train_ratio": tr["train_ratio"],
    }
    if args.json:
        print(json.dumps(out))
    else:
        print(f"model {out['model']}  threads {out['threads']}  load {load_s:.1f} s")
        print(
            f"labeling  {lab['label_tokens_per_s']:7.1f} tok/s   bare forward {lab['bare_forward_tokens_per_s']:7.1f}"
            f" tok/s   ratio {lab['label_ratio']:.3f}  ({lab['tokens']} tokens, {lab['forward_passes']} passes,"
            f" {lab['states']} states, empty {lab['empty_share']:.2f})"
        )
        print(
            f"training  {tr['train_tokens_per_s']:7.1f} tok/s   bare fwd+bwd {tr['bare_fwd_bwd_tokens_per_s']:7.1f}"
            f" tok/s   ratio {tr['train_ratio']:.3f}   (full-logits fwd+bwd {tr['bare_full_logits_tokens_per_s']:.1f}"
            f" tok/s, ratio {tr['train_ratio_vs_full_logits']:.3f})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
