"""Running metric queries on a database and returning rows together with the SQL behind them."""

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb

from .canonical import ITEM_DIMENSIONS, SUBSCRIPTION_COLUMNS
from .catalog import Catalog, Metric, load_catalog
from .compiler import Compiled, Compiler, CustomerQuery, Dimensions, Filter, MetricQuery
from .errors import QueryError
from .formatting import json_row
from .periods import month_end, month_start
from .store import connect, data_range, stored_settings
from .settings import Settings
from .validate import q

INTERNAL_COLUMNS = {"row_id", "_file", "_loc"}
DIALECTS = ("duckdb", "postgres", "snowflake", "bigquery", "spark", "trino")


@dataclass
class QueryResult:
    query: MetricQuery
    compiled: Compiled
    rows: list[dict]
    settings: Settings

    @property
    def metrics(self) -> list[Metric]:
        return self.compiled.metrics

    @property
    def sql(self) -> str:
        return self.compiled.text()

    def formulas(self) -> dict[str, str]:
        return {m.name: m.formula for m in self.metrics}

    def to_json(self) -> dict:
        return {
            "rows": [json_row(row) for row in self.rows],
            "sql": self.sql,
            "formulas": self.formulas(),
        }


@dataclass
class Engine:
    """One data set's semantic layer: catalog, dimensions and settings over an open connection."""

    con: duckdb.DuckDBPyConnection
    catalog: Catalog = field(default_factory=load_catalog)
    settings: Settings | None = None

    def __post_init__(self):
        stored = stored_settings(self.con)
        self.settings = stored if self.settings is None else self.settings
        if any(getattr(self.settings, k) != getattr(stored, k) for k in Settings.LEDGER_KEYS):
            raise QueryError(
                "churn recognition, reactivation window and reporting currency are built into the ledger: "
                "change them with `analyst settings`, which rebuilds it"
            )
        self.dimensions = self._dimensions()
        self.first_date, self.last_date = data_range(self.con)
        self._months_with_rates: set[date] = set()

    @classmethod
    def open(cls, db: Path | str, **kwargs) -> "Engine":
        return cls(connect(db, read_only=True), **kwargs)

    def close(self) -> None:
        self.con.close()

    def _columns(self, table: str) -> list[str]:
        rows = self.fetch(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? AND table_schema = 'main' "
            "ORDER BY ordinal_position",
            [table],
        )
        return [r["column_name"] for r in rows if r["column_name"] not in INTERNAL_COLUMNS]

    def _dimensions(self) -> Dimensions:
        customer = tuple(self._columns("customers"))
        terms = {c.name for c in SUBSCRIPTION_COLUMNS}
        item = ITEM_DIMENSIONS + tuple(c for c in self._columns("subscriptions") if c not in terms)
        return Dimensions(customer=customer, item=item)

    def dimension_values(self, name: str, limit: int = 1000) -> list[str]:
        table = "subscriptions" if self.dimensions.source(name) == "item" else "customers"
        rows = self.fetch(
            f"SELECT DISTINCT {q(name)} AS value FROM {table} WHERE {q(name)} IS NOT NULL ORDER BY 1 LIMIT {int(limit)}"
        )
        return [str(r["value"]) for r in rows]

    def _resolve_filters(self, filters: list[Filter]) -> list[Filter]:
        """Filter values as the data writes them: "smb" is SMB when only one value matches
        regardless of case. A filter on a value the data never has would silently answer 0 (or
        everything, for "not"); say so instead, with the values there are."""
        resolved = []
        for f in filters:
            table = "subscriptions" if self.dimensions.source(f.dimension) == "item" else "customers"
            found: dict[str, list[str]] = {}
            for r in self.fetch(
                    f"SELECT DISTINCT CAST({q(f.dimension)} AS VARCHAR) AS value FROM {table} "
                    f"WHERE lower(CAST({q(f.dimension)} AS VARCHAR)) IN (SELECT lower(unnest(?::VARCHAR[])))", [f.values]):
                found.setdefault(r["value"].lower(), []).append(r["value"])
            values = [_as_written(v, found.get(v.lower(), [])) for v in f.values]
            missing = [v for v, got in zip(f.values, values) if got is None]
            if missing:
                known = self.dimension_values(f.dimension, limit=21)
                listed = ", ".join(known[:20]) + (", ..." if len(known) > 20 else "")
                raise QueryError(f"no data has {f.dimension} = {', '.join(map(repr, missing))}; "
                                 f"the values of {f.dimension} are: {listed}")
            resolved.append(f.model_copy(update={"values": values}))
        return resolved

    def compile(self, query: MetricQuery, with_measures: bool = False) -> Compiled:
        return Compiler(self.catalog, self.dimensions, self.settings).compile(query, with_measures)

    def fetch(self, sql: str, params: list | None = None) -> list[dict]:
        """Rows as dicts, on a cursor of its own so that threads can share the engine."""
        cursor = self.con.cursor()
        try:
            relation = cursor.execute(sql, params or [])
            names = [d[0] for d in relation.description]
            return [dict(zip(names, values)) for values in relation.fetchall()]
        finally:
            cursor.close()

    def run(self, query: MetricQuery, with_measures: bool = False) -> QueryResult:
        """Metric values per period (and group); with_measures adds the inputs (m_* columns)."""
        query = query.model_copy(update={"filters": self._resolve_filters(query.filters)})
        compiled = self.compile(query, with_measures)
        self._check_rates_cover(query.end)
        return QueryResult(query, compiled, self.fetch(compiled.text(pretty=False)), self.settings)

    def customers(self, query: CustomerQuery) -> tuple[list[dict], str]:
        """The customers behind a movement in a period, with the SQL that found them."""
        query = query.model_copy(update={"filters": self._resolve_filters(query.filters)})
        sql = Compiler(self.catalog, self.dimensions, self.settings).compile_customers(query, self.dimensions.customer)
        self._check_rates_cover(query.end)
        return self.fetch(sql.sql(dialect="duckdb")), sql.sql(dialect="duckdb", pretty=True)

    def _check_rates_cover(self, last_day: date) -> None:
        """Foreign-currency MRR after the last month with a rate cannot be valued (rulebook §1).
        The engine's database is read-only, so a month found covered stays covered."""
        if month_start(last_day) in self._months_with_rates:
            return
        uncovered = self.fetch(
            """
            SELECT r.currency, max(r.month) AS last_month FROM rates r
            WHERE r.currency <> ? GROUP BY r.currency
            HAVING max(r.month) < date_trunc('month', ?::DATE)
               AND EXISTS (SELECT 1 FROM ledger_items i WHERE i.currency = r.currency AND i.end_date > max(r.month) + INTERVAL 1 MONTH)
            """,
            [self.settings.reporting_currency, last_day],
        )
        if uncovered:
            parts = ", ".join(f"{r['currency']} (rates end {month_end(r['last_month']).strftime('%Y-%m')})" for r in uncovered)
            raise QueryError(f"no exchange rates after the data's last rate month for {parts}; "
                             f"ask about dates up to then, or import fx_rates that cover {last_day}")
        self._months_with_rates.add(month_start(last_day))


def _as_written(value: str, spellings: list[str]) -> str | None:
    if value in spellings:
        return value
    return spellings[0] if len(spellings) == 1 else None
