"""Metric tools: each returns a short text for the model and a Computation for the user."""

from semantic_layer.catalog import Metric
from semantic_layer.compiler import CustomerQuery, Filter, MetricQuery
from semantic_layer.engine import Engine, QueryResult
from semantic_layer.formatting import format_value
from semantic_layer.periods import Period as Span
from semantic_layer.periods import month_end, month_start, add_months, previous_period, previous_year

from .artifacts import Chart, Comparison, Computation, Period, jsonable, unit_of
from .customer_tools import shown_columns

MAX_ROWS_FOR_MODEL = 40
BRIDGE_METRICS = [
    "opening_mrr", "new_mrr", "reactivation_mrr", "expansion_mrr", "upgrade_mrr", "cross_sell_mrr",
    "seat_expansion_mrr", "contraction_mrr", "downgrade_mrr", "item_removed_mrr", "seat_contraction_mrr",
    "churned_mrr", "fx_mrr", "mrr", "net_new_mrr", "mrr_growth_rate",
]


def _filters(args) -> list[Filter]:
    return [Filter(**f.model_dump()) for f in args.filters]


def _fmt(engine: Engine, value, metric: Metric) -> str:
    return format_value(value, metric.unit, engine.settings.reporting_currency)


def movement_of(engine: Engine, metric: Metric) -> str | None:
    """The ledger movement whose customers make up the metric (None for ratios)."""
    measures = engine.catalog.measures_of(metric.name)
    if len(measures) != 1:
        return None
    m = measures[0]
    if m.kind == "movement":
        return (m.movements or m.components)[0]
    if m.kind == "count":
        return m.change
    if m.kind == "stock":
        return "mrr"
    return None


def _result_rows(result: QueryResult) -> list[dict]:
    return [{k: v for k, v in row.items() if not k.startswith("m_")} for row in result.rows]


def _inputs(engine: Engine, result: QueryResult) -> list[dict]:
    """The measures behind a single-row result, labelled: the computation's inputs."""
    row = result.rows[0]
    inputs = []
    for metric in result.metrics:
        for measure in engine.catalog.measures_of(metric.name):
            entry = {"input": measure.label, "value": row[f"m_{measure.name}"], "measure": measure.name}
            if entry not in inputs:
                inputs.append(entry)
    return inputs


def _headline(engine: Engine, result: QueryResult, main: Metric, ranked: bool) -> tuple[float | None, str | None]:
    """The answer's number, and the SQL of the extra query when the number needed one."""
    rows = result.rows
    if not rows:
        return None, None
    if ranked:
        return rows[0][main.name], None
    flow = engine.catalog.is_flow(main.name)
    if result.query.group_by:
        if main.type == "ratio" or main.name in ("arpa", "ltv") or not (flow or main.unit in ("currency", "count")):
            return None, None
        last = rows if flow else [r for r in rows if r["period_start"] == rows[-1]["period_start"]]
        return sum(r[main.name] or 0 for r in last), None
    if len(rows) == 1:
        return rows[0][main.name], None
    if flow:
        return sum(r[main.name] or 0 for r in rows), None
    if engine.catalog.at_period_end(main.name):
        return rows[-1][main.name], None
    # A rate over the whole range (NRR for 2025) is none of its periods' rates: compute it for the range.
    whole = engine.run(result.query.model_copy(update={"grain": None}))
    return whole.rows[0][main.name], whole.sql


def _chart(engine: Engine, result: QueryResult, main: Metric) -> Chart | None:
    rows = _result_rows(result)
    query = result.query
    unit = unit_of(main, engine.settings.reporting_currency)
    same_unit = [m.name for m in result.metrics if m.unit == main.unit]
    if query.grain and not query.group_by and len(rows) > 1:
        return Chart(kind="line", title=f"{main.label} by {query.grain}", x="period_start", series=same_unit,
                     rows=jsonable([{k: r[k] for k in ["period_start"] + same_unit} for r in rows]), unit=unit)
    if query.group_by and len(query.group_by) == 1:
        dim = query.group_by[0]
        if query.grain and len({r["period_start"] for r in rows}) > 1:
            pivot: dict = {}
            for r in rows:
                pivot.setdefault(r["period_start"], {"period_start": r["period_start"]})[str(r[dim])] = r[main.name]
            groups = list(dict.fromkeys(str(r[dim]) for r in rows))
            return Chart(kind="line", title=f"{main.label} by {query.grain} and {dim}", x="period_start", series=groups,
                         rows=jsonable(list(pivot.values())), unit=unit)
        return Chart(kind="bar", title=f"{main.label} by {dim}", x=dim, series=[main.name],
                     rows=jsonable([{dim: str(r[dim]), main.name: r[main.name]} for r in rows]), unit=unit)
    return None


def _text_for_model(engine: Engine, result: QueryResult, title: str) -> str:
    rows = _result_rows(result)
    units = {m.name: m for m in result.metrics}
    lines = [title]
    for row in rows[:MAX_ROWS_FOR_MODEL]:
        parts = [f"{row['period_start']}..{row['period_end']}"]
        parts += [f"{d}={row[d]}" for d in result.query.group_by]
        parts += [f"{name}={_fmt(engine, row[name], units[name])}" for name in units]
        lines.append("; ".join(parts))
    if len(rows) > MAX_ROWS_FOR_MODEL:
        lines.append(f"... {len(rows) - MAX_ROWS_FOR_MODEL} more rows (shown to the user in full)")
    return "\n".join(lines)


def query_metrics(engine: Engine, args) -> tuple[str, dict]:
    query = MetricQuery(
        metrics=args.metrics, start=args.start, end=args.end, grain=args.grain, group_by=args.group_by,
        filters=_filters(args), order_by=args.order_by, descending=args.descending, limit=args.limit,
    )
    result = engine.run(query, with_measures=True)
    main = engine.catalog.get(args.order_by or args.metrics[0])
    ranked = bool(args.order_by and args.group_by)
    value, whole_sql = _headline(engine, result, main, ranked)
    unit = unit_of(main, engine.settings.reporting_currency)
    computation = Computation(
        tool="query_metrics",
        title=", ".join(m.label for m in result.metrics),
        value=value, unit=unit, metric=main.name,
        period=Period(start=args.start, end=args.end),
        formula="; ".join(m.formula for m in result.metrics),
        sql=[result.sql] + ([whole_sql] if whole_sql else []),
        table=jsonable(_result_rows(result)),
        chart=_chart(engine, result, main),
    )
    if len(result.rows) == 1:
        computation.inputs = jsonable(_inputs(engine, result))
    single = len(result.rows) == 1 and not args.group_by
    movement = movement_of(engine, main)
    if single and movement:
        customers, sql = engine.customers(CustomerQuery(movement=movement, start=args.start, end=args.end,
                                                        filters=query.filters, limit=5))
        computation.customers = jsonable(shown_columns(customers, movement))
        computation.sql.append(sql)
    text = _text_for_model(engine, result, f"query_metrics {args.start}..{args.end}:")
    compare = _comparison_span(args)
    if compare:
        other = engine.run(query.model_copy(update={"start": compare.start, "end": compare.end}), with_measures=False)
        computation.sql.append(other.sql)
        if single:
            other_value = other.rows[0][main.name]
            # The change runs forward in time, whichever period was named first.
            earlier, later = (other_value, value) if compare.start < args.start else (value, other_value)
            change = None if earlier is None or later is None else later - earlier
            percent = None if change is None or not earlier else change / abs(earlier) * 100
            computation.comparison = Comparison(period=Period(start=compare.start, end=compare.end), value=other_value,
                                                change=change, change_percent=percent)
            bars = sorted([(compare.start, compare.end, other_value), (args.start, args.end, value)])
            computation.chart = Chart(kind="bar", title=main.label, x="period", series=[main.name], unit=unit,
                                      rows=[{"period": f"{s}..{e}", main.name: v} for s, e, v in bars])
        else:
            computation.notes.append(f"comparison period {compare.start}..{compare.end} shown in the table")
            computation.table += jsonable([{**r, "compared": True} for r in _result_rows(other)])
        text += "\n" + _text_for_model(engine, other, f"comparison {compare.start}..{compare.end}:")
    return text, computation.dump()


def _comparison_span(args) -> Span | None:
    if args.compare_start and args.compare_end:
        return Span(args.compare_start, args.compare_end)
    if args.compare_to == "previous_year":
        return previous_year(args.start, args.end)
    if args.compare_to == "previous_period":
        return previous_period(args.start, args.end)
    return None


def mrr_bridge(engine: Engine, args) -> tuple[str, dict]:
    query = MetricQuery(metrics=BRIDGE_METRICS, start=args.start, end=args.end, filters=_filters(args))
    result = engine.run(query)
    row = result.rows[0]
    steps = [
        ("MRR at start", row["opening_mrr"], "total"),
        ("New", row["new_mrr"], "relative"),
        ("Reactivation", row["reactivation_mrr"], "relative"),
        ("Expansion", row["expansion_mrr"], "relative"),
        ("Contraction", -row["contraction_mrr"], "relative"),
        ("Churn", -row["churned_mrr"], "relative"),
        ("FX", row["fx_mrr"], "relative"),
    ]
    # Filtered by plan / product / currency, items that change group move MRR without a
    # movement of that group (rulebook §4 attributes a change to one row): show it.
    moved = row["mrr"] - sum(amount for _, amount, _ in steps)
    if abs(moved) > 1e-6:
        steps.append(("Moved between groups", moved, "relative"))
    steps.append(("MRR at end", row["mrr"], "total"))
    currency = engine.settings.reporting_currency
    discount_up = row["expansion_mrr"] - row["upgrade_mrr"] - row["cross_sell_mrr"] - row["seat_expansion_mrr"]
    discount_down = row["contraction_mrr"] - row["downgrade_mrr"] - row["item_removed_mrr"] - row["seat_contraction_mrr"]
    step = {name: amount for name, amount, _ in steps}
    inputs = [{"step": name, "amount": amount} for name, amount in [
        ("MRR at start", step["MRR at start"]), ("New", step["New"]), ("Reactivation", step["Reactivation"]),
        ("Expansion", step["Expansion"]),
        ("  upgrades", row["upgrade_mrr"]), ("  cross-sells", row["cross_sell_mrr"]),
        ("  seat expansion", row["seat_expansion_mrr"]), ("  discounts ending / price increases", discount_up),
        ("Contraction", step["Contraction"]),
        ("  downgrades", -row["downgrade_mrr"]), ("  removed items", -row["item_removed_mrr"]),
        ("  seat contraction", -row["seat_contraction_mrr"]), ("  new discounts / price cuts", -discount_down),
        ("Churn", step["Churn"]), ("FX", step["FX"]),
        *([("Moved between groups", step["Moved between groups"])] if "Moved between groups" in step else []),
        ("MRR at end", step["MRR at end"]),
    ]]
    computation = Computation(
        tool="mrr_bridge", title="MRR bridge", value=row["mrr"], unit=currency, metric="mrr",
        period=Period(start=args.start, end=args.end),
        formula="MRR at end = MRR at start + new + reactivation + expansion - contraction - churn + fx",
        sql=[result.sql], inputs=inputs, table=jsonable(result.rows),
        chart=Chart(kind="waterfall", title="MRR bridge", x="step", series=["amount"], unit=currency,
                    rows=[{"step": name, "amount": amount, "measure": kind} for name, amount, kind in steps]),
    )
    text = (f"mrr_bridge {args.start}..{args.end}: " + "; ".join(f"{name}={amount:.2f} {currency}" for name, amount, _ in steps)
            + f"; net_new_mrr={row['net_new_mrr']:.2f}; mrr_growth_rate={row['mrr_growth_rate']}")
    return text, computation.dump()


def list_metrics(engine: Engine, args) -> tuple[str, dict]:
    metrics = list(engine.catalog.metrics.values())
    table = [{"metric": m.name, "label": m.label, "unit": unit_of(m, engine.settings.reporting_currency),
              "description": m.description} for m in metrics]
    text = "metrics: " + "; ".join(f"{m.name} ({m.label}): {m.description}" for m in metrics)
    return text, Computation(tool="list_metrics", title="Metric catalog", table=table).dump()


def describe_metric(engine: Engine, args) -> tuple[str, dict]:
    metric = engine.catalog.get(args.metric)
    last = month_start(engine.last_date) if engine.last_date else None
    sql = []
    if last:
        # The SQL template, shown for the last full month of the data.
        start = add_months(last, -1) if engine.last_date != month_end(engine.last_date) else last
        sql = [engine.compile(MetricQuery(metrics=[metric.name], start=start, end=month_end(start))).text()]
    computation = Computation(
        tool="describe_metric", title=metric.label, metric=metric.name,
        unit=unit_of(metric, engine.settings.reporting_currency), formula=metric.formula, sql=sql,
        inputs=[{"input": m.label, "measure": m.name} for m in engine.catalog.measures_of(metric.name)],
        table=[{"name": metric.name, "label": metric.label, "type": metric.type, "unit": metric.unit,
                "description": metric.description, "also called": ", ".join(metric.synonyms[:6])}],
        notes=[metric.caveats] if metric.caveats else [],
    )
    text = f"{metric.name} ({metric.label}, {metric.type}, unit {metric.unit}): {metric.description} Formula: {metric.formula}"
    if metric.caveats:
        text += f" Caveat: {metric.caveats}"
    return text, computation.dump()
