"""Rulebook §6 worked checks, each on a hand-made data set with hand-computed values."""

import pytest

from helpers import sub
from semantic_layer.settings import Settings


def test_1_item_mrr_by_interval_and_discount(dataset):
    ds = dataset([
        sub("quarterly", "2025-01-01", amount=90, interval="quarter"),
        sub("annual", "2025-01-01", amount=2000, interval="year"),
        sub("annual_discounted", "2025-01-01", amount=120, interval="year", discount_percent=10),
        sub("seats", "2025-01-01", amount=15, quantity=2, discount_percent=20),
    ])
    mrr = {r["customer_id"]: r["mrr"] for r in ds.rows(["mrr"], "2025-01-31", "2025-01-31", group_by=["customer_id"])}
    assert mrr["quarterly"] == pytest.approx(30)
    assert round(mrr["annual"], 2) == 166.67
    assert mrr["annual_discounted"] == pytest.approx(9)
    assert mrr["seats"] == pytest.approx(24)


def test_interval_count_and_days_and_weeks(dataset):
    ds = dataset([
        sub("every_2_months", "2025-01-01", amount=100, interval="month", interval_count=2),
        sub("weekly", "2025-01-01", amount=12, interval="week"),
        sub("daily", "2025-01-01", amount=1, interval="day"),
    ])
    mrr = {r["customer_id"]: r["mrr"] for r in ds.rows(["mrr"], "2025-01-31", "2025-01-31", group_by=["customer_id"])}
    assert mrr["every_2_months"] == pytest.approx(50)
    assert mrr["weekly"] == pytest.approx(12 * 52 / 12)  # $12 per week = 52 weeks a year / 12 months
    assert mrr["daily"] == pytest.approx(365 / 12)


def test_2_trials_add_nothing(dataset):
    rows = [sub(f"paying{i}", "2025-01-01", amount=49) for i in range(5)]
    rows += [sub(f"trial{i}", "2025-01-01", amount=49, is_trial="true") for i in range(8)]
    ds = dataset(rows)
    assert ds.value("mrr", "2025-01-01", "2025-01-31") == pytest.approx(245)
    assert ds.value("customers", "2025-01-01", "2025-01-31") == 5


def test_3_upgrade_plus_add_on_same_day(dataset):
    ds = dataset([
        sub("c", "2025-01-01", "2025-03-10", 500, plan="Pro"),
        sub("c", "2025-03-10", "", 800, plan="Business"),
        sub("c", "2025-03-10", "", 100, item_id="addon", plan="Add-on"),
    ])
    row = ds.rows(["expansion_mrr", "upgrade_mrr", "cross_sell_mrr", "contraction_mrr"], "2025-03-01", "2025-03-31")[0]
    assert row == {**row, "expansion_mrr": pytest.approx(400), "upgrade_mrr": pytest.approx(300),
                   "cross_sell_mrr": pytest.approx(100), "contraction_mrr": 0}


def test_gross_components_on_one_day(dataset):
    """An upgrade of +300 and a seat cut of -200 on the same day: expansion 300, contraction 200."""
    ds = dataset([
        sub("c", "2025-01-01", "2025-03-10", 500, plan="Pro"),
        sub("c", "2025-03-10", "", 800, plan="Business"),
        sub("c", "2025-01-01", "2025-03-10", 20, item_id="seats", plan="Seat", quantity=20),
        sub("c", "2025-03-10", "", 20, item_id="seats", plan="Seat", quantity=10),
    ])
    row = ds.rows(["expansion_mrr", "contraction_mrr", "seat_contraction_mrr", "net_new_mrr"], "2025-03-01", "2025-03-31")[0]
    assert row["expansion_mrr"] == pytest.approx(300)
    assert row["contraction_mrr"] == pytest.approx(200)
    assert row["seat_contraction_mrr"] == pytest.approx(200)
    assert row["net_new_mrr"] == pytest.approx(100)


def test_4_retention_of_a_start_cohort(dataset):
    rows = []
    for i in range(100):
        if i < 10:
            rows.append(sub(f"c{i:03}", "2025-01-01", "2025-03-15", 10))
        elif i < 15:
            rows.append(sub(f"c{i:03}", "2025-01-01", "2025-03-10", 10))
            rows.append(sub(f"c{i:03}", "2025-03-10", "", 25))
        else:
            rows.append(sub(f"c{i:03}", "2025-01-01", "", 10))
    ds = dataset(rows)
    row = ds.rows(["expansion_mrr", "churned_mrr", "nrr", "grr", "customer_churn_rate"], "2025-03-01", "2025-03-31")[0]
    assert row["expansion_mrr"] == pytest.approx(75)
    assert row["churned_mrr"] == pytest.approx(100)
    assert row["nrr"] == pytest.approx(97.5)
    assert row["grr"] == pytest.approx(90)
    assert row["customer_churn_rate"] == pytest.approx(10)


def test_5_upgrade_then_churn_in_one_month(dataset):
    ds = dataset([
        sub("c", "2025-01-01", "2025-03-05", 500, plan="Pro"),
        sub("c", "2025-03-05", "2025-03-20", 1379, plan="Enterprise"),
    ])
    row = ds.rows(["expansion_mrr", "churned_mrr", "mrr", "nrr", "grr", "gross_mrr_churn_rate", "mrr_growth_rate"],
                  "2025-03-01", "2025-03-31")[0]
    assert row["expansion_mrr"] == pytest.approx(879)
    assert row["churned_mrr"] == pytest.approx(1379)
    assert row["mrr"] == 0
    assert ds.value("mrr", "2025-02-28", "2025-02-28") == pytest.approx(500)
    assert row["nrr"] == pytest.approx(0)
    assert row["grr"] == pytest.approx(0)
    assert row["gross_mrr_churn_rate"] == pytest.approx(100)  # never 275.8 %
    assert row["mrr_growth_rate"] == pytest.approx(-100)


def test_6_churn_then_reactivation(dataset):
    ds = dataset([
        sub("c", "2025-01-01", "2025-03-15", 100, subscription_id="S1", item_id="I1"),
        sub("c", "2025-06-10", "", 120, subscription_id="S2", item_id="I2"),
    ])
    rows = ds.rows(["churned_mrr", "reactivation_mrr", "new_mrr", "reactivated_customers"], "2025-01-01", "2025-06-30", grain="month")
    by_month = {r["period_start"].month: r for r in rows}
    assert by_month[3]["churned_mrr"] == pytest.approx(100)
    assert by_month[6]["reactivation_mrr"] == pytest.approx(120)
    assert by_month[6]["reactivated_customers"] == 1
    assert by_month[1]["new_mrr"] == pytest.approx(100)
    assert sum(r["new_mrr"] for r in rows) == pytest.approx(100)


def test_reactivation_window_setting(dataset):
    rows = [
        sub("c", "2025-01-01", "2025-03-15", 100, subscription_id="S1", item_id="I1"),
        sub("c", "2025-06-10", "", 120, subscription_id="S2", item_id="I2"),
    ]
    ds = dataset(rows, settings=Settings(reactivation_window_days=30))
    assert ds.value("new_mrr", "2025-06-01", "2025-06-30") == pytest.approx(120)
    assert ds.value("reactivation_mrr", "2025-06-01", "2025-06-30") == 0
    ds = dataset(rows, settings=Settings(reactivation_window_days=90), name="wide")
    assert ds.value("reactivation_mrr", "2025-06-01", "2025-06-30") == pytest.approx(120)


def test_7_discount_ending_is_expansion(dataset):
    ds = dataset([
        sub("c", "2025-01-01", "2025-02-01", 15, discount_amount=14),
        sub("c", "2025-02-01", "", 15),
    ])
    assert ds.value("mrr", "2025-01-01", "2025-01-31") == pytest.approx(1)
    rows = ds.engine.con.execute("SELECT component, amount FROM movements WHERE date = DATE '2025-02-01'").fetchall()
    assert rows == [("discount", pytest.approx(14))]
    assert ds.value("expansion_mrr", "2025-02-01", "2025-02-28") == pytest.approx(14)


def test_8_arpa(dataset):
    ds = dataset([sub(f"c{i}", "2025-01-01", amount=a) for i, a in enumerate([1, 1, 3, 5, 5])])
    assert ds.value("arpa", "2025-01-01", "2025-01-31") == pytest.approx(3)


def test_8_ltv_from_arpa_and_monthly_churn(dataset):
    """100 customers at $100; each month 5 of the start cohort churn and 5 new ones join after
    mid-month, so every month's churn rate is 5 % and ARPA stays 100: LTV = 100 / 0.05."""
    rows = [sub(f"base{i:03}", "2024-06-01", amount=100) for i in range(100)]
    churners = iter(f"base{i:03}" for i in range(100))
    churning_rows = {}
    for month in range(1, 8):
        for k in range(5):
            churning_rows[next(churners)] = f"2025-{month:02}-10"
            rows.append(sub(f"new{month}-{k}", f"2025-{month:02}-15", amount=100))
    for row in rows:
        if row["customer_id"] in churning_rows:
            row["end_date"] = churning_rows[row["customer_id"]]
    ds = dataset(rows)
    assert ds.value("customer_churn_rate", "2025-03-01", "2025-03-31") == pytest.approx(5)
    assert ds.value("ltv", "2025-06-01", "2025-06-30") == pytest.approx(2000)
    ds.engine.settings = ds.engine.settings.model_copy(update={"gross_margin": 0.8})
    assert ds.value("ltv", "2025-06-01", "2025-06-30") == pytest.approx(1600)


def test_ltv_window_ends_with_previous_month_for_partial_period(dataset):
    rows = [sub(f"c{i}", "2024-01-01", amount=100) for i in range(10)]
    rows[0]["end_date"] = "2025-06-10"  # the only churn: in June
    ds = dataset(rows)
    # Period ending 2025-06-30: months Jan..Jun, one churn of 10 in June -> avg (10 %) / 6.
    assert ds.value("ltv", "2025-06-01", "2025-06-30") == pytest.approx(100 / ((10 / 6) / 100))
    # Period ending mid-July: the 6 full months end with June too.
    assert ds.value("ltv", "2025-07-01", "2025-07-15") == pytest.approx(100 / ((10 / 6) / 100))
    # Period ending in May: no churn in Dec..May -> average churn 0 -> LTV undefined.
    assert ds.value("ltv", "2025-05-01", "2025-05-31") is None


def test_ratio_with_zero_denominator_is_undefined(dataset):
    ds = dataset([sub("c", "2025-03-10", "", 100)])
    row = ds.rows(["nrr", "grr", "customer_churn_rate", "quick_ratio", "mrr_growth_rate", "expansion_rate", "arpa"],
                  "2025-01-01", "2025-01-31")[0]
    assert all(row[m] is None for m in ("nrr", "grr", "customer_churn_rate", "quick_ratio", "mrr_growth_rate",
                                        "expansion_rate", "arpa"))


def test_join_and_leave_in_one_month_shows_in_both(dataset):
    ds = dataset([sub("c", "2025-03-03", "2025-03-20", 70), sub("d", "2025-01-01", "", 30)])
    row = ds.rows(["new_mrr", "churned_mrr", "new_customers", "churned_customers", "net_new_mrr"], "2025-03-01", "2025-03-31")[0]
    assert row["new_mrr"] == pytest.approx(70) and row["churned_mrr"] == pytest.approx(70)
    assert row["new_customers"] == 1 and row["churned_customers"] == 1
    assert row["net_new_mrr"] == pytest.approx(0)


def test_dropping_to_free_plan_or_full_discount_is_churn(dataset):
    ds = dataset([
        sub("free", "2025-01-01", "2025-03-01", 50, plan="Pro"),
        sub("free", "2025-03-01", "", 0, plan="Free"),
        sub("discounted", "2025-01-01", "2025-03-01", 80),
        sub("discounted", "2025-03-01", "", 80, discount_percent=100),
    ])
    assert ds.value("churned_mrr", "2025-03-01", "2025-03-31") == pytest.approx(130)
    assert ds.value("churned_customers", "2025-03-01", "2025-03-31") == 2


def test_seat_change_with_discount_change_splits_components(dataset):
    """10 -> 12 seats at $20 with 10 % off starting the same day: seat term (12-10) x 20 = 40,
    the rest of the delta (216 - 200 - 40 = -24) is a discount component (contraction)."""
    ds = dataset([
        sub("c", "2025-01-01", "2025-03-01", 20, quantity=10, plan="Team"),
        sub("c", "2025-03-01", "", 20, quantity=12, plan="Team", discount_percent=10),
    ])
    rows = dict(ds.engine.con.execute("SELECT component, amount FROM movements WHERE date = DATE '2025-03-01'").fetchall())
    assert rows == {"seat_expansion": pytest.approx(40), "discount": pytest.approx(-24)}


def test_seats_from_zero_are_all_seat_component(dataset):
    ds = dataset([
        sub("c", "2025-01-01", "", 100, plan="Base", item_id="base"),
        sub("c", "2025-01-01", "2025-03-01", 20, quantity=0, plan="Team", item_id="seats"),
        sub("c", "2025-03-01", "", 25, quantity=3, plan="Team", item_id="seats"),
    ])
    rows = dict(ds.engine.con.execute("SELECT component, amount FROM movements WHERE date = DATE '2025-03-01'").fetchall())
    assert rows == {"seat_expansion": pytest.approx(75)}


def test_trial_add_on_converting_is_cross_sell(dataset):
    ds = dataset([
        sub("c", "2025-01-01", "", 100, item_id="base"),
        sub("c", "2025-02-01", "2025-03-01", 30, item_id="addon", is_trial="true"),
        sub("c", "2025-03-01", "", 30, item_id="addon"),
    ])
    assert ds.value("cross_sell_mrr", "2025-03-01", "2025-03-31") == pytest.approx(30)
    assert ds.value("new_mrr", "2025-01-01", "2025-12-31") == pytest.approx(100)


def test_fx_movement_and_revaluation(dataset):
    """A EUR 100/month customer: rate 1.10 in January, 1.20 in February. On 1 February the fx
    movement is 100 x (1.20 - 1.10) = 10; its churn on 1 March (rate 1.25) is valued at the new
    rate after a further fx of 5."""
    ds = dataset(
        [sub("eu", "2025-01-01", "2025-03-01", 100, currency="EUR")],
        fx_rates=[{"month": "2025-01", "currency": "EUR", "rate": 1.10},
                  {"month": "2025-02", "currency": "EUR", "rate": 1.20},
                  {"month": "2025-03", "currency": "EUR", "rate": 1.25}],
    )
    assert ds.value("mrr", "2025-01-31", "2025-01-31") == pytest.approx(110)
    assert ds.value("fx_mrr", "2025-02-01", "2025-02-28") == pytest.approx(10)
    assert ds.value("mrr", "2025-02-28", "2025-02-28") == pytest.approx(120)
    march = ds.rows(["fx_mrr", "churned_mrr", "mrr", "net_new_mrr"], "2025-03-01", "2025-03-31")[0]
    assert march["fx_mrr"] == pytest.approx(5)
    assert march["churned_mrr"] == pytest.approx(125)
    assert march["net_new_mrr"] == pytest.approx(-125)  # fx is not growth


def test_churn_recognition_at_cancellation(dataset):
    rows = [sub("c", "2025-01-01", "2025-04-01", 100, canceled_at="2025-02-15"), sub("d", "2025-01-01", "", 50)]
    ds = dataset(rows)
    assert ds.value("churned_mrr", "2025-04-01", "2025-04-30") == pytest.approx(100)
    ds = dataset(rows, settings=Settings(churn_recognition="cancellation"), name="cancel")
    assert ds.value("churned_mrr", "2025-02-01", "2025-02-28") == pytest.approx(100)
    assert ds.value("churned_mrr", "2025-04-01", "2025-04-30") == 0


def test_reporting_in_another_currency_uses_cross_rates(dataset):
    """fx_rates are quoted in USD; reporting in EUR divides by the EUR rate: a USD 110 item with
    EUR at 1.10 is EUR 100, and a EUR 50 item is EUR 50."""
    from semantic_layer.engine import Engine
    from semantic_layer.store import rebuild, settings_of

    ds = dataset([sub("us", "2025-01-01", amount=110), sub("eu", "2025-01-01", amount=50, currency="EUR")],
                 fx_rates=[{"month": "2025-01", "currency": "EUR", "rate": 1.10}])
    assert ds.value("mrr", "2025-01-31", "2025-01-31") == pytest.approx(165)
    ds.close()
    rebuild(ds.db, settings_of(ds.db).model_copy(update={"reporting_currency": "EUR"}))
    engine = Engine.open(ds.db)
    ds.engine = engine
    assert ds.value("mrr", "2025-01-31", "2025-01-31") == pytest.approx(150)
    with pytest.raises(Exception, match="can't report in GBP"):
        rebuild(ds.db, settings_of(ds.db).model_copy(update={"reporting_currency": "GBP"}))


def test_import_while_the_database_is_open_for_questions(dataset, tmp_path):
    """An import replaces the file: readers keep the data set they opened, new ones see the new one."""
    from conftest import write_csv
    from semantic_layer.engine import Engine
    from semantic_layer.store import import_paths

    ds = dataset([sub("a", "2025-01-01", amount=100)])
    folder = tmp_path / "second"
    folder.mkdir()
    write_csv(folder / "customers.csv", [{"customer_id": "b"}])
    write_csv(folder / "subscriptions.csv", [sub("b", "2025-01-01", amount=300)])
    import_paths(ds.db, [folder])
    assert ds.value("mrr", "2025-01-31", "2025-01-31") == pytest.approx(100)
    fresh = Engine.open(ds.db)
    ds.engine, old = fresh, ds.engine
    old.close()
    assert ds.value("mrr", "2025-01-31", "2025-01-31") == pytest.approx(300)
