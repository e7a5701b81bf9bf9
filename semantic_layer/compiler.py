"""Compiling a metric query into one deterministic SQL statement, built as sqlglot expressions.

The statement has the same shape for every query: a `periods` table of literal dates, one fact
table per kind of measure that the asked metrics need (movements, change-point counts, stocks,
start cohorts, trailing churn), a grid of periods x groups that the facts are joined onto, and
the metric formulas from the catalog on top. User-given dimension names become quoted
identifiers and values become literals; nothing a user typed is pasted into SQL text.
"""

from dataclasses import dataclass
from datetime import date
from typing import Literal

import sqlglot
from pydantic import BaseModel, Field, field_validator, model_validator
from sqlglot import exp

from .catalog import EXPRESSION_SETTINGS, Catalog, Measure, Metric
from .errors import QueryError
from .periods import GRAINS, Grain, Period, month_start, split, trailing_months
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

    def text(self, dialect: str = "duckdb") -> str:
        return self.sql.sql(dialect=dialect, pretty=True)


def col(name: str, table: str | None = None) -> exp.Column:
    return exp.column(name, table=table, quoted=True)


def date_lit(d: date) -> exp.Expression:
    return exp.cast(exp.Literal.string(d.isoformat()), exp.DataType.Type.DATE)


def cond(sql: str) -> exp.Expression:
    """A fixed SQL fragment written in this module (never user text)."""
    return sqlglot.parse_one(sql, dialect="duckdb")


def _sum_when(condition: exp.Expression, value: exp.Expression) -> exp.Expression:
    return exp.Sum(this=exp.Case(ifs=[exp.If(this=condition, true=value)], default=exp.Literal.number(0)))


def _in(column: exp.Expression, values: list[str]) -> exp.Expression:
    return exp.In(this=column, expressions=[exp.Literal.string(v) for v in values])


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
        self.query = query
        self.item_mode = any(self.dims.source(n) == "item" for n in query.group_by + [f.dimension for f in query.filters])
        periods = split(query.start, query.end, query.grain)
        metrics = [self.catalog.get(name) for name in query.metrics]
        measures = self._measures_of(metrics)

        ctes: list[tuple[str, exp.Expression]] = [("periods", self._windows([(i, 0, p) for i, p in enumerate(periods)]))]
        facts: list[tuple[str, list[Measure]]] = []
        by_kind: dict[str, list[Measure]] = {}
        for measure in measures:
            by_kind.setdefault(measure.kind, []).append(measure)
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
            ctes.append(("f_cohort", self._cohort_fact("periods", by_kind["cohort"])))
            facts.append(("f_cohort", by_kind["cohort"]))
        if "trailing_churn" in by_kind:
            measure = by_kind["trailing_churn"][0]
            months = [(i, k, m) for i, p in enumerate(periods) for k, m in enumerate(trailing_months(p, measure.months))]
            ctes.append(("ltv_months", self._windows(months)))
            ctes.append(("f_trailing", self._trailing_fact(measure)))
            facts.append(("f_trailing", [measure]))
        if query.group_by:
            ctes.append(("groups", self._groups()))
        ctes.append(("measures", self._measures_table(facts)))

        final = self._final(metrics, measures if with_measures else [])
        for name, body in ctes:
            final = final.with_(name, as_=body)
        return Compiled(final, periods, metrics, list(query.group_by))

    def compile_customers(self, query: CustomerQuery, customer_columns: tuple[str, ...]) -> exp.Expression:
        """Customers ranked by their amount of a movement in the period (losses as positive
        amounts), or by MRR on the period's last day, with the source rows behind them."""
        for f in query.filters:
            self.dims.source(f.dimension)
        self.query = MetricQuery(metrics=["mrr"], start=query.start, end=query.end, filters=query.filters)
        self.item_mode = any(self.dims.source(f.dimension) == "item" for f in query.filters)
        shown = [c for c in customer_columns if c != "customer_id"]
        if query.movement == "mrr":
            period = Period(query.end, query.end)
            ctes = [("periods", self._windows([(0, 0, period)]))]
            source = exp.Subquery(this=self._items_on("periods", "period_end", "end_month"), alias=exp.TableAlias(this=exp.to_identifier("t")))
            select = sqlglot.select(col("customer_id", "t")).from_(source)
            select = self._dimension_joins(select, "t.customer_id", "t.row_id")
            select = select.join(exp.table_("subscriptions", alias="src"), on=cond("src.row_id = t.row_id"))
            amount = exp.Sum(this=col("mrr", "t"))
            changes = exp.Count(this=exp.Star())
            first, last = date_lit(query.end), date_lit(query.end)
        else:
            ctes = []
            kind = col("movement", "mv") if query.movement in MOVEMENTS else col("component", "mv")
            select = (
                sqlglot.select(col("customer_id", "mv")).from_(exp.table_("movements", alias="mv"))
                .join(exp.table_("subscriptions", alias="src"), on=cond("src.row_id = mv.row_id"))
                .where(exp.Between(this=col("date", "mv"), low=date_lit(query.start), high=date_lit(query.end)))
                .where(exp.EQ(this=kind, expression=exp.Literal.string(query.movement)))
            )
            select = self._dimension_joins(select, "mv.customer_id", "mv.row_id")
            amount = exp.Sum(this=col("amount", "mv"))
            if query.movement in NEGATIVE:
                amount = exp.Neg(this=amount)
            changes = cond("COUNT(DISTINCT mv.date)")
            first, last = cond("MIN(mv.date)"), cond("MAX(mv.date)")
        sources = cond("STRING_AGG(DISTINCT src._file || ' ' || src._loc, '; ')")
        inner = select.select(
            exp.alias_(amount, "amount", quoted=True), exp.alias_(changes, "changes", quoted=True),
            exp.alias_(first, "first_date", quoted=True), exp.alias_(last, "last_date", quoted=True),
            exp.alias_(sources, "sources", quoted=True),
        ).group_by(col("customer_id", "mv" if query.movement != "mrr" else "t"))
        outer = (
            sqlglot.select(col("customer_id", "x"), *[col(c, "cu") for c in shown], col("amount", "x"), col("changes", "x"),
                           col("first_date", "x"), col("last_date", "x"), col("sources", "x"))
            .from_(exp.Subquery(this=inner, alias=exp.TableAlias(this=exp.to_identifier("x"))))
            .join(exp.table_("customers", alias="cu"), on=cond("cu.customer_id = x.customer_id"))
            .order_by(exp.Ordered(this=col("amount", "x"), desc=query.descending), col("customer_id", "x"))
            .limit(query.limit)
        )
        for name, body in ctes:
            outer = outer.with_(name, as_=body)
        return outer

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

        return metric.expression().transform(guard_division).transform(resolve)

    # ---- building blocks --------------------------------------------------------------------
    @staticmethod
    def _windows(rows: list[tuple[int, int, Period]]) -> exp.Expression:
        """Literal periods: key, sub-window, first and last day, the day before, and the months
        whose fx rate values the day before and the last day."""
        values = [
            exp.Tuple(expressions=[
                exp.Literal.number(i), exp.Literal.number(k), date_lit(p.start), date_lit(p.end),
                date_lit(p.day_before), date_lit(month_start(p.day_before)), date_lit(month_start(p.end)),
            ])
            for i, k, p in rows
        ]
        columns = ["period", "sub_period", "period_start", "period_end", "day_before", "start_month", "end_month"]
        alias = exp.TableAlias(this=exp.to_identifier("t"), columns=[exp.to_identifier(c, quoted=True) for c in columns])
        return sqlglot.select("*").from_(exp.Values(expressions=values, alias=alias))

    def _dimension_joins(self, select: exp.Select, customer: str, row: str | None) -> exp.Select:
        """Attach the query's dimensions to a fact: customer columns by its customer id, item
        attributes by the subscription row the fact is attributed to; apply the filters."""
        names = self.query.group_by + [f.dimension for f in self.query.filters]
        if any(self.dims.source(n) == "customer" for n in names):
            select = select.join(exp.table_("customers", alias="c"), on=exp.EQ(this=col("customer_id", "c"), expression=cond(customer)))
        if row is not None and any(self.dims.source(n) == "item" for n in names):
            select = select.join(exp.table_("subscriptions", alias="s"), on=exp.EQ(this=col("row_id", "s"), expression=cond(row)))
        for name in self.query.group_by:
            select = select.select(exp.alias_(self._dim_column(name), name, quoted=True))
        for condition in self._filter_conditions():
            select = select.where(condition)
        return select

    def _dim_column(self, name: str) -> exp.Column:
        return col(name, "s" if self.dims.source(name) == "item" else "c")

    def _filter_conditions(self) -> list[exp.Expression]:
        conditions = []
        for f in self.query.filters:
            column = self._dim_column(f.dimension)
            if f.op == "eq":
                condition = exp.EQ(this=column, expression=exp.Literal.string(f.values[0]))
            elif f.op == "ne":
                condition = exp.NEQ(this=column, expression=exp.Literal.string(f.values[0]))
            elif f.op == "in":
                condition = _in(column, f.values)
            else:
                condition = exp.Not(this=_in(column, f.values))
            conditions.append(condition)
        return conditions

    def _group_keys(self, prefix: str = "p") -> list[exp.Expression]:
        return [col("period", prefix)] + [self._dim_column(name) for name in self.query.group_by]

    def _movement_fact(self, measures: list[Measure]) -> exp.Expression:
        select = sqlglot.select(col("period", "p")).from_(exp.table_("periods", alias="p")).join(
            exp.table_("movements", alias="mv"), on=cond("mv.date BETWEEN p.period_start AND p.period_end")
        )
        select = self._dimension_joins(select, "mv.customer_id", "mv.row_id")
        for m in measures:
            condition = _in(col("movement", "mv"), m.movements) if m.movements else _in(col("component", "mv"), m.components)
            total = _sum_when(condition, col("amount", "mv"))
            if m.sign == -1:
                total = exp.Neg(this=total)
            select = select.select(exp.alias_(total, f"m_{m.name}", quoted=True))
        return select.group_by(*self._group_keys())

    def _count_fact(self, measures: list[Measure]) -> exp.Expression:
        select = sqlglot.select(col("period", "p")).from_(exp.table_("periods", alias="p")).join(
            exp.table_("change_points", alias="cp"),
            on=exp.and_(cond("cp.date BETWEEN p.period_start AND p.period_end"), _in(col("kind", "cp"), [m.change for m in measures])),
        )
        select = self._dimension_joins(select, "cp.customer_id", "cp.primary_row")
        for m in measures:
            counted = _sum_when(exp.EQ(this=col("kind", "cp"), expression=exp.Literal.string(m.change)), exp.Literal.number(1))
            select = select.select(exp.alias_(counted, f"m_{m.name}", quoted=True))
        return select.group_by(*self._group_keys())

    def _items_on(self, windows: str, day: str, month: str) -> exp.Expression:
        """Paid items running on a window's day, valued at that month's rate and ranked within
        their customer (rank 1 = the customer's largest item, ties to the smallest item_id)."""
        value = cond(f"i.mrr_local * r.rate")
        rank = exp.Window(
            this=exp.RowNumber(),
            partition_by=[col("period", "w"), col("sub_period", "w"), col("customer_id", "i")],
            order=exp.Order(expressions=[exp.Ordered(this=value.copy(), desc=True), exp.Ordered(this=col("item_id", "i"))]),
        )
        return (
            sqlglot.select(
                col("period", "w"), col("sub_period", "w"), col("customer_id", "i"), col("row_id", "i"),
                exp.alias_(value, "mrr"), exp.alias_(rank, "item_rank"),
            )
            .from_(exp.table_(windows, alias="w"))
            .join(exp.table_("ledger_items", alias="i"), on=cond(f"i.start_date <= w.{day} AND w.{day} < i.end_date AND i.mrr_local > 0"))
            .join(exp.table_("rates", alias="r"), on=cond(f"r.currency = i.currency AND r.month = w.{month}"))
        )

    def _stock_fact(self, at: str, measures: list[Measure]) -> exp.Expression:
        day, month = ("period_end", "end_month") if at == "end" else ("day_before", "start_month")
        values = {}
        if self.item_mode:
            source = exp.Subquery(this=self._items_on("periods", day, month), alias=exp.TableAlias(this=exp.to_identifier("t")))
            select = sqlglot.select(col("period", "t")).from_(source)
            select = self._dimension_joins(select, "t.customer_id", "t.row_id")
            values["mrr"] = exp.Sum(this=col("mrr", "t"))
            values["customers"] = _sum_when(cond("t.item_rank = 1"), exp.Literal.number(1))
            keys = self._group_keys("t")
        else:
            select = sqlglot.select(col("period", "p")).from_(exp.table_("periods", alias="p")).join(
                exp.table_("customer_mrr", alias="t"), on=cond(f"t.valid_from <= p.{day} AND p.{day} < t.valid_to")
            )
            select = self._dimension_joins(select, "t.customer_id", None)
            values["mrr"] = exp.Sum(this=col("mrr", "t"))
            values["customers"] = exp.Count(this=exp.Star())
            keys = self._group_keys()
        for m in measures:
            select = select.select(exp.alias_(values[m.value], f"m_{m.name}", quoted=True))
        return select.group_by(*keys)

    def _cohort_fact(self, windows: str, measures: list[Measure]) -> exp.Expression:
        """The start cohort of each window: customers paying on the day before it starts,
        with their MRR then and on its last day, and whether they churned in it."""
        churners = (
            sqlglot.select(col("period", "w"), col("sub_period", "w"), col("customer_id", "cp")).distinct()
            .from_(exp.table_(windows, alias="w"))
            .join(exp.table_("change_points", alias="cp"), on=cond("cp.kind = 'churn' AND cp.date BETWEEN w.period_start AND w.period_end"))
        )
        select = (
            sqlglot.select(col("period", "w"), col("sub_period", "w"))
            .from_(exp.table_(windows, alias="w"))
            .join(exp.table_("customer_mrr", alias="cs"), on=cond("cs.valid_from <= w.day_before AND w.day_before < cs.valid_to"))
            .join(exp.table_("customer_mrr", alias="ce"), join_type="left",
                  on=cond("ce.customer_id = cs.customer_id AND ce.valid_from <= w.period_end AND w.period_end < ce.valid_to"))
            .join(exp.Subquery(this=churners, alias=exp.TableAlias(this=exp.to_identifier("ch"))), join_type="left",
                  on=cond("ch.period = w.period AND ch.sub_period = w.sub_period AND ch.customer_id = cs.customer_id"))
        )
        row = None
        if self.item_mode:
            primary = exp.Subquery(this=self._items_on(windows, "day_before", "start_month"), alias=exp.TableAlias(this=exp.to_identifier("pr")))
            select = select.join(primary, on=cond("pr.period = w.period AND pr.sub_period = w.sub_period AND pr.customer_id = cs.customer_id AND pr.item_rank = 1"))
            row = "pr.row_id"
        select = self._dimension_joins(select, "cs.customer_id", row)
        end_mrr = cond("COALESCE(ce.mrr, 0)")
        values = {
            "size": exp.Count(this=exp.Star()),
            "mrr_start": cond("SUM(cs.mrr)"),
            "mrr_end": exp.Sum(this=end_mrr),
            "mrr_retained": exp.Sum(this=exp.Least(this=end_mrr.copy(), expressions=[col("mrr", "cs")])),
            "churned": _sum_when(cond("ch.customer_id IS NOT NULL"), exp.Literal.number(1)),
        }
        for m in measures:
            select = select.select(exp.alias_(values[m.value], f"m_{m.name}", quoted=True))
        return select.group_by(*self._group_keys("w"), col("sub_period", "w"))

    def _trailing_fact(self, measure: Measure) -> exp.Expression:
        """Average of the monthly customer churn rates, months with an empty cohort left out."""
        size = self.catalog.measures["cohort_size"]
        churned = self.catalog.measures["cohort_churned"]
        monthly = exp.Subquery(this=self._cohort_fact("ltv_months", [size, churned]), alias=exp.TableAlias(this=exp.to_identifier("mo")))
        rate = cond(f'100.0 * mo.m_cohort_churned / mo.m_cohort_size')
        return (
            sqlglot.select(col("period", "mo"), *[col(n, "mo") for n in self.query.group_by],
                           exp.alias_(exp.Avg(this=rate), f"m_{measure.name}", quoted=True))
            .from_(monthly)
            .where(cond("mo.m_cohort_size > 0"))
            .group_by(col("period", "mo"), *[col(n, "mo") for n in self.query.group_by])
        )

    def _groups(self) -> exp.Expression:
        """Every combination of the grouping dimensions present in the data (after filters)."""
        sources = {self.dims.source(n) for n in self.query.group_by + [f.dimension for f in self.query.filters]}
        if "item" in sources:
            select = sqlglot.select().from_(exp.table_("subscriptions", alias="s")).join(
                exp.table_("customers", alias="c"), on=cond("c.customer_id = s.customer_id"))
        else:
            select = sqlglot.select().from_(exp.table_("customers", alias="c"))
        select = select.select(*[exp.alias_(self._dim_column(n), n, quoted=True) for n in self.query.group_by]).distinct()
        for condition in self._filter_conditions():
            select = select.where(condition)
        return select

    def _measures_table(self, facts: list[tuple[str, list[Measure]]]) -> exp.Expression:
        select = sqlglot.select(col("period", "p"), col("period_start", "p"), col("period_end", "p")).from_(
            exp.table_("periods", alias="p"))
        if self.query.group_by:
            select = select.join(exp.table_("groups", alias="g"), join_type="cross")
            select = select.select(*[col(n, "g") for n in self.query.group_by])
        for table, measures in facts:
            on = [exp.EQ(this=col("period", table), expression=col("period", "p"))]
            on += [exp.NullSafeEQ(this=col(n, table), expression=col(n, "g")) for n in self.query.group_by]
            select = select.join(exp.to_table(table), join_type="left", on=exp.and_(*on))
            for m in measures:
                value = col(f"m_{m.name}", table)
                if m.kind != "trailing_churn":
                    value = exp.Coalesce(this=value, expressions=[exp.Literal.number(0)])
                select = select.select(exp.alias_(value, f"m_{m.name}", quoted=True))
        return select

    def _final(self, metrics: list[Metric], measures: list[Measure]) -> exp.Select:
        select = sqlglot.select(col("period_start"), col("period_end"), *[col(n) for n in self.query.group_by]).from_("measures")
        for metric in metrics:
            value = self._metric_expression(metric)
            if metric.unit == "count":
                value = exp.cast(value, exp.DataType.Type.BIGINT)
            select = select.select(exp.alias_(value, metric.name, quoted=True))
        for measure in measures:
            select = select.select(col(f"m_{measure.name}"))
        order = [col("period")]
        if self.query.order_by:
            ranked = exp.Ordered(this=col(self.query.order_by), desc=self.query.descending, nulls_first=False)
            order.append(ranked)
            if self.query.limit:
                rank = exp.Window(this=exp.RowNumber(), partition_by=[col("period")], order=exp.Order(expressions=[ranked.copy()]))
                select = select.qualify(exp.LTE(this=rank, expression=exp.Literal.number(self.query.limit)))
        order += [col(n) for n in self.query.group_by]
        return select.order_by(*order)


__all__ = ["Compiler", "Compiled", "CustomerQuery", "Dimensions", "Filter", "MetricQuery", "GRAINS"]
