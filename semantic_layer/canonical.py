"""The canonical input format of rulebook §1: which files, which columns, which defaults."""

from dataclasses import dataclass

from sqlglot import exp

REPORTING_CURRENCY = "USD"

# Months per one billing interval (rulebook §2).
MONTHS_PER_INTERVAL = {"day": 12 / 365, "week": 12 / 52, "month": 1.0, "quarter": 3.0, "year": 12.0}


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # text | date | number | integer | boolean | interval | currency | month
    required: bool = False
    default: str | None = None


CUSTOMER_COLUMNS = (Column("customer_id", "text", required=True), Column("name", "text"))

SUBSCRIPTION_COLUMNS = (
    Column("customer_id", "text", required=True),
    Column("subscription_id", "text", required=True),
    Column("item_id", "text"),  # defaults to subscription_id, filled in by the validator
    Column("product", "text", default=""),
    Column("plan", "text", default=""),
    Column("start_date", "date", required=True),
    Column("end_date", "date"),
    Column("quantity", "number", default="1"),
    Column("unit_amount", "number", required=True),
    Column("currency", "currency"),  # defaults to the reporting currency
    Column("interval", "interval", default="month"),
    Column("interval_count", "integer", default="1"),
    Column("discount_percent", "number", default="0"),
    Column("discount_amount", "number", default="0"),
    Column("is_trial", "boolean", default="false"),
    Column("canceled_at", "date"),
)

# The columns of a subscription row that are item dimensions; the others are its terms.
ITEM_DIMENSIONS = ("plan", "product", "currency")

FX_COLUMNS = (
    Column("month", "month", required=True),
    Column("currency", "currency", required=True),
    Column("rate", "number", required=True),
)

# Kind of data set file -> its declared columns. Columns beyond these are kept as dimensions.
TABLES = {
    "customers": CUSTOMER_COLUMNS,
    "subscriptions": SUBSCRIPTION_COLUMNS,
    "fx_rates": FX_COLUMNS,
}


def last_day_sql(table: str) -> str:
    """The data's last day (rulebook §5's default as-of date): the latest date any row names."""
    return f"SELECT greatest(max(start_date), max(end_date), max(canceled_at)) AS last_day FROM {table}"


def rate_months_sql(table: str, reporting_currency: str) -> str:
    """The months each foreign-currency paid row needs a rate for (row_id, currency, month): from
    its start to the data's last day, and its end's month, since an end on a month's first day is
    a change valued at that month's rate (rulebook §1 fx_rates)."""
    return f"""
        SELECT s.row_id, s.currency,
               unnest(generate_series(date_trunc('month', s.start_date),
                      date_trunc('month', least(COALESCE(s.end_date, h.last_day), h.last_day)),
                      INTERVAL 1 MONTH))::DATE AS month
        FROM {table} s, ({last_day_sql(table)}) h
        WHERE s.currency <> {exp.Literal.string(reporting_currency).sql()} AND NOT s.is_trial
    """

