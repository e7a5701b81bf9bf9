"""Compiling a metric query into one deterministic SQL statement, built as sqlglot expressions.

The statement has the same shape for every query: a `periods` table of literal dates, one fact
table per kind of measure that the asked metrics need (movements, change-point counts, stocks,
start cohorts, trailing churn), a grid of periods x groups that the facts are joined onto, and
the metric formulas from the catalog on top. User-given dimension names become quoted
identifiers and values become literals; nothing a user typed is pasted into SQL text.
"""

from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Literal

import sqlglot
from pydantic import BaseModel, Field, field_validator, model_validator
from sqlglot import exp

from .catalog import EXPRESSION_SETTINGS, Catalog, Measure, Metric
from .errors import QueryError
from .periods import (
    GRAINS,
    Grain,
    Period,
    bucket_start,
    month_start,
    split,
    trailing_months,
)
from .settings import Settings


class Filter(BaseModel):
    dimension: str
    op: Literal["eq", "ne", "in", "not_in"] = "eq"
    values: list[str] = Field(min_length=1)


class MetricQuery(BaseModel):
    metrics: list[str] = Field(min_length=1)
    start: date
    end: date
    grain: Grain | None = None
    group_by: list[str] = []
    filters: list[Filter] = []
    order_by: str | None = Field(default=None, description="a metric of the query to rank groups by")
    descending: bool = True
    limit: int | None = Field(default=None, ge=1)

    @field_validator("grain", mode="before")
    @classmethod
    def _no_grain(cls, value):
        return None if value in ("", "none", "total") else value

    @model_validator(mode="after")
    def _check(self):
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        if self.order_by is not None and self.order_by not in self.metrics:
            raise ValueError(f"order_by {self.order_by!r} must be one of the query's metrics")
        return self


MOVEMENTS = ("new", "reactivation", "expansion", "contraction", "churn", "fx")
COMPONENTS = ("upgrade", "downgrade", "seat_expansion", "seat_contraction", "cross_sell", "item_removed", "discount", "price")
# Losses are reported as positive amounts, like their metrics.
NEGATIVE = {"contraction", "churn", "downgrade", "seat_contraction", "item_removed"}


class CustomerQuery(BaseModel):
    """The customers behind a movement (or the largest by MRR) in a period."""

    movement: Literal[MOVEMENTS + COMPONENTS + ("mrr",)]
    start: date
    end: date
    filters: list[Filter] = []
    limit: int = Field(default=10, ge=1, le=1000)
    descending: bool = True

    @model_validator(mode="after")
    def _check(self):
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self


@dataclass(frozen=True)
class Dimensions:
    customer: tuple[str, ...]
    item: tuple[str, ...]

    def source(self, name: str) -> str:
        if name in self.item:
            return "item"
        if name in self.customer:
            return "customer"
        known = ", ".join(sorted(set(self.customer) | set(self.item)))
        raise QueryError(f"unknown dimension {name!r}; the data has: {known}")


@dataclass
class Compiled:
    sql: exp.Expression
    periods: list[Period]
    metrics: list[Metric]
    group_by: list[str]

    def text(self, dialect: str = "duckdb", pretty: bool = True) -> str:
        """The SQL; pretty-printing costs several milliseconds, so what is only executed is not."""
        return self.sql.sql(dialect=dialect, pretty=pretty)


def col(name: str, table: str | None = None) -> exp.Column:
    return exp.column(name, table=table, quoted=True)


def date_lit(d: date) -> exp.Expression:
    return exp.cast(exp.Literal.string(d.isoformat()), exp.DataType.Type.DATE)


@cache
def _parsed(sql: str) -> exp.Expression:
    return sqlglot.parse_one(sql, dialect="duckdb")


def cond(sql: str) -> exp.Expression:
    """A fixed SQL fragment written in this module (never user text). Parsing is slow, so each
    fragment is parsed once and copied: a tree node can only sit in one query."""
    return _parsed(sql).copy()


def _sum_when(condition: exp.Expression, value: exp.Expression) -> exp.Expression:
    return exp.Sum(this=exp.Case(ifs=[exp.If(this=condition, true=value)], default=exp.Literal.number(0)))


def _loss_sum(condition: exp.Expression, amount: exp.Expression) -> exp.Expression:
    """A sum of negative amounts reported as a positive one. Negating each amount rather than
    the sum keeps a sum of nothing at 0.0 instead of -0.0."""
    return _sum_when(condition, exp.Neg(this=amount))


def _in(column: exp.Expression, values: list[str]) -> exp.Expression:
    return exp.In(this=column, expressions=[exp.Literal.string(v) for v in values])


def _subquery(select: exp.Expression, alias: str) -> exp.Subquery:
    return exp.Subquery(this=select, alias=exp.TableAlias(this=exp.to_identifier(alias)))


def _bucket_number(d: date, grain: str) -> int:
    """A date's day, week (weeks start on Monday; day 1 of year 1 is a Monday), month, quarter
    or year, counted from a fixed origin."""
    if grain == "day":
        return d.toordinal()
    if grain == "week":
        return (d.toordinal() - 1) // 7
    if grain == "month":
        return d.year * 12 + d.month - 1
    if grain == "quarter":
        return (d.year * 12 + d.month - 1) // 3
    return d.year


@dataclass(frozen=True)
class Windows:
    """A table of date windows (a CTE) that are buckets of one grain, keyed by their bucket's
    offset from the anchor bucket: a dated row finds its window by an equality join on that
    key, which is much cheaper than a range join. With no grain there is a single window, 0.
    `first` and `last` are the first and last day the windows cover."""

    name: str
    grain: str | None
    anchor: date
    first: date
    last: date

    def key_of(self, d: date) -> int:
        return 0 if self.grain is None else _bucket_number(d, self.grain) - _bucket_number(self.anchor, self.grain)

    def key(self, day: exp.Expression) -> exp.Expression:
        """The SQL twin of key_of for a date column, valid for dates from the anchor on."""
        number = exp.Literal.number
        if self.grain is None:
            return number(0)
        if self.grain in ("day", "week"):
            days = exp.DateDiff(this=day, expression=date_lit(self.anchor), unit=exp.var("DAY"))
            return days if self.grain == "day" else exp.IntDiv(this=days, expression=number(7))
        if self.grain == "year":
            return exp.Sub(this=exp.Year(this=day), expression=number(self.anchor.year))
        month = exp.Add(this=exp.Mul(this=exp.Year(this=day), expression=number(12)), expression=exp.Month(this=day.copy()))
        if self.grain == "month":
            return exp.Sub(this=month, expression=number(self.anchor.year * 12 + self.anchor.month))
        quarter = exp.IntDiv(this=exp.paren(exp.Sub(this=month, expression=number(1))), expression=number(3))
        return exp.Sub(this=quarter, expression=number(_bucket_number(self.anchor, "quarter")))

    def join(self, select: exp.Select, day: exp.Column, alias: str = "w") -> exp.Select:
        """Rows of `select` dated within the windows, joined to their window."""
        on = exp.EQ(this=col("period", alias), expression=self.key(day.copy()))
        return select.join(exp.table_(self.name, alias=alias), on=on, copy=False).where(
            exp.Between(this=day.copy(), low=date_lit(self.first), high=date_lit(self.last)), copy=False)


class Compiler:
    def __init__(self, catalog: Catalog, dimensions: Dimensions, settings: Settings):
        self.catalog = catalog
        self.dims = dimensions
        self.settings = settings

    # ---- public -------------------------------------------------------------------------
    def compile(self, query: MetricQuery, with_measures: bool = False) -> Compiled:
        unknown = [m for m in query.metrics if m not in self.catalog.metrics]
        if unknown:
            raise QueryError(
                f"unknown metric {', '.join(map(repr, unknown))}; known: {', '.join(self.catalog.metrics)}"
            )
        if len(set(query.group_by)) != len(query.group_by):
            raise QueryError("a dimension appears twice in group_by")
        for name in query.group_by + [f.dimension for f in query.filters]:
            self.dims.source(name)
        self._start(query)
        periods = split(query.start, query.end, query.grain)
        metrics = [self.catalog.get(name) for name in query.metrics]
        measures = self._measures_of(metrics)

        ctes: list[tuple[str, exp.Expression]] = [
            ("periods", self._windows([(self.periods.key_of(p.start), p) for p in periods]))]
        facts: list[tuple[str, list[Measure]]] = []
        by_kind: dict[str, list[Measure]] = {}
        for measure in measures:
            by_kind.setdefault(measure.kind, []).append(measure)
        if not self.item_mode and by_kind.keys() & {"stock", "cohort", "trailing_churn"}:
            ctes.append(("customer_mrr_by_date", self._mrr_by_date()))
        if "movement" in by_kind:
            ctes.append(("f_movements", self._movement_fact(by_kind["movement"])))
            facts.append(("f_movements", by_kind["movement"]))
        if "count" in by_kind:
            ctes.append(("f_counts", self._count_fact(by_kind["count"])))
            facts.append(("f_counts", by_kind["count"]))
        for at in ("end", "start"):
            stocks = [m for m in by_kind.get("stock", []) if m.at == at]
            if stocks:
                ctes.append((f"f_stock_{at}", self._stock_fact(at, stocks)))
                facts.append((f"f_stock_{at}", stocks))
        if "cohort" in by_kind:
            ctes.append(("f_cohort", self._cohort_fact(self.periods, by_kind["cohort"])))
            facts.append(("f_cohort", by_kind["cohort"]))
        if "trailing_churn" in by_kind:
            measure = by_kind["trailing_churn"][0]
            ltv, months, pairs = self._trailing_months(periods, measure.months)
            ctes.append((ltv.name, self._windows([(ltv.key_of(m.start), m) for m in months])))
            ctes.append(("ltv_windows", self._pairs(pairs)))
            ctes.append(("f_trailing", self._trailing_fact(ltv, measure)))
            facts.append(("f_trailing", [measure]))
        if query.group_by:
            ctes.append(("groups", self._groups()))
        ctes.append(("measures", self._measures_table(facts)))

        final = self._final(metrics, measures if with_measures else [])
        for name, body in ctes:
            final = final.with_(name, as_=body, copy=False)
        return Compiled(final, periods, metrics, list(query.group_by))

    def compile_customers(self, query: CustomerQuery, customer_columns: tuple[str, ...]) -> exp.Expression:
        """Customers ranked by their amount of a movement in the period (losses as positive
        amounts), or by MRR on the period's last day, with the source rows behind them."""
        for f in query.filters:
            self.dims.source(f.dimension)
        self._start(MetricQuery(metrics=["mrr"], start=query.start, end=query.end, filters=query.filters))
        shown = [c for c in customer_columns if c != "customer_id"]
        if query.movement == "mrr":
            ctes = [("periods", self._windows([(0, Period(query.end, query.end))]))]
            source = _subquery(self._items_on("periods", "period_end", "end_month"), "t")
            select = sqlglot.select(col("customer_id", "t")).from_(source)
            select = self._dimension_joins(select, "t", "t.row_id")
            select = select.join(exp.table_("subscriptions", alias="src"), on=cond("src.row_id = t.row_id"), copy=False)
            amount = exp.Sum(this=col("mrr", "t"))
            changes = exp.Count(this=exp.Star())
            first, last = date_lit(query.end), date_lit(query.end)
        else:
            ctes = []
            kind = col("movement", "mv") if query.movement in MOVEMENTS else col("component", "mv")
            select = (
                sqlglot.select(col("customer_id", "mv")).from_(exp.table_("movements", alias="mv"))
                .join(exp.table_("subscriptions", alias="src"), on=cond("src.row_id = mv.row_id"), copy=False)
                .where(exp.Between(this=col("date", "mv"), low=date_lit(query.start), high=date_lit(query.end)), copy=False)
                .where(exp.EQ(this=kind, expression=exp.Literal.string(query.movement)), copy=False)
            )
            select = self._dimension_joins(select, "mv", "mv.row_id")
            amount = exp.Sum(this=exp.Neg(this=col("amount", "mv")) if query.movement in NEGATIVE else col("amount", "mv"))
            changes = cond("COUNT(DISTINCT mv.date)")
            first, last = cond("MIN(mv.date)"), cond("MAX(mv.date)")
        sources = cond("STRING_AGG(DISTINCT src._file || ' ' || src._loc, '; ')")
        inner = select.select(
            exp.alias_(amount, "amount", quoted=True), exp.alias_(changes, "changes", quoted=True),
            exp.alias_(first, "first_date", quoted=True), exp.alias_(last, "last_date", quoted=True),
            exp.alias_(sources, "sources", quoted=True), copy=False,
        ).group_by(col("customer_id", "mv" if query.movement != "mrr" else "t"), copy=False)
        outer = (
            sqlglot.select(col("customer_id", "x"), *[col(c, "cu") for c in shown], col("amount", "x"), col("changes", "x"),
                           col("first_date", "x"), col("last_date", "x"), col("sources", "x"))
            .from_(_subquery(inner, "x"))
            .join(exp.table_("customers", alias="cu"), on=cond("cu.customer_id = x.customer_id"), copy=False)
            .order_by(exp.Ordered(this=col("amount", "x"), desc=query.descending), col("customer_id", "x"), copy=False)
            .limit(query.limit, copy=False)
        )
        for name, body in ctes:
            outer = outer.with_(name, as_=body, copy=False)
        return outer

    def _start(self, query: MetricQuery) -> None:
        """The query being compiled: its periods' windows, and whether it groups or filters by
        an item attribute (which attributes customer-level figures to a largest item)."""
        self.query = query
        names = query.group_by + [f.dimension for f in query.filters]
        self.item_mode = any(self.dims.source(n) == "item" for n in names)
        anchor = bucket_start(query.start, query.grain) if query.grain else query.start
        self.periods = Windows("periods", query.grain, anchor, query.start, query.end)

    # ---- measures ---------------------------------------------------------------------------
    def _measures_of(self, metrics: list[Metric]) -> list[Measure]:
        found: dict[str, Measure] = {}

        def visit(name: str) -> None:
            if name in self.catalog.measures:
                found.setdefault(name, self.catalog.measures[name])
            elif name in self.catalog.metrics:
                for column in self.catalog.metrics[name].expression().find_all(exp.Column):
                    visit(column.name)

        for metric in metrics:
            visit(metric.name)
        return list(found.values())

    def _metric_expression(self, metric: Metric) -> exp.Expression:
        """The metric over measure columns; every division is undefined (null) at 0."""

        def guard_division(node: exp.Expression) -> exp.Expression:
            if isinstance(node, exp.Div):
                return exp.Div(this=node.this, expression=exp.Nullif(this=node.expression, expression=exp.Literal.number(0)))
            return node

        def resolve(node: exp.Expression) -> exp.Expression:
            if not isinstance(node, exp.Column):
                return node
            if node.name in self.catalog.measures:
                return col(f"m_{node.name}")
            if node.name in EXPRESSION_SETTINGS:
                return exp.Literal.number(getattr(self.settings, node.name))
            return exp.paren(self._metric_expression(self.catalog.get(node.name)))

        # expression() builds a new tree each time: transforming it in place is safe.
        return metric.expression().transform(guard_division, copy=False).transform(resolve, copy=False)

    # ---- building blocks --------------------------------------------------------------------
    @staticmethod
    def _windows(rows: list[tuple[int, Period]]) -> exp.Expression:
        """Literal windows: key, first and last day, the day before, and the months whose fx
        rate values the day before and the last day."""
        values = [
            exp.Tuple(expressions=[
                exp.Literal.number(key), date_lit(p.start), date_lit(p.end),
                date_lit(p.day_before), date_lit(month_start(p.day_before)), date_lit(month_start(p.end)),
            ])
            for key, p in rows
        ]
        columns = ["period", "period_start", "period_end", "day_before", "start_month", "end_month"]
        return Compiler._values(values, columns)

    @staticmethod
    def _pairs(pairs: list[tuple[int, int]]) -> exp.Expression:
        """Which month windows (ltv_months) make up each period's trailing window."""
        values = [exp.Tuple(expressions=[exp.Literal.number(p), exp.Literal.number(m)]) for p, m in pairs]
        return Compiler._values(values, ["period", "month"])

    @staticmethod
    def _values(rows: list[exp.Tuple], columns: list[str]) -> exp.Expression:
        alias = exp.TableAlias(this=exp.to_identifier("t"), columns=[exp.to_identifier(c, quoted=True) for c in columns])
        return sqlglot.select("*").from_(exp.Values(expressions=rows, alias=alias), copy=False)

    def _trailing_months(self, periods: list[Period], count: int) -> tuple[Windows, list[Period], list[tuple[int, int]]]:
        """The distinct months of the periods' trailing windows (each month's cohort is computed
        once however many windows share it) and which months belong to which period."""
        trailing = {p: trailing_months(p, count) for p in periods}
        months = sorted({m.start: m for ms in trailing.values() for m in ms}.values(), key=lambda m: m.start)
        ltv = Windows("ltv_months", "month", months[0].start, months[0].start, months[-1].end)
        pairs = [(self.periods.key_of(p.start), ltv.key_of(m.start)) for p, ms in trailing.items() for m in ms]
        return ltv, months, pairs

    def _dimension_joins(self, select: exp.Select, fact: str, row: str | None) -> exp.Select:
        """Attach the query's dimensions to a fact (a table alias): customer columns by its
        customer_key (the customer's row, cheaper to join on than its id), item attributes by
        the subscription row the fact is attributed to; apply the filters."""
        names = self.query.group_by + [f.dimension for f in self.query.filters]
        if any(self.dims.source(n) == "customer" for n in names):
            select = select.join(exp.table_("customers", alias="c"),
                                 on=exp.EQ(this=col("row_id", "c"), expression=col("customer_key", fact)), copy=False)
        if row is not None and any(self.dims.source(n) == "item" for n in names):
            select = select.join(exp.table_("subscriptions", alias="s"),
                                 on=exp.EQ(this=col("row_id", "s"), expression=cond(row)), copy=False)
        for name in self.query.group_by:
            select = select.select(exp.alias_(self._dim_column(name), name, quoted=True), copy=False)
        for condition in self._filter_conditions():
            select = select.where(condition, copy=False)
        return select

    def _dim_column(self, name: str) -> exp.Column:
        return col(name, "s" if self.dims.source(name) == "item" else "c")

    def _filter_conditions(self) -> list[exp.Expression]:
        conditions = []
        for f in self.query.filters:
            column = self._dim_column(f.dimension)
            if f.op == "eq":
                condition = exp.EQ(this=column, expression=exp.Literal.string(f.values[0]))
            elif f.op == "in":
                condition = _in(column, f.values)
            else:
                # "not X" keeps the rows with no value too: in SQL, NULL <> 'X' would drop them.
                condition = exp.or_(exp.Is(this=column.copy(), expression=exp.Null()),
                                    exp.Not(this=_in(column, f.values[:1] if f.op == "ne" else f.values)))
            conditions.append(condition)
        return conditions

    def _group_keys(self, prefix: str = "w") -> list[exp.Expression]:
        return [col("period", prefix)] + [self._dim_column(name) for name in self.query.group_by]

    def _same_group(self, table: str, other: str) -> exp.Expression:
        on = [exp.EQ(this=col("period", table), expression=col("period", other))]
        on += [exp.NullSafeEQ(this=col(n, table), expression=col(n, other)) for n in self.query.group_by]
        return exp.and_(*on)

    def _movement_fact(self, measures: list[Measure]) -> exp.Expression:
        """Sums of movements per period; only the movements the measures name are read."""
        select = sqlglot.select(col("period", "w")).from_(exp.table_("movements", alias="mv"))
        select = self.periods.join(select, col("date", "mv"))
        movements = [k for m in measures for k in m.movements]
        components = [k for m in measures for k in m.components]
        read = ([_in(col("movement", "mv"), movements)] if movements else []) + (
            [_in(col("component", "mv"), components)] if components else [])
        select = select.where(exp.or_(*read), copy=False)
        select = self._dimension_joins(select, "mv", "mv.row_id")
        for m in measures:
            condition = _in(col("movement", "mv"), m.movements) if m.movements else _in(col("component", "mv"), m.components)
            total = (_loss_sum if m.sign == -1 else _sum_when)(condition, col("amount", "mv"))
            select = select.select(exp.alias_(total, f"m_{m.name}", quoted=True), copy=False)
        return select.group_by(*self._group_keys(), copy=False)

    def _count_fact(self, measures: list[Measure]) -> exp.Expression:
        select = sqlglot.select(col("period", "w")).from_(exp.table_("change_points", alias="cp"))
        select = self.periods.join(select, col("date", "cp"))
        select = select.where(_in(col("kind", "cp"), [m.change for m in measures]), copy=False)
        select = self._dimension_joins(select, "cp", "cp.primary_row")
        for m in measures:
            counted = _sum_when(exp.EQ(this=col("kind", "cp"), expression=exp.Literal.string(m.change)), exp.Literal.number(1))
            select = select.select(exp.alias_(counted, f"m_{m.name}", quoted=True), copy=False)
        return select.group_by(*self._group_keys(), copy=False)

    def _items_on(self, windows: str, day: str, month: str) -> exp.Expression:
        """Paid items running on a window's day, valued at that month's rate and ranked within
        their customer (rank 1 = the customer's largest item, ties to the smallest item_id)."""
        value = cond("i.mrr_local * r.rate")
        rank = exp.Window(
            this=exp.RowNumber(),
            partition_by=[col("period", "w"), col("customer_key", "i")],
            order=exp.Order(expressions=[exp.Ordered(this=value.copy(), desc=True), exp.Ordered(this=col("item_id", "i"))]),
        )
        return (
            sqlglot.select(
                col("period", "w"), col("customer_id", "i"), col("customer_key", "i"), col("row_id", "i"),
                exp.alias_(value, "mrr"), exp.alias_(rank, "item_rank"),
            )
            .from_(exp.table_(windows, alias="w"))
            .join(exp.table_("ledger_items", alias="i"),
                  on=cond(f"i.start_date <= w.{day} AND w.{day} < i.end_date AND i.mrr_local > 0"), copy=False)
            .join(exp.table_("rates", alias="r"), on=cond(f"r.currency = i.currency AND r.month = w.{month}"), copy=False)
        )

    def _mrr_by_date(self) -> exp.Expression:
        """Per date (and group) the change of MRR and of paying customers, up to the query's last
        day: a customer-level stock on a day is the sum of the changes up to that day, which is
        far cheaper than finding every customer's MRR interval around it."""
        select = sqlglot.select(col("date", "x")).from_(exp.table_("customer_mrr_changes", alias="x"))
        select = self._dimension_joins(select, "x", None)
        select = select.select(
            exp.alias_(cond("SUM(x.mrr_after - x.mrr_before)"), "mrr", quoted=True),
            exp.alias_(cond("SUM(CASE WHEN x.mrr_after > 0 THEN 1 ELSE 0 END - CASE WHEN x.mrr_before > 0 THEN 1 ELSE 0 END)"),
                       "customers", quoted=True),
            copy=False,
        ).where(exp.LTE(this=col("date", "x"), expression=date_lit(self.query.end)), copy=False)
        return select.group_by(col("date", "x"), *[self._dim_column(n) for n in self.query.group_by], copy=False)

    def _stock_on(self, windows: Windows, day: str, values: dict[str, str]) -> exp.Select:
        """Customer-level MRR and paying customers on a day of each window (and group): the
        changes up to that day, summed. `values` names the output of "mrr" and "customers"."""
        select = sqlglot.select(col("period", "w"), *[col(n, "d") for n in self.query.group_by]).from_(
            exp.table_(windows.name, alias="w")
        ).join(exp.table_("customer_mrr_by_date", alias="d"), on=cond(f"d.date <= w.{day}"), copy=False)
        for value, name in values.items():
            select = select.select(exp.alias_(exp.Sum(this=col(value, "d")), name, quoted=True), copy=False)
        return select.group_by(col("period", "w"), *[col(n, "d") for n in self.query.group_by], copy=False)

    def _stock_fact(self, at: str, measures: list[Measure]) -> exp.Expression:
        day, month = ("period_end", "end_month") if at == "end" else ("day_before", "start_month")
        if not self.item_mode:
            return self._stock_on(self.periods, day, {m.value: f"m_{m.name}" for m in measures})
        source = _subquery(self._items_on("periods", day, month), "t")
        select = sqlglot.select(col("period", "t")).from_(source)
        select = self._dimension_joins(select, "t", "t.row_id")
        values = {"mrr": exp.Sum(this=col("mrr", "t")), "customers": _sum_when(cond("t.item_rank = 1"), exp.Literal.number(1))}
        for m in measures:
            select = select.select(exp.alias_(values[m.value], f"m_{m.name}", quoted=True), copy=False)
        return select.group_by(*self._group_keys("t"), copy=False)

    def _cohort_fact(self, windows: Windows, measures: list[Measure]) -> exp.Expression:
        """The start cohort of each window: customers paying on the day before it starts, their
        MRR then and on its last day, and how many of them churned in it."""
        if self.item_mode:
            return self._cohort_by_item(windows, measures)
        wanted = {m.value for m in measures}
        start = self._stock_on(windows, "day_before", {"customers": "size", "mrr": "mrr_start"})
        select = sqlglot.select(col("period", "s"), *[col(n, "s") for n in self.query.group_by]).from_(_subquery(start, "s"))
        values = {"size": col("size", "s"), "mrr_start": col("mrr_start", "s")}
        if wanted & {"mrr_end", "mrr_retained"}:
            select = select.join(_subquery(self._cohort_changes(windows), "ch"), join_type="left",
                                 on=self._same_group("ch", "s"), copy=False)
            values["mrr_end"] = cond("s.mrr_start + COALESCE(ch.mrr_change, 0)")
            values["mrr_retained"] = cond("s.mrr_start + COALESCE(ch.mrr_loss, 0)")
        if "churned" in wanted:
            select = select.join(_subquery(self._cohort_churners(windows), "cc"), join_type="left",
                                 on=self._same_group("cc", "s"), copy=False)
            values["churned"] = cond("COALESCE(cc.churned, 0)")
        for m in measures:
            select = select.select(exp.alias_(values[m.value], f"m_{m.name}", quoted=True), copy=False)
        return select

    def _cohort_changes(self, windows: Windows) -> exp.Expression:
        """For start-cohort customers whose MRR changed in the window: the sum of (MRR at end -
        MRR at start) and of its losses only, min(end - start, 0). Only customers with a change
        in the window are read; every other cohort customer ends where it started. A customer's
        first change in the window has its MRR at the start, its last one its MRR at the end;
        most customers change once, and only those who change more often are grouped."""
        first = "(x.previous_date IS NULL OR x.previous_date < w.period_start)"
        last = "(x.next_date > w.period_end)"
        once = self._changes_in(windows).select(
            exp.alias_(cond("x.mrr_after - x.mrr_before"), "change", quoted=True), copy=False,
        ).where(cond(f"{first} AND {last} AND x.mrr_before > 0"), copy=False)
        per_customer = self._changes_in(windows).select(
            exp.alias_(_sum_when(cond(first), col("mrr_before", "x")), "mrr_start", quoted=True),
            exp.alias_(_sum_when(cond(last), col("mrr_after", "x")), "mrr_end", quoted=True), copy=False,
        ).where(cond(f"{first} <> {last}"), copy=False).group_by(*self._group_keys(), col("customer_key", "x"), copy=False)
        groups = [col("period", "t")] + [col(n, "t") for n in self.query.group_by]
        more = (
            sqlglot.select(*groups, exp.alias_(cond("t.mrr_end - t.mrr_start"), "change", quoted=True))
            .from_(_subquery(per_customer, "t")).where(cond("t.mrr_start > 0"), copy=False)
        )
        groups = [col("period", "u")] + [col(n, "u") for n in self.query.group_by]
        return (
            sqlglot.select(*groups,
                           exp.alias_(cond("SUM(u.change)"), "mrr_change", quoted=True),
                           exp.alias_(cond("SUM(LEAST(u.change, 0))"), "mrr_loss", quoted=True))
            .from_(_subquery(exp.union(once, more, distinct=False), "u"))
            .group_by(*[g.copy() for g in groups], copy=False)
        )

    def _changes_in(self, windows: Windows) -> exp.Select:
        """Customer MRR changes dated within the windows, with their window (and group)."""
        select = sqlglot.select(col("period", "w")).from_(exp.table_("customer_mrr_changes", alias="x"))
        return self._dimension_joins(windows.join(select, col("date", "x")), "x", None)

    def _cohort_churners(self, windows: Windows) -> exp.Expression:
        """Start-cohort customers with at least one churn in the window. A customer paying the
        day before the window starts churns before it (re)starts, one not paying starts first:
        so only the window's starts and churns are read."""
        per_customer = sqlglot.select(col("period", "w")).from_(exp.table_("change_points", alias="cp"))
        per_customer = windows.join(per_customer, col("date", "cp"))
        per_customer = per_customer.where(_in(col("kind", "cp"), ["new", "reactivation", "churn"]), copy=False)
        per_customer = self._dimension_joins(per_customer, "cp", None)
        per_customer = per_customer.group_by(*self._group_keys(), col("customer_key", "cp"), copy=False).having(
            cond("MIN(CASE WHEN cp.kind = 'churn' THEN cp.date END) "
                 "< MIN(CASE WHEN cp.kind <> 'churn' THEN cp.date ELSE DATE '9999-12-31' END)"), copy=False)
        groups = [col("period", "t")] + [col(n, "t") for n in self.query.group_by]
        return (
            sqlglot.select(*groups, exp.alias_(exp.Count(this=exp.Star()), "churned", quoted=True))
            .from_(_subquery(per_customer, "t"))
            .group_by(*[g.copy() for g in groups], copy=False)
        )

    def _cohort_by_item(self, windows: Windows, measures: list[Measure]) -> exp.Expression:
        """The start cohort grouped by each customer's largest item the day before the window
        starts: every cohort customer's MRR intervals around the window's ends are looked up."""
        churners = sqlglot.select(col("period", "w"), col("customer_key", "cp")).distinct().from_(
            exp.table_("change_points", alias="cp"))
        churners = windows.join(churners, col("date", "cp")).where(cond("cp.kind = 'churn'"), copy=False)
        primary = self._items_on(windows.name, "day_before", "start_month")
        select = (
            sqlglot.select(col("period", "w"))
            .from_(exp.table_(windows.name, alias="w"))
            .join(exp.table_("customer_mrr", alias="cs"), on=cond("cs.valid_from <= w.day_before AND w.day_before < cs.valid_to"),
                  copy=False)
            .join(exp.table_("customer_mrr", alias="ce"), join_type="left",
                  on=cond("ce.customer_key = cs.customer_key AND ce.valid_from <= w.period_end AND w.period_end < ce.valid_to"),
                  copy=False)
            .join(_subquery(churners, "ch"), join_type="left",
                  on=cond("ch.period = w.period AND ch.customer_key = cs.customer_key"), copy=False)
            .join(_subquery(primary, "pr"), on=cond("pr.period = w.period AND pr.customer_key = cs.customer_key AND pr.item_rank = 1"),
                  copy=False)
        )
        select = self._dimension_joins(select, "cs", "pr.row_id")
        end_mrr = cond("COALESCE(ce.mrr, 0)")
        values = {
            "size": exp.Count(this=exp.Star()),
            "mrr_start": cond("SUM(cs.mrr)"),
            "mrr_end": exp.Sum(this=end_mrr),
            "mrr_retained": exp.Sum(this=exp.Least(this=end_mrr.copy(), expressions=[col("mrr", "cs")])),
            "churned": _sum_when(cond("ch.customer_key IS NOT NULL"), exp.Literal.number(1)),
        }
        for m in measures:
            select = select.select(exp.alias_(values[m.value], f"m_{m.name}", quoted=True), copy=False)
        return select.group_by(*self._group_keys(), copy=False)

    def _trailing_fact(self, months: Windows, measure: Measure) -> exp.Expression:
        """Average of the monthly customer churn rates of each period's trailing months, months
        with an empty cohort left out."""
        size = self.catalog.measures["cohort_size"]
        churned = self.catalog.measures["cohort_churned"]
        monthly = _subquery(self._cohort_fact(months, [size, churned]), "mo")
        rate = cond("100.0 * mo.m_cohort_churned / mo.m_cohort_size")
        dims = [col(n, "mo") for n in self.query.group_by]
        return (
            sqlglot.select(col("period", "lw"), *dims, exp.alias_(exp.Avg(this=rate), f"m_{measure.name}", quoted=True))
            .from_(exp.table_("ltv_windows", alias="lw"))
            .join(monthly, on=cond("mo.period = lw.month"), copy=False)
            .where(cond("mo.m_cohort_size > 0"), copy=False)
            .group_by(col("period", "lw"), *[d.copy() for d in dims], copy=False)
        )

    def _groups(self) -> exp.Expression:
        """Every combination of the grouping dimensions present in the data (after filters)."""
        sources = {self.dims.source(n) for n in self.query.group_by + [f.dimension for f in self.query.filters]}
        if "item" in sources:
            select = sqlglot.select().from_(exp.table_("subscriptions", alias="s")).join(
                exp.table_("customers", alias="c"), on=cond("c.customer_id = s.customer_id"), copy=False)
        else:
            select = sqlglot.select().from_(exp.table_("customers", alias="c"))
        select = select.select(*[exp.alias_(self._dim_column(n), n, quoted=True) for n in self.query.group_by],
                               copy=False).distinct(copy=False)
        for condition in self._filter_conditions():
            select = select.where(condition, copy=False)
        return select

    def _measures_table(self, facts: list[tuple[str, list[Measure]]]) -> exp.Expression:
        select = sqlglot.select(col("period", "p"), col("period_start", "p"), col("period_end", "p")).from_(
            exp.table_("periods", alias="p"))
        if self.query.group_by:
            select = select.join(exp.table_("groups", alias="g"), join_type="cross", copy=False)
            select = select.select(*[col(n, "g") for n in self.query.group_by], copy=False)
        for table, measures in facts:
            on = [exp.EQ(this=col("period", table), expression=col("period", "p"))]
            on += [exp.NullSafeEQ(this=col(n, table), expression=col(n, "g")) for n in self.query.group_by]
            select = select.join(exp.to_table(table), join_type="left", on=exp.and_(*on), copy=False)
            for m in measures:
                value = col(f"m_{m.name}", table)
                if m.kind != "trailing_churn":
                    value = exp.Coalesce(this=value, expressions=[exp.Literal.number(0)])
                select = select.select(exp.alias_(value, f"m_{m.name}", quoted=True), copy=False)
        return select

    def _final(self, metrics: list[Metric], measures: list[Measure]) -> exp.Select:
        select = sqlglot.select(col("period_start"), col("period_end"), *[col(n) for n in self.query.group_by]).from_("measures")
        for metric in metrics:
            value = self._metric_expression(metric)
            if metric.unit == "count":
                value = exp.cast(value, exp.DataType.Type.BIGINT)
            select = select.select(exp.alias_(value, metric.name, quoted=True), copy=False)
        for measure in measures:
            select = select.select(col(f"m_{measure.name}"), copy=False)
        order = [col("period")]
        if self.query.order_by:
            ranked = exp.Ordered(this=col(self.query.order_by), desc=self.query.descending, nulls_first=False)
            order.append(ranked)
            if self.query.limit:
                rank = exp.Window(this=exp.RowNumber(), partition_by=[col("period")], order=exp.Order(expressions=[ranked.copy()]))
                select = select.qualify(exp.LTE(this=rank, expression=exp.Literal.number(self.query.limit)), copy=False)
        order += [col(n) for n in self.query.group_by]
        return select.order_by(*order, copy=False)


__all__ = ["Compiler", "Compiled", "CustomerQuery", "Dimensions", "Filter", "MetricQuery", "GRAINS"]
