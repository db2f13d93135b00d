"""Reading the interaction log and aggregating it: pure functions behind `pairterm stats`.

A suggestion is identified by (source, session, id). It counts as accepted in full when any of
its `accepted` events has full=true, partially when it has accepted events but none full; its
accepted characters are the sum over those events, credited to the day and model of the
proposal. Characters deleted after acceptance come from `deleted.accepted_chars`.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

from pairterm.interaction_log import EVENTS, SCHEMA_VERSION, log_files

# Events of concurrent writers can sit slightly out of order in a file: a file is skipped only
# when its first and last events lie this far outside the window.
SPAN_SLACK_S = 86400.0
SPAN_PROBE_BYTES = 65536

_NUMERIC: dict[str, tuple[str, ...]] = {
    "proposed": ("id", "chars"),
    "extended": ("id", "chars"),
    "accepted": ("id", "chars"),
    "dismissed": ("id",),
    "typed": ("chars",),
    "deleted": ("chars", "accepted_chars"),
}


@dataclass
class LogRead:
    events: list[dict[str, Any]] = field(default_factory=list)
    lines: int = 0
    corrupt: int = 0
    other_versions: Counter[str] = field(default_factory=Counter)
    outside_window: int = 0  # valid events before `since` or after `until`
    files_read: list[Path] = field(default_factory=list)
    files_skipped: list[Path] = field(default_factory=list)

    @property
    def other_version(self) -> int:
        return sum(self.other_versions.values())


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _valid(record: dict[str, Any]) -> bool:
    event = record.get("event")
    if event not in EVENTS or not _number(record.get("ts")):
        return False
    return all(_number(record.get(key)) for key in _NUMERIC[event])


def parse_lines(
    lines: Iterable[bytes],
    out: LogRead | None = None,
    since: float | None = None,
    until: float | None = None,
) -> LogRead:
    """Parse raw log lines; blank lines are ignored, anything unreadable is counted, never
    raised: a crash while writing can leave a truncated last line. Valid events outside
    [since, until) are counted, not kept."""
    out = LogRead() if out is None else out
    for raw in lines:
        if not raw.strip():
            continue
        out.lines += 1
        try:
            record = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            out.corrupt += 1
            continue
        if not isinstance(record, dict):
            out.corrupt += 1
            continue
        version = record.get("v")
        if version != SCHEMA_VERSION or isinstance(version, bool):
            out.other_versions[str(version)] += 1
            continue
        if not _valid(record):
            out.corrupt += 1
        elif (since is not None and record["ts"] < since) or (
            until is not None and record["ts"] >= until
        ):
            out.outside_window += 1
        else:
            out.events.append(record)
    return out


def read_log(path: Path) -> LogRead:
    with path.open("rb") as fh:
        return parse_lines(fh)


def _line_ts(raw: bytes) -> float | None:
    try:
        ts = json.loads(raw.decode("utf-8")).get("ts")
    except (UnicodeDecodeError, json.JSONDecodeError, AttributeError):
        return None
    return float(ts) if _number(ts) else None


def file_span(path: Path) -> tuple[float, float] | None:
    """The times of a log file's first and last events, from its first and last few kilobytes
    only; None when those hold no readable event."""
    with path.open("rb") as fh:
        head = fh.read(SPAN_PROBE_BYTES)
        size = fh.seek(0, 2)
        fh.seek(max(0, size - SPAN_PROBE_BYTES))
        tail = fh.read(SPAN_PROBE_BYTES)
    first = next((t for t in map(_line_ts, head.splitlines()) if t is not None), None)
    last = next((t for t in map(_line_ts, reversed(tail.splitlines())) if t is not None), None)
    return None if first is None or last is None else (first, last)


def read_logs(current: Path, since: float | None = None, until: float | None = None) -> LogRead:
    """The events of the current log file and its monthly archives in [since, until): a file
    whose first and last events show it lies outside the window is not read past its ends, so
    a week's stats cost a week of log however old the log is."""
    out = LogRead()
    for path in log_files(current):
        if since is not None or until is not None:
            span = file_span(path)
            if span is not None and (
                (since is not None and span[1] < since - SPAN_SLACK_S)
                or (until is not None and span[0] >= until + SPAN_SLACK_S)
            ):
                out.files_skipped.append(path)
                continue
        with path.open("rb") as fh:
            parse_lines(fh, out, since, until)
        out.files_read.append(path)
    return out


def percentile(values: list[float], q: float) -> float | None:
    """The q-quantile (q in [0, 1]) of `values`, None if there are none: the one percentile
    rule of the project (the stats command, the evaluation and the benchmarks all use it).

    Linear interpolation between the closest ranks, as numpy's default method ("linear"):
    position (n - 1) * q in the sorted values, so p50 of an even count is the mean of the two
    middle values. Written out rather than calling numpy so that `pairterm stats` starts fast.
    """
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


@dataclass
class Totals:
    shown: int = 0
    accepted_full: int = 0
    accepted_partial: int = 0
    chars_accepted: int = 0
    chars_deleted_after_accept: int = 0
    chars_typed: int = 0
    suggestion_chars: int = 0
    latencies: list[float] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        accepted = self.accepted_full + self.accepted_partial

        def rate(n: int) -> float | None:
            return round(n / self.shown, 4) if self.shown else None

        p50, p95 = percentile(self.latencies, 0.5), percentile(self.latencies, 0.95)
        return {
            "shown": self.shown,
            "accepted": accepted,
            "accepted_full": self.accepted_full,
            "accepted_partial": self.accepted_partial,
            "acceptance_rate": rate(accepted),
            "full_rate": rate(self.accepted_full),
            "partial_rate": rate(self.accepted_partial),
            "chars_accepted": self.chars_accepted,
            "chars_deleted_after_accept": self.chars_deleted_after_accept,
            "deleted_per_accepted": (
                round(self.chars_deleted_after_accept / accepted, 2) if accepted else None
            ),
            "chars_typed": self.chars_typed,
            "mean_suggestion_chars": (
                round(self.suggestion_chars / self.shown, 2) if self.shown else None
            ),
            "latency_p50_ms": None if p50 is None else round(p50, 1),
            "latency_p95_ms": None if p95 is None else round(p95, 1),
        }


def model_label(record: dict[str, Any]) -> str:
    model = record.get("model") or "(no model)"
    adapter = record.get("adapter")
    return f"{model} + {adapter}" if adapter else str(model)


@dataclass
class Report:
    total: Totals = field(default_factory=Totals)
    by_day: dict[str, Totals] = field(default_factory=dict)
    by_model: dict[str, Totals] = field(default_factory=dict)
    by_source: dict[str, Totals] = field(default_factory=dict)
    by_day_model: dict[tuple[str, str], Totals] = field(default_factory=dict)
    unmatched_accepts: int = 0

    def groups(self, day: str, model: str, source: str) -> list[Totals]:
        return [
            self.total,
            self.by_day.setdefault(day, Totals()),
            self.by_model.setdefault(model, Totals()),
            self.by_source.setdefault(source, Totals()),
            self.by_day_model.setdefault((day, model), Totals()),
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "total": self.total.to_dict(),
            "by_day": [{"day": k, **v.to_dict()} for k, v in sorted(self.by_day.items())],
            "by_model": [{"model": k, **v.to_dict()} for k, v in sorted(self.by_model.items())],
            "by_source": [{"source": k, **v.to_dict()} for k, v in sorted(self.by_source.items())],
            "by_day_model": [
                {"day": day, "model": model, **v.to_dict()}
                for (day, model), v in sorted(self.by_day_model.items())
            ],
            "unmatched_accepts": self.unmatched_accepts,
        }


def aggregate(events: Iterable[dict[str, Any]], tz: tzinfo | None = None) -> Report:
    """Totals overall, per day (in `tz`, default local time), per model/adapter, per source."""
    report = Report()
    proposals: dict[tuple[str, str, int], list[Totals]] = {}
    accepts: dict[tuple[str, str, int], list[bool]] = {}
    for e in sorted(events, key=lambda e: e["ts"]):
        day = datetime.fromtimestamp(e["ts"], tz).date().isoformat()
        source = str(e.get("source") or "?")
        groups = report.groups(day, model_label(e), source)
        key = (source, str(e.get("session")), int(e.get("id") or 0))
        kind = e["event"]
        if kind == "proposed":
            proposals[key] = groups
            for g in groups:
                g.shown += 1
                g.suggestion_chars += int(e["chars"])
                if _number(e.get("latency_ms")):
                    g.latencies.append(float(e["latency_ms"]))
        elif kind == "extended":  # the rest of a suggestion the decode time budget cut short
            for g in proposals.get(key, ()):
                g.suggestion_chars += int(e["chars"])
        elif kind == "accepted":
            owner = proposals.get(key)
            if owner is None:
                report.unmatched_accepts += 1
                continue
            accepts.setdefault(key, []).append(bool(e.get("full")))
            for g in owner:
                g.chars_accepted += int(e["chars"])
        elif kind == "typed":
            for g in groups:
                g.chars_typed += int(e["chars"])
        elif kind == "deleted":
            for g in groups:
                g.chars_deleted_after_accept += int(e["accepted_chars"])
    for key, fulls in accepts.items():
        for g in proposals[key]:
            if any(fulls):
                g.accepted_full += 1
            else:
                g.accepted_partial += 1
    return report
