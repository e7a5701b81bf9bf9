"""Rulebook §1 validation, run in DuckDB over the raw text tables.

Each check is a query that returns the offending rows' file, location, column and message, so
that every bad row is reported at once and nothing is stored unless all checks pass. The checks
also produce the typed tables that the store then keeps.
"""

import re

import duckdb
from sqlglot import exp

from .canonical import MONTHS_PER_INTERVAL, TABLES, Column, rate_months_sql
from .errors import ImportProblem

_DATE_RE = r"^\d{4}-\d{2}-\d{2}$"
_MONTH_RE = r"^\d{4}-\d{2}$"
_TRUE = ("true", "t", "yes", "y", "1")
_FALSE = ("false", "f", "no", "n", "0")


def q(name: str) -> str:
    """A quoted identifier: column names come from users' files."""
    return exp.to_identifier(name, quoted=True).sql("duckdb")


def lit(value: str) -> str:
    return exp.Literal.string(value).sql("duckdb")


def _in_list(values) -> str:
    return "(" + ", ".join(lit(v) for v in values) + ")"


def _parse(column: Column, raw: str) -> tuple[str, str | None]:
    """(typed SQL expression, SQL condition that is true for an unparseable non-null value)."""
    if column.kind == "date":
        return (
            f"TRY_CAST({raw} AS DATE)",
            f"{raw} IS NOT NULL AND (NOT regexp_matches({raw}, {lit(_DATE_RE)}) OR TRY_CAST({raw} AS DATE) IS NULL)",
        )
    if column.kind == "month":
        return (
            f"TRY_CAST({raw} || '-01' AS DATE)",
            f"{raw} IS NOT NULL AND (NOT regexp_matches({raw}, {lit(_MONTH_RE)}) OR TRY_CAST({raw} || '-01' AS DATE) IS NULL)",
        )
    if column.kind == "number":
        typed = f"TRY_CAST({raw} AS DOUBLE)"
        return typed, f"{raw} IS NOT NULL AND ({typed} IS NULL OR NOT isfinite({typed}))"
    if column.kind == "integer":
        typed = f"TRY_CAST({raw} AS INTEGER)"
        return typed, f"{raw} IS NOT NULL AND ({typed} IS NULL OR {typed} < 1)"
    if column.kind == "boolean":
        typed = f"lower({raw}) IN {_in_list(_TRUE)}"
        return typed, f"{raw} IS NOT NULL AND lower({raw}) NOT IN {_in_list(_TRUE + _FALSE)}"
    if column.kind == "interval":
        return f"lower({raw})", f"{raw} IS NOT NULL AND lower({raw}) NOT IN {_in_list(MONTHS_PER_INTERVAL)}"
    if column.kind == "currency":
        return f"upper({raw})", f"{raw} IS NOT NULL AND NOT regexp_matches({raw}, '^[A-Za-z]{{3}}$')"
    return raw, None


_EXPECTED = {
    "date": "a date (YYYY-MM-DD)",
    "month": "a month (YYYY-MM)",
    "number": "a number",
    "integer": "a whole number of at least 1",
    "boolean": "true or false",
    "interval": "one of " + ", ".join(MONTHS_PER_INTERVAL),
    "currency": "a 3-letter ISO 4217 currency code",
}


def _header_key(column: str) -> str:
    """"Customer ID" and "customer-id" are near misses of customer_id."""
    return re.sub(r"[^a-z0-9]+", "_", column.strip().lower()).strip("_")


NO_RATES_FILE = "; no fx_rates.csv was imported"


class Validator:
    """Checks the raw tables `raw_<kind>` registered on `con` and builds `typed_<kind>` temp tables."""

    def __init__(self, con: duckdb.DuckDBPyConnection, columns: dict[str, list[str]], reporting_currency: str):
        self.con = con
        self.columns = columns  # kind -> the file's column names
        self.reporting_currency = reporting_currency
        self.problems: list[ImportProblem] = []

    def run(self) -> list[ImportProblem]:
        for kind, present in self.columns.items():
            missing = [c.name for c in TABLES[kind] if c.required and c.name not in present]
            for name in missing:
                file = self._file_of(kind)
                near = [c for c in present if _header_key(c) == name]
                hint = f" (the file has {near[0]!r}; name it {name})" if near else ""
                self.problems.append(ImportProblem(file, "line 1", name, "required column is missing" + hint))
        if self.problems:
            return self.problems
        for kind in self.columns:
            self._type_table(kind)
        self._check_customers()
        self._check_subscriptions()
        if "fx_rates" in self.columns:
            self._check_fx()
        if not self.problems:
            self._check_rates_cover()
        return self.problems

    def _file_of(self, kind: str) -> str:
        return self.con.execute(f"SELECT any_value(_file) FROM raw_{kind}").fetchall()[0][0] or f"{kind}.csv"

    def _collect(self, sql: str) -> None:
        for file, where, column, message in self.con.execute(sql).fetchall():
            self.problems.append(ImportProblem(file, where, column, message))

    def _type_table(self, kind: str) -> None:
        """Typed copy of the raw table; every unparseable value becomes a problem."""
        present = self.columns[kind]
        declared = {c.name: c for c in TABLES[kind]}
        selects = ["_row AS row_id", "_file", "_loc"]
        for column in TABLES[kind]:
            raw = q(column.name) if column.name in present else "CAST(NULL AS VARCHAR)"
            if column.name in present and column.default is not None:
                raw = f"COALESCE({raw}, {lit(column.default)})"
            elif column.name not in present and column.default is not None:
                raw = lit(column.default)
            typed, bad = _parse(column, raw)
            if column.name in present:
                if column.required:
                    self._collect(
                        f"SELECT _file, _loc, {lit(column.name)}, 'a value is required' "
                        f"FROM raw_{kind} WHERE {q(column.name)} IS NULL"
                    )
                if bad:
                    self._collect(
                        f"SELECT _file, _loc, {lit(column.name)}, "
                        f"'\"' || {raw} || '\" is not ' || {lit(_EXPECTED[column.kind])} "
                        f"FROM raw_{kind} WHERE {bad}"
                    )
            selects.append(f"{typed} AS {q(column.name)}")
        selects += [q(name) for name in present if name not in declared]
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE typed_{kind} AS SELECT {', '.join(selects)} FROM raw_{kind}")

    def _check_customers(self) -> None:
        self._collect(
            """
            SELECT _file, _loc, 'customer_id', 'customer "' || customer_id || '" appears twice (first at ' || first || ')'
            FROM (SELECT *, first_value(_loc) OVER (PARTITION BY customer_id ORDER BY row_id) AS first,
                         row_number() OVER (PARTITION BY customer_id ORDER BY row_id) AS n
                  FROM typed_customers WHERE customer_id IS NOT NULL)
            WHERE n > 1 ORDER BY row_id
            """
        )

    def _check_subscriptions(self) -> None:
        self.con.execute(
            f"""
            UPDATE typed_subscriptions SET
                item_id = COALESCE(item_id, subscription_id),
                currency = COALESCE(currency, {lit(self.reporting_currency)})
            """
        )
        checks = [
            ("end_date", "end_date <= start_date",
             "'end date ' || end_date || ' is not after start date ' || start_date"),
            ("quantity", "quantity < 0", "'quantity ' || quantity || ' is negative'"),
            ("unit_amount", "unit_amount < 0", "'unit amount ' || unit_amount || ' is negative'"),
            ("discount_amount", "discount_amount < 0", "'discount amount ' || discount_amount || ' is negative'"),
            ("discount_percent", "discount_percent < 0 OR discount_percent > 100",
             "'discount ' || discount_percent || ' is outside 0-100'"),
            ("customer_id",
             "customer_id IS NOT NULL AND customer_id NOT IN (SELECT customer_id FROM typed_customers WHERE customer_id IS NOT NULL)",
             "'customer \"' || customer_id || '\" is not in the customers file'"),
        ]
        for column, condition, message in checks:
            self._collect(
                f"SELECT _file, _loc, {lit(column)}, {message} FROM typed_subscriptions WHERE {condition} ORDER BY row_id"
            )
        self._collect(
            """
            SELECT a._file, a._loc, 'start_date',
                   'item "' || a.item_id || '" of subscription "' || a.subscription_id
                   || '" overlaps in time with its row at ' || b._loc
            FROM typed_subscriptions a JOIN typed_subscriptions b
              ON a.customer_id = b.customer_id AND a.subscription_id = b.subscription_id
             AND a.item_id = b.item_id AND a.row_id > b.row_id
             AND a.start_date < COALESCE(b.end_date, DATE '9999-12-31')
             AND b.start_date < COALESCE(a.end_date, DATE '9999-12-31')
            ORDER BY a.row_id
            """
        )

    def _check_fx(self) -> None:
        self._collect(
            """
            SELECT _file, _loc, 'rate', 'rate ' || rate || ' must be above 0' FROM typed_fx_rates WHERE rate <= 0
            UNION ALL
            SELECT _file, _loc, 'month', 'a second ' || currency || ' rate for ' || strftime(month, '%Y-%m')
            FROM (SELECT *, row_number() OVER (PARTITION BY currency, month ORDER BY row_id) AS n FROM typed_fx_rates)
            WHERE n > 1
            """
        )

    def _check_rates_cover(self) -> None:
        """Every foreign-currency paid row needs a rate for each month it is active in, up to the data's end
        (canonical.rate_months_sql)."""
        rates = "typed_fx_rates" if "fx_rates" in self.columns else "(SELECT NULL::DATE AS month, NULL AS currency)"
        self._collect(
            f"""
            WITH needed AS (
                SELECT n.*, s._file, s._loc FROM ({rate_months_sql("typed_subscriptions", self.reporting_currency)}) n
                JOIN typed_subscriptions s USING (row_id)
            ), missing AS (
                SELECT n.*, row_number() OVER (PARTITION BY n.row_id ORDER BY n.month) AS k,
                       count(*) OVER (PARTITION BY n.row_id) AS months
                FROM needed n LEFT JOIN {rates} r ON r.currency = n.currency AND r.month = n.month
                WHERE r.month IS NULL
            )
            SELECT _file, _loc, 'currency',
                   'no ' || currency || ' rate in fx_rates for ' || strftime(month, '%Y-%m')
                   || CASE WHEN months > 2 THEN ' (and ' || (months - 1) || ' more months)'
                           WHEN months = 2 THEN ' (and 1 more month)' ELSE '' END
                   || {lit(NO_RATES_FILE) if "fx_rates" not in self.columns else "''"}
            FROM missing WHERE k = 1 ORDER BY row_id
            """
        )
