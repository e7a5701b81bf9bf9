"""The additivity identity and the published anchors on the acme data set."""

from datetime import date

import pytest

from semantic_layer.compiler import MetricQuery

FLOWS = ["new_mrr", "reactivation_mrr", "expansion_mrr", "contraction_mrr", "churned_mrr", "fx_mrr"]


def _rows(engine, metrics, start, end, **kwargs):
    return engine.run(MetricQuery(metrics=metrics, start=start, end=end, **kwargs)).rows


def _bridge_holds(rows_now, mrr_start):
    for key, row in rows_now.items():
        expected = (mrr_start[key] + row["new_mrr"] + row["reactivation_mrr"] + row["expansion_mrr"]
                    - row["contraction_mrr"] - row["churned_mrr"] + row["fx_mrr"])
        assert row["mrr"] == pytest.approx(expected, abs=1e-6), (key, row)


@pytest.mark.parametrize("group_by", [[], ["segment"], ["country"]])
def test_mrr_bridge_adds_up_every_month(acme, group_by):
    rows = _rows(acme, ["mrr"] + FLOWS, date(2022, 1, 1), date(2026, 6, 30), grain="month", group_by=group_by)
    previous = {}
    for row in rows:
        key = tuple(row[g] for g in group_by)
        start_mrr = previous.get(key, 0.0)  # the data starts in January 2022
        _bridge_holds({key: row}, {key: start_mrr})
        previous[key] = row["mrr"]
    assert len(previous) == (1 if not group_by else len({tuple(r[g] for g in group_by) for r in rows}))


@pytest.mark.parametrize("group_by", [[], ["segment"]])
def test_quarter_movements_are_the_sum_of_its_months(acme, group_by):
    metrics = FLOWS + ["upgrade_mrr", "cross_sell_mrr", "seat_expansion_mrr", "downgrade_mrr", "item_removed_mrr",
                       "seat_contraction_mrr", "net_new_mrr", "new_customers", "churned_customers", "reactivated_customers"]
    quarters = _rows(acme, metrics, date(2025, 1, 1), date(2026, 6, 30), grain="quarter", group_by=group_by)
    months = _rows(acme, metrics, date(2025, 1, 1), date(2026, 6, 30), grain="month", group_by=group_by)
    for quarter in quarters:
        inside = [m for m in months if quarter["period_start"] <= m["period_start"] <= quarter["period_end"]
                  and all(m[g] == quarter[g] for g in group_by)]
        assert len(inside) == 3
        for metric in metrics:
            assert quarter[metric] == pytest.approx(sum(m[metric] for m in inside), abs=1e-6), metric


def test_segments_add_up_to_the_total(acme):
    metrics = ["mrr", "customers", "new_mrr", "expansion_mrr", "churned_mrr", "new_customers"]
    total = _rows(acme, metrics, date(2025, 1, 1), date(2025, 12, 31))[0]
    parts = _rows(acme, metrics, date(2025, 1, 1), date(2025, 12, 31), group_by=["segment"])
    assert {p["segment"] for p in parts} == {"SMB", "Mid-Market", "Enterprise"}
    for metric in metrics:
        assert total[metric] == pytest.approx(sum(p[metric] for p in parts))


def test_published_anchors(acme):
    """From shared/data/acme/README.md."""
    row = _rows(acme, ["mrr", "customers"], date(2026, 6, 30), date(2026, 6, 30))[0]
    assert round(row["mrr"], 2) == 394413.66
    assert row["customers"] == 930
    q1 = _rows(acme, ["expansion_mrr", "upgrade_mrr", "cross_sell_mrr", "seat_expansion_mrr"],
               date(2026, 1, 1), date(2026, 3, 31))[0]
    assert round(q1["expansion_mrr"], 2) == 19419.55
    assert round(q1["upgrade_mrr"], 2) == 5148.32
    assert round(q1["cross_sell_mrr"], 2) == 5358.70
    assert round(q1["seat_expansion_mrr"], 2) == 7659.14


def test_growth_list_price_change_is_a_price_component(acme):
    """The Growth list-price increase on 2025-03-01 shows as price components, not upgrades."""
    rows = acme.con.execute(
        """SELECT count(*), sum(m.amount) FROM movements m JOIN subscriptions s ON s.row_id = m.row_id
           WHERE m.date = DATE '2025-03-01' AND m.component = 'price' AND s.plan LIKE 'Growth%'"""
    ).fetchall()
    count, amount = rows[0]
    assert count > 0 and amount > 0


def test_no_customer_is_new_and_reactivated_at_one_change_point(acme):
    both = acme.con.execute(
        """SELECT customer_id, date FROM movements WHERE movement IN ('new', 'reactivation')
           GROUP BY ALL HAVING count(DISTINCT movement) > 1"""
    ).fetchall()
    assert both == []


def test_plan_grouping_attributes_money_per_item(acme):
    """Grouped by plan, new MRR adds up to the total (each item's money goes to its own plan)
    and customers add up too (each customer counted under its largest item)."""
    metrics = ["new_mrr", "churned_mrr", "mrr", "customers"]
    total = _rows(acme, metrics, date(2025, 1, 1), date(2025, 12, 31))[0]
    parts = _rows(acme, metrics, date(2025, 1, 1), date(2025, 12, 31), group_by=["plan"])
    for metric in metrics:
        assert total[metric] == pytest.approx(sum(p[metric] for p in parts)), metric
