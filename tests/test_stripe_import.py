"""Stripe exports become subscription item periods (rulebook §1) and the ledger's movements
(§2-§3) follow from them. Fixtures: tests/fixtures/stripe/ (build_fixtures.py writes them; each
folder is one hand-built, Stripe-shaped account export). Every expected amount below is worked
out by hand from the rulebook in the comment next to it.
"""

import json
import shutil
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from analyst.cli import main
from semantic_layer.compiler import MetricQuery
from semantic_layer.engine import Engine
from semantic_layer.errors import ImportRejected
from semantic_layer.settings import Settings
from semantic_layer.store import connect, import_paths

FIX = Path(__file__).resolve().parent / "fixtures" / "stripe"
FX = FIX / "fx_rates.csv"


class Imported:
    def __init__(self, db: Path, notes: list[str], last_date: date | None = None):
        self.db = db
        self.notes = notes
        self.last_date = last_date  # the default as-of date (rulebook §5)

    def sql(self, query: str, params=()) -> list[tuple]:
        con = connect(self.db)
        try:
            return con.execute(query, list(params)).fetchall()
        finally:
            con.close()

    def moves(self, customer: str) -> list[tuple]:
        """(date, component, amount) of the customer's movements, in date order. Float residues
        below 1e-9 are left out: the ledger keeps any amount <> 0, so (new - old) - seat term can
        leave a 1e-14 "price" component (seen with canonical CSV input too; a ledger.py matter)."""
        return [(d.isoformat(), c, round(a, 4)) for d, c, a in self.sql(
            "SELECT date, component, amount FROM movements WHERE customer_id = ? AND abs(amount) > 1e-9 "
            "ORDER BY date, component", [customer])]

    def rows(self, customer: str) -> list[tuple]:
        return [(s.isoformat(), e.isoformat() if e else None, plan, qty, unit, pct, amt, trial) for
                s, e, plan, qty, unit, pct, amt, trial in self.sql(
            "SELECT start_date, end_date, plan, quantity, unit_amount, discount_percent, discount_amount, is_trial "
            "FROM subscriptions WHERE customer_id = ? ORDER BY item_id, start_date", [customer])]

    def metric(self, name: str, start: str, end: str, **kwargs):
        engine = Engine.open(self.db)
        try:
            rows = engine.run(MetricQuery(metrics=[name], start=date.fromisoformat(start),
                                          end=date.fromisoformat(end), **kwargs)).rows
        finally:
            engine.close()
        assert len(rows) == 1, rows
        return rows[0][name]


def load(tmp_path: Path, *paths, settings: Settings | None = None, db_name: str = "stripe.duckdb") -> Imported:
    db = tmp_path / db_name
    result = import_paths(db, [FIX / p if isinstance(p, str) else p for p in paths], settings)
    return Imported(db, result.notes, result.last_date)


# ---- billing intervals ------------------------------------------------------------------

def test_monthly_quarterly_and_annual_prices(tmp_path):
    data = load(tmp_path, "intervals")
    # $49/month -> 49; $90 every 3 months (Stripe: month x 3) -> 90 / 3 = 30; $2,000/year -> 2000 / 12.
    assert data.moves("cus_monthly") == [("2025-01-05", "new", 49.0)]
    assert data.moves("cus_quarterly") == [("2025-01-10", "new", 30.0)]
    assert data.moves("cus_annual") == [("2025-02-01", "new", 166.6667)]
    # Renewals are no change points: one open row per item.
    assert data.rows("cus_quarterly") == [("2025-01-10", None, "Growth quarterly", 1.0, 90.0, 0.0, 0.0, False)]
    # 49 + 30 + 166.67 = 245.67 at the end of April.
    assert data.metric("mrr", "2025-04-30", "2025-04-30") == pytest.approx(49 + 30 + 2000 / 12)
    assert data.metric("new_mrr", "2025-01-01", "2025-01-31") == pytest.approx(79)


def test_customers_become_customers_with_dimensions(tmp_path):
    data = load(tmp_path, "intervals")
    columns = [r[0] for r in data.sql(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'customers' ORDER BY ordinal_position")]
    # name, email domain, address.country and every metadata key; metadata "plan" would clash with
    # the item attribute plan, so it is renamed.
    assert {"customer_id", "name", "email_domain", "country", "segment", "channel", "metadata_plan"} <= set(columns)
    assert data.sql("SELECT name, email_domain, country, segment, channel FROM customers WHERE customer_id = 'cus_monthly'") \
        == [("Monthly Co", "monthly.io", "US", "SMB", "self-serve")]
    # A metadata key is a dimension like any other.
    by_segment = {r["segment"]: r["mrr"] for r in Engine.open(data.db).run(
        MetricQuery(metrics=["mrr"], start=date(2025, 4, 30), end=date(2025, 4, 30), group_by=["segment"])).rows}
    assert by_segment == pytest.approx({"SMB": 49, "Mid-market": 30, "Enterprise": 2000 / 12})


# ---- changes within a subscription ------------------------------------------------------

def test_seat_increase_mid_cycle_with_proration(tmp_path):
    data = load(tmp_path, "seats_proration")
    # 5 seats x $10 = 50 from 1 Jan. On 15 Feb 5 -> 8 seats: Stripe bills -$25 unused + $40 remaining
    # (half a month) on the 1 March invoice. The change counts on the proration's period start at
    # the full-period rate: seat_expansion = (8 - 5) x 10 = 30, never 40 - 25 = 15.
    assert data.moves("cus_seats") == [("2025-01-01", "new", 50.0), ("2025-02-15", "seat_expansion", 30.0)]
    assert data.metric("mrr", "2025-02-28", "2025-02-28") == pytest.approx(80)
    assert data.metric("seat_expansion_mrr", "2025-02-01", "2025-02-28") == pytest.approx(30)
    assert data.metric("expansion_mrr", "2025-03-01", "2025-03-31") == pytest.approx(0)


@pytest.mark.parametrize("coupon_in_export", [True, False])
def test_seat_change_under_a_forever_coupon(tmp_path, coupon_in_export):
    """The proration lines carry no discount; the new seat count keeps the coupon."""
    folder = tmp_path / "export"
    shutil.copytree(FIX / "seats_proration", folder)
    invoices = json.loads((folder / "invoices.json").read_text())
    coupon = {"id": "TWENTY", "object": "coupon", "percent_off": 20, "amount_off": None, "duration": "forever"}
    for invoice in invoices["data"]:
        for line in invoice["lines"]["data"]:
            if not line["proration"]:
                line["discount_amounts"] = [{"amount": line["amount"] // 5, "discount": "di_twenty"}]
        if coupon_in_export:
            invoice["discount"] = {"id": "di_twenty", "object": "discount", "coupon": coupon, "end": None,
                                   "start": invoice["created"]}
    (folder / "invoices.json").write_text(json.dumps(invoices))
    data = load(tmp_path, folder)
    # 5 x $10 with 20% off = 40; 5 -> 8 seats: seat_expansion = 3 x (40 / 5) = 24, and no discount
    # movement, whether the coupon is known (20%) or only its amount on each line ($10, then $16).
    assert data.moves("cus_seats") == [("2025-01-01", "new", 40.0), ("2025-02-15", "seat_expansion", 24.0)]


@pytest.mark.parametrize("shape", ["upgrade_legacy", "upgrade_basil"])
def test_upgrade_mid_cycle_in_both_line_shapes(tmp_path, shape):
    data = load(tmp_path, shape)
    # Basic $500 -> Pro $800 on 20 March (proration lines invoiced at once): upgrade = 800 - 500.
    assert data.moves("cus_up") == [("2025-01-10", "new", 500.0), ("2025-03-20", "upgrade", 300.0)]
    # Worked check 3: Basic $500 -> Pro $800 and a $100 SSO add-on on the same day (14 Feb):
    # expansion 400 = upgrade 300 + cross_sell 100.
    assert data.moves("cus_combo") == [("2025-01-01", "new", 500.0), ("2025-02-14", "cross_sell", 100.0),
                                       ("2025-02-14", "upgrade", 300.0)]
    assert data.metric("expansion_mrr", "2025-02-01", "2025-02-28") == pytest.approx(400)
    assert data.metric("upgrade_mrr", "2025-03-01", "2025-03-31") == pytest.approx(300)


def test_archived_prices_left_out_of_the_export_are_read_from_their_lines(tmp_path):
    """/v1/prices lists only active prices (active=false lists the archived ones), never inline
    ones, and current invoice lines name their price by id only."""
    folder = tmp_path / "export"
    shutil.copytree(FIX / "upgrade_basil", folder)
    (folder / "prices_archived.json").unlink()  # Basic monthly, archived after everyone upgraded
    data = load(tmp_path, folder)
    # The line still tells the price: unit amount 500 and, from its service period, monthly.
    assert data.moves("cus_up") == [("2025-01-10", "new", 500.0), ("2025-03-20", "upgrade", 300.0)]
    assert data.moves("cus_combo") == [("2025-01-01", "new", 500.0), ("2025-02-14", "cross_sell", 100.0),
                                       ("2025-02-14", "upgrade", 300.0)]
    assert data.rows("cus_up")[0] == ("2025-01-10", "2025-03-20", "price_basic", 1.0, 500.0, 0.0, 0.0, False)
    assert any("price_basic" in n and "active=false" in n for n in data.notes)


def test_proration_lines_without_a_subscription_item_are_matched_by_price(tmp_path):
    folder = tmp_path / "export"
    shutil.copytree(FIX / "seats_proration", folder)
    invoices = json.loads((folder / "invoices.json").read_text())
    for invoice in invoices["data"]:
        for line in invoice["lines"]["data"]:
            if line["proration"]:
                line["subscription_item"] = None  # as older proration lines may have it
    (folder / "invoices.json").write_text(json.dumps(invoices))
    data = load(tmp_path, folder)
    assert data.moves("cus_seats") == [("2025-01-01", "new", 50.0), ("2025-02-15", "seat_expansion", 30.0)]


def test_package_and_tiered_prices(tmp_path):
    data = load(tmp_path, "pricing_schemes")
    # $50 per pack of 10 users, rounded up: 25 users -> 3 packs -> 150.
    assert data.moves("cus_packs") == [("2025-01-01", "new", 150.0)]
    assert data.rows("cus_packs") == [("2025-01-01", None, "API users, per 10", 3.0, 50.0, 0.0, 0.0, False)]
    # Graduated tiers: 5 seats at 10 = 50; 5 -> 10 seats on 15 Feb (prorated): 5 x 10 + 5 x 8 = 90,
    # which only the tiers tell (the proration's amount is partial). The item delta +40 splits as
    # the rulebook says: seat term 5 x 10 = +50, and the lower unit price -10.
    assert data.moves("cus_tiers") == [("2025-01-01", "new", 50.0), ("2025-02-15", "price", -10.0),
                                       ("2025-02-15", "seat_expansion", 50.0)]
    assert data.metric("mrr", "2025-02-20", "2025-02-20") == pytest.approx(150 + 90)


def test_both_line_shapes_give_the_same_rows(tmp_path):
    legacy = load(tmp_path, "upgrade_legacy", db_name="legacy.duckdb")
    basil = load(tmp_path, "upgrade_basil", db_name="basil.duckdb")
    for customer in ("cus_up", "cus_combo"):
        assert legacy.rows(customer) == basil.rows(customer)


def test_add_on_item_added_and_removed(tmp_path):
    data = load(tmp_path, "addon")
    # Platform $500 from 1 Jan; SSO add-on $100 added 10 Feb (its proration on the 1 March
    # invoice) -> cross_sell 100 on 10 Feb; removed 15 Apr (a credit line, nothing replaces it)
    # -> item_removed -100 on 15 Apr.
    assert data.moves("cus_addon") == [("2025-01-01", "new", 500.0), ("2025-02-10", "cross_sell", 100.0),
                                       ("2025-04-15", "item_removed", -100.0)]
    assert data.metric("cross_sell_mrr", "2025-02-01", "2025-02-28") == pytest.approx(100)
    assert data.metric("mrr", "2025-04-30", "2025-04-30") == pytest.approx(500)


def test_second_subscription_for_an_existing_customer(tmp_path):
    data = load(tmp_path, "second_subscription")
    # Core $200 from 15 Jan; a second subscription (Analytics $50) from 1 March: a whole
    # subscription appearing for a paying customer is cross_sell, not a new customer.
    assert data.moves("cus_multi") == [("2025-01-15", "new", 200.0), ("2025-03-01", "cross_sell", 50.0)]
    assert data.metric("new_customers", "2025-01-01", "2025-03-31") == 1
    assert data.metric("mrr", "2025-03-31", "2025-03-31") == pytest.approx(250)


def test_changes_after_the_last_invoice(tmp_path):
    data = load(tmp_path, "after_last_invoice")
    # $120 a year per seat, 5 seats (MRR 50); 5 -> 20 seats on 1 March, prorated by pending invoice
    # items that wait for next January's renewal: seat_expansion 15 x 10 = 150 on 1 March.
    assert data.moves("cus_pending") == [("2025-01-01", "new", 50.0), ("2025-03-01", "seat_expansion", 150.0)]
    assert data.metric("mrr", "2025-03-24", "2025-03-24") == pytest.approx(200 + 100 + 20 + 100)
    # The add-on was removed without proration after its 1 March invoice: no object dates it; it
    # ends at the latest moment the export records (25 March), not at its period end in April.
    assert sorted(data.moves("cus_dropped")) == [("2025-01-01", "new", 20.0), ("2025-01-01", "new", 100.0),
                                                 ("2025-03-25", "item_removed", -20.0)]
    assert data.last_date == date(2025, 3, 25)
    assert any("removed since their last invoice" in n for n in data.notes)
    # An add-on missing from the renewal invoices ran to the end of its last billed period.
    assert sorted(data.moves("cus_dropped_before")) == [("2025-01-01", "new", 20.0), ("2025-01-01", "new", 100.0),
                                                        ("2025-03-01", "item_removed", -20.0)]


def test_changes_after_the_last_invoice_without_pending_invoice_items(tmp_path):
    folder = tmp_path / "export"
    shutil.copytree(FIX / "after_last_invoice", folder)
    (folder / "invoiceitems.json").unlink()
    data = load(tmp_path, folder)
    # Only the subscription says 20 seats now, and Stripe records no date for the change: it
    # counts from the export's last recorded moment (25 March), with a note.
    assert data.moves("cus_pending") == [("2025-01-01", "new", 50.0), ("2025-03-25", "seat_expansion", 150.0)]
    assert any("changed after their last invoice" in n and "2025-03-25" in n for n in data.notes)


# ---- coupons ----------------------------------------------------------------------------

def test_coupons_once_repeating_forever_legacy_shape(tmp_path):
    data = load(tmp_path, "coupons_legacy")
    # $100 with 20% off once: 80 in January, the discount ends with the first period -> +20 discount.
    assert data.moves("cus_pct_once") == [("2025-01-01", "new", 80.0), ("2025-02-01", "discount", 20.0)]
    # $50 with $10 off for 3 months (Jan-Mar): 40, then +10 on 1 April.
    assert data.moves("cus_amt_rep") == [("2025-01-01", "new", 40.0), ("2025-04-01", "discount", 10.0)]
    # $200 with 25% off forever: 150 and nothing else.
    assert data.moves("cus_pct_forever") == [("2025-02-01", "new", 150.0)]
    assert data.rows("cus_pct_forever") == [("2025-02-01", None, "Scale monthly", 1.0, 200.0, 25.0, 0.0, False)]
    # February: only the once coupon ending -> expansion 20.
    assert data.metric("expansion_mrr", "2025-02-01", "2025-02-28") == pytest.approx(20)


def test_coupons_current_shape_and_discounts_ending_after_the_last_invoice(tmp_path):
    data = load(tmp_path, "coupons_clover")
    # $25 with $5 off forever (amount coupon): 20.
    assert data.moves("cus_amt_forever") == [("2025-03-01", "new", 20.0)]
    # Worked check 7: $15 with $14 off the first month only. The export is made on 1 July while
    # the July invoice is still a draft: the once coupon ended with its period all the same: MRR
    # 1, then +14 (discount) on 1 July.
    assert data.moves("cus_once_tail") == [("2025-06-01", "new", 1.0), ("2025-07-01", "discount", 14.0)]
    # $100 with 50% off for 3 months from 1 May (discount.end 1 August, after the export): the
    # coupon's end is scheduled, so 50, then +50 (discount) on 1 August.
    assert data.moves("cus_pct_rep_tail") == [("2025-05-01", "new", 50.0), ("2025-08-01", "discount", 50.0)]


def test_amount_coupons_on_the_whole_subscription_are_not_split_by_line(tmp_path):
    """Stripe spreads an invoice-level amount off over every discountable line, one-off fees
    included; the rulebook's discount_amount is the amount off per billing interval."""
    data = load(tmp_path, "amount_coupons")
    # $50 with $10 off forever; the first invoice's $450 fee took $9 of it: still 50 - 10 = 40,
    # and no discount movement when the fee is gone.
    assert data.moves("cus_fee") == [("2025-01-01", "new", 40.0)]
    # $500 + 5 x $10 seats with $30 off: 520. 5 -> 8 seats on 15 Feb: seat_expansion 3 x 10 = 30
    # (MRR 550), and nothing on 1 March when Stripe's split of the $30 over the lines shifts.
    assert sorted(data.moves("cus_spread")) == [("2025-01-01", "new", 50.0), ("2025-01-01", "new", 470.0),
                                                ("2025-02-15", "seat_expansion", 30.0)]
    assert data.metric("mrr", "2025-02-20", "2025-02-20") == pytest.approx(40 + 550)
    assert data.metric("mrr", "2025-04-30", "2025-04-30") == pytest.approx(40 + 550)


# ---- trials -----------------------------------------------------------------------------

def test_trials_from_one_mixed_json_lines_file(tmp_path):
    data = load(tmp_path, "trials")  # a single stripe_export.jsonl with every object type
    # 14-day trial (zero-amount trial invoice) from 1 Jan, $30 from 15 Jan: new 30 on 15 Jan.
    assert data.moves("cus_trial_conv") == [("2025-01-15", "new", 30.0)]
    assert data.rows("cus_trial_conv") == [
        ("2025-01-01", "2025-01-15", "Starter monthly", 1.0, 30.0, 0.0, 0.0, True),
        ("2025-01-15", None, "Starter monthly", 1.0, 30.0, 0.0, 0.0, False)]
    # Canceled during the trial: never any MRR.
    assert data.moves("cus_trial_lost") == []
    # Trial ended, the first real invoice was never paid, canceled after the retries: never
    # converted, so never any MRR (not even while past_due).
    assert data.moves("cus_trial_failed") == []
    assert data.metric("mrr", "2025-01-10", "2025-01-10") == 0
    assert data.metric("mrr", "2025-03-31", "2025-03-31") == pytest.approx(30)


# ---- payment status and cancellations ---------------------------------------------------

def test_past_due_then_paid_and_past_due_then_canceled(tmp_path):
    data = load(tmp_path, "past_due")
    # The March invoice was paid late (12 March): past_due keeps contributing, no churn, no reactivation.
    assert data.moves("cus_pd_paid") == [("2025-01-01", "new", 60.0)]
    # The April invoice never paid; canceled 22 April (ended_at): churn -80 on 22 April.
    assert data.moves("cus_pd_cancel") == [("2025-01-01", "new", 80.0), ("2025-04-22", "churn", -80.0)]
    assert data.metric("mrr", "2025-04-21", "2025-04-21") == pytest.approx(140)
    assert data.metric("churned_mrr", "2025-04-01", "2025-04-30") == pytest.approx(80)


def test_statuses_as_the_subscriptions_show_them_now(tmp_path):
    data = load(tmp_path, "statuses_legacy")  # the export's last recorded moment: 5 March
    # past_due now (the March invoice unpaid): still contributing.
    assert data.moves("cus_pd_now") == [("2025-01-01", "new", 60.0)]
    assert data.metric("customers", "2025-03-04", "2025-03-04") == 3
    # paused after two paid months: stops at the end of its last paid period, 1 March.
    assert data.moves("cus_paused_paid") == [("2025-01-01", "new", 50.0), ("2025-03-01", "churn", -50.0)]
    # To cancel at its current period's end (1 April, after the export) though its last exported
    # line ends on 1 March: it ends on 1 April (issue 5), canceled_at kept.
    assert data.moves("cus_cape_stale") == [("2025-01-01", "new", 50.0), ("2025-04-01", "churn", -50.0)]
    assert data.sql("SELECT end_date, canceled_at FROM subscriptions WHERE customer_id = 'cus_cape_stale'") == [
        (date(2025, 4, 1), date(2025, 3, 5))]
    # A zero-amount first line is a trial though the subscription shows no trial_end.
    assert data.rows("cus_zero_first") == [("2025-01-01", "2025-01-15", "Starter monthly", 1.0, 30.0, 0.0, 0.0, True),
                                           ("2025-01-15", None, "Starter monthly", 1.0, 30.0, 0.0, 0.0, False)]
    assert data.moves("cus_zero_first") == [("2025-01-15", "new", 30.0)]
    assert data.last_date == date(2025, 4, 1)  # the data's last date (rulebook §5): that scheduled end


def test_void_invoices_are_not_read(tmp_path):
    folder = tmp_path / "export"
    shutil.copytree(FIX / "intervals", folder)
    invoices = json.loads((folder / "invoices.json").read_text())
    february = next(i for i in invoices["data"] if i["customer"] == "cus_monthly" and i["billing_reason"] == "subscription_cycle")
    voided = json.loads(json.dumps(february))
    voided.update(id="in_voided", status="void", amount_paid=0)
    voided["lines"]["data"][0].update(id="il_voided", quantity=10, amount=49000)
    invoices["data"].append(voided)
    (folder / "invoices.json").write_text(json.dumps(invoices))
    data = load(tmp_path, folder)
    assert data.moves("cus_monthly") == [("2025-01-05", "new", 49.0)]


CANCELLATION_MOVES = {
    # cancel_at_period_end asked for on 5 March, ended with the period on 20 April.
    "cus_cape": [("2025-01-20", "new", 120.0), ("2025-04-20", "churn", -120.0)],
    # Customer Portal: cancel_at 15 May (cancel_at_period_end false), status still active.
    "cus_cancel_at": [("2025-01-01", "new", 40.0), ("2025-05-15", "churn", -40.0)],
    # Active, cancel_at_period_end asked for on 20 June: ends with its current period (10 July),
    # though that is after the export (20 June).
    "cus_cape_future": [("2025-04-10", "new", 70.0), ("2025-07-10", "churn", -70.0)],
    # unpaid (ended_at empty): stops at the end of its last paid period, 1 March.
    "cus_unpaid": [("2025-01-01", "new", 70.0), ("2025-03-01", "churn", -70.0)],
    # paused after a trial without payment method, incomplete_expired: never contribute.
    "cus_paused": [],
    "cus_incomplete": [],
}


def test_cancellations_and_statuses(tmp_path):
    data = load(tmp_path, "cancellations")
    for customer, moves in CANCELLATION_MOVES.items():
        assert data.moves(customer) == moves, customer
    assert any("incomplete_expired" in n for n in data.notes)
    assert data.last_date == date(2025, 7, 10)  # the data's last date (rulebook §5): the scheduled end


def test_a_cancellation_scheduled_after_the_export_churns_on_its_date(tmp_path):
    # EUR 1,200 a year from 1 Feb 2025, set on 15 June to cancel at its period end, 1 Feb 2026.
    # Issue 5: it ends at the period end. Rulebook §1: that needs EUR rates up to then.
    with pytest.raises(ImportRejected, match="no EUR rate in fx_rates for 2026-01"):
        load(tmp_path, "scheduled_end", FX)
    rates = tmp_path / "fx_rates.csv"
    rates.write_text(FX.read_text() + "2026-01,EUR,1.20\n2026-02,EUR,1.25\n")
    data = load(tmp_path, "scheduled_end", rates, db_name="covered.duckdb")
    assert data.moves("cus_eur_annual") == [("2025-02-01", "new", 110.0), ("2025-04-01", "fx", 10.0),
                                            ("2026-02-01", "churn", -125.0), ("2026-02-01", "fx", 5.0)]
    assert data.sql("SELECT end_date, canceled_at FROM subscriptions") == [(date(2026, 2, 1), date(2025, 6, 15))]
    assert any("1 subscription(s) set to end after the export (2025-06-15)" in n for n in data.notes)
    by_request = load(tmp_path, "scheduled_end", rates, settings=Settings(churn_recognition="cancellation"),
                      db_name="cancellation.duckdb")
    assert by_request.moves("cus_eur_annual")[-1] == ("2025-06-15", "churn", -120.0)  # EUR 100 x 1.20


def test_cancellation_time_setting_uses_canceled_at(tmp_path):
    data = load(tmp_path, "cancellations", settings=Settings(churn_recognition="cancellation"))
    # Under churn_recognition = cancellation the churn moves to canceled_at (5 March, 28 April,
    # 20 June); unpaid has no cancellation request, so it stays at its end.
    assert data.moves("cus_cape")[-1] == ("2025-03-05", "churn", -120.0)
    assert data.moves("cus_cancel_at")[-1] == ("2025-04-28", "churn", -40.0)
    assert data.moves("cus_cape_future")[-1] == ("2025-06-20", "churn", -70.0)
    assert data.moves("cus_unpaid")[-1] == ("2025-03-01", "churn", -70.0)


def test_churned_customer_returning_on_a_new_subscription(tmp_path):
    data = load(tmp_path, "reactivation")
    # Worked check 6: $100 ends 1 March (cancel_at_period_end), back on 1 June at $120.
    assert data.moves("cus_return") == [("2025-01-01", "new", 100.0), ("2025-03-01", "churn", -100.0),
                                        ("2025-06-01", "reactivation", 120.0)]
    assert data.metric("reactivation_mrr", "2025-06-01", "2025-06-30") == pytest.approx(120)


# ---- currencies -------------------------------------------------------------------------

def test_eur_gbp_and_zero_decimal_jpy_customers(tmp_path):
    data = load(tmp_path, "currencies", FX)
    # EUR 100 x 1.10 = 110 (Jan); GBP 50 x 1.25 = 62.5 (Feb); JPY 5000 (a zero-decimal currency:
    # 5000 in the API is 5000 yen, not 50) x 0.0067 = 33.5 (Mar). On 1 April the EUR rate moves
    # 1.10 -> 1.20: fx = 100 x 0.10 = +10, not expansion.
    assert data.moves("cus_eur") == [("2025-01-01", "new", 110.0), ("2025-04-01", "fx", 10.0)]
    assert data.moves("cus_gbp") == [("2025-02-01", "new", 62.5)]
    assert data.moves("cus_jpy") == [("2025-03-01", "new", 33.5)]
    assert data.sql("SELECT unit_amount, currency FROM subscriptions WHERE customer_id = 'cus_jpy'") == [(5000.0, "JPY")]
    assert data.metric("mrr", "2025-04-30", "2025-04-30") == pytest.approx(120 + 62.5 + 33.5)
    assert data.metric("expansion_mrr", "2025-04-01", "2025-04-30") == 0
    assert data.metric("fx_mrr", "2025-04-01", "2025-04-30") == pytest.approx(10)


def drop_currency_options(folder: Path) -> None:
    prices = json.loads((folder / "prices.json").read_text())
    for price in prices["data"]:
        del price["currency_options"]  # listed without expand[]=data.currency_options
    (folder / "prices.json").write_text(json.dumps(prices))


def test_prices_with_unit_amounts_in_several_currencies(tmp_path):
    data = load(tmp_path, "currency_options", FX)
    # USD prices with EUR options: Team EUR 90, Scale EUR 180, EUR at 1.10 (1.20 from April).
    # Team -> Scale on 16 March by an invoiced proration: upgrade (180 - 90) x 1.10 = 99, never
    # the partial amounts.
    assert data.moves("cus_opt_up") == [("2025-01-01", "new", 99.0), ("2025-03-16", "upgrade", 99.0),
                                        ("2025-04-01", "fx", 18.0)]
    assert data.moves("cus_opt_scale") == [("2025-02-01", "new", 198.0), ("2025-04-01", "fx", 18.0)]
    assert data.moves("cus_opt_legacy") == [("2025-01-01", "new", 99.0), ("2025-04-01", "fx", 9.0)]  # older shape


def test_a_currency_option_alone_tells_a_prorations_full_period_rate(tmp_path):
    folder = tmp_path / "export"
    shutil.copytree(FIX / "currency_options", folder)
    invoices = json.loads((folder / "invoices.json").read_text())
    invoices["data"] = [i for i in invoices["data"] if i["customer"] != "cus_opt_scale"]  # no regular Scale EUR line
    (folder / "invoices.json").write_text(json.dumps(invoices))
    data = load(tmp_path, folder, FX)
    assert data.moves("cus_opt_up")[:2] == [("2025-01-01", "new", 99.0), ("2025-03-16", "upgrade", 99.0)]


def test_prices_in_several_currencies_without_their_options(tmp_path):
    folder = tmp_path / "export"
    shutil.copytree(FIX / "currency_options", folder)
    drop_currency_options(folder)
    data = load(tmp_path, folder, FX)
    # A regular line bills the whole period in EUR: its own amount says the EUR price. The
    # proration's full-period EUR rate is that of another customer's regular Scale line.
    assert data.moves("cus_opt_up")[:2] == [("2025-01-01", "new", 99.0), ("2025-03-16", "upgrade", 99.0)]
    assert data.moves("cus_opt_legacy")[:1] == [("2025-01-01", "new", 99.0)]
    # Without that line nothing in the export says what Scale costs in EUR for a whole period.
    invoices = json.loads((folder / "invoices.json").read_text())
    invoices["data"] = [i for i in invoices["data"] if i["customer"] != "cus_opt_scale"]
    (folder / "invoices.json").write_text(json.dumps(invoices))
    with pytest.raises(ImportRejected) as caught:
        import_paths(tmp_path / "x.duckdb", [folder, FX])
    upgrade = invoices["data"][-1]
    assert [(p.where, p.column) for p in caught.value.problems] == [
        (f"invoice {upgrade['id']}, line {upgrade['lines']['data'][1]['id']}", "price.currency_options"),
        ("subscription sub_opt_scale", "price.currency_options")]  # now without any invoice either
    assert "expand[]=data.currency_options" in str(caught.value)


def test_a_currency_without_rate_is_a_clear_error_and_nothing_is_imported(tmp_path):
    data = load(tmp_path, "intervals")
    with pytest.raises(ImportRejected) as caught:
        import_paths(data.db, [FIX / "currencies"])
    message = str(caught.value)
    assert "no EUR rate in fx_rates for 2025-01" in message
    assert "invoice in_" in message and "invoices.json" in message  # names the Stripe object and file
    assert data.metric("mrr", "2025-04-30", "2025-04-30") == pytest.approx(49 + 30 + 2000 / 12)  # unchanged


# ---- what is not MRR --------------------------------------------------------------------

def test_tax_is_not_mrr(tmp_path):
    data = load(tmp_path, "taxes")
    # $100 + 8.25% exclusive tax -> 100. $110 tax-inclusive with $10 of it tax -> 110 x (1 - 10/110)
    # = 100, in both line shapes (`taxes` with tax_behavior, `tax_amounts` with inclusive).
    for customer in ("cus_tax_excl", "cus_tax_incl", "cus_tax_legacy"):
        assert data.moves(customer) == [("2025-01-01", "new", 100.0)], customer
    # $49 per seat including 19% VAT: 49 / 1.19 = 41.1764..., in full precision (rulebook §2):
    # 5 seats -> 205.8824; 5 -> 8 seats on 15 Feb: seat_expansion 3 x 49 / 1.19 = 123.5294, and no
    # "price" movement from the cent-rounded tax of the proration lines.
    assert data.moves("cus_tax_seats") == [("2025-01-01", "new", 205.8824), ("2025-02-15", "seat_expansion", 123.5294)]
    assert data.metric("mrr", "2025-03-31", "2025-03-31") == pytest.approx(400 + 8 * 49 / 1.19)
    # $110 including 10% GST with the first month 100% off: the tax is taken off that month's price
    # too (100, not 110), though nothing was charged.
    assert data.rows("cus_tax_free") == [("2025-01-01", "2025-02-01", "Pro monthly (tax incl.)", 1.0, 100.0, 100.0, 0.0, False),
                                         ("2025-02-01", None, "Pro monthly (tax incl.)", 1.0, 100.0, 0.0, 0.0, False)]


def test_tax_included_in_prices_without_the_tax_rates_exported(tmp_path):
    folder = tmp_path / "export"
    shutil.copytree(FIX / "taxes", folder)
    (folder / "tax_rates.json").unlink()
    data = load(tmp_path, folder)
    # The share of tax comes from the item's largest charge of the price (8 seats: 39,200 with
    # 6,259 tax), for every line of it, in full precision: 49 x 32,941 / 39,200 = 41.17625.
    unit = 49 * 32941 / 39200
    assert data.moves("cus_tax_seats") == [("2025-01-01", "new", round(5 * unit, 4)),
                                           ("2025-02-15", "seat_expansion", round(3 * unit, 4))]
    # The free month's price loses the tax the paid months show (1,000 of 11,000).
    assert [r[4] for r in data.rows("cus_tax_free")] == [pytest.approx(100), pytest.approx(100)]


def test_one_off_invoice_items_are_not_mrr(tmp_path):
    data = load(tmp_path, "one_off")
    # $50/month plus a $500 onboarding fee / $250 setup on the first invoice (and a separate
    # one-off invoice in March): only the 50 is MRR.
    assert data.moves("cus_oneoff_legacy") == [("2025-01-01", "new", 50.0)]
    assert data.moves("cus_oneoff_basil") == [("2025-01-01", "new", 50.0)]
    assert any("one-off" in n for n in data.notes)


def test_metered_prices_are_not_mrr(tmp_path):
    data = load(tmp_path, "metered")
    # $100 licensed base + metered API calls billed in arrears (12,345 and 20,480 calls): MRR 100,
    # the usage neither adds MRR nor makes movements.
    assert data.moves("cus_metered") == [("2025-01-01", "new", 100.0)]
    assert data.sql("SELECT DISTINCT item_id FROM subscriptions") == [("si_metered_base",)]


# ---- files: duplicates, bad input, unmappable objects -----------------------------------

def test_duplicate_objects_across_files_are_imported_once(tmp_path):
    folder = tmp_path / "export"
    shutil.copytree(FIX / "intervals", folder)
    invoices = json.loads((folder / "invoices.json").read_text())
    customers = json.loads((folder / "customers.json").read_text())
    # A second page that overlaps the first one, as JSON Lines.
    again = invoices["data"][:3] + customers["data"][:1]
    (folder / "overlap.jsonl").write_text("".join(json.dumps(o) + "\n" for o in again))
    data = load(tmp_path, folder)
    assert data.moves("cus_monthly") == [("2025-01-05", "new", 49.0)]
    assert data.sql("SELECT count(*) FROM customers") == [(3,)]
    assert any("4 object(s) appeared more than once" in n for n in data.notes)


def test_a_stale_copy_of_an_object_does_not_replace_a_newer_one(tmp_path):
    folder = tmp_path / "export"
    shutil.copytree(FIX / "intervals", folder)
    invoices = json.loads((folder / "invoices.json").read_text())
    january = next(i for i in invoices["data"] if i["customer"] == "cus_monthly")
    draft = {**january, "status": "draft", "amount_paid": 0, "status_transitions": {
        **january["status_transitions"], "paid_at": None}}
    subscriptions = json.loads((folder / "subscriptions.json").read_text())
    annual = next(s for s in subscriptions["data"] if s["id"] == "sub_annual")
    canceled = {**annual, "status": "canceled", "canceled_at": annual["start_date"] + 86400 * 59,
                "ended_at": annual["start_date"] + 86400 * 59}
    (folder / "subscriptions.json").write_text(json.dumps({**subscriptions, "data": [
        canceled if s["id"] == "sub_annual" else s for s in subscriptions["data"]]}))
    # An old page, read last (folders are read in name order), with the draft of a since paid
    # invoice and the subscription from before it was canceled.
    (folder / "zz_old_page.jsonl").write_text(json.dumps(draft) + "\n" + json.dumps(annual) + "\n")
    data = load(tmp_path, folder)
    assert data.moves("cus_monthly") == [("2025-01-05", "new", 49.0)]
    assert data.moves("cus_annual") == [("2025-02-01", "new", 166.6667), ("2025-04-01", "churn", -166.6667)]


def test_a_malformed_file_is_a_clear_error_and_nothing_is_imported(tmp_path):
    data = load(tmp_path, "intervals")
    folder = tmp_path / "export"
    shutil.copytree(FIX / "past_due", folder)
    text = (folder / "invoices.json").read_text()
    (folder / "invoices.json").write_text(text[: len(text) // 2])  # cut off in the middle
    with pytest.raises(ImportRejected) as caught:
        import_paths(data.db, [folder])
    assert "invoices.json" in str(caught.value) and "not valid JSON" in str(caught.value)
    assert data.sql("SELECT count(*) FROM customers") == [(3,)]  # the intervals data set is still there


def test_what_cannot_be_mapped_is_reported_with_object_and_field(tmp_path):
    folder = tmp_path / "export"
    shutil.copytree(FIX / "intervals", folder)
    invoices = json.loads((folder / "invoices.json").read_text())
    first = invoices["data"][0]["lines"]["data"][0]
    del first["period"]  # a line without period
    second = invoices["data"][1]["lines"]["data"][0]
    second["price"] = {**second["price"], "type": "one_time", "recurring": None}  # no recurring data
    (folder / "invoices.json").write_text(json.dumps(invoices))
    (folder / "charges.json").write_text(json.dumps({"object": "charge", "id": "ch_123", "amount": 4900}))
    data_db = tmp_path / "x.duckdb"
    with pytest.raises(ImportRejected) as caught:
        import_paths(data_db, [folder])
    problems = {(p.where, p.column) for p in caught.value.problems}
    assert (f"invoice {invoices['data'][0]['id']}, line {first['id']}", "period") in problems
    assert (f"invoice {invoices['data'][1]['id']}, line {second['id']}", "price.recurring") in problems
    assert ("line 1, charge ch_123", "object") in problems
    assert not data_db.exists() or not connect(data_db, read_only=False).execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'movements'").fetchall()[0][0]


def test_valid_json_with_the_wrong_nesting_is_refused_with_object_and_field(tmp_path):
    data = load(tmp_path, "intervals")
    folder = tmp_path / "export"
    shutil.copytree(FIX / "intervals", folder)
    invoices = json.loads((folder / "invoices.json").read_text())
    first, second, third = invoices["data"][:3]
    first["lines"]["data"][0] = "il_0001"  # a line that is a string
    second["lines"]["data"][0]["discount_amounts"] = [500]  # a number where an object belongs
    third["lines"]["data"][0]["quantity"] = "two"  # read as 1 before
    (folder / "invoices.json").write_text(json.dumps(invoices))
    customers = json.loads((folder / "customers.json").read_text())
    customers["data"][0]["metadata"] = ["segment", "SMB"]  # metadata given as a list
    (folder / "customers.json").write_text(json.dumps(customers))
    with pytest.raises(ImportRejected) as caught:
        import_paths(data.db, [folder])
    problems = {(p.file, p.where, p.column) for p in caught.value.problems}
    assert ("invoices.json", f"line 1, invoice {first['id']}", "lines.data[0]") in problems
    assert ("invoices.json", f"line 1, invoice {second['id']}", "lines.data[0].discount_amounts[0]") in problems
    assert ("invoices.json", f"line 1, invoice {third['id']}", "lines.data[0].quantity") in problems
    assert ("customers.json", "line 1, customer cus_monthly", "metadata") in problems
    assert 'expected an integer, not "two"' in str(caught.value)
    assert data.sql("SELECT count(*) FROM customers") == [(3,)]  # nothing of the bad import was kept


def test_invoices_with_more_lines_than_exported_are_refused(tmp_path):
    folder = tmp_path / "export"
    shutil.copytree(FIX / "intervals", folder)
    invoices = json.loads((folder / "invoices.json").read_text())
    invoices["data"][0]["lines"]["has_more"] = True
    (folder / "invoices.json").write_text(json.dumps(invoices))
    with pytest.raises(ImportRejected, match="lines.has_more"):
        import_paths(tmp_path / "x.duckdb", [folder])


def split_lines(folder: Path, invoice_id: str) -> list[dict]:
    """The invoice as an invoice list shows a long one, its first line only, and the rest of its
    lines as /v1/invoices/{id}/lines returns them with the price expanded."""
    invoices = json.loads((folder / "invoices.json").read_text())
    invoice = next(i for i in invoices["data"] if i["id"] == invoice_id)
    first, *rest = invoice["lines"]["data"]
    invoice["lines"].update(data=[first], has_more=True)
    (folder / "invoices.json").write_text(json.dumps(invoices))
    prices = {p["id"]: p for f in ("prices.json", "prices_archived.json") for p in json.loads((folder / f).read_text())["data"]}
    for line in rest:
        details = line["pricing"]["price_details"]
        details["price"] = prices[details["price"]]  # expand[]=data.pricing.price_details.price
    del rest[0]["invoice"]  # the page's URL says which invoice it is
    return rest


def test_invoice_lines_exported_page_by_page(tmp_path):
    folder = tmp_path / "export"
    shutil.copytree(FIX / "upgrade_basil", folder)
    change = next(i for i in json.loads((folder / "invoices.json").read_text())["data"]
                  if i["customer"] == "cus_combo" and i["billing_reason"] == "subscription_update")
    rest = split_lines(folder, change["id"])
    page = {"object": "list", "url": f"/v1/invoices/{change['id']}/lines", "has_more": False, "data": rest}
    (folder / f"lines_{change['id']}_001.json").write_text(json.dumps(page))
    data = load(tmp_path, folder)
    assert data.moves("cus_combo") == [("2025-01-01", "new", 500.0), ("2025-02-14", "cross_sell", 100.0),
                                       ("2025-02-14", "upgrade", 300.0)]
    # Without the last page of lines the invoice is still incomplete.
    (folder / f"lines_{change['id']}_001.json").write_text(json.dumps({**page, "has_more": True, "data": rest[:1]}))
    with pytest.raises(ImportRejected, match=f"invoice {change['id']}, column lines.has_more"):
        import_paths(tmp_path / "x.duckdb", [folder])
    # A page of lines of an invoice that is not exported.
    (folder / f"lines_{change['id']}_001.json").write_text(json.dumps(page))
    (folder / "lines_in_gone.json").write_text(json.dumps({**page, "url": "/v1/invoices/in_gone/lines", "data": [
        {**rest[0], "id": "il_gone"}]}))
    with pytest.raises(ImportRejected, match="line_item il_gone, column invoice: a line of invoice in_gone, which is not"):
        import_paths(tmp_path / "x.duckdb", [folder])


def test_subscriptions_must_be_exported_with_status_all(tmp_path):
    folder = tmp_path / "export"
    shutil.copytree(FIX / "reactivation", folder)
    subs = json.loads((folder / "subscriptions.json").read_text())
    subs["data"] = [s for s in subs["data"] if s["status"] != "canceled"]  # listed without status=all
    (folder / "subscriptions.json").write_text(json.dumps(subs))
    with pytest.raises(ImportRejected, match="status=all"):
        import_paths(tmp_path / "x.duckdb", [folder])


def test_customers_missing_from_the_export_come_from_their_invoices(tmp_path):
    folder = tmp_path / "export"
    shutil.copytree(FIX / "intervals", folder)
    (folder / "customers.json").unlink()  # e.g. deleted customers, which Stripe no longer lists
    data = load(tmp_path, folder)
    assert data.sql("SELECT name, email_domain, country FROM customers WHERE customer_id = 'cus_quarterly'") \
        == [("Quarterly GmbH", "quarterly.de", "DE")]
    assert any("not among the exported customer objects" in n for n in data.notes)


def test_a_subscription_without_exported_invoices_uses_its_current_items(tmp_path):
    folder = tmp_path / "export"
    shutil.copytree(FIX / "intervals", folder)
    invoices = json.loads((folder / "invoices.json").read_text())
    invoices["data"] = [i for i in invoices["data"] if i["subscription"] != "sub_annual"]
    (folder / "invoices.json").write_text(json.dumps(invoices))
    data = load(tmp_path, folder)
    assert data.moves("cus_annual") == [("2025-02-01", "new", 166.6667)]
    assert data.sql("SELECT _loc FROM subscriptions WHERE customer_id = 'cus_annual'") == [
        ("subscription sub_annual, item si_annual",)]


def test_subscriptions_without_invoices_keep_their_discounts(tmp_path):
    data = load(tmp_path, "without_invoices")
    # $100 with $20 off forever (on the subscription): 80.
    assert data.moves("cus_ni_amount") == [("2025-01-01", "new", 80.0)]
    # $100 with 50% off for 3 months from 1 January; the discount names no end, so its start plus
    # duration_in_months: 50, then +50 on 1 April (before the export, 1 May).
    assert data.moves("cus_ni_half") == [("2025-01-01", "new", 50.0), ("2025-04-01", "discount", 50.0)]
    # $200 with 10% off the item forever: 180; $40 with the customer's 25% forever: 30.
    assert data.moves("cus_ni_item") == [("2025-01-01", "new", 180.0)]
    assert data.moves("cus_ni_customer") == [("2025-01-01", "new", 30.0)]


# ---- the Dashboard CSV export -----------------------------------------------------------

def test_dashboard_subscriptions_csv_holds_only_the_current_state(tmp_path):
    data = load(tmp_path, "dashboard")  # a folder with the export, named subscriptions.csv as Stripe names it
    assert "only each subscription's current state" in data.notes[0]
    # $49 active since 5 Jan; $99 canceled at period end 1 April (asked 10 March); $30 trialing (no
    # MRR); 3 x $240/year = 60/month; incomplete_expired skipped.
    assert data.moves("cus_d1") == [("2025-01-05", "new", 49.0)]
    assert data.moves("cus_d2") == [("2025-02-01", "new", 99.0), ("2025-04-01", "churn", -99.0)]
    assert data.moves("cus_d3") == []
    assert data.moves("cus_d4") == [("2025-03-01", "new", 60.0)]
    assert data.sql("SELECT count(*) FROM subscriptions WHERE customer_id = 'cus_d5'") == [(0,)]
    assert data.sql("SELECT canceled_at FROM subscriptions WHERE customer_id = 'cus_d2'") == [(date(2025, 3, 10),)]


def test_dashboard_end_rules(tmp_path):
    data = load(tmp_path, "dashboard")  # the export's latest date is 5 June
    # Cancel At (UTC) 28 May, asked for on 2 May: ends on 28 May, canceled_at kept.
    assert data.moves("cus_d6") == [("2025-01-20", "new", 40.0), ("2025-05-28", "churn", -40.0)]
    assert data.sql("SELECT canceled_at FROM subscriptions WHERE customer_id = 'cus_d6'") == [(date(2025, 5, 2),)]
    # unpaid and paused: stop at the start of the current period, the end of the last paid one.
    assert data.moves("cus_d7") == [("2025-01-10", "new", 20.0), ("2025-04-10", "churn", -20.0)]
    assert data.moves("cus_d8") == [("2025-02-01", "new", 50.0), ("2025-05-01", "churn", -50.0)]
    # cancel_at_period_end with its period ending on 12 June, after the export: ends then.
    assert data.moves("cus_d9") == [("2025-03-12", "new", 50.0), ("2025-06-12", "churn", -50.0)]
    assert data.sql("SELECT end_date, canceled_at FROM subscriptions WHERE customer_id = 'cus_d9'") == [
        (date(2025, 6, 12), date(2025, 6, 1))]
    assert any("1 subscription(s) set to end after the export (2025-06-05)" in n for n in data.notes)


def test_a_dashboard_customers_export_named_customers_csv_goes_with_the_subscriptions_export(tmp_path):
    # dashboard/ holds the subscriptions export and the customers export, saved as customers.csv:
    # still the Dashboard format, with country and metadata from the customers export.
    data = load(tmp_path, "dashboard")
    assert data.sql("SELECT customer_id, name, email_domain, country, tier FROM customers WHERE customer_id <= 'cus_d5' ORDER BY 1") == [
        ("cus_d1", "Dash One Inc", "one.example", "US", "gold"), ("cus_d2", "Dash Two SA", "two.example", "FR", "silver"),
        ("cus_d3", "Trial user", "three.example", "DE", None), ("cus_d4", "Dash Four", "four.example", None, None),
        ("cus_d5", "Dash Five", "five.example", None, None)]
    assert data.moves("cus_d2") == [("2025-02-01", "new", 99.0), ("2025-04-01", "churn", -99.0)]


def test_dashboard_errors_name_the_file_after_a_metadata_column(tmp_path):
    folder = tmp_path / "dashboard"
    folder.mkdir()
    text = (FIX / "dashboard" / "subscriptions.csv").read_text().replace(",usd,month,99.00,", ",usd,fortnight,99.00,", 1)
    (folder / "subscriptions.csv").write_text(text)
    with pytest.raises(ImportRejected) as caught:
        import_paths(tmp_path / "x.duckdb", [folder])
    # Line 2 has a "(metadata)" column value read before line 3's error.
    assert [(p.file, p.where, p.column) for p in caught.value.problems] == [("subscriptions.csv", "line 3", "Interval")]
    data = load(tmp_path, FIX / "dashboard" / "subscriptions.csv")
    assert {f for (f,) in data.sql("SELECT DISTINCT _file FROM customers")} == {"subscriptions.csv"}


# ---- format detection and the command line ----------------------------------------------

def test_cli_detects_a_stripe_folder_plus_fx_rates(tmp_path):
    db = tmp_path / "cli.duckdb"
    result = CliRunner().invoke(main, ["import", str(FIX / "currencies"), str(FX), "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert "Imported 3 customers and 3 subscription rows" in result.output
    assert "currencies EUR, GBP, JPY" in result.output


def test_canonical_folders_are_still_canonical(tmp_path):
    folder = tmp_path / "canonical"
    folder.mkdir()
    (folder / "customers.csv").write_text("customer_id,segment\nA,SMB\n")
    (folder / "subscriptions.csv").write_text("customer_id,subscription_id,start_date,unit_amount\nA,S1,2025-01-01,100\n")
    (folder / "notes.json").write_text("{}")  # an unrelated file inside a folder is passed over
    data = load(tmp_path, folder)
    assert data.moves("A") == [("2025-01-01", "new", 100.0)]
    assert data.notes == []


def test_other_json_files_in_an_export_folder_are_passed_over(tmp_path):
    folder = tmp_path / "export"
    shutil.copytree(FIX / "intervals", folder)
    (folder / "export_config.json").write_text(json.dumps({"api_version": "2024-06-20", "lists": ["customers"]}))
    data = load(tmp_path, folder)
    assert data.moves("cus_monthly") == [("2025-01-05", "new", 49.0)]
    assert "Passed over (no Stripe objects in them): export_config.json." in data.notes


def test_formats_are_not_mixed(tmp_path):
    folder = tmp_path / "canonical"
    folder.mkdir()
    (folder / "customers.csv").write_text("customer_id\nA\n")
    (folder / "subscriptions.csv").write_text("customer_id,subscription_id,start_date,unit_amount\nA,S1,2025-01-01,100\n")
    with pytest.raises(ImportRejected, match="cannot be imported together"):
        import_paths(tmp_path / "x.duckdb", [folder, FIX / "trials" / "stripe_export.jsonl"])
    with pytest.raises(ImportRejected, match="cannot be imported together"):
        import_paths(tmp_path / "x.duckdb", [FIX / "trials", FIX / "dashboard" / "subscriptions.csv"])
    with pytest.raises(ImportRejected, match="not a file analyst import reads"):
        import_paths(tmp_path / "x.duckdb", [FIX / "trials", FIX / "build_fixtures.py"])


def test_a_utf16_stripe_file_in_a_folder_is_reported_not_passed_over(tmp_path):
    folder = tmp_path / "export"
    shutil.copytree(FIX / "intervals", folder)
    subscriptions = folder / "subscriptions.json"
    subscriptions.write_text(subscriptions.read_text(), encoding="utf-16")  # as PowerShell's > writes it
    with pytest.raises(ImportRejected, match="subscriptions.json: not UTF-8 text .*it looks like UTF-16"):
        load(tmp_path, folder)
