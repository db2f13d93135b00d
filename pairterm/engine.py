"""The suggestion engine: llama.cpp in-process, greedy decode, the empowerment gate, post-filters.

One Engine owns one llama.cpp context. Calls are serialised by a lock because a cancelled
worker thread may still be finishing its current token when the next request arrives; the
`cancelled` callback is checked between prefill chunks and between tokens so that it stops soon.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence

import numpy as np

from pairterm.config import EngineConfig
from pairterm.errors import UserError
from pairterm.gate import greedy_token_bits, heal_consistent, token_bits, within_budget
from pairterm.heal import VocabIndex, split_tail
from pairterm.model_load import open_llama
from pairterm.postfilter import mid_line_allowed, shown_text
from pairterm.project_context import ContextFile, imports_above
from pairterm.prompt import (
    FimTokens,
    fim_split,
    fim_tokens,
    project_tokens,
    prompt_window,
    split_heal,
)
from pairterm.stops import logical_line_indent, structural_cut
from pairterm.suggestion import Suggestion
from pairterm.syntax_guard import language_for_path

__all__ = ["Engine", "prompt_window", "split_heal"]

PREFILL_CHUNK = 64
HEAL_TOP = 64  # likeliest tokens looked at first when reproducing typed text
PIECE_CACHE = 8  # prompt pieces whose tokens are remembered (PREFIX, SUFFIX, a few more)


def _common_prefix(a: np.ndarray, b: list[int]) -> int:
    n = min(len(a), len(b))
    if n == 0:
        return 0
    diff = np.nonzero(a[:n] != np.asarray(b[:n], dtype=a.dtype))[0]
    return int(diff[0]) if len(diff) else n


class Engine:
    """Loads the model once; `suggest()` proposes ghost text for a cursor position."""

    def __init__(self, config: EngineConfig) -> None:
        try:
            from llama_cpp import llama_cpp
        except ImportError as exc:  # a broken or missing wheel: say so in one line
            raise UserError(f"llama-cpp-python is not usable here ({exc}); run `make run`") from None

        self.config = config
        self.model_path = config.model_path()
        self.llama = open_llama(config, self.model_path)
        self._lib = llama_cpp
        self._vocab = self.llama._model.vocab
        self._n_vocab = self.llama.n_vocab()
        self._lock = threading.Lock()
        self.model_name = self.model_path.name
        self.adapter_name = config.adapter.name if config.adapter else None
        self.fim_available = self._find_fim()
        self.fim = self.fim_available if config.fim else None
        self._stops = self.fim_available.stops() if self.fim_available else frozenset()
        self._bos = self.tokenize("", add_bos=True)
        self._preamble_key: tuple[object, ...] | None = None
        self._preamble: list[int] = []
        self._vocab_index: VocabIndex | None = None
        self._eog: np.ndarray | None = None  # per token: ends generation (built by warm)
        self._eog_ids: np.ndarray | None = None
        self._fim_keep: tuple[str, str] | None = None  # (PREFIX, SUFFIX) of the last FIM prompt
        self._piece_cache: dict[str, list[int]] = {}
        self.last_prompt: list[int] = []  # what the last call evaluated (for benchmarks' baselines)

    def _find_fim(self) -> FimTokens | None:
        """The model's fill-in-the-middle tokens, or None if it has no prefix/suffix/middle."""
        lib, vocab = self._lib, self._vocab

        def token(fn_name: str) -> int | None:
            value = int(getattr(lib, fn_name)(vocab))
            return value if value >= 0 else None

        pre, suf, mid = (token(f"llama_vocab_fim_{k}") for k in ("pre", "suf", "mid"))
        if pre is None or suf is None or mid is None:
            return None
        return FimTokens(pre, suf, mid, token("llama_vocab_fim_pad"),
                         token("llama_vocab_fim_rep"), token("llama_vocab_fim_sep"))

    # -- tokens -------------------------------------------------------------------------------
    def tokenize(self, text: str, add_bos: bool = True) -> list[int]:
        """Token ids as llama.cpp sees them; `add_bos` applies only if the model asks for one."""
        return self.llama.tokenize(text.encode("utf-8"), add_bos=add_bos, special=False)

    def detokenize(self, tokens: list[int]) -> str:
        """Text of a token sequence (a character split across its end is dropped)."""
        return self.llama.detokenize(tokens, special=False).decode("utf-8", errors="ignore")

    def _is_eog(self, token: int) -> bool:
        return token in self._stops or bool(self._lib.llama_vocab_is_eog(self._vocab, token))

    def _pieces(self, text: str) -> list[int]:
        """Tokens of a prompt piece. PREFIX and SUFFIX stay the same strings while the person
        types (the split is kept), so the last few are remembered rather than tokenized again on
        every keystroke; callers only read the lists."""
        tokens = self._piece_cache.get(text)
        if tokens is None:
            tokens = self.tokenize(text, add_bos=False)
            if len(self._piece_cache) >= PIECE_CACHE:
                del self._piece_cache[next(iter(self._piece_cache))]
            self._piece_cache[text] = tokens
        return tokens

    def _project_preamble(self, context: Sequence[ContextFile], path: str | None) -> list[int]:
        """Project files as tokens; tokenized again only when they change."""
        key = (tuple(context), path, self.config.context_tokens)
        if key != self._preamble_key:
            assert self.fim is not None
            self._preamble = project_tokens(
                self._pieces, self.fim, context, path, self.config.context_tokens
            )
            self._preamble_key = key
        return self._preamble

    def _window(self, typed: str, language: str | None) -> str:
        """The text before the cursor that the prompt holds. With project context on, a Python
        file's own imports above the window come first, in place of as many characters of its
        oldest lines, so the prompt is no longer than without them."""
        chars, step = self.config.window_chars, self.config.window_step
        window = prompt_window(typed, chars, step)
        fim = self.fim
        if fim is None or fim.sep is None or self.config.context_tokens <= 0 or language != "python":
            return window
        imports = imports_above(typed, len(typed) - len(window), limit=chars // 3)
        return imports + prompt_window(typed, chars - len(imports), step) if imports else window

    def _prompt(
        self, window: str, after: str, room: int, context: Sequence[ContextFile], path: str | None
    ) -> list[int]:
        if self.fim is None:
            prompt = self.tokenize(window)
            return prompt[-room:] if len(prompt) > room else prompt
        preamble = self._project_preamble(context, path) if context else []
        split = fim_split(window, after, self._fim_keep)
        self._fim_keep = split[:2]
        body = fim_tokens(self._pieces, self.fim, split, preamble, room - len(self._bos))
        return self._bos + body

    def _last_logits(self) -> np.ndarray:
        ptr = self.llama._ctx.get_logits()
        return np.ctypeslib.as_array(ptr, shape=(self._n_vocab,)).copy()

    # -- prefix cache -------------------------------------------------------------------------
    def _prefill(self, tokens: list[int], cancelled: Callable[[], bool]) -> int | None:
        """Bring the context to `tokens`, reusing the cached prefix; returns tokens evaluated,
        or None if cancelled. Afterwards the context's last logits are those of tokens[-1]."""
        llama = self.llama
        assert tokens, "an empty prompt has no logits to continue from"
        common = _common_prefix(llama.input_ids[: llama.n_tokens], tokens)
        common = min(common, len(tokens) - 1)  # at least one token, for fresh logits
        llama.n_tokens = common
        rest = tokens[common:]
        for i in range(0, len(rest), PREFILL_CHUNK):
            if cancelled():
                return None
            llama.eval(rest[i : i + PREFILL_CHUNK])
        return len(rest)

    # -- the main call ------------------------------------------------------------------------
    def suggest(
        self,
        before: str,
        after: str = "",
        cancelled: Callable[[], bool] | None = None,
        *,
        eta: float | None = None,
        max_tokens: int | None = None,
        max_decode_ms: float | None = None,
        context: Sequence[ContextFile] = (),
        path: str | None = None,
        language: str | None = None,
    ) -> Suggestion:
        """Ghost text for a cursor between `before` and `after`. With a FIM model both sides
        are in the prompt, and `context` (other project files) and `path` (this file's name in
        the project) precede it; without, the model sees `before` alone. Decoding stops after
        `max_decode_ms` (default: the config's) with stop reason "time". The suggestion is cut
        where it would add a syntax error in `language` (default: from `path`'s suffix)."""
        start = time.perf_counter()
        cancelled = cancelled or (lambda: False)
        eta = self.config.eta if eta is None else eta
        max_tokens = self.config.max_tokens if max_tokens is None else max_tokens
        if max_decode_ms is None:
            max_decode_ms = self.config.max_decode_ms

        def result(text: str, reason: str, **kw: object) -> Suggestion:
            ms = (time.perf_counter() - start) * 1000.0
            return Suggestion(text=text, stop_reason=reason, latency_ms=ms, **kw)  # type: ignore[arg-type]

        after_line = after.split("\n", 1)[0]
        if after_line.strip() and not mid_line_allowed(after_line):
            return result("", "mid_line", tokens=0, total_bits=0.0)
        if eta <= 0:
            return result("", "eta", tokens=0, total_bits=0.0)

        typed, heal = split_heal(before)
        if not heal:
            typed, heal = split_tail(typed)
        language = language or language_for_path(path)
        window = self._window(typed, language)
        line_before = before.rsplit("\n", 1)[-1]
        with self._lock:
            if self.llama is None:  # closed while this request waited for the lock
                return result("", "cancelled", tokens=0, total_bits=0.0)
            # Every healed token writes at least one character of `heal`.
            room = self.config.n_ctx - max_tokens - len(heal) - 1
            prompt = self._prompt(window, after, room, context, path)
            if not prompt:  # nothing to continue from (and no BOS for this model)
                return result("", "empty", tokens=0, total_bits=0.0)
            self.last_prompt = prompt
            prefilled = self._prefill(prompt, cancelled)
            if prefilled is None:
                return result("", "cancelled", tokens=0, total_bits=0.0, prompt_tokens=len(prompt))
            decode_start = time.perf_counter()
            deadline = decode_start + max_decode_ms / 1000.0
            raw, kept_bits, reason, healed = self._decode(
                heal, line_before, before, eta, max_tokens, cancelled, deadline
            )
            decode_ms = (time.perf_counter() - decode_start) * 1000.0
        text, reason = shown_text(raw, reason, before, after, language)
        partial = ""
        if reason == "cancelled":
            # not shown now (the text changed); the next request may start from it
            partial, text = text, ""
        return result(
            text,
            reason,
            partial=partial,
            tokens=len(kept_bits),
            total_bits=float(sum(kept_bits)),
            token_bits=kept_bits,
            prompt_tokens=len(prompt),
            prefill_tokens=prefilled,
            decode_ms=decode_ms,
            heal_tokens=healed,
        )

    def score(self, text: str, window: int = 512) -> np.ndarray:
        """Per token of `text` after the first of each `window`-token window: (surprise in bits,
        surprise without the end-of-generation tokens, probability of ending there). How far an
        adapter moved the model, measured by the runtime that uses it (benchmarks/drift.py)."""
        ids = self.tokenize(text, add_bos=False)
        eog = self._eog_mask()
        rows: list[tuple[float, float, float]] = []
        with self._lock:
            for start in range(0, len(ids) - 1, window):
                chunk = ids[start : start + window + 1]
                self.llama.reset()
                self.llama.eval(self._bos + chunk[:1])
                for token in chunk[1:]:
                    logits = self._last_logits().astype(np.float64)
                    probs = np.exp(logits - logits.max())
                    probs /= probs.sum()
                    stop = float(probs[eog].sum())
                    bits = -math.log2(max(float(probs[token]), 1e-300))
                    rows.append((bits, bits + math.log2(max(1.0 - stop, 1e-300)), stop))
                    self.llama.eval([token])
            self.llama.reset()
        return np.array(rows).reshape(-1, 3)

    def _piece(self, token: int) -> str:
        return self.llama.detokenize([token], special=False).decode("utf-8", errors="ignore")

    def warm(self) -> None:
        """Build what healing needs (a pass over the whole vocabulary, about 0.4 s for Qwen's)
        now rather than in the first suggestion; the editor calls it while it loads the model."""
        if self._vocab_index is None:
            pieces = [self._piece(token) for token in range(self._n_vocab)]
            self._vocab_index = VocabIndex(pieces)
        self._eog_mask()

    def _eog_mask(self) -> np.ndarray:
        """Per token, whether it ends generation; built once (a pass over the vocabulary)."""
        if self._eog is None:
            self._eog = np.array([self._is_eog(t) for t in range(self._n_vocab)], dtype=bool)
            self._eog_ids = np.flatnonzero(self._eog)
        return self._eog

    def _heal_token(self, logits: np.ndarray, remaining: str) -> int | None:
        """The most likely token consistent with the text still to reproduce, or None."""
        self.warm()  # built on first use where nobody warmed the engine
        assert self._vocab_index is not None
        eog = self._eog_mask()
        # The best consistent token is almost always among the likeliest few, and if one is
        # there it is the best of all; only otherwise is the whole vocabulary searched.
        top = np.argpartition(-logits, HEAL_TOP)[:HEAL_TOP]
        for token in top[np.argsort(-logits[top])]:
            token = int(token)
            if not eog[token] and heal_consistent(self._vocab_index.pieces[token], remaining):
                return token
        ids = self._vocab_index.consistent(remaining)
        ids = ids[~eog[ids]] if len(ids) else ids
        if not len(ids):
            return None
        return int(ids[int(np.argmax(logits[ids]))])

    def _decode(
        self,
        heal: str,
        line_before: str,
        before: str,
        eta: float,
        max_tokens: int,
        cancelled: Callable[[], bool],
        deadline: float = math.inf,
    ) -> tuple[str, list[float], str, int]:
        """Greedy decode under the gate. First the whitespace the person already typed (`heal`)
        is reproduced with the likeliest consistent tokens, not counted against η; then the
        suggestion. Returns (text after `heal`, surprise of each suggested token, stop reason,
        tokens used for `heal`)."""
        self._eog_mask()
        eog_ids = self._eog_ids
        raw = bytearray()  # bytes so far: a character may span tokens
        written = ""
        bits_kept: list[float] = []
        ends: list[int] = []  # where each kept token's text ends in the suggestion
        base_indent: int | None = None
        healed = 0
        total = 0.0
        text = ""
        while len(bits_kept) < max_tokens:
            if cancelled():
                return text, bits_kept, "cancelled", healed
            if bits_kept and time.perf_counter() > deadline:
                return text, bits_kept, "time", healed
            logits = self._last_logits()
            if len(written) < len(heal):
                token = self._heal_token(logits, heal[len(written) :])
                if token is None:
                    return "", [], "heal_mismatch", healed
                bits = None  # a token that only rewrites typed text costs nothing against η
            else:
                token, bits = greedy_token_bits(logits, eog_ids)
                if self._eog[token]:
                    return text, bits_kept, "eos", healed
            piece = self.llama.detokenize([token], special=False)
            candidate = (raw + piece).decode("utf-8", errors="ignore")
            if len(candidate) > len(heal):
                if bits is None:
                    bits = token_bits(logits, token, eog_ids)
                if not within_budget(total, bits, eta):
                    return text, bits_kept, "eta", healed
                visible = candidate[len(heal) :]
                if base_indent is None and "\n" in visible:
                    base_indent = logical_line_indent(before)  # needed once a line ends
                cut = structural_cut(line_before, visible, base_indent)
                if cut is not None:
                    kept = sum(1 for end in ends if end <= cut[0])
                    return visible[: cut[0]], bits_kept[:kept], cut[1], healed
                total += bits
                bits_kept.append(bits)
                ends.append(len(visible))
                text = visible
            else:
                healed += 1
            raw += piece
            written = candidate
            if len(bits_kept) < max_tokens:
                # checked before the token's evaluation (the costly step, one token's decode
                # time), so a stopped call frees the engine that much sooner
                if cancelled():
                    return text, bits_kept, "cancelled", healed
                if bits_kept and time.perf_counter() > deadline:
                    return text, bits_kept, "time", healed
                self.llama.eval([token])
        return text, bits_kept, "max_tokens", healed

    def close(self) -> None:
        """Free the model. Waits for a decode in another thread to finish its current token:
        freeing the context under it would crash the process."""
        lock = getattr(self, "_lock", None)
        if lock is None:
            return
        with lock:
            llama = getattr(self, "llama", None)
            if llama is not None:
                llama.close()
                self.llama = None  # type: ignore[assignment]

