"""`pairterm stats` on fixed hand-made logs: the aggregation core, then the command."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pairterm import cli, paths
from pairterm.stats_core import aggregate, parse_lines, percentile

DAY1 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC).timestamp()
DAY2 = datetime(2026, 1, 6, 23, 30, tzinfo=UTC).timestamp()
MODEL = "SmolLM2-135M-Instruct.Q4_1.gguf"


def ev(event: str, ts: float, session: str = "s1", source: str = "repl", **kw: object) -> dict:
    base = {"v": 1, "ts": ts, "event": event, "source": source, "session": session}
    return {**base, "model": MODEL, "adapter": None, **kw}


def proposed(ts: float, id: int, chars: int, latency: float, **kw: object) -> dict:
    return ev(
        "proposed",
        ts,
        id=id,
        chars=chars,
        tokens=3,
        bits=2.0,
        latency_ms=latency,
        stop_reason="eta",
        **kw,
    )


# Day 1, repl, base model: four suggestions; #1 taken in full, #2 in two parts, #3 dismissed,
# #4 ignored; 4 of the accepted characters deleted soon after.
# Day 2, editor, with an adapter, another session reusing id 1: taken in full.
LOG = [
    proposed(DAY1, 1, 10, 100.0),
    ev("accepted", DAY1 + 1, id=1, chars=10, full=True),
    proposed(DAY1 + 2, 2, 20, 200.0),
    ev("accepted", DAY1 + 3, id=2, chars=5, full=False),
    ev("accepted", DAY1 + 4, id=2, chars=3, full=False),
    proposed(DAY1 + 5, 3, 30, 300.0),
    ev("dismissed", DAY1 + 6, id=3),
    proposed(DAY1 + 7, 4, 40, 400.0),
    ev("typed", DAY1 + 8, chars=25),
    ev("deleted", DAY1 + 9, chars=6, accepted_chars=4, id=2),
    proposed(DAY2, 1, 8, 50.0, session="s2", source="editor", adapter="mine.gguf"),
    ev("accepted", DAY2 + 1, "s2", "editor", id=1, chars=8, full=True, adapter="mine.gguf"),
]


def lines(events: list[dict]) -> list[bytes]:
    return [json.dumps(e).encode() + b"\n" for e in events]


def test_percentile_interpolates_between_ranks() -> None:
    assert percentile([], 0.5) is None
    assert percentile([7.0], 0.95) == 7.0
    assert percentile([400.0, 100.0, 300.0, 200.0], 0.5) == 250.0
    assert percentile([50.0, 100.0, 200.0, 300.0, 400.0], 0.95) == pytest.approx(380.0)


def test_aggregate_totals_per_day_model_and_source() -> None:
    report = aggregate(parse_lines(lines(LOG)).events, tz=UTC).to_dict()
    total = report["total"]
    assert total == {
        "shown": 5,
        "accepted": 3,
        "accepted_full": 2,
        "accepted_partial": 1,
        "acceptance_rate": 0.6,
        "full_rate": 0.4,
        "partial_rate": 0.2,
        "chars_accepted": 26,
        "chars_deleted_after_accept": 4,
        "deleted_per_accepted": 1.33,
        "chars_typed": 25,
        "mean_suggestion_chars": 21.6,
        "latency_p50_ms": 200.0,
        "latency_p95_ms": 380.0,
    }
    day1, day2 = report["by_day"]
    assert day1["day"] == "2026-01-05" and day2["day"] == "2026-01-06"
    assert (day1["shown"], day1["acceptance_rate"], day1["chars_accepted"]) == (4, 0.5, 18)
    assert (day1["full_rate"], day1["partial_rate"]) == (0.25, 0.25)
    assert (day1["latency_p50_ms"], day1["latency_p95_ms"]) == (250.0, 385.0)
    assert (day2["shown"], day2["accepted_full"], day2["mean_suggestion_chars"]) == (1, 1, 8.0)
    models = {m["model"]: m for m in report["by_model"]}
    assert set(models) == {MODEL, f"{MODEL} + mine.gguf"}
    assert models[f"{MODEL} + mine.gguf"]["chars_accepted"] == 8
    assert models[MODEL]["chars_deleted_after_accept"] == 4
    sources = {s["source"]: s["shown"] for s in report["by_source"]}
    assert sources == {"repl": 4, "editor": 1}
    pairs = [(r["day"], r["model"], r["shown"]) for r in report["by_day_model"]]
    assert pairs == [("2026-01-05", MODEL, 4), ("2026-01-06", f"{MODEL} + mine.gguf", 1)]
    assert report["unmatched_accepts"] == 0


def test_day_follows_the_time_zone_asked_for() -> None:
    from datetime import timedelta, timezone

    report = aggregate(parse_lines(lines(LOG)).events, tz=timezone(timedelta(hours=2)))
    # 23:30 UTC on the 6th is already the 7th two hours east.
    assert sorted(report.by_day) == ["2026-01-05", "2026-01-07"]


def test_an_accept_without_its_proposal_is_not_counted() -> None:
    orphan = ev("accepted", DAY1, session="gone", id=9, chars=50, full=True)
    report = aggregate(parse_lines(lines([*LOG, orphan])).events, tz=UTC)
    assert report.unmatched_accepts == 1
    assert report.total.to_dict()["chars_accepted"] == 26


def test_corrupt_truncated_and_foreign_lines_are_skipped_and_counted() -> None:
    raw = lines(LOG) + [
        b"\xff\xfe not utf-8\n",
        b"[1, 2, 3]\n",
        b'{"v": 1, "ts": 5, "event": "proposed"}\n',  # fields missing
        b'{"v": 1, "ts": 5, "event": "launched", "id": 1}\n',
        b"\n",
        json.dumps({**LOG[0], "v": 2}).encode() + b"\n",
        b'{"v": 1, "ts": 1767607300.0, "event": "acce',  # cut off mid-write
    ]
    read = parse_lines(raw)
    assert (read.lines, len(read.events), read.corrupt, read.other_version) == (18, 12, 5, 1)
    assert dict(read.other_versions) == {"2": 1}
    assert aggregate(read.events, tz=UTC).total.shown == 5


@pytest.fixture
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def write_log(raw: list[bytes]) -> Path:
    path = paths.log_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(raw))
    return path


def test_no_log_yet_says_so_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["stats"]) == 0
    assert "No interaction log yet" in capsys.readouterr().out
    assert cli.main(["stats", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["exists"] is False and data["events"] == 0


def test_json_is_one_object_with_notes_on_skipped_lines(
    utc: None, capsys: pytest.CaptureFixture[str]
) -> None:
    write_log(lines(LOG) + [b"{broken\n", json.dumps({**LOG[0], "v": 7}).encode() + b"\n"])
    assert cli.main(["stats", "--json"]) == 0
    out = capsys.readouterr().out
    data = json.loads(out)
    assert out.count("\n") == 1
    assert data["lines"] == {"total": 14, "read": 12, "corrupt": 1, "other_version": 1}
    assert data["total"]["acceptance_rate"] == 0.6
    assert [d["day"] for d in data["by_day"]] == ["2026-01-05", "2026-01-06"]
    assert any("v7" in note and "reads v1" in note for note in data["notes"])


def test_tables_and_chart(utc: None, capsys: pytest.CaptureFixture[str]) -> None:
    write_log(lines(LOG) + [b'{"v": 1, "ts": 3, "eve'])
    assert cli.main(["stats"]) == 0
    captured = capsys.readouterr()
    assert "Per day" in captured.out and "Per model / adapter" in captured.out
    row = next(line for line in captured.out.splitlines() if line.strip().startswith("2026-01-05"))
    assert row.split()[1:5] == ["4", "50.0", "25.0", "25.0"]  # shown, acc%, full%, part%
    assert "suggestions accepted per day (%)" in captured.out
    assert "01-06" in captured.out  # the chart's axis
    assert "Overall: 5 suggestions shown, 60.0% accepted (2 in full, 1 in part)" in " ".join(
        captured.out.split()
    )
    assert "skipped 1 corrupt or truncated line(s)" in captured.err


def test_a_log_from_another_version_only_is_refused_with_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    write_log([json.dumps({**e, "v": 2}).encode() + b"\n" for e in LOG])
    assert cli.main(["stats"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "schema v2" in err and "reads v1" in err


def test_a_log_with_only_typing_has_no_suggestions_to_show(
    capsys: pytest.CaptureFixture[str],
) -> None:
    write_log(lines([ev("typed", DAY1, chars=3)]))
    assert cli.main(["stats"]) == 0
    assert "No suggestions logged yet" in capsys.readouterr().out


def test_a_window_reads_only_the_months_it_needs_from_a_year_of_logs(
    utc: None, capsys: pytest.CaptureFixture[str]
) -> None:
    current = paths.log_file()
    current.parent.mkdir(parents=True, exist_ok=True)
    months = [(2025, 12)] + [(2026, m) for m in range(1, 12)]
    for year, month in months:
        start = datetime(year, month, 1, 12, tzinfo=UTC).timestamp()
        body = [proposed(start + i * 60, i, 10, 100.0) for i in range(1, 20001)]
        raw = lines(body)
        raw.insert(10000, b"{corrupt\n")  # a parse of this month would report it
        name = current if (year, month) == (2026, 11) else current.with_name(
            f"interactions-{year}-{month:02d}.jsonl"
        )
        name.write_bytes(b"".join(raw))  # about 4 MB a month
    assert cli.main(["stats", "--json", "--since", "2026-10-15", "--until", "2026-11-30"]) == 0
    data = json.loads(capsys.readouterr().out)
    read = [Path(f).name for f in data["files_read"]]
    assert read == ["interactions-2026-10.jsonl", "interactions.jsonl"]
    assert len(data["files_skipped"]) == 10
    assert data["lines"]["corrupt"] == 2  # the other ten months were never parsed
    # a month's events run from the 1st 12:01 to the 15th 09:20: October's last 561 count
    assert data["total"]["shown"] == 20000 + 561 and data["window"]["outside"] == 20000 - 561
    assert cli.main(["stats", "--json"]) == 0  # no window: the whole year
    data = json.loads(capsys.readouterr().out)
    assert data["total"]["shown"] == 12 * 20000 and data["lines"]["corrupt"] == 12


def test_a_bad_window_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["--since", "yesterday"], ["--days", "0"], ["--since", "2026-02-01",
                 "--until", "2026-01-01"]):  # fmt: skip
        assert cli.main(["stats", *argv]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("pairterm: error:")
