"""The local interaction log: one JSON object per line in the platform state dir.

Schema version 1. Every line has:
  v        1 (the schema version; readers refuse or adapt to others)
  ts       unix time, float seconds
  event    proposed | accepted | dismissed | typed | deleted
  source   "editor" | "repl" | "eval"
  session  random id shared by the lines of one run of the program
  model    model file name;  adapter: adapter file name or null
Per event:
  proposed   id (int, unique in the session), chars, tokens, bits, latency_ms, stop_reason
  accepted   id, chars (characters taken), full (bool: the whole suggestion or only part)
  dismissed  id
  typed      chars (characters the person typed themselves)
  deleted    chars (all characters deleted), accepted_chars (of those, how many were text
             accepted from a suggestion less than RECENT_S seconds earlier), id (that suggestion
             or null)
These are the events the Empower paper's user study logged, so acceptance rate and characters
deleted after acceptance can be computed later (`pairterm stats`).
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1
EVENTS = ("proposed", "extended", "accepted", "dismissed", "typed", "deleted")
RECENT_S = 30.0


class InteractionLog:
    """Appends events; a disabled log (path None) accepts calls and writes nothing."""

    def __init__(
        self,
        path: Path | None,
        source: str,
        model: str | None = None,
        adapter: str | None = None,
    ) -> None:
        self.path = path
        self.source = source
        self.model = model
        self.adapter = adapter
        self.session = uuid.uuid4().hex[:12]
        self._lock = threading.Lock()
        self._next_id = 0
        self.failure: str | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)

    @property
    def enabled(self) -> bool:
        return self.path is not None

    def new_id(self) -> int:
        with self._lock:
            self._next_id += 1
            return self._next_id

    def write(self, event: str, **fields: Any) -> None:
        if event not in EVENTS:
            raise ValueError(f"unknown event {event!r}")
        if self.path is None:
            return
        record = {
            "v": SCHEMA_VERSION,
            "ts": time.time(),
            "event": event,
            "source": self.source,
            "session": self.session,
            "model": self.model,
            "adapter": self.adapter,
            **fields,
        }
        line = json.dumps(record, ensure_ascii=False) + "\n"
        # One write() of a whole line in append mode, so concurrent writers never interleave.
        with self._lock:
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                try:
                    os.write(fd, line.encode("utf-8"))
                finally:
                    os.close(fd)
            except OSError as exc:
                # The log is a convenience: a full disk or read-only state dir must never take
                # the editor down. Stop logging and remember why.
                self.failure = f"interaction log off: {exc.strerror or exc}"
                self.path = None
