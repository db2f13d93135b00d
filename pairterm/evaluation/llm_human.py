"""A language model as the simulated human, following the protocol of the Empower paper's
appendix D: shown a suggestion, it first writes its thoughts on it, then answers with one action
(accept, reject or finish); otherwise it continues its own program by K_H tokens, as the reply
to an "appender" prompt holding the problem and the starter code. Its program is judged by
running the problem's tests.

The prompts restate the paper's instructions in our words. Decoding is greedy so that a run can
be repeated; a model that cannot follow the protocol (the small default one) still produces a
valid session — an answer naming no action counts as a rejection.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path

from pairterm.errors import UserError
from pairterm.evaluation.corpus import Document
from pairterm.evaluation.env import Rules, Tokens
from pairterm.evaluation.execution import passes_tests
from pairterm.model_file import check_gguf

APPENDER_SYSTEM = (
    "You are an expert Python programmer. You are given a problem specification and write one "
    "correct Python program that meets it and passes all of its tests.\n"
    "Do not include example outputs or test cases in your answer. You may solve the problem only "
    "once: do not start a second attempt (no `solve2`) if you think the first has a bug; stop "
    "writing when the first solution is finished."
)
APPENDER_USER = (
    "### Question:\n{question}\n\n### Format:\nComplete the following starter code and enclose "
    "your code within delimiters.\n```python\n{starter}\n```\n"
)
ACCEPTOR_SYSTEM = (
    "You are an expert Python programming agent. You are given a problem specification and write "
    "a correct Python program that meets it and passes all of its tests.\n"
    "You write the program in an editor, assisted by an automated assistant that sometimes "
    "proposes a completion of what you have typed. At each step, first write your thoughts on "
    "the suggestion: does it correctly continue your solution, or does it introduce bugs? Judge "
    "only the assistant's suggestion; code you already wrote cannot be changed. End your thoughts "
    "with one word naming your action. Unless you finish, you will afterwards append code of "
    "your own. Accept suggestions that introduce no bugs and help you solve the problem or improve "
    "the code, even when they are incomplete or short.\n\n"
    "Actions:\n"
    '### "accept"\nThe suggested completion is added to your code.\n'
    '### "reject"\nThe suggested completion is discarded.\n'
    '### "finish"\nYour program is complete: the editor runs the tests and you write no more '
    "code. Use it only when you are confident the program is finished.\n\n"
    "You can keep writing whether you accept or reject. Reject a suggestion only if it is "
    "wrong, introduces a bug or otherwise sets you back."
)
ACCEPTOR_REASON = (
    "## Your code so far:\n```python\n{code}\n```\n\n"
    "## Suggested completion\nYour code with the suggested completion:\n```python\n{suggested}\n```\n\n"
    "## Diff of the suggestion\n{diff}\n\n"
    "## Instructions:\nWhat do you think of the suggested completion? Does it solve the problem "
    "correctly, or does it introduce a bug? Write your thoughts only: no new code and no action "
    "yet. An incomplete suggestion is fine; you can append to it later."
)
ACCEPTOR_DECIDE = (
    'Now write the action you take: "accept" to accept the suggested completion, "reject" to '
    'reject it, or "finish" to finish your code and run the tests. Only finish if you are '
    "confident your code is correct."
)
FENCE_OPEN = "```python\n"
_ACTION = re.compile(r"\b(accept|reject|finish)", re.IGNORECASE)


def parse_action(answer: str) -> str:
    """The first action the answer names; none counts as a rejection."""
    m = _ACTION.search(answer)
    return m.group(1).lower() if m else "reject"


def diff_text(code: str, suggested: str) -> str:
    lines = difflib.unified_diff(
        code.splitlines(), suggested.splitlines(), "current", "suggested", lineterm=""
    )
    return "\n".join(lines)


class LLMHuman:
    """The Human protocol (see env.py) played by a local instruct GGUF through llama.cpp."""

    def __init__(
        self,
        model_path: Path,
        tokens: Tokens,
        rules: Rules,
        *,
        threads: int,
        think_tokens: int = 128,
        n_ctx: int = 8192,
        test_timeout_s: float = 10.0,
    ) -> None:
        from llama_cpp import Llama
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        check_gguf(model_path, "human-model")
        try:
            self.llama = Llama(
                model_path=str(model_path),
                n_ctx=n_ctx,
                n_threads=threads,
                n_threads_batch=threads,
                verbose=False,
            )
        except (ValueError, RuntimeError, OSError) as exc:
            raise UserError(f"could not load human model {model_path}: {exc}") from None
        self.tokens = tokens
        self.rules = rules
        self.think_tokens = think_tokens
        self.test_timeout_s = test_timeout_s
        template = self.llama.metadata.get("tokenizer.chat_template")
        self._bos = self._piece(self.llama.token_bos())
        self._formatter = (
            Jinja2ChatFormatter(template, self._piece(self.llama.token_eos()), self._bos)
            if template
            else None
        )
        self.doc: Document | None = None
        self._done = False

    def _piece(self, token: int) -> str:
        if token < 0:
            return ""
        return self.llama.detokenize([token], special=True).decode("utf-8", "ignore")

    # -- prompting ----------------------------------------------------------------------------
    def _render(self, messages: list[dict[str, str]]) -> str:
        if self._formatter is not None:
            return self._formatter(messages=messages).prompt  # type: ignore[arg-type]
        parts = [f"### {m['role'].capitalize()}:\n{m['content']}\n\n" for m in messages]
        return "".join(parts) + "### Assistant:\n"

    def _generate(self, prompt: str, max_tokens: int, stop: list[str]) -> tuple[str, bool]:
        """Greedy continuation; returns (text, stopped on its own rather than at the cap)."""
        add_bos = not (self._bos and prompt.startswith(self._bos))
        ids = self.llama.tokenize(prompt.encode("utf-8"), add_bos=add_bos, special=True)
        room = self.llama.n_ctx() - len(ids) - 1
        if room <= 0:
            return "", True  # the session outgrew the human's context: it stops here
        out = self.llama.create_completion(
            ids, max_tokens=min(max_tokens, room), temperature=0.0, stop=stop
        )
        choice = out["choices"][0]  # type: ignore[index]
        return choice["text"], choice["finish_reason"] != "length"

    # -- the Human protocol -------------------------------------------------------------------
    def begin(self, doc: Document) -> None:
        if not doc.test:
            raise UserError("the LLM human needs problems with tests: use --corpus humaneval")
        self.doc = doc
        self._done = False

    def finished(self, state: str) -> bool:
        return self._done

    def review(self, state: str, suggestion: str) -> tuple[str, str]:
        suggested = state + suggestion
        messages = [
            {"role": "system", "content": ACCEPTOR_SYSTEM},
            {
                "role": "user",
                "content": ACCEPTOR_REASON.format(
                    code=state, suggested=suggested, diff=diff_text(state, suggested)
                ),
            },
        ]
        thoughts, _ = self._generate(self._render(messages), self.think_tokens, [])
        messages += [
            {"role": "assistant", "content": thoughts.strip()},
            {"role": "user", "content": ACCEPTOR_DECIDE},
        ]
        answer, _ = self._generate(self._render(messages), 16, ["\n\n"])
        action = parse_action(answer)
        if action == "finish":
            self._done = True
        return action, suggestion if action == "accept" else ""

    def write(self, state: str) -> tuple[str, int, bool]:
        assert self.doc is not None
        messages = [
            {"role": "system", "content": APPENDER_SYSTEM},
            {
                "role": "user",
                "content": APPENDER_USER.format(
                    question=self.doc.question, starter=self.doc.start.rstrip()
                ),
            },
        ]
        # The human's reply is its program so far; it continues it by K_H tokens.
        prompt = self._render(messages) + FENCE_OPEN + state
        text, stopped = self._generate(prompt, self.rules.human_tokens, ["```"])
        if stopped:
            self._done = True  # closed its code block (or ended): the program is finished
        return text, self.tokens.count(text), stopped

    def correct(self, state: str) -> bool:
        assert self.doc is not None
        return passes_tests(state, self.doc.test, self.doc.entry_point, self.test_timeout_s)

    def close(self) -> None:
        self.llama.close()
