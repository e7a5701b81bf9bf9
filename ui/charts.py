"""Charts of a computation, drawn with matplotlib: Gradio shows the figures natively and the
reports embed them as PNG."""

import io

from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

COLORS = ["#2563eb", "#16a34a", "#dc2626", "#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777"]
UP, DOWN, TOTAL = "#16a34a", "#dc2626", "#2563eb"


def _axis_format(unit: str | None):
    if unit == "%":
        return FuncFormatter(lambda v, _: f"{v:,.0f}%")
    if unit in (None, "ratio", "customers"):
        return FuncFormatter(lambda v, _: f"{v:,.0f}" if abs(v) >= 10 else f"{v:,.2f}")
    return FuncFormatter(lambda v, _: f"{v / 1000:,.0f}k" if abs(v) >= 10000 else f"{v:,.0f}")


def figure(chart: dict):
    """A matplotlib Figure for a chart of tools.artifacts.Chart (as a dict).

    Figures are made without pyplot: pyplot keeps every figure alive in a global registry and
    is not safe across the app's threads."""
    fig = Figure(figsize=(7.5, 3.6), dpi=110)
    ax = fig.subplots()
    rows, x = chart["rows"], chart["x"]
    labels = [str(r[x]) for r in rows]
    if chart["kind"] == "waterfall":
        _waterfall(ax, rows)
    elif chart["kind"] == "bar":
        series = chart["series"]
        width = 0.8 / len(series)
        for i, name in enumerate(series):
            positions = [p + i * width - 0.4 + width / 2 for p in range(len(rows))]
            ax.bar(positions, [r.get(name) or 0 for r in rows], width, label=name, color=COLORS[i % len(COLORS)])
        ax.set_xticks(range(len(rows)), labels, rotation=30 if len(rows) > 4 else 0, ha="right" if len(rows) > 4 else "center")
        if len(series) > 1:
            ax.legend(frameon=False)
    else:
        for i, name in enumerate(chart["series"]):
            ax.plot(labels, [r.get(name) for r in rows], marker="o", markersize=3, label=name, color=COLORS[i % len(COLORS)])
        step = max(1, len(labels) // 8)
        ax.set_xticks(range(0, len(labels), step), labels[::step], rotation=30, ha="right")
        if len(chart["series"]) > 1:
            ax.legend(frameon=False, fontsize=8)
    if chart["kind"] == "line" and chart.get("unit") not in (None, "%", "ratio"):
        # Amounts and counts from zero, as in the app (plots.py).
        low, high = ax.get_ylim()
        ax.set_ylim(min(low, 0), max(high, 0))
    ax.yaxis.set_major_formatter(_axis_format(chart.get("unit")))
    ax.set_title(chart["title"], fontsize=11, loc="left")
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", alpha=0.25)
    fig.tight_layout()
    return fig


def _waterfall(ax, rows: list[dict]) -> None:
    """Totals stand on the axis (from zero, never zoomed: see plots.py); each movement floats
    from the running total."""
    running = 0.0
    for i, row in enumerate(rows):
        amount = row["amount"] or 0.0
        if row.get("measure") == "total":
            ax.bar(i, amount, color=TOTAL)
            running = amount
            top = amount
        else:
            bottom = running if amount >= 0 else running + amount
            ax.bar(i, abs(amount), bottom=bottom, color=UP if amount >= 0 else DOWN)
            running += amount
            top = bottom + abs(amount)
        ax.annotate(f"{amount:+,.0f}" if row.get("measure") != "total" else f"{amount:,.0f}", (i, top),
                    ha="center", va="bottom", fontsize=7, xytext=(0, 2), textcoords="offset points")
    ax.set_xticks(range(len(rows)), [r["step"] for r in rows], rotation=20, ha="right", fontsize=8)


def png(chart: dict) -> bytes:
    buffer = io.BytesIO()
    figure(chart).savefig(buffer, format="png")
    return buffer.getvalue()
