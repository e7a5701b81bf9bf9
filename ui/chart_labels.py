"""A computation's chart as the app and the reports draw it: a series over periods is labelled
by the period the answer's text names, on a categorical axis.

The tools key a series by each period's first day; drawn on a date axis that put a quarter's
stock (NRR on 2025-09-30 in the text) at 2025-07-01 and ticked three months as "Jan 11, Jan 25".
"""

from datetime import date

from semantic_layer.catalog import load_catalog
from semantic_layer.periods import unit_of

PERIOD_KEY = "period_start"  # the x of a series over periods
SPAN_KEY = "period"  # the x of a comparison's bars: "start..end"


def display_chart(computation: dict) -> dict | None:
    chart = computation.get("chart")
    if not chart or chart["x"] not in (PERIOD_KEY, SPAN_KEY):
        return chart
    metric = computation.get("metric")
    stock = bool(metric) and not load_catalog().is_flow(metric)
    ends = {r["period_start"]: r["period_end"] for r in computation.get("table", []) if "period_end" in r}
    rows = []
    for row in chart["rows"]:
        if chart["x"] == SPAN_KEY:
            start, _, end = str(row[SPAN_KEY]).partition("..")
            label = calendar_label(start, end) or f"{start} to {end}"
        else:
            start, end = row[PERIOD_KEY], ends.get(row[PERIOD_KEY], row[PERIOD_KEY])
            # Otherwise the day the text names a period by: a stock's last day, a flow's first.
            label = calendar_label(start, end) or (end if stock else start)
        rows.append({**{k: v for k, v in row.items() if k != chart["x"]}, "period": label})
    return {**chart, "x": "period", "rows": rows}


def calendar_label(start: str, end: str) -> str | None:
    """"Jan 2026", "Q3 2025" or "2025" for a whole calendar month, quarter or year: it names
    the period whether the text gives its last day (a stock) or its two ends (a flow)."""
    first, last = date.fromisoformat(start), date.fromisoformat(end)
    return {"month": f"{first:%b %Y}", "quarter": f"Q{(first.month - 1) // 3 + 1} {first.year}",
            "year": str(first.year)}.get(unit_of(first, last))
