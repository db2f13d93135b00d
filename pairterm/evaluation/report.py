"""Summaries as terminal tables, a markdown table shaped like the paper's Table 1, and a chart."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

from rich.console import Console
from rich.table import Table

from pairterm import atomic
from pairterm.errors import UserError
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
    atomic.write_text(path, text)


def _mean_err(rows: Sequence[Mapping[str, object]], metric: str) -> tuple[list[float], list[float]]:
    means, errs = [], []
    for row in rows:
        s = row["summary"]
        assert isinstance(s, Mapping)
        mean, se = s.get(metric), s.get(f"{metric}_se")
        means.append(float(mean) if isinstance(mean, int | float) else math.nan)
        errs.append(float(se) if isinstance(se, int | float) else 0.0)
    return means, errs


def chart(rows: Sequence[Mapping[str, object]], path: Path, title: str) -> None:
    """Left: accept ratio and accepted-character share as bars. Right: DPR as points with
    standard-error whiskers on a zoomed axis — DPR sits near 1 for every row because writing
    dominates its exponent, so bars from zero would hide the differences."""
    try:
        import matplotlib
    except ModuleNotFoundError:
        raise UserError(
            "the chart needs matplotlib: pip install 'pairterm[train]' (results.json and "
            "table.md were written)"
        ) from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [str(r["name"]) for r in rows]
    xs = list(range(len(rows)))
    fig, (left, right) = plt.subplots(
        1, 2, figsize=(max(8.0, 1.6 * len(rows) + 3), 4.5), gridspec_kw={"width_ratios": [3, 2]}
    )
    bars = ("accept_ratio", "accepted_char_share")
    width = 0.8 / len(bars)
    for i, metric in enumerate(bars):
        means, errs = _mean_err(rows, metric)
        offset = (i - (len(bars) - 1) / 2) * width
        left.bar([x + offset for x in xs], means, width, yerr=errs, capsize=3, label=LABELS[metric])
    left.set_ylim(0, 1)
    left.set_title("acceptance (↑)")
    left.legend(loc="upper left", fontsize="small")
    means, errs = _mean_err(rows, "dpr")
    right.errorbar(xs, means, yerr=errs, fmt="o", capsize=4, color="tab:orange")
    right.set_title("Discounted Pass Rate (↑, zoomed axis)")
    for ax in (left, right):
        ax.set_xticks(xs, names, rotation=25, ha="right", fontsize="small")
        ax.set_xlim(-0.6, len(rows) - 0.4)
    fig.suptitle(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with atomic.replacing(path, suffix=".tmp.png") as tmp:  # the suffix picks the format
            fig.savefig(tmp, dpi=120)
    finally:
        plt.close(fig)
