"""A run's time budget (`--budget`, 30 minutes unless given): the clock, the plan, progress lines.

The budget is wall time for the whole run: collecting, loading, labelling, training and writing.
After the model loads, `training.calibrate` measures labelling and training throughput here, and
`plan_states` / `plan_steps` pick what the flags leave open (how many states to label, how many
optimizer steps to run) so that the run fits; during training a step that would not fit is not
started, and the run ends cleanly with the adapter it has. The clock's reading is stored with the
run's data and in every checkpoint, so a resumed run counts the time already spent.

Without a terminal (a log file, a pipe, CI) no progress bar draws, so `Heartbeat` prints one line
every PROGRESS_EVERY_S seconds from a thread: phase, done/total, the phase's and the run's ETA.
"""

from __future__ import annotations

import math
import os
import re
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from pairterm.errors import UserError

DEFAULT_BUDGET = "30m"
OFF = ("none", "off")
# Test hook: seconds between progress lines when stderr is not a terminal.
PROGRESS_EVERY_ENV = "PAIRTERM_TEST_PROGRESS_EVERY"
PROGRESS_EVERY_S = 30.0  # half the promised minute, so a slow print never stretches a gap past it
# The plan aims at this share of what is left: rates measured on a few batches are noisy.
PLAN_SHARE = 0.95

_DURATION = re.compile(r"(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?")


def parse_budget(text: str | None) -> float | None:
    """Seconds for `--budget` (`30m`, `2h`, `90s`, `1h30m`; None: the default), or None for `none`."""
    spec = DEFAULT_BUDGET if text is None else str(text).strip().lower()
    if spec in OFF:
        return None
    match = _DURATION.fullmatch(spec)
    if not spec or match is None:
        raise UserError(f"--budget {text}: give a duration such as 30m, 2h, 90s or 1h30m, or none")
    hours, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
    total = hours * 3600 + minutes * 60 + seconds
    if total <= 0:
        raise UserError(f"--budget {text}: the budget must be longer than 0 s")
    return total


def reserve_s(budget_s: float) -> float:
    """Time kept back for saving the adapter and the report (a LoRA adapter writes in ~1 s)."""
    return 2.0 + 0.005 * budget_s


def duration(seconds: float | None) -> str:
    """1h02m, 4m05s, 12s: how long, for people."""
    if seconds is None or not math.isfinite(seconds):
        return "?"
    s = max(0, round(seconds))
    if s >= 3600:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    if s >= 60:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s}s"


@dataclass
class Clock:
    """Run time so far: this process's, plus what earlier processes of the same run stored."""

    budget_s: float | None
    started: float = field(default_factory=time.monotonic)
    before: dict = field(default_factory=dict)  # a stored `state()` of an earlier process
    session: dict[str, float] = field(default_factory=dict)  # this process's finished phases
    _phase: tuple[str, float] | None = None

    @property
    def limited(self) -> bool:
        return self.budget_s is not None

    def elapsed(self) -> float:
        return float(self.before.get("elapsed_s", 0.0)) + time.monotonic() - self.started

    def remaining(self) -> float:
        return math.inf if self.budget_s is None else self.budget_s - self.elapsed()

    def available(self) -> float:
        """Seconds a plan made now may fill: a share of what is left, less the writing reserve."""
        if self.budget_s is None:
            return math.inf
        return PLAN_SHARE * self.remaining() - reserve_s(self.budget_s)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Time spent in the block counts to `name`; a phase inside another is not counted twice."""
        outer = self._phase
        self._close()
        self._phase = (name, time.monotonic())
        try:
            yield
        finally:
            self._close()
            self._phase = (outer[0], time.monotonic()) if outer is not None else None

    def _close(self) -> None:
        if self._phase is not None:
            name, since = self._phase
            self.session[name] = self.session.get(name, 0.0) + time.monotonic() - since
            self._phase = None

    def phases(self) -> dict[str, float]:
        """Seconds per phase over the whole run, the phase under way up to now."""
        out = {k: float(v) for k, v in dict(self.before.get("phases_s", {})).items()}
        for name, seconds in self.session.items():
            out[name] = out.get(name, 0.0) + seconds
        if self._phase is not None:
            name, since = self._phase
            out[name] = out.get(name, 0.0) + time.monotonic() - since
        return out

    def state(self) -> dict:
        """What the run's data and each checkpoint store, for a resume to count on."""
        return {"elapsed_s": self.elapsed(), "phases_s": self.phases()}

    def restore(self, stored: dict | None) -> None:
        """Count the time an earlier process of this run spent up to `stored` (its `state()`).

        This process's own time counts on top; a later stored state (a checkpoint, after the
        one stored with the labelled data) replaces an earlier one.
        """
        if stored:
            self.before = dict(stored)


def plan_states(
    available_s: float, n_all: int, label_s_per_state: float, train_s_per_visit: float,
    epochs: int, per_step: int, max_examples: int | None, max_steps: int | None,
) -> int:
    """How many states to label so labelling and training fit `available_s`.

    Each state costs its labelling once and its training `epochs` times. --max-steps caps the
    training: past the states those steps can visit `epochs` times, more states only cost
    labelling (and those past what the steps visit once would never be trained on). At least
    one optimizer step's worth is labelled even when the budget cannot pay for it.
    """
    if max_examples is not None:
        return min(n_all, max_examples)
    per_state = label_s_per_state + epochs * train_s_per_visit
    fit = available_s / per_state if per_state > 0 else float(n_all)
    if max_steps is not None:
        visits = max_steps * per_step
        if fit * epochs > visits:
            left = available_s - visits * train_s_per_visit
            more = left / label_s_per_state if label_s_per_state > 0 else visits
            fit = max(visits / epochs, min(visits, more))
    return max(min(n_all, per_step), min(n_all, int(fit)))


def plan_steps(available_s: float, step_costs: Iterator[float], full: int) -> tuple[int, float]:
    """(steps, their predicted seconds): the longest prefix of the steps that fits, at least one."""
    steps, spent = 0, 0.0
    for cost in step_costs:
        if steps >= full or (steps >= 1 and spent + cost > available_s):
            break
        steps, spent = steps + 1, spent + cost
    return max(1, steps), spent


class Heartbeat:
    """A progress line on stderr every few seconds, for output that is not a terminal."""

    def __init__(self, clock: Clock, enabled: bool, every: float | None = None) -> None:
        self.clock = clock
        self.enabled = enabled
        self.every = every if every is not None else float(
            os.environ.get(PROGRESS_EVERY_ENV) or PROGRESS_EVERY_S
        )
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.set("starting")

    def set(self, phase: str, total: float | None = None, unit: str = "",
            done: float = 0.0, later_s: float = 0.0) -> None:  # fmt: skip
        """A new phase; `later_s` is the planned time of the phases after it (for the run's ETA)."""
        with self._lock:
            self.phase, self.total, self.unit, self.later_s = phase, total, unit, later_s
            self.done = self.first = done
            self.since = time.monotonic()
            self.note = ""

    def update(self, done: float, note: str = "") -> None:
        with self._lock:
            self.done, self.note = done, note

    def advance(self, n: float) -> None:
        with self._lock:
            self.done += n

    def line(self) -> str:
        with self._lock:
            phase, total, done, unit = self.phase, self.total, self.done, self.unit
            rate = (done - self.first) / max(1e-9, time.monotonic() - self.since)
            later, note = self.later_s, self.note
        parts = [phase]
        eta = None
        if total:
            parts.append(f"{done:.0f}/{total:.0f} {unit} ({done / total:.0%})".replace("  ", " "))
            eta = (total - done) / rate if rate > 0 else None
            parts.append(f"phase ETA {duration(eta)}")
        if note:
            parts.append(note)
        clock = self.clock
        if total:  # before labelling starts nothing says how long the run will take
            parts.append(f"run ETA {duration(None if eta is None else eta + later)}")
        used = f"elapsed {duration(clock.elapsed())}"
        if clock.budget_s is not None:
            used += f" of the {duration(clock.budget_s)} budget"
        parts.append(used)
        return "pairterm train: " + ", ".join(parts)

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            print(self.line(), file=sys.stderr, flush=True)

    def __enter__(self) -> Heartbeat:
        if self.enabled:
            self._thread = threading.Thread(target=self._loop, name="train-heartbeat", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
