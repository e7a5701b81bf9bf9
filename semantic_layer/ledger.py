"""The MRR movement ledger of rulebook §2-§3, built in DuckDB with window functions.

Every paid item row contributes reporting-currency deltas to its customer: +MRR on its start
date, a revaluation on each month's first day while it runs (fx), -MRR on its end date. A
customer's MRR on any day is the running sum of its deltas, so the ledger is additive by
construction. The change points are then classified (new / reactivation / churn / continuing)
and each item's change at a continuing customer's change point becomes a component.

Tables written (all replaced together):
  ledger_items     paid (non-trial) item rows with effective end date and MRR in their currency
  rates            fx rates per currency and month (reporting currency included as 1.0)
  change_points    one row per customer and date with a change; kind, MRR before/after, fx, the
                   customer's previous and next change date; ordered by date
  movements        signed amounts per component, each attributed to one subscription row
and two views of change_points that the queries read customer MRR from:
  customer_mrr_changes  each change of a customer's MRR (stocks and start cohorts are sums of these)
  customer_mrr     intervals of constant customer MRR while paying (valid_from <= d < valid_to)
Rows carry the customer's id and its customer_key, the customer's row_id in customers: an
integer is much cheaper to sort, group and join on than the id text.
"""

import duckdb

from .canonical import MONTHS_PER_INTERVAL, rate_months_sql
from .errors import QueryError
from .settings import Settings
from .validate import lit

OPEN_END = "DATE '9999-12-31'"


def _months_case() -> str:
    whens = " ".join(f"WHEN {lit(k)} THEN {v!r}" for k, v in MONTHS_PER_INTERVAL.items())
    return f"(CASE interval {whens} END)"


def build_ledger(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    _build_rates(con, settings)
    if settings.fx_quote_currency and settings.fx_quote_currency != settings.reporting_currency:
        _check_cross_rates(con, settings)
    _build_items(con, settings)
    _build_fx_events(con, settings)
    _build_item_changes(con)
    _build_customer_days(con, settings)
    _build_movements(con)
    _build_change_points(con)
    for temp in ("items", "fx_events", "item_changes", "cp"):
        con.execute(f"DROP TABLE {temp}")


def _build_rates(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """Rates are quoted per unit of the quote currency; reporting in another currency R divides
    by R's own rate (cross rates). The reporting currency is 1.0 in every month."""
    reporting = lit(settings.reporting_currency)
    quote = lit(settings.fx_quote_currency or settings.reporting_currency)
    con.execute(
        f"""
        CREATE OR REPLACE TABLE rates AS
        WITH quoted AS (
            SELECT currency, month, rate FROM fx_rates WHERE currency <> {quote}
            UNION ALL
            SELECT {quote}, month, 1.0 FROM (SELECT DISTINCT month FROM fx_rates)
        )
        SELECT x.currency, x.month, x.rate / r.rate AS rate
        FROM quoted x JOIN quoted r ON r.month = x.month AND r.currency = {reporting}
        WHERE x.currency <> {reporting}
        UNION ALL
        SELECT {reporting}, unnest(generate_series(DATE '1900-01-01', DATE '2199-12-01', INTERVAL 1 MONTH))::DATE, 1.0
        """
    )


def _check_cross_rates(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """Reporting in another currency than fx_rates are quoted in needs that currency's rate in
    every month a foreign-currency item runs."""
    missing = con.execute(
        f"""
        WITH needed AS ({rate_months_sql("subscriptions", settings.reporting_currency)})
        SELECT n.currency, min(n.month) FROM needed n LEFT JOIN rates r USING (currency, month)
        WHERE r.rate IS NULL GROUP BY 1 ORDER BY 1
        """
    ).fetchall()
    if missing:
        raise QueryError(
            f"can't report in {settings.reporting_currency}: fx_rates (quoted in {settings.fx_quote_currency}) lack "
            + ", ".join(f"{cur} from {month:%Y-%m}" for cur, month in missing)
            + f" (a {settings.reporting_currency} rate is needed in each of those months)"
        )


def _build_items(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """Paid item rows with their MRR. Trials count as no item (§3); under cancellation-time
    churn an item ends when it was canceled. The stored ledger_items keeps what queries read;
    the ledger build itself also needs plan, quantity and discounts."""
    cancel = "TRUE" if settings.churn_recognition == "cancellation" else "FALSE"
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE items AS
        WITH effective AS (
            SELECT s.row_id, s.customer_id, c.row_id AS customer_key, subscription_id, item_id, plan, currency,
                   quantity, unit_amount, discount_percent, discount_amount, start_date,
                   CASE WHEN {cancel} AND canceled_at IS NOT NULL
                        THEN least(COALESCE(end_date, {OPEN_END}), canceled_at)
                        ELSE COALESCE(end_date, {OPEN_END}) END AS end_date,
                   interval_count * {_months_case()} AS months
            FROM subscriptions s JOIN customers c USING (customer_id)
            WHERE NOT is_trial
        )
        SELECT e.row_id, e.customer_id, e.customer_key, e.subscription_id, e.item_id, e.plan, e.currency,
               e.quantity, e.discount_percent, e.discount_amount, e.start_date, e.end_date,
               greatest(0, unit_amount * quantity * (1 - discount_percent / 100) - discount_amount) / months
                   AS mrr_local,
               rs.rate AS rate_start,
               re.rate AS rate_end
        FROM effective e
        LEFT JOIN rates rs ON rs.currency = e.currency AND rs.month = date_trunc('month', e.start_date)
        LEFT JOIN rates re ON re.currency = e.currency AND re.month = date_trunc('month', e.end_date)
        WHERE e.end_date > e.start_date
        """
    )
    # Validation asks for every rate the ledger uses; a gap here would silently drop movements.
    unvalued = con.execute(
        f"""
        SELECT currency, strftime(min(CASE WHEN rate_start IS NULL THEN start_date ELSE end_date END), '%Y-%m')
        FROM items WHERE mrr_local > 0 AND (rate_start IS NULL OR (rate_end IS NULL AND end_date < {OPEN_END}))
        GROUP BY 1 ORDER BY 1
        """
    ).fetchall()
    if unvalued:
        raise QueryError("no exchange rate for " + ", ".join(f"{cur} in {month}" for cur, month in unvalued)
                         + "; import fx_rates that cover those months")
    con.execute(
        """
        CREATE OR REPLACE TABLE ledger_items AS
        SELECT row_id, customer_id, customer_key, item_id, currency, start_date, end_date, mrr_local FROM items
        """
    )


def _build_fx_events(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """Revaluation on each month's first day m with the item running on m-1 (§1 fx_rates)."""
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE fx_events AS
        WITH last_rate AS (SELECT currency, max(month) AS last_month FROM rates GROUP BY currency),
        months AS (
            SELECT i.row_id, i.customer_id, i.customer_key, i.currency, i.mrr_local,
                   unnest(generate_series(date_trunc('month', i.start_date) + INTERVAL 1 MONTH,
                                          least(i.end_date, l.last_month), INTERVAL 1 MONTH))::DATE AS d
            FROM items i JOIN last_rate l USING (currency)
            WHERE i.currency <> {lit(settings.reporting_currency)} AND i.mrr_local > 0
        )
        SELECT m.row_id, m.customer_id, m.customer_key, m.d, m.mrr_local * (r1.rate - r0.rate) AS amount
        FROM months m
        JOIN rates r1 ON r1.currency = m.currency AND r1.month = m.d
        JOIN rates r0 ON r0.currency = m.currency AND r0.month = m.d - INTERVAL 1 MONTH
        WHERE r1.rate <> r0.rate
        """
    )


def _build_item_changes(con: duckdb.DuckDBPyConnection) -> None:
    """One row per item and date on which it changes: the row that ends there (b) and the one
    that starts there (a), valued at that date's rate.

    An item's rows never overlap (the validator rejects that), so in start order a row's
    predecessor is the row that ends on its start date, if any. Every row starts a change; a
    row whose successor does not start on its end date also ends one."""
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE item_changes AS
        WITH linked AS (
            SELECT *, mrr_local * rate_start AS a_mrr, mrr_local * rate_end AS b_mrr,
                   (mrr_local > 0)::INTEGER AS paid,
                   lag(end_date) OVER item = start_date AS follows,
                   lag(row_id) OVER item AS prev_row,
                   lag(mrr_local * rate_end) OVER item AS prev_mrr,
                   lag(plan) OVER item AS prev_plan,
                   lag(quantity) OVER item AS prev_qty,
                   lag(discount_percent) OVER item AS prev_discount_percent,
                   lag(discount_amount) OVER item AS prev_discount_amount,
                   lag((mrr_local > 0)::INTEGER) OVER item AS prev_paid,
                   lead(start_date) OVER item AS next_start
            FROM items
            WINDOW item AS (PARTITION BY customer_key, subscription_id, item_id ORDER BY start_date)
        )
        SELECT customer_id, customer_key, start_date AS d,
               CASE WHEN follows THEN prev_row END AS b_row, row_id AS a_row, item_id,
               CASE WHEN follows THEN prev_mrr END AS b_mrr, a_mrr,
               CASE WHEN follows THEN prev_plan END AS b_plan, plan AS a_plan,
               CASE WHEN follows THEN prev_qty END AS b_qty, quantity AS a_qty,
               CASE WHEN follows THEN prev_discount_percent IS DISTINCT FROM discount_percent
                                   OR prev_discount_amount IS DISTINCT FROM discount_amount
                    ELSE TRUE END AS discount_changed,
               CASE WHEN follows THEN prev_paid ELSE 0 END AS b_paid, paid AS a_paid
        FROM linked
        UNION ALL
        SELECT customer_id, customer_key, end_date, row_id, NULL, item_id, b_mrr, NULL, plan, NULL, quantity, NULL,
               TRUE, paid, 0
        FROM linked WHERE end_date < {OPEN_END} AND next_start IS DISTINCT FROM end_date
        """
    )


def _build_customer_days(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """One row per customer and date with a change: its kind and MRR before and after.

    Customer MRR is the running sum of its deltas; "paying" is tracked as a running count of
    paid items, which is exact where a float sum could leave 1e-13 behind. A customer who
    starts paying again had paid before exactly when it lost a paid item before, and the last
    day it lost one is the day its previous paying spell ended: so one window pass classifies
    every change point."""
    window = "NULL" if settings.reactivation_window_days is None else str(int(settings.reactivation_window_days))
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE cp AS
        WITH deltas AS (
            SELECT customer_key, d,
                   COALESCE(a_mrr, 0) - COALESCE(b_mrr, 0) AS item_delta, 0.0 AS fx_delta,
                   a_paid - b_paid AS paid_delta, TRUE AS item_event
            FROM item_changes
            UNION ALL
            SELECT customer_key, d, 0.0, amount, 0, FALSE FROM fx_events
        ), per_day AS (
            SELECT customer_key, d, sum(item_delta) AS item_delta, sum(fx_delta) AS fx,
                   sum(paid_delta) AS paid_delta, bool_or(item_event) AS item_event
            FROM deltas GROUP BY customer_key, d
        ), running AS (
            SELECT *,
                   sum(item_delta + fx) OVER upto AS cum,
                   sum(paid_delta) OVER upto AS paid_after,
                   max(CASE WHEN paid_delta < 0 THEN d END) OVER before AS last_drop,
                   lag(d) OVER w AS previous_date,
                   lead(d, 1, {OPEN_END}) OVER w AS next_date
            FROM per_day
            WINDOW w AS (PARTITION BY customer_key ORDER BY d),
                   upto AS (w ROWS UNBOUNDED PRECEDING),
                   before AS (w ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
        ), valued AS (
            SELECT *, paid_after - paid_delta AS paid_before,
                   CASE WHEN paid_after > 0 THEN cum ELSE 0 END AS mrr_after,
                   CASE WHEN paid_after - paid_delta > 0 THEN cum - item_delta - fx ELSE 0 END AS mrr_before
            FROM running
        )
        SELECT customer_key, d AS date,
               CASE WHEN NOT item_event THEN 'fx'
                    WHEN paid_before = 0 AND paid_after > 0 THEN
                        CASE WHEN last_drop IS NOT NULL AND ({window} IS NULL OR d - last_drop <= {window})
                             THEN 'reactivation' ELSE 'new' END
                    WHEN paid_before > 0 AND paid_after = 0 THEN 'churn'
                    WHEN paid_before > 0 THEN 'continuing'
                    ELSE 'unpaid' END AS kind,
               mrr_before, fx, mrr_after, previous_date, next_date
        FROM valued
        """
    )


def _build_movements(con: duckdb.DuckDBPyConnection) -> None:
    """Signed movement amounts, each attributed to a subscription row (rulebook §4 grouping):
    new, reactivation and continuing components to the row after the change, churn,
    item_removed and fx to the row before."""
    con.execute(
        """
        CREATE OR REPLACE TABLE movements AS
        WITH x AS (
            SELECT c.*, p.kind FROM item_changes c
            JOIN cp p ON p.customer_key = c.customer_key AND p.date = c.d
        ), parts AS (
            -- A customer's first paid items (new / reactivation): every paid item starts that day.
            SELECT customer_id, customer_key, d, kind AS movement, kind AS component, a_mrr AS amount, a_row AS row_id
            FROM x WHERE kind IN ('new', 'reactivation') AND a_paid = 1
            UNION ALL
            SELECT customer_id, customer_key, d, 'churn', 'churn', -b_mrr, b_row
            FROM x WHERE kind = 'churn' AND b_paid = 1
            UNION ALL
            SELECT customer_id, customer_key, d, NULL, 'cross_sell', a_mrr, a_row
            FROM x WHERE kind = 'continuing' AND b_row IS NULL
            UNION ALL
            SELECT customer_id, customer_key, d, NULL, 'item_removed', -b_mrr, b_row
            FROM x WHERE kind = 'continuing' AND a_row IS NULL
            UNION ALL
            -- A plan change carries the whole item delta, quantity change or not.
            SELECT customer_id, customer_key, d, NULL, CASE WHEN a_mrr > b_mrr THEN 'upgrade' ELSE 'downgrade' END,
                   a_mrr - b_mrr, a_row
            FROM x WHERE kind = 'continuing' AND a_row IS NOT NULL AND b_row IS NOT NULL
                     AND a_plan IS DISTINCT FROM b_plan
            UNION ALL
            -- Same plan, new quantity: (new qty - old qty) x old net unit MRR; from quantity 0
            -- the whole delta.
            SELECT customer_id, customer_key, d, NULL, CASE WHEN seat > 0 THEN 'seat_expansion' ELSE 'seat_contraction' END,
                   seat, a_row
            FROM (SELECT *, CASE WHEN b_qty = 0 THEN a_mrr - b_mrr
                                 ELSE (a_qty - b_qty) * b_mrr / b_qty END AS seat
                  FROM x WHERE kind = 'continuing' AND a_row IS NOT NULL AND b_row IS NOT NULL
                           AND a_plan IS NOT DISTINCT FROM b_plan AND a_qty <> b_qty)
            UNION ALL
            -- What is left of a same-plan item's delta is a discount or list-price change.
            SELECT customer_id, customer_key, d, NULL, CASE WHEN discount_changed THEN 'discount' ELSE 'price' END,
                   a_mrr - b_mrr - CASE WHEN a_qty = b_qty THEN 0
                                        WHEN b_qty = 0 THEN a_mrr - b_mrr
                                        ELSE (a_qty - b_qty) * b_mrr / b_qty END,
                   a_row
            FROM x WHERE kind = 'continuing' AND a_plan IS NOT DISTINCT FROM b_plan
                     AND a_row IS NOT NULL AND b_row IS NOT NULL
            UNION ALL
            SELECT f.customer_id, f.customer_key, f.d, 'fx', 'fx', f.amount, f.row_id FROM fx_events f
        )
        SELECT customer_id, customer_key, d AS date,
               COALESCE(movement, CASE WHEN amount > 0 THEN 'expansion' ELSE 'contraction' END) AS movement,
               component, amount, row_id
        FROM parts WHERE abs(amount) > 1e-9  -- float residue of a seat split is no movement
        ORDER BY date, customer_key
        """
    )


def _build_change_points(con: duckdb.DuckDBPyConnection) -> None:
    """change_points with the row that decides a change point's item group (rulebook §4): the
    customer's largest item on the relevant day (after the change for new / reactivation,
    before it for churn), ties to the smallest item_id. Ordered by date, so that queries for a
    period read only the row groups of its dates."""
    con.execute(
        """
        CREATE OR REPLACE TABLE change_points AS
        WITH ranked AS (
            SELECT p.customer_key, p.date,
                   CASE WHEN p.kind = 'churn' THEN c.b_row ELSE c.a_row END AS row_id,
                   row_number() OVER (
                       PARTITION BY p.customer_key, p.date
                       ORDER BY CASE WHEN p.kind = 'churn' THEN c.b_mrr ELSE c.a_mrr END DESC, c.item_id
                   ) AS rank
            FROM cp p JOIN item_changes c ON c.customer_key = p.customer_key AND c.d = p.date
            WHERE p.kind IN ('new', 'reactivation', 'churn')
              AND (CASE WHEN p.kind = 'churn' THEN c.b_paid ELSE c.a_paid END) = 1
        )
        SELECT cu.customer_id, p.*, r.row_id AS primary_row
        FROM cp p
        JOIN customers cu ON cu.row_id = p.customer_key
        LEFT JOIN ranked r ON r.customer_key = p.customer_key AND r.date = p.date AND r.rank = 1
        ORDER BY p.date, p.customer_key
        """
    )
    # A ledger built before customer_mrr became a view holds a table of that name.
    if con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'customer_mrr' AND NOT temporary").fetchone()[0]:
        con.execute("DROP TABLE customer_mrr")
    con.execute(
        """
        CREATE OR REPLACE VIEW customer_mrr_changes AS
        SELECT customer_id, customer_key, date, previous_date, next_date, mrr_before, mrr_after FROM change_points
        """
    )
    con.execute(
        """
        CREATE OR REPLACE VIEW customer_mrr AS
        SELECT customer_id, customer_key, date AS valid_from, next_date AS valid_to, mrr_after AS mrr
        FROM change_points WHERE mrr_after > 0
        """
    )
