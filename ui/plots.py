"""Interactive charts for the browser: Plotly figures, which Gradio draws on the client (the
server only sends their data). Reports use the matplotlib images of charts.py."""

import plotly.graph_objects as go

from .charts import COLORS, DOWN, TOTAL, UP

LAYOUT = dict(height=340, margin=dict(l=50, r=20, t=45, b=60), template="plotly_white", legend=dict(orientation="h"))


def _axis(unit: str | None) -> dict:
    if unit == "%":
        return dict(ticksuffix="%", title="percent")
    if unit in (None, "ratio"):
        return {}
    # Amounts and counts from zero: a line zoomed to its range made a 13.7k -> 10.1k dip look like a crash.
    if unit == "customers":
        return dict(title="customers", rangemode="tozero")
    return dict(tickformat=",.0f", title=unit, rangemode="tozero")


def figure(chart: dict) -> go.Figure:
    rows, x = chart["rows"], chart["x"]
    labels = [str(r[x]) for r in rows]
    fig = go.Figure()
    if chart["kind"] == "waterfall":
        fig.add_trace(go.Waterfall(
            x=[r["step"] for r in rows], y=[r["amount"] for r in rows],
            measure=["absolute" if r.get("measure") == "total" else "relative" for r in rows],
            texttemplate="%{y:,.0f}", textposition="outside", cliponaxis=False,  # labels above the top bar stay whole
            increasing=dict(marker_color=UP), decreasing=dict(marker_color=DOWN), totals=dict(marker_color=TOTAL),
        ))
        # From zero, as bars must be: a zoomed axis made a +2.7 % month look like +35 % (every bar is labelled).
        fig.update_yaxes(rangemode="tozero")
    else:
        for i, name in enumerate(chart["series"]):
            values = [r.get(name) for r in rows]
            color = COLORS[i % len(COLORS)]
            trace = go.Bar(x=labels, y=values, name=name, marker_color=color) if chart["kind"] == "bar" else \
                go.Scatter(x=labels, y=values, name=name, mode="lines+markers", line=dict(color=color))
            fig.add_trace(trace)
        fig.update_xaxes(type="category")  # periods and groups as labelled, never read as dates
    fig.update_layout(title=chart["title"], showlegend=len(chart.get("series", [])) > 1, **LAYOUT)
    fig.update_yaxes(**_axis(chart.get("unit")))
    return fig
