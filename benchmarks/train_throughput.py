"""Labeling and training throughput of `pairterm train`, each against a bare baseline.

On the default model (or --base) and real Python not written here (standard-library modules):

- labeling: tokens/s of Empower labeling (one forward per window, surprises, states, examples)
  against a bare `model(input_ids, attention_mask)` forward over the very same batches, timed
  A-B-B-A batch by batch so that a machine whose load changes slows both alike.
- training: tokens/s of the training loop (`training.trainer.train`: LoRA, accumulation,
  optimizer, accelerate, progress bookkeeping) against a bare forward+backward of the same LoRA
  model on the same micro-batches with the same kept logits and no optimizer; rounds rotate the
  order. A second baseline computes every position's logits (the textbook loop), to show what
  keeping only the completion logits is worth.

    .venv/bin/python benchmarks/train_throughput.py [--label-tokens 3000] [--steps 4] [--rounds 2] [--threads N] [--json]

Targets (issue 3): labeling >= 0.9x, training >= 0.8x the bare baseline.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from pairterm.paths import usable_cores
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
        for batch in plan:
            ids, mask = labeling.pad(batch, pad)
            # A-B-B-A per batch: a load that rises or falls during the batch hits both alike
            bare_s += _timed_bare(model, ids, mask) / 2
            label_s += _timed_label(model, batch, pad, surprises) / 2
            label_s += _timed_label(model, batch, pad, surprises) / 2
            bare_s += _timed_bare(model, ids, mask) / 2
    t = time.perf_counter()
    # the form the run itself would build (FIM for a model with FIM tokens): its length is the cost
    form = labeling.example_form(tokenizer, opts, info["eos_token_id"])
    states = labeling.choose_states(doc_ids, opts)
    examples = list(
        labeling.build_examples(
            docs, doc_ids, surprises, states, opts, info["eos_token_id"], tokenizer.decode,
            form=form,
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
                loss = sum(completion_loss_sum(model, batch))
            (loss / targets).backward()
            tokens += int(batch["attention_mask"].sum())
        model.zero_grad(set_to_none=True)
    return tokens, time.perf_counter() - start


def bench_training(model, tokenizer, examples, opts: TrainOptions, rounds: int) -> dict:
    """`rounds` rounds of (bare, full-logits bare, loop), the order rotating each round."""
    pad = tokenizer.pad_token_id
    bare_model = wrap_lora(copy.deepcopy(model), opts)
    bare_model.train()
    warm = TrainOptions(**{**opts.__dict__, "max_steps": 1})
    bare_training(bare_model, examples, warm, pad, False)
    tokens = {"bare": 0, "full": 0, "loop": 0}
    seconds = {"bare": 0.0, "full": 0.0, "loop": 0.0}
    kinds = ["bare", "full", "loop"]
    for r in range(rounds):
        for kind in kinds[r % 3 :] + kinds[: r % 3]:
            if kind == "loop":
                # the loop wraps its model with LoRA itself: give it a fresh copy of the base
                with tempfile.TemporaryDirectory() as tmp:
                    _, result, _ = train(
                        copy.deepcopy(model), examples, opts, Path(tmp), pad, False
                    )
                n, s = result.tokens, result.train_seconds
            else:
                n, s = bare_training(bare_model, examples, opts, pad, kind == "full")
            tokens[kind] += n
            seconds[kind] += s
    assert len(set(tokens.values())) == 1, "the loop and the baselines must see the same tokens"
    tps = {k: tokens[k] / seconds[k] for k in kinds}
    return {
        "steps": opts.max_steps,
        "rounds": rounds,
        "tokens": tokens["loop"],
        "train_tokens_per_s": tps["loop"],
        "bare_fwd_bwd_tokens_per_s": tps["bare"],
        "train_ratio": tps["loop"] / tps["bare"],
        "bare_full_logits_tokens_per_s": tps["full"],
        "train_ratio_vs_full_logits": tps["loop"] / tps["full"],
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--base", help="base model (default: the editor's GGUF)")
    p.add_argument("--label-tokens", type=int, default=3000)
    p.add_argument("--steps", type=int, default=4)
    p.add_argument("--rounds", type=int, default=2, help="training measurement rounds")
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--context", type=int, default=128)
    p.add_argument("--eta", type=float, default=6.0)
    p.add_argument("--threads", type=int, default=usable_cores())
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
    tr = bench_training(model, tokenizer, examples, tr_opts, args.rounds)
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
