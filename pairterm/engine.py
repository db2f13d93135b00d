"""The suggestion engine: llama.cpp in-process, greedy decode, the empowerment gate, post-filters.

One Engine owns one llama.cpp context. Calls are serialised by a lock because a cancelled
worker thread may still be finishing its current token when the next request arrives; the
`cancelled` callback is checked between prefill chunks and between tokens so that it stops soon.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np

from pairterm.config import EngineConfig
from pairterm.errors import UserError
from pairterm.gate import (
    greedy_token_bits,
    heal_consistent,
    logical_line_indent,
    mid_line_allowed,
    postfilter,
    structural_cut,
    token_bits,
    within_budget,
)
from pairterm.model_file import check_gguf

PREFILL_CHUNK = 64
HEAL_CANDIDATES = 64  # most likely tokens searched for one consistent with typed whitespace


@dataclass
class Suggestion:
    text: str
    tokens: int
    total_bits: float
    stop_reason: str
    latency_ms: float
    token_bits: list[float] = field(default_factory=list)
    prompt_tokens: int = 0
    prefill_tokens: int = 0
    decode_ms: float = 0.0
    heal_tokens: int = 0  # tokens spent reproducing whitespace the person had typed

    def to_json(self) -> dict[str, object]:
        data = asdict(self)
        data["total_bits"] = round(self.total_bits, 4)
        data["latency_ms"] = round(self.latency_ms, 2)
        data["token_bits"] = [round(b, 4) for b in self.token_bits]
        return data


def prompt_window(before: str, window_chars: int, step: int) -> str:
    """The tail of `before` the model sees: at most `window_chars`, starting at a multiple of
    `step` (then at the next line start), so the start stays put while the user types on."""
    n = len(before)
    if n <= window_chars:
        return before
    step = max(1, min(step, window_chars))
    start = ((n - window_chars) // step + 1) * step
    newline = before.find("\n", start, n - 1)
    if newline != -1:
        start = newline + 1
    return before[start:]


def split_heal(before: str) -> tuple[str, str]:
    """Split off trailing whitespace the model must reproduce rather than continue from.

    A prompt ending in spaces, or on a blank or indentation-only line, sits at an unnatural
    token boundary: models then add a second space or re-indent. So the prompt ends before
    that whitespace (and before the newline of an indentation-only line), the decode must
    first write exactly it, and only what comes after is suggested.
    """
    line = before.rsplit("\n", 1)[-1]
    stripped = before.rstrip() if not line.strip() else before.rstrip(" \t")
    if not stripped.strip():
        return before, ""
    return stripped, before[len(stripped):]


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
            from llama_cpp import Llama, llama_cpp
        except ImportError as exc:  # a broken or missing wheel: say so in one line
            raise UserError(f"llama-cpp-python is not usable here ({exc}); run `make run`") from None

        self.config = config
        self.model_path = config.model_path()
        check_gguf(self.model_path, "model")
        if config.adapter is not None:
            check_gguf(config.adapter, "adapter")
        try:
            self.llama = Llama(
                model_path=str(self.model_path),
                lora_path=str(config.adapter) if config.adapter else None,
                n_ctx=config.n_ctx,
                n_batch=256,
                n_threads=config.threads,
                n_threads_batch=config.threads,
                logits_all=False,
                verbose=False,
            )
        except (ValueError, RuntimeError, OSError) as exc:
            what = f"adapter {config.adapter}" if config.adapter else f"model {self.model_path}"
            raise UserError(f"could not load {what}: {exc}") from None
        self._lib = llama_cpp
        self._vocab = self.llama._model.vocab
        self._n_vocab = self.llama.n_vocab()
        self._lock = threading.Lock()
        self.model_name = self.model_path.name
        self.adapter_name = config.adapter.name if config.adapter else None

    # -- tokens -------------------------------------------------------------------------------
    def tokenize(self, text: str, add_bos: bool = True) -> list[int]:
        """Token ids as llama.cpp sees them; `add_bos` applies only if the model asks for one."""
        return self.llama.tokenize(text.encode("utf-8"), add_bos=add_bos, special=False)

    def detokenize(self, tokens: list[int]) -> str:
        """Text of a token sequence (a character split across its end is dropped)."""
        return self.llama.detokenize(tokens, special=False).decode("utf-8", errors="ignore")

    def _is_eog(self, token: int) -> bool:
        return bool(self._lib.llama_vocab_is_eog(self._vocab, token))

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
    ) -> Suggestion:
        start = time.perf_counter()
        cancelled = cancelled or (lambda: False)
        eta = self.config.eta if eta is None else eta
        max_tokens = self.config.max_tokens if max_tokens is None else max_tokens

        def result(text: str, reason: str, **kw: object) -> Suggestion:
            ms = (time.perf_counter() - start) * 1000.0
            return Suggestion(text=text, stop_reason=reason, latency_ms=ms, **kw)  # type: ignore[arg-type]

        after_line = after.split("\n", 1)[0]
        if after_line.strip() and not mid_line_allowed(after_line):
            return result("", "mid_line", tokens=0, total_bits=0.0)
        if eta <= 0:
            return result("", "eta", tokens=0, total_bits=0.0)

        context, heal = split_heal(before)
        window = prompt_window(context, self.config.window_chars, self.config.window_step)
        line_before = before.rsplit("\n", 1)[-1]
        with self._lock:
            if self.llama is None:  # closed while this request waited for the lock
                return result("", "cancelled", tokens=0, total_bits=0.0)
            prompt = self.tokenize(window)
            if not prompt:  # nothing to continue from (and no BOS for this model)
                return result("", "empty", tokens=0, total_bits=0.0)
            # Every healed token writes at least one character of `heal`.
            room = self.config.n_ctx - max_tokens - len(heal) - 1
            if len(prompt) > room:
                prompt = prompt[-room:]
            prefilled = self._prefill(prompt, cancelled)
            if prefilled is None:
                return result("", "cancelled", tokens=0, total_bits=0.0, prompt_tokens=len(prompt))
            decode_start = time.perf_counter()
            raw, kept_bits, reason, healed = self._decode(
                heal, line_before, before, eta, max_tokens, cancelled
            )
            decode_ms = (time.perf_counter() - decode_start) * 1000.0
        text, filtered = postfilter(raw, before, after)
        if reason == "cancelled":
            text = ""
        elif filtered == "repeat":
            reason = filtered
        return result(
            text,
            reason,
            tokens=len(kept_bits),
            total_bits=float(sum(kept_bits)),
            token_bits=kept_bits,
            prompt_tokens=len(prompt),
            prefill_tokens=prefilled,
            decode_ms=decode_ms,
            heal_tokens=healed,
        )

    def _piece(self, token: int) -> str:
        return self.llama.detokenize([token], special=False).decode("utf-8", errors="ignore")

    def _heal_token(self, logits: np.ndarray, remaining: str) -> int | None:
        """The most likely token consistent with the whitespace still to reproduce, or None."""
        top = np.argpartition(-logits, HEAL_CANDIDATES)[:HEAL_CANDIDATES]
        for token in top[np.argsort(-logits[top])]:
            token = int(token)
            if not self._is_eog(token) and heal_consistent(self._piece(token), remaining):
                return token
        return None

    def _decode(
        self,
        heal: str,
        line_before: str,
        before: str,
        eta: float,
        max_tokens: int,
        cancelled: Callable[[], bool],
    ) -> tuple[str, list[float], str, int]:
        """Greedy decode under the gate. First the whitespace the person already typed (`heal`)
        is reproduced with the likeliest consistent tokens, not counted against η; then the
        suggestion. Returns (text after `heal`, surprise of each suggested token, stop reason,
        tokens used for `heal`)."""
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
            logits = self._last_logits()
            if len(written) < len(heal):
                token = self._heal_token(logits, heal[len(written) :])
                if token is None:
                    return "", [], "heal_mismatch", healed
                bits = token_bits(logits, token)
            else:
                token, bits = greedy_token_bits(logits)
                if self._is_eog(token):
                    return text, bits_kept, "eos", healed
            piece = self.llama.detokenize([token], special=False)
            candidate = (raw + piece).decode("utf-8", errors="ignore")
            if len(candidate) > len(heal):
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

