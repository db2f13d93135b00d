"""`pairterm stats`: what the assistant did for you, from the local interaction log."""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pairterm import paths
from pairterm.argparsing import ArgumentParser
from pairterm.errors import UserError
from pairterm.interaction_log import SCHEMA_VERSION, log_files
from pairterm.stats_core import LogRead, aggregate, read_logs

COLUMNS = (
    ("shown", "Shown"),
    ("acceptance_rate", "Acc%"),
    ("full_rate", "Full%"),
    ("partial_rate", "Part%"),
    ("chars_accepted", "Chars"),
    ("chars_deleted_after_accept", "Del"),
    ("mean_suggestion_chars", "Len"),
    ("latency_p50_ms", "p50ms"),
    ("latency_p95_ms", "p95ms"),
)
LEGEND = (
    "Shown: suggestions shown. Acc%: share accepted in full or in part (Full%, Part%). "
    "Chars: characters accepted. Del: characters of accepted text deleted within 30 s. "
    "Len: mean suggestion length in characters. p50ms/p95ms: suggestion latency."
)


def notes(read: LogRead) -> list[str]:
    out = []
    if read.corrupt:
        out.append(f"skipped {read.corrupt} corrupt or truncated line(s)")
    if read.other_version:
        versions = ", ".join(f"v{v}" for v in sorted(read.other_versions))
        out.append(
            f"skipped {read.other_version} line(s) written with log schema {versions} "
            f"(this pairterm reads v{SCHEMA_VERSION})"
        )
    return out


def build_report(
    path: Path, since: float | None = None, until: float | None = None
) -> dict[str, Any]:
    """The whole `--json` object for the log whose current file is `path` (with its monthly
    archives), events in [since, until); UserError when the log exists but nothing in it is
    ours."""
    if not log_files(path):
        return {"log": str(path), "exists": False, "events": 0, "notes": ["no log yet"]}
    try:
        read = read_logs(path, since, until)
    except OSError as exc:
        raise UserError(f"cannot read the interaction log {path}: {exc.strerror}") from None
    if not read.events and read.other_version:
        versions = ", ".join(f"v{v}" for v in sorted(read.other_versions))
        raise UserError(
            f"the interaction log {path} was written by another pairterm version (schema "
            f"{versions}); this one reads v{SCHEMA_VERSION}: upgrade pairterm or move the log aside"
        )
    return {
        "log": str(path),
        "exists": True,
        "events": len(read.events),
        "lines": {
            "total": read.lines,
            "read": len(read.events),
            "corrupt": read.corrupt,
            "other_version": read.other_version,
        },
        "window": {"since": since, "until": until, "outside": read.outside_window},
        "files_read": [str(f) for f in read.files_read],
        "files_skipped": [str(f) for f in read.files_skipped],
        "notes": notes(read),
        **aggregate(read.events).to_dict(),
    }


def _day(text: str, flag: str) -> datetime:
    try:
        return datetime.strptime(text, "%Y-%m-%d")
    except ValueError:
        raise UserError(f"{flag} takes a date as YYYY-MM-DD, got {text!r}") from None


def window(
    since: str | None, until: str | None, days: int | None
) -> tuple[float | None, float | None]:
    """[since, until) as unix times from the flags, days in local time; --until's day is
    included."""
    if days is not None and since is not None:
        raise UserError("give --since or --days, not both")
    if days is not None and days < 1:
        raise UserError(f"--days must be at least 1, got {days}")
    start: datetime | None = _day(since, "--since") if since is not None else None
    if days is not None:
        today = datetime.now().replace(hour=0, minute=0, second=0, microsecond=0)
        start = today - timedelta(days=days - 1)
    end = _day(until, "--until") + timedelta(days=1) if until is not None else None
    if start is not None and end is not None and start >= end:
        raise UserError("--since must be on or before --until")
    # mktime: local midnight, whatever the DST offset of that day
    return (
        None if start is None else time.mktime(start.timetuple()),
        None if end is None else time.mktime(end.timetuple()),
    )


def _cell(key: str, value: Any) -> str:
    if value is None:
        return "-"
    if key.endswith("_rate"):
        return f"{100 * value:.1f}"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _table(title: str, label: str, rows: list[dict[str, Any]], key: str) -> Any:
    from rich import box
    from rich.table import Table

    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column(label, overflow="fold")
    for _, header in COLUMNS:
        table.add_column(header, justify="right", no_wrap=True)
    for row in rows:
        name = str(row[key]).replace(".gguf", "")  # the suffix only costs width
        table.add_row(name, *(_cell(k, row[k]) for k, _ in COLUMNS))
    return table


def chart(by_day: list[dict[str, Any]], width: int, color: bool) -> str:
    """Acceptance rate per day as a terminal bar chart (the last 14 days with suggestions)."""
    import plotext

    days = [d for d in by_day if d["shown"]][-14:]
    fig = plotext.figure
    fig.clear()
    fig.theme("default" if color else "colorless")
    fig.plot_size(max(40, min(width, 100)), 14)
    rates = [round(100 * d["acceptance_rate"], 1) for d in days]
    fig.draw(fig.bar([d["day"][5:] for d in days], rates, labeled=True))
    fig.title("suggestions accepted per day (%)")
    return str(fig.build().string(colorless=not color))


def _window_text(report: dict[str, Any]) -> str:
    since, until = report["window"]["since"], report["window"]["until"]

    def day(ts: float) -> str:
        return datetime.fromtimestamp(ts).date().isoformat()

    text = f" from {day(since)}" if since is not None else ""
    return text + (f" before {day(until)}" if until is not None else "")


def render(report: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.text import Text

    console = Console()
    err = Console(stderr=True)
    for note in report["notes"]:
        if note != "no log yet":
            err.print(f"pairterm stats: note: {note}", markup=False, highlight=False)
    if not report["exists"]:
        console.print(
            f"No interaction log yet ({report['log']}). Suggestions you see in `pairterm` or "
            "`pairterm repl` are logged there; run one and come back.",
            markup=False,
            highlight=False,
        )
        return
    total = report["total"]
    if not total["shown"]:
        console.print(f"No suggestions logged yet in {report['log']}.", markup=False)
        return
    files = len(report["files_read"]) + len(report["files_skipped"])
    console.print(
        f"Interaction log: {report['log']} ({report['events']} events{_window_text(report)}, "
        f"{len(report['files_read'])} of {files} file(s) read)",
        markup=False,
    )
    console.print(_table("Per day", "Day", report["by_day"], "day"))
    console.print(_table("Per model / adapter", "Model", report["by_model"], "model"))
    console.print(_table("Per source", "Source", report["by_source"], "source"))
    console.print(LEGEND, markup=False, highlight=False, style="dim")
    deleted = total["deleted_per_accepted"]
    console.print(
        f"Overall: {total['shown']} suggestions shown, {_cell('r_rate', total['acceptance_rate'])}% "
        f"accepted ({total['accepted_full']} in full, {total['accepted_partial']} in part), "
        f"{total['chars_accepted']} characters accepted, "
        f"{'-' if deleted is None else deleted} characters deleted per accepted suggestion.",
        markup=False,
        highlight=False,
    )
    console.print(Text.from_ansi(chart(report["by_day"], console.width, console.is_terminal)))


def main(argv: list[str]) -> int:
    parser = ArgumentParser(prog="pairterm stats", description=__doc__)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--log", metavar="FILE", help="log file (default: the platform state dir)")
    parser.add_argument("--since", metavar="YYYY-MM-DD", help="only events from this day on")
    parser.add_argument("--until", metavar="YYYY-MM-DD", help="only events up to this day")
    parser.add_argument("--days", type=int, metavar="N", help="only the last N days (today too)")
    args = parser.parse_args(argv)
    path = Path(args.log).expanduser() if args.log else paths.log_file()
    report = build_report(path, *window(args.since, args.until, args.days))
    if args.json:
        json.dump(report, sys.stdout)
        sys.stdout.write("\n")
        return 0
    render(report)
    return 0
