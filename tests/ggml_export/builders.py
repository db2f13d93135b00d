"""Build tiny real models and training runs for the export tests (seconds, no downloads)."""

from __future__ import annotations

import inspect
import json
import textwrap
from pathlib import Path

import torch

SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
# Qwen2.5-Coder's fill-in-the-middle and repository tokens, by the names llama.cpp looks for.
FIM_SPECIALS = ["<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<|fim_pad|>",
                "<|repo_name|>", "<|file_sep|>"]


def training_text() -> str:
    # Real code not written here: the standard library, so merges look like code merges.
    import fractions
    import shlex

    return inspect.getsource(shlex) + inspect.getsource(fractions) + textwrap.dedent(
        """
        def héllo(naïve):\r\n\treturn naïve * 2  # ünïcödé → ✓ 12345 3.14
        """
    )


def build_tokenizer(out_dir: Path, style: str, vocab_size: int = 400,
                    specials: list[str] = SPECIALS) -> None:
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

    from ggml_export.hf_meta import QWEN2_RE

    tok = Tokenizer(models.BPE())
    if style == "qwen2":
        tok.normalizer = normalizers.NFC()
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(QWEN2_RE), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ])
    else:  # SmolLM2's split: single digits, then GPT-2's byte-level regex
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
        ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False,
    )
    tok.train_from_iterator([training_text()], trainer)
    out_dir.mkdir(parents=True, exist_ok=True)
    tok.save(str(out_dir / "tokenizer.json"))
    (out_dir / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": "<|im_start|>", "eos_token": "<|endoftext|>", "pad_token": "<|endoftext|>",
        "unk_token": "<|endoftext|>", "add_bos_token": False, "model_max_length": 512,
    }))


def _fit(model, out_dir: Path, steps: int) -> None:
    """A few steps on code make the logits peaked like a real model's, so a comparison of top-1
    tokens measures the export and not the coin flips of a flat random distribution."""
    from tokenizers import Tokenizer

    ids = Tokenizer.from_file(str(out_dir / "tokenizer.json")).encode(training_text()).ids
    data = torch.tensor(ids[: (len(ids) // 128) * 128]).view(-1, 128)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    g = torch.Generator().manual_seed(0)
    model.train()
    for _ in range(steps):
        batch = data[torch.randint(0, data.shape[0], (4,), generator=g)]
        loss = model(input_ids=batch, labels=batch).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()


def build_hf_model(out_dir: Path, arch: str, seed: int = 0, train_steps: int = 30,
                   specials: list[str] = SPECIALS) -> Path:
    """A random LlamaForCausalLM or Qwen2ForCausalLM (2 layers, GQA) with its own tokenizer."""
    from transformers import LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM

    build_tokenizer(out_dir, "qwen2" if arch == "qwen2" else "smollm", specials=specials)
    from tokenizers import Tokenizer

    vocab = Tokenizer.from_file(str(out_dir / "tokenizer.json")).get_vocab_size()
    common = dict(
        vocab_size=vocab, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
        rms_norm_eps=1e-5, bos_token_id=1, eos_token_id=0, pad_token_id=0,
        # A wide init spreads the logits, so top-1 is decided by the weights and not by rounding.
        initializer_range=0.15,
    )
    torch.manual_seed(seed)
    if arch == "qwen2":
        model = Qwen2ForCausalLM(Qwen2Config(tie_word_embeddings=True, **common))
    else:
        model = LlamaForCausalLM(LlamaConfig(tie_word_embeddings=False, **common))
    _fit(model, out_dir, steps=train_steps)
    model.save_pretrained(str(out_dir))
    return out_dir


def build_run(run_dir: Path, base: Path, kind: str, seed: int = 1, b_std: float = 0.2,
              targets: list[str] | None = None, model=None, sha256: str | None = None,
              **lora_options):
    """Wrap the base in a peft LoRA with non-zero B, save it as a training run would.

    Returns (run_dir, peft_model); the peft model is the reference the export must reproduce.
    """
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    if model is None:
        model = AutoModelForCausalLM.from_pretrained(str(base), dtype=torch.float32)
    cfg = LoraConfig(
        r=4, lora_alpha=8, lora_dropout=0.0,
        target_modules=targets or ["q_proj", "k_proj", "v_proj", "o_proj",
                                   "gate_proj", "up_proj", "down_proj"],
        **lora_options,
    )
    peft_model = get_peft_model(model, cfg)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in peft_model.named_parameters():
            if "lora_B" in name:
                p.copy_(torch.randn(p.shape, generator=g) * b_std)
    run_dir.mkdir(parents=True, exist_ok=True)
    peft_model.save_pretrained(str(run_dir / "adapter"))
    (run_dir / "run.json").write_text(json.dumps({
        "format": 1,
        "base": {"path": str(base), "kind": kind, "sha256": sha256},
        "lora": {"r": 4, "alpha": 8, "targets": cfg.target_modules and sorted(cfg.target_modules)},
    }))
    return run_dir, peft_model.eval()


PEFT_MODULES = {"attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj",
                "attn_v": "self_attn.v_proj", "attn_output": "self_attn.o_proj",
                "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj", "ffn_down": "mlp.down_proj"}


def build_gguf_run(run_dir: Path, base_gguf: Path, rank: int = 8, std: float = 0.02,
                   sha256: str | None = None) -> Path:
    """A run on a GGUF base whose adapter is written in peft's format straight from numpy
    (shapes from the GGUF), so no transformers load is spent making it."""
    import numpy as np
    from safetensors.numpy import save_file

    from pairterm.model_file import read_header

    rng = np.random.default_rng(3)
    tensors = {}
    for name, (shape, _t) in read_header(base_gguf).tensors.items():
        parts = name.split(".")
        if parts[0] != "blk" or parts[2] not in PEFT_MODULES:
            continue
        n_out, n_in = shape
        key = f"base_model.model.model.layers.{parts[1]}.{PEFT_MODULES[parts[2]]}"
        tensors[f"{key}.lora_A.weight"] = rng.normal(0, std, (rank, n_in)).astype(np.float32)
        tensors[f"{key}.lora_B.weight"] = rng.normal(0, std, (n_out, rank)).astype(np.float32)
    (run_dir / "adapter").mkdir(parents=True)
    save_file(tensors, str(run_dir / "adapter" / "adapter_model.safetensors"))
    (run_dir / "adapter" / "adapter_config.json").write_text(json.dumps({
        "peft_type": "LORA", "task_type": "CAUSAL_LM", "r": rank, "lora_alpha": 2 * rank,
        "lora_dropout": 0.0, "bias": "none",
        "target_modules": sorted(m.split(".")[1] for m in PEFT_MODULES.values()),
    }))
    (run_dir / "run.json").write_text(json.dumps({"format": 1, "base": {
        "path": str(base_gguf), "kind": "gguf", "sha256": sha256}}))
    return run_dir
