"""What llama.cpp writes straight to file descriptor 2 while a model loads.

Its own log goes through llama-cpp-python's callback, which `verbose=False` silences; ggml's
warnings do not (a LoRA adapter on Qwen2.5-Coder prints a dozen "cannot use buft 'CPU_REPACK'"
lines). In the editor the model loads while the screen is drawn, so those bytes would land in
the middle of it. Held in a temporary file instead, they are dropped on success and give the
reason on failure.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator


@contextlib.contextmanager
def held_native_stderr() -> Iterator[list[str]]:
    """Route fd 2 into a temporary file for the block; the list it yields gets the lines
    written, once the block ends (also when it raises)."""
    lines: list[str] = []
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no fd 2 at all (a daemon): nothing to hold
        yield lines
        return
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield lines
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            lines.extend(held.read().decode("utf-8", "replace").splitlines())
