"""The synthetic company generator: deterministic, valid canonical input, and every feature present."""

import csv
from datetime import date

import duckdb
import pytest

from semantic_layer.compiler import MetricQuery
from semantic_layer.engine import Engine
from semantic_layer.settings import Settings
from semantic_layer.store import import_paths
from semantic_layer.synthetic import BENCH_ACTIVITY, generate, main, price_increase_date

FILES = ("customers.csv", "subscriptions.csv", "fx_rates.csv")
START, END = date(2023, 1, 1), date(2026, 6, 30)
CUSTOMERS = 2000


@pytest.fixture(scope="module")
def company(tmp_path_factory):
    folder = tmp_path_factory.mktemp("synthetic")
    summary = generate(folder, customers=CUSTOMERS, seed=11)
    db = folder / "synthetic.duckdb"
    imported = import_paths(db, [folder])
    con = duckdb.connect(str(db), read_only=True)
    yield folder, summary, imported, con, db
    con.close()


def _one(con, sql, params=None):
    return con.execute(sql, params or []).fetchall()[0][0]


def test_same_seed_gives_identical_bytes_and_another_seed_does_not(tmp_path):
    generate(tmp_path / "a", customers=300, seed=3)
    generate(tmp_path / "b", customers=300, seed=3)
    generate(tmp_path / "c", customers=300, seed=4)
    for name in FILES:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    assert (tmp_path / "a" / "subscriptions.csv").read_bytes() != (tmp_path / "c" / "subscriptions.csv").read_bytes()


def test_imports_without_validation_errors(company):
    folder, summary, imported, con, _ = company
    assert imported.customers == summary["customers"] == CUSTOMERS
    assert imported.subscription_rows == summary["subscription_rows"]
    assert imported.currencies == ["EUR", "GBP", "USD"]
    assert imported.first_date.isoformat() == summary["first_date"] >= START.isoformat()
    assert imported.last_date.isoformat() == summary["last_date"] <= END.isoformat()
    # the demo's pace: a few period rows a customer
    assert 3 <= summary["subscription_rows"] / CUSTOMERS <= 6


def test_canonical_columns_and_customer_dimensions(company):
    folder = company[0]
    with (folder / "customers.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["customer_id", "name", "country", "segment", "channel", "industry"]
    assert {r["segment"] for r in rows} == {"SMB", "Mid-Market", "Enterprise"}
    assert {r["channel"] for r in rows} == {"organic", "paid", "partner", "outbound"}
    assert all(len(r["name"].split()) >= 3 for r in rows)
    with (folder / "subscriptions.csv").open() as handle:
        header = next(csv.reader(handle))
    assert header == ["customer_id", "subscription_id", "item_id", "product", "plan", "start_date", "end_date",
                      "quantity", "unit_amount", "currency", "interval", "interval_count", "discount_percent",
                      "discount_amount", "is_trial", "canceled_at"]


def test_rows_stay_inside_the_range_and_rates_cover_every_month(company):
    con = company[3]
    assert _one(con, "SELECT count(*) FROM subscriptions WHERE start_date > ? OR start_date < ?", [END, START]) == 0
    assert _one(con, "SELECT count(*) FROM subscriptions WHERE end_date > ? OR canceled_at > ?", [END, END]) == 0
    assert _one(con, "SELECT count(*) FROM subscriptions WHERE end_date IS NULL") > 0
    months = (END.year - START.year) * 12 + END.month - START.month + 1
    assert con.execute("SELECT currency, count(DISTINCT month) FROM fx_rates GROUP BY 1 ORDER BY 1").fetchall() == [
        ("EUR", months), ("GBP", months)]


def test_plans_billing_trials_and_discounts(company):
    con = company[3]
    intervals = set(con.execute("SELECT DISTINCT interval, interval_count FROM subscriptions").fetchall())
    assert {("month", 1), ("quarter", 1), ("year", 1), ("month", 3)} <= intervals
    plans = {r[0] for r in con.execute("SELECT DISTINCT plan FROM subscriptions").fetchall()}
    assert {"Starter monthly", "Growth annual", "Scale monthly", "Team monthly", "Team annual",
            "Analytics add-on monthly", "SSO add-on monthly"} <= plans
    products = {r[0] for r in con.execute("SELECT DISTINCT product FROM subscriptions").fetchall()}
    assert products == {"Platform", "Analytics add-on", "SSO add-on", "Data Pipeline"}
    # add-ons are their own items inside the plan's subscription
    assert _one(con, """SELECT count(*) FROM subscriptions a JOIN subscriptions b
                        ON a.subscription_id = b.subscription_id AND a.item_id <> b.item_id
                        WHERE a.product = 'Platform' AND b.product LIKE '%add-on'""") > 0
    # customers with a second product (a second subscription running at the same time)
    assert _one(con, """SELECT count(DISTINCT a.customer_id) FROM subscriptions a JOIN subscriptions b
                        ON a.customer_id = b.customer_id AND a.product = 'Platform' AND b.product = 'Data Pipeline'
                        AND a.subscription_id <> b.subscription_id
                        AND a.start_date < COALESCE(b.end_date, DATE '9999-12-31')
                        AND b.start_date < COALESCE(a.end_date, DATE '9999-12-31')""") > 0
    # trials, some of which never convert
    assert _one(con, "SELECT count(*) FROM subscriptions WHERE is_trial") > 0
    assert _one(con, "SELECT count(*) FROM (SELECT customer_id FROM subscriptions GROUP BY 1 HAVING bool_and(is_trial))") > 0
    # temporary and permanent discounts, a few amounts off
    assert _one(con, "SELECT count(*) FROM subscriptions WHERE discount_percent > 0") > 0
    assert _one(con, "SELECT count(*) FROM subscriptions WHERE discount_amount > 0") > 0
    # per-seat plan with varying quantities
    assert _one(con, "SELECT count(DISTINCT quantity) FROM subscriptions WHERE plan LIKE 'Team%'") > 20


def test_list_price_increase_at_a_fixed_date(company):
    con = company[3]
    day = price_increase_date(START, END)
    prices = con.execute(
        "SELECT DISTINCT unit_amount FROM subscriptions WHERE plan = 'Growth monthly' AND currency = 'USD' ORDER BY 1"
    ).fetchall()
    assert prices == [(199.0,), (229.0,)]
    assert _one(con, "SELECT count(*) FROM movements WHERE component = 'price' AND date = ?", [day]) > 0


def test_ledger_has_every_kind_of_movement(company):
    con = company[3]
    kinds = {r[0] for r in con.execute("SELECT DISTINCT kind FROM change_points").fetchall()}
    assert {"new", "churn", "reactivation", "continuing", "fx"} <= kinds
    components = {r[0] for r in con.execute("SELECT DISTINCT component FROM movements").fetchall()}
    assert {"new", "reactivation", "churn", "upgrade", "downgrade", "seat_expansion", "seat_contraction",
            "cross_sell", "item_removed", "discount", "price", "fx"} <= components
    # discounts that end show as positive discount components (expansion)
    assert _one(con, "SELECT count(*) FROM movements WHERE component = 'discount' AND amount > 0") > 0


def test_churn_timing_reactivations_and_same_day_changes(company):
    con = company[3]
    # churned rows carry a cancellation requested before the end of the paid period
    assert _one(con, "SELECT count(*) FROM subscriptions WHERE canceled_at IS NOT NULL AND canceled_at < end_date") > 0
    assert _one(con, "SELECT count(*) FROM subscriptions WHERE canceled_at IS NOT NULL AND canceled_at <= start_date") == 0
    # customers who join and leave within one month
    assert _one(con, """SELECT count(*) FROM change_points n JOIN change_points c
                        ON n.customer_id = c.customer_id AND n.kind = 'new' AND c.kind = 'churn'
                        AND date_trunc('month', n.date) = date_trunc('month', c.date)""") > 0
    # reactivations after a gap
    assert _one(con, "SELECT count(*) FROM change_points WHERE kind = 'reactivation'") > 0
    # several changes of one customer on one day
    assert _one(con, """SELECT count(*) FROM (SELECT customer_id, date FROM movements WHERE movement IN
                        ('expansion', 'contraction') GROUP BY ALL HAVING count(*) >= 2)""") > 0


def test_mrr_grows_and_customers_join_over_the_whole_range(company):
    db = company[4]
    engine = Engine.open(db)
    try:
        rows = engine.run(MetricQuery(metrics=["mrr", "new_customers"], start=START, end=END, grain="year")).rows
    finally:
        engine.close()
    mrr = [r["mrr"] for r in rows]
    assert mrr == sorted(mrr) and mrr[0] > 0
    assert all(r["new_customers"] > 0 for r in rows)


def test_imports_under_cancellation_time_churn(tmp_path):
    folder = tmp_path / "data"
    generate(folder, customers=400, seed=5)
    imported = import_paths(tmp_path / "c.duckdb", [folder], Settings(churn_recognition="cancellation"))
    assert imported.customers == 400


def test_cli_writes_the_three_files(tmp_path, capsys):
    main([str(tmp_path / "cli"), "--customers", "50", "--seed", "2"])
    assert '"customers": 50' in capsys.readouterr().out
    assert all((tmp_path / "cli" / name).exists() for name in FILES)


def test_the_benchmark_pace_gives_about_ten_rows_a_customer(tmp_path):
    """Issue 2's benchmark: 100,000 customers, about a million period rows."""
    summary = generate(tmp_path / "bench", customers=1000, seed=7, activity=BENCH_ACTIVITY)
    assert 8 <= summary["subscription_rows"] / 1000 <= 12


def test_segments_behave_like_saas_segments(company):
    """Larger customers pay more and keep more of their revenue; expansion is not a multiple of new business."""
    engine = Engine.open(company[4])
    rows = {r["segment"]: r for r in engine.run(MetricQuery(metrics=["mrr", "arpa", "grr", "customer_churn_rate"],
                                                            start=date(2025, 1, 1), end=date(2025, 12, 31),
                                                            group_by=["segment"])).rows}
    assert rows["Enterprise"]["arpa"] > rows["Mid-Market"]["arpa"] > rows["SMB"]["arpa"]
    assert rows["Enterprise"]["grr"] > rows["SMB"]["grr"]
    assert rows["Enterprise"]["customer_churn_rate"] < rows["SMB"]["customer_churn_rate"]
    year = engine.run(MetricQuery(metrics=["new_mrr", "expansion_mrr"], start=date(2025, 1, 1), end=date(2025, 12, 31))).rows[0]
    engine.close()
    assert year["expansion_mrr"] < 1.5 * year["new_mrr"]
