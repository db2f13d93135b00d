"""Builders for training tests: real git repositories made with GitPython, and a tiny random llama
whose tokenizer is trained with `tokenizers` on the test's own text."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

AWS_KEY = "AKIAIOSFODNN7EXAMPLE"
ALICE = ("Alice Example", "alice@example.com")
BOB = ("Bob Other", "bob@example.com")

_WORDS = [
    "total",
    "count",
    "value",
    "items",
    "result",
    "index",
    "name",
    "buffer",
    "offset",
    "limit",
]


def python_source(seed: int, functions: int = 6) -> str:
    """Deterministic, varied Python (tabs, unicode and a CRLF line included) for the corpora."""
    rng = random.Random(seed)
    out = [f'"""Module {seed}: helpers — ünïcode résumé."""\n', "import math\n", "\n"]
    for i in range(functions):
        a, b = rng.sample(_WORDS, 2)
        out += [
            f"def {a}_{b}_{seed}_{i}({a}, {b}=0):\n",
            f'    """Return the {a} of {b} ({i})."""\n',
            f"    if {a} is None:\n",
            f"        return {b}\n",
            f"    for k in range({rng.randint(2, 9)}):\n",
            f"        {a} = {a} + k * {b}\n",
            f"    return math.floor({a})\n",
            "\n",
        ]
    out.append("def tabbed(x):\r\n\treturn x  # tab-indented, CRLF\r\n")
    return "".join(out)


def _commit(repo, who, message: str, when: datetime, parents=None):
    import git

    actor = git.Actor(*who)
    stamp = when.strftime("%Y-%m-%dT%H:%M:%S+0000")
    return repo.index.commit(
        message,
        author=actor,
        committer=actor,
        author_date=stamp,
        commit_date=stamp,
        parent_commits=parents,
    )


def _write(root: Path, rel: str, data: str | bytes) -> str:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_bytes(data.encode("utf-8"))
    return rel


def make_repo(root: Path) -> dict:
    """Alice's and Bob's history: binary, vendored dir, .env and a key in code, a merge of Bob's
    branch committed by Alice, a revert that repeats a blob, and Alice's newest commit last."""
    import git

    repo = git.Repo.init(root, initial_branch="main")
    with repo.config_writer() as cw:
        cw.set_value("user", "email", ALICE[1])
        cw.set_value("user", "name", ALICE[0])
    t = datetime(2025, 1, 1, tzinfo=UTC)
    files = [
        _write(root, "src/app.py", python_source(1)),
        _write(root, "src/util.py", python_source(2)),
        _write(root, "src/config.py", python_source(3) + f'AWS_ACCESS_KEY_ID = "{AWS_KEY}"\n'),
        _write(root, "assets/logo.png", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + bytes(range(256))),
        _write(root, "vendor/lib/thing.py", python_source(4)),
        _write(root, ".env", "API_TOKEN=supersecretvalue123\n"),
        _write(root, "README.md", "# demo\n"),
    ]
    repo.index.add(files)
    first = _commit(repo, ALICE, "alice: initial", t)
    repo.index.add([_write(root, "src/bob.py", python_source(5))])
    _commit(repo, BOB, "bob: his module", t + timedelta(days=1))
    main_head = repo.head.commit
    # Bob's side branch with his feature, merged back by Alice
    feature = repo.create_head("feature", main_head)
    repo.head.reference = feature
    repo.index.add([_write(root, "src/feature.py", python_source(6))])
    side = _commit(repo, BOB, "bob: feature", t + timedelta(days=2))
    repo.head.reference = repo.heads.main
    repo.head.reset(main_head, index=True, working_tree=True)
    repo.index.add([_write(root, "src/util.py", python_source(7))])
    mine = _commit(repo, ALICE, "alice: rewrite util", t + timedelta(days=3))
    _write(root, "src/feature.py", python_source(6))
    repo.index.add(["src/feature.py"])
    _commit(repo, ALICE, "Merge branch feature", t + timedelta(days=4), parents=[mine, side])
    # a revert to an earlier version: the same blob again, which must not count twice
    repo.index.add([_write(root, "src/util.py", python_source(2))])
    _commit(repo, ALICE, "alice: revert util", t + timedelta(days=5))
    repo.index.add(
        [
            _write(root, "src/newest.py", python_source(8)),
            _write(root, "src/app.py", python_source(9)),
        ]
    )
    newest = _commit(repo, ALICE, "alice: newest work", t + timedelta(days=6))
    repo.close()
    return {"first": first.hexsha, "newest": newest.hexsha}


FIM_SPECIALS = ["<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>"]


def build_tiny_model(directory: Path, corpus: list[str], fim: bool = False) -> Path:
    """A 2-layer random llama with a byte-level BPE vocabulary trained on `corpus`; with `fim`,
    the vocabulary also has Qwen2.5-Coder's fill-in-the-middle tokens."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=["<|endoftext|>", "<|im_end|>", *(FIM_SPECIALS if fim else [])],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(corpus, trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>"
    )
    fast.save_pretrained(directory)
    torch.manual_seed(1234)
    config = LlamaConfig(
        vocab_size=len(fast),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=1024,
        tie_word_embeddings=True,
        eos_token_id=fast.eos_token_id,
        pad_token_id=fast.pad_token_id,
        bos_token_id=None,
    )
    LlamaForCausalLM(config).save_pretrained(directory)
    return directory
