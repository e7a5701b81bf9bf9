"""Property test: random small histories against a day-by-day Python reading of the rulebook."""

from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from semantic_layer.canonical import MONTHS_PER_INTERVAL
from semantic_layer.compiler import MetricQuery
from semantic_layer.periods import month_start

from conftest import Dataset

FIRST = date(2025, 1, 1)
DAYS = 180
RATES = {1: 1.10, 2: 1.15, 3: 1.05, 4: 1.20, 5: 1.20, 6: 1.00, 7: 1.30}


@st.composite
def histories(draw):
    rows = []
    for c in range(draw(st.integers(1, 3))):
        currency = draw(st.sampled_from(["USD", "USD", "EUR"]))
        for i in range(draw(st.integers(1, 2))):
            cuts = sorted(draw(st.lists(st.integers(0, DAYS), min_size=2, max_size=7, unique=True)))
            open_end = draw(st.booleans())
            for k, (a, b) in enumerate(zip(cuts, cuts[1:])):
                if draw(st.integers(0, 4)) == 0:
                    continue  # a gap in the item's life
                last = k == len(cuts) - 2
                rows.append({
                    "customer_id": f"c{c}", "subscription_id": f"s{c}", "item_id": f"i{c}-{i}",
                    "plan": draw(st.sampled_from(["Basic", "Pro"])),
                    "start_date": (FIRST + timedelta(a)).isoformat(),
                    "end_date": "" if last and open_end else (FIRST + timedelta(b)).isoformat(),
                    "unit_amount": draw(st.sampled_from([0, 10, 25.5, 100, 1200])),
                    "quantity": draw(st.sampled_from([0, 1, 1, 3])),
                    "discount_percent": draw(st.sampled_from([0, 0, 50, 100])),
                    "discount_amount": draw(st.sampled_from([0, 0, 5])),
                    "interval": draw(st.sampled_from(["month", "month", "quarter", "year"])),
                    "is_trial": draw(st.sampled_from(["false", "false", "false", "true"])),
                    "currency": currency,
                })
    return rows


def item_mrr(row) -> float:
    gross = row["unit_amount"] * row["quantity"] * (1 - row["discount_percent"] / 100) - row["discount_amount"]
    return max(0.0, gross) / MONTHS_PER_INTERVAL[row["interval"]]


def mrr_on(rows, customer, day: date, rate_month: date | None = None) -> float:
    """Customer MRR on `day`, valued at the rate of `rate_month` (default: the day's month)."""
    month = (rate_month or day).month
    total = 0.0
    for r in rows:
        if r["customer_id"] != customer or r["is_trial"] == "true":
            continue
        start = date.fromisoformat(r["start_date"])
        end = date.fromisoformat(r["end_date"]) if r["end_date"] else date.max
        if start <= day < end:
            total += item_mrr(r) * (RATES[month] if r["currency"] == "EUR" else 1.0)
    return total


def oracle_flows(rows):
    """new / reactivation / churn per month, walking every day (§3), valued at the day's rate."""
    flows = {}
    customers = {r["customer_id"] for r in rows}
    for c in customers:
        paid_before = False
        for offset in range(DAYS + 1):
            day = FIRST + timedelta(offset)
            before = mrr_on(rows, c, day - timedelta(1), rate_month=day)
            after = mrr_on(rows, c, day)
            key = month_start(day)
            bucket = flows.setdefault(key, {"new": 0.0, "reactivation": 0.0, "churn": 0.0})
            if before <= 1e-9 < after:
                bucket["reactivation" if paid_before else "new"] += after
                paid_before = True
            elif after <= 1e-9 < before:
                bucket["churn"] += before
    return flows


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=histories())
def test_ledger_matches_day_by_day_reading(tmp_path_factory, rows):
    assume(rows)
    fx = [{"month": f"2025-{m:02}", "currency": "EUR", "rate": r} for m, r in RATES.items()]
    ds = Dataset(tmp_path_factory.mktemp("h"), rows, fx_rates=fx)
    try:
        metrics = ["mrr", "new_mrr", "reactivation_mrr", "expansion_mrr", "contraction_mrr", "churned_mrr", "fx_mrr"]
        months = ds.engine.run(MetricQuery(metrics=metrics, start=FIRST, end=date(2025, 6, 30), grain="month",
                                           group_by=["customer_id"])).rows
        flows = oracle_flows(rows)
        previous = {}
        for row in months:
            c, end = row["customer_id"], row["period_end"]
            assert row["mrr"] == pytest.approx(mrr_on(rows, c, end), abs=1e-6)
            start_mrr = previous.get(c, 0.0)
            bridge = (start_mrr + row["new_mrr"] + row["reactivation_mrr"] + row["expansion_mrr"]
                      - row["contraction_mrr"] - row["churned_mrr"] + row["fx_mrr"])
            assert row["mrr"] == pytest.approx(bridge, abs=1e-6)
            previous[c] = row["mrr"]
        totals = {}
        for row in months:
            t = totals.setdefault(row["period_start"], {"new": 0.0, "reactivation": 0.0, "churn": 0.0})
            t["new"] += row["new_mrr"]
            t["reactivation"] += row["reactivation_mrr"]
            t["churn"] += row["churned_mrr"]
        for month, expected in flows.items():
            if month in totals:
                for kind in expected:
                    assert totals[month][kind] == pytest.approx(expected[kind], abs=1e-6), (month, kind)
        both = ds.engine.con.execute(
            "SELECT customer_id, date FROM movements WHERE movement IN ('new', 'reactivation') "
            "GROUP BY ALL HAVING count(DISTINCT movement) > 1"
        ).fetchall()
        assert both == []
        firsts = ds.engine.con.execute(
            "SELECT customer_id, count(*) FROM change_points WHERE kind = 'new' GROUP BY 1 HAVING count(*) > 1"
        ).fetchall()
        assert firsts == []
    finally:
        ds.close()
