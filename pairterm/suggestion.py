"""What the engine proposes at a cursor: the text, what it cost, and why it stopped. A type of
its own, so that the editor, the REPL and the benchmarks can handle suggestions without loading
the engine."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace


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
    cached: bool = False  # answered from the suggestion cache, not by the model
    # what a cancelled call had decoded (filtered, whole lines): never shown as it is, but the
    # next request can offer what the person has not typed of it (SuggestionSource)
    partial: str = ""

    def extended_by(self, more: Suggestion) -> Suggestion:
        """This suggestion, stopped by the decode time budget, continued by `more`: one
        suggestion, judged by the gate as a whole."""
        return replace(
            self, text=self.text + more.text, tokens=self.tokens + more.tokens,
            total_bits=self.total_bits + more.total_bits,
            token_bits=self.token_bits + more.token_bits, stop_reason=more.stop_reason,
        )  # fmt: skip

    def to_json(self) -> dict[str, object]:
        data = asdict(self)
        data["total_bits"] = round(self.total_bits, 4)
        data["latency_ms"] = round(self.latency_ms, 2)
        data["token_bits"] = [round(b, 4) for b in self.token_bits]
        return data
