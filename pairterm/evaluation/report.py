"""Summaries as terminal tables, a markdown table shaped like the paper's Table 1, and a chart."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from rich.console import Console
from rich.table import Table

from pairterm.evaluation.metrics import METRICS

LABELS = {
    "pass_at_1": "Pass@1",
    "accept_ratio": "Accept Ratio",
    "dpr": "Discounted Pass Rate",
    "accepted_char_share": "Accepted chars",
    "suggestions_per_100_chars": "Suggestions /100 chars",
    "mean_suggestion_chars": "Mean suggestion chars",
}
_DIGITS = {"suggestions_per_100_chars": 2, "mean_suggestion_chars": 1}


def fmt(summary: Mapping[str, object], metric: str) -> str:
    """`0.218 (±0.019)`, as the paper prints it; `–` when the metric is undefined."""
    mean, se = summary.get(metric), summary.get(f"{metric}_se")
    if not isinstance(mean, int | float):
        return "–"
    digits = _DIGITS.get(metric, 3)
    text = f"{mean:.{digits}f}"
    if isinstance(se, int | float):
        text += f" (±{se:.{digits}f})"
    return text


def summary_table(summary: Mapping[str, object], title: str = "pairterm eval") -> Table:
    settings = summary.get("settings")
    caption = None
    if isinstance(settings, Mapping):
        adapter = Path(str(settings["adapter"])).name if settings.get("adapter") else "no adapter"
        human = "replay" if settings.get("human") == "replay" else Path(str(settings.get("human"))).name
        caption = (
            f"{Path(str(settings.get('model'))).name} + {adapter}, η={settings.get('eta')}, "
            f"max {settings.get('max_tokens')} tokens; human: {human}, "
            f"K_H={settings.get('human_tokens')}, ≤{settings.get('max_rounds')} rounds"
        )
    table = Table(title=title, caption=caption)
    table.add_column("metric")
    table.add_column("mean (± s.e.)", justify="right")
    for metric in METRICS:
        table.add_row(LABELS[metric], fmt(summary, metric))
    table.add_row("Documents", str(summary.get("n_documents")))
    table.add_row("Suggestions shown / accepted", f"{summary.get('proposed')} / {summary.get('accepted')}")
    dpm = summary.get("documents_per_minute")
    table.add_row("Documents per minute", f"{dpm:.2f}" if isinstance(dpm, int | float) else "–")
    return table


def print_summary(
    summary: Mapping[str, object], title: str = "pairterm eval", console: Console | None = None
) -> None:
    (console or Console()).print(summary_table(summary, title))


SHORT = {
    "pass_at_1": "pass@1",
    "accept_ratio": "accept",
    "dpr": "DPR",
    "accepted_char_share": "acc. chars",
    "suggestions_per_100_chars": "sugg/100ch",
    "mean_suggestion_chars": "sugg chars",
}


def compact(summary: Mapping[str, object], metric: str) -> str:
    """The mean over its standard error on a second, dim line: narrow enough for 80 columns."""
    mean, _, se = fmt(summary, metric).partition(" (")
    return f"{mean}\n[dim]{se.rstrip(')')}[/]" if se else mean


def rows_table(rows: Sequence[Mapping[str, object]], title: str) -> Table:
    """The comparison for the terminal; the base model (the same for every row) goes in the title."""
    models = sorted({str(r["base_model"]) for r in rows})
    table = Table(title=f"{title} — {', '.join(models)}")
    table.add_column("row")
    for metric in METRICS:
        table.add_column(SHORT[metric], justify="right")
    table.add_column("docs/min", justify="right")
    for row in rows:
        summary = row["summary"]
        assert isinstance(summary, Mapping)
        dpm = summary.get("documents_per_minute")
        table.add_row(
            str(row["name"]),
            *(compact(summary, m) for m in METRICS),
            f"{dpm:.1f}" if isinstance(dpm, int | float) else "–",
        )
    return table


def markdown_table(rows: Sequence[Mapping[str, object]], caption: str) -> str:
    """Rows as the paper's Table 1: base model, name, metrics with standard errors."""
    header = ["Base Model", "Name", *(f"{LABELS[m]} (↑)" for m in METRICS[:3])]
    header += [LABELS[m] for m in METRICS[3:]]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        summary = row["summary"]
        assert isinstance(summary, Mapping)
        cells = [str(row["base_model"]), str(row["name"]), *(fmt(summary, m) for m in METRICS)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + f"\n\n{caption}\n"


def write_text_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def chart(rows: Sequence[Mapping[str, object]], path: Path, title: str) -> None:
    """Grouped bars of accept ratio and DPR per row, with standard-error whiskers."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = ("accept_ratio", "dpr", "accepted_char_share")
    names = [str(r["name"]) for r in rows]
    width = 0.8 / len(metrics)
    fig, ax = plt.subplots(figsize=(max(6.0, 1.1 * len(rows) + 2), 4.0))
    for i, metric in enumerate(metrics):
        means, errs = [], []
        for row in rows:
            s = row["summary"]
            assert isinstance(s, Mapping)
            mean, se = s.get(metric), s.get(f"{metric}_se")
            means.append(float(mean) if isinstance(mean, int | float) else 0.0)
            errs.append(float(se) if isinstance(se, int | float) else 0.0)
        xs = [j + (i - (len(metrics) - 1) / 2) * width for j in range(len(rows))]
        ax.bar(xs, means, width, yerr=errs, capsize=3, label=LABELS[metric])
    ax.set_xticks(range(len(rows)), names, rotation=20, ha="right")
    ax.set_ylim(0, 1)
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=120)
    plt.close(fig)
    os.replace(tmp, path)
