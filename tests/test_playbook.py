"""The public dbt mrr-playbook data set (shared/data/mrr-playbook)."""

from datetime import date

import pytest

from semantic_layer.compiler import MetricQuery
from semantic_layer.engine import Engine
from semantic_layer.store import import_paths

from conftest import PLAYBOOK


@pytest.fixture(scope="module")
def playbook(tmp_path_factory):
    db = tmp_path_factory.mktemp("playbook") / "playbook.duckdb"
    import_paths(db, [PLAYBOOK])
    engine = Engine.open(db)
    yield engine
    engine.close()


def _row(engine, metrics, start, end, **kwargs):
    return engine.run(MetricQuery(metrics=metrics, start=date.fromisoformat(start), end=date.fromisoformat(end), **kwargs)).rows


def test_totals_match_the_playbooks_own_sql(playbook):
    """The playbook ignores everything before 2018-01; from then on its movement totals are
    new 52 / +2,195, upgrade 30 / +660, downgrade 27 / -555, reactivation 3 / +150, churn 55 / -2,450."""
    totals = dict(((m, (n, a)) for m, n, a in playbook.con.execute(
        "SELECT movement, count(*), sum(amount) FROM movements WHERE date >= DATE '2018-01-01' GROUP BY 1"
    ).fetchall()))
    assert totals == {"new": (52, 2195), "expansion": (30, 660), "contraction": (27, -555),
                      "reactivation": (3, 150), "churn": (55, -2450)}


def test_customer_1_history(playbook):
    """customer 1: $50 from 2018-11 to 2019-02, back 2019-04 at $50, $75 from 2019-06, gone 2019-08."""
    rows = _row(playbook, ["new_mrr", "churned_mrr", "reactivation_mrr", "expansion_mrr"], "2018-11-01", "2019-08-31",
                grain="month", filters=[{"dimension": "customer_id", "values": ["1"]}])
    by_month = {r["period_start"].strftime("%Y-%m"): r for r in rows}
    assert by_month["2018-11"]["new_mrr"] == 50
    assert by_month["2019-02"]["churned_mrr"] == 50
    assert by_month["2019-04"]["reactivation_mrr"] == 50
    assert by_month["2019-06"]["expansion_mrr"] == 25
    assert by_month["2019-08"]["churned_mrr"] == 75
    assert sum(r["new_mrr"] + r["reactivation_mrr"] + r["expansion_mrr"] - r["churned_mrr"] for r in rows) == 0


def test_monthly_movements_in_2019(playbook):
    """Hand-checked from subscriptions.csv, April 2019: new 120 (customer 8 at $65, 30 at $55),
    expansion 65 (10 and 14 from $25 to $50, 23 from $35 to $50), reactivation 50 (customer 1)."""
    rows = _row(playbook, ["mrr", "new_mrr", "expansion_mrr", "contraction_mrr", "churned_mrr", "reactivation_mrr"],
                "2019-01-01", "2019-06-30", grain="month")
    april = rows[3]
    assert april["mrr"] == 895
    assert (april["new_mrr"], april["expansion_mrr"], april["reactivation_mrr"]) == (120, 65, 50)
    for before, after in zip(rows, rows[1:]):
        assert after["mrr"] == before["mrr"] + after["new_mrr"] + after["reactivation_mrr"] + after["expansion_mrr"] \
            - after["contraction_mrr"] - after["churned_mrr"]
