"""A deterministic generator of a realistic synthetic SaaS company in the canonical format (rulebook §1).

`generate(folder, customers=1500, seed=7)` writes `customers.csv`, `subscriptions.csv` and
`fx_rates.csv` the way the shared acme data set looks: Starter / Growth / Scale flat plans and a
per-seat Team plan, billed monthly, quarterly or annually; Analytics and SSO add-ons as their own
items; a second product (Data Pipeline) as a second subscription for some customers; trials (some
never convert); upgrades, downgrades, seat changes, add-ons added and removed, billing-interval
switches; temporary and permanent discounts (a few as an amount off); a list-price increase on
Growth at a fixed date; churn at the end of a paid period with the cancellation requested some weeks
earlier; reactivations after a gap; customers who join and leave within one month; several changes
of one customer on one day; USD, EUR and GBP customers with monthly exchange rates.

Everything is drawn from one `random.Random(seed)` in a fixed order, so the same seed and
arguments give byte-identical files. Customers join over the whole range (more of them later), so
MRR grows. Rows never start after `end`; end dates after `end` are left empty (still running).

CLI: `python -m semantic_layer.synthetic FOLDER [--customers N] [--seed S] [--start D] [--end D]`.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import random
from bisect import bisect_right
from datetime import date
from pathlib import Path

__all__ = ["generate", "BENCH_ACTIVITY", "PRICE_INCREASE_PLAN", "price_increase_date"]

SUBSCRIPTION_HEADER = (
    "customer_id", "subscription_id", "item_id", "product", "plan", "start_date", "end_date", "quantity",
    "unit_amount", "currency", "interval", "interval_count", "discount_percent", "discount_amount", "is_trial",
    "canceled_at",
)
CUSTOMER_HEADER = ("customer_id", "name", "country", "segment", "channel", "industry")

# ---- the company's catalogue -----------------------------------------------------------------

# plan key -> (product, plan name prefix, monthly list price per unit by currency)
PLANS = {
    "Starter": ("Platform", "Starter", {"USD": 49, "EUR": 49, "GBP": 39}),
    "Growth": ("Platform", "Growth", {"USD": 199, "EUR": 199, "GBP": 159}),
    "Scale": ("Platform", "Scale", {"USD": 799, "EUR": 799, "GBP": 639}),
    "Team": ("Platform", "Team", {"USD": 15, "EUR": 15, "GBP": 12}),
    "Analytics": ("Analytics add-on", "Analytics add-on", {"USD": 100, "EUR": 100, "GBP": 80}),
    "SSO": ("SSO add-on", "SSO add-on", {"USD": 50, "EUR": 50, "GBP": 40}),
    "Pipeline": ("Data Pipeline", "Pipeline", {"USD": 299, "EUR": 299, "GBP": 239}),
}
PRICE_INCREASE_PLAN = "Growth"
INCREASED = {"USD": 229, "EUR": 229, "GBP": 185}  # Growth's monthly list price after the increase
FLAT_LADDER = ("Starter", "Growth", "Scale")
ADDONS = ("Analytics", "SSO")

# billing code -> (interval, interval_count, months per period, plan-name suffix, list-price multiple)
BILLING = {
    "m": ("month", "1", 1, "monthly", 1),
    "q": ("quarter", "1", 3, "quarterly", 3),
    "q3": ("month", "3", 3, "quarterly", 3),  # quarterly billing written as every 3 months
    "y": ("year", "1", 12, "annual", 10),     # two months free on annual
}

COUNTRIES = (  # country, currency, weight
    ("US", "USD", 58), ("GB", "GBP", 10), ("CA", "USD", 6), ("DE", "EUR", 5), ("AU", "USD", 5),
    ("FR", "EUR", 4), ("NL", "EUR", 3), ("ES", "EUR", 2), ("IE", "EUR", 1.5), ("IL", "USD", 1.2),
    ("SG", "USD", 1.2), ("SE", "USD", 1), ("IT", "EUR", 1.1),
)
SEGMENTS = (("SMB", 62), ("Mid-Market", 28), ("Enterprise", 10))
CHANNELS = (("organic", 40), ("paid", 24), ("outbound", 21), ("partner", 15))
INDUSTRIES = (
    "Healthcare", "Nonprofit", "Media", "Manufacturing", "Software", "E-commerce", "Energy", "Education",
    "Real Estate", "Travel", "Logistics", "Fintech", "Retail", "Legal", "Insurance", "Hospitality",
)
NAME_FIRST = (
    "Coral", "Arctic", "Clear", "Crimson", "Vector", "Maple", "Amber", "River", "Blue", "Red", "Prime", "Stone",
    "Quiet", "Bright", "Harbor", "Swift", "Golden", "Atlas", "Nimbus", "Bold", "Green", "Iron", "Silver", "North",
    "Summit", "Lunar", "Solar", "Cedar", "Copper", "Velvet", "Granite", "Hidden", "Open", "True", "Rapid",
    "Noble", "Polar", "Urban", "Wild", "Echo", "Silent", "Lucky", "Misty", "Sunny", "Orbit", "Pioneer",
)
NAME_SECOND = (
    "Loop", "Pixel", "Signal", "Bridge", "Tide", "Falcon", "Hive", "Circuit", "Grove", "Ledger", "Leaf", "Otter",
    "Field", "Path", "Ridge", "Compass", "Spark", "Anchor", "Canyon", "Peak", "Harbor", "Forge", "Beacon",
    "Lantern", "Meadow", "Summit", "Quarry", "Orchard", "Wave", "Stream", "Fox", "Owl", "Birch", "Pine", "Crest",
    "Arrow", "Shore", "Cloud", "Stack", "Node", "Vista", "Mesa",
)
NAME_THIRD = (
    "Works", "Cloud", "Ventures", "Group", "Technologies", "Inc", "Co", "Media", "Digital", "Labs", "Partners",
    "Logistics", "Solutions", "Analytics", "Systems", "Health", "Studio", "Software", "Holdings", "Ltd",
)

# ---- behaviour, by segment ---------------------------------------------------------------------

PLAN_MIX = {  # (plan, weight)
    "SMB": (("Starter", 45), ("Growth", 25), ("Team", 30)),
    "Mid-Market": (("Growth", 38), ("Team", 42), ("Scale", 15), ("Starter", 5)),
    "Enterprise": (("Scale", 45), ("Team", 50), ("Growth", 5)),
}
BILLING_MIX = {  # (billing code, weight)
    "SMB": (("m", 74), ("y", 18), ("q", 6), ("q3", 2)),
    "Mid-Market": (("m", 55), ("y", 33), ("q", 8), ("q3", 4)),
    "Enterprise": (("m", 25), ("y", 65), ("q", 7), ("q3", 3)),
}
SEATS = {"SMB": (3, 15), "Mid-Market": (10, 60), "Enterprise": (40, 300)}
MONTHLY_CHURN = {"SMB": 0.030, "Mid-Market": 0.018, "Enterprise": 0.010}
TRIAL_SHARE = {"SMB": 0.45, "Mid-Market": 0.35, "Enterprise": 0.10}
TRIAL_DAYS = 14
TRIAL_NEVER_CONVERTS = 0.28
REACTIVATION_SHARE = 0.2
JOIN_AND_LEAVE_SHARE = 0.012
JOIN_GROWTH = 3.0  # customers joining per day at the end of the range / at its start
MEAN_DAYS_BETWEEN_CHANGES = {"Team": 30.0, "flat": 40.0}
# Small customers change their subscription rarely and grow little; large ones expand more often
# (annual NRR about 90 % for SMB, 100 % Mid-Market, 105-110 % Enterprise, as SaaS benchmarks put it).
CHANGE_PACE = {"SMB": 6.0, "Mid-Market": 3.0, "Enterprise": 2.2}  # times the mean days between changes
SEAT_GROWTH = {"SMB": 0.45, "Mid-Market": 0.56, "Enterprise": 0.62}  # chance a seat change adds seats
BENCH_ACTIVITY = 4.0  # about ten period rows a customer: issue 2's "100,000 customers, about a million rows"
QUIET_DAYS_BEFORE_CHURN = 60  # a leaving customer changes nothing in its last weeks

EVENTS_TEAM = (
    ("seats", 62), ("addon_add", 8), ("addon_remove", 6), ("interval", 3), ("discount", 4), ("pipeline_add", 3),
    ("pipeline_remove", 2), ("bundle", 4), ("team_to_scale", 1), ("pipeline_seats", 6),
)
EVENTS_FLAT = {  # small customers move down and drop add-ons about as often as they move up; large ones add more
    "SMB": (("upgrade", 3), ("downgrade", 4), ("addon_add", 6), ("addon_remove", 10), ("interval", 5), ("discount", 8),
            ("pipeline_add", 1), ("pipeline_remove", 2), ("bundle", 1), ("addon_seats", 14)),
    "Mid-Market": (("upgrade", 9), ("downgrade", 5), ("addon_add", 16), ("addon_remove", 13), ("interval", 5),
                   ("discount", 8), ("pipeline_add", 4), ("pipeline_remove", 3), ("bundle", 5), ("addon_seats", 24)),
    "Enterprise": (("upgrade", 9), ("downgrade", 3), ("addon_add", 18), ("addon_remove", 10), ("interval", 5),
                   ("discount", 6), ("pipeline_add", 6), ("pipeline_remove", 3), ("bundle", 6), ("addon_seats", 26)),
}


def _cumulative(pairs):
    keys = [k for k, _ in pairs]
    acc, total = [], 0.0
    for _, w in pairs:
        total += w
        acc.append(total)
    return keys, [a / total for a in acc]


def _picker(pairs):
    keys, cum = _cumulative(pairs)
    last = len(keys) - 1

    def pick(u: float):
        return keys[min(bisect_right(cum, u), last)]

    return pick


_DAYS_IN_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _add_months(ordinal: int, months: int) -> int:
    d = date.fromordinal(ordinal)
    m = d.month - 1 + months
    y = d.year + m // 12
    m = m % 12 + 1
    last = _DAYS_IN_MONTH[m - 1] + (1 if m == 2 and (y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)) else 0)
    return date(y, m, min(d.day, last)).toordinal()


def price_increase_date(start: date, end: date) -> date:
    """The fixed date of Growth's list-price increase: 2025-03-01 when inside the range, else the
    first day of the month 60% into it."""
    fixed = date(2025, 3, 1)
    if start < fixed <= end:
        return fixed
    middle = date.fromordinal(start.toordinal() + int(0.6 * (end.toordinal() - start.toordinal())))
    first = middle.replace(day=1)
    return first if first > start else date.fromordinal(_add_months(start.toordinal(), 1)).replace(day=1)


class _Item:
    """One subscription item: its current state and the rows it has closed so far."""

    __slots__ = ("sub", "item", "plan", "billing", "qty", "pct", "amt", "trial", "start", "rows", "active")

    def __init__(self, sub: str, item: str, plan: str, billing: str, qty: int, start: int, trial: bool = False):
        self.sub, self.item, self.plan, self.billing, self.qty = sub, item, plan, billing, qty
        self.pct, self.amt, self.trial = 0, 0, trial
        self.start = start
        self.rows: list[tuple] = []
        self.active = True

    def _close_row(self, end: int, canceled: int | None = None) -> None:
        self.rows.append((self.start, end, self.plan, self.billing, self.qty, self.pct, self.amt, self.trial, canceled))

    def change(self, t: int, plan=None, billing=None, qty=None, pct=None, amt=None, trial=None) -> bool:
        """End the current row at t and start the next one with the changed fields; changes on the
        row's own first day are merged into it (several changes of one item on one day = one row)."""
        new = (
            self.plan if plan is None else plan,
            self.billing if billing is None else billing,
            self.qty if qty is None else qty,
            self.pct if pct is None else pct,
            self.amt if amt is None else amt,
            self.trial if trial is None else trial,
        )
        if new == (self.plan, self.billing, self.qty, self.pct, self.amt, self.trial):
            return False
        if t > self.start:
            self._close_row(t)
            self.start = t
        self.plan, self.billing, self.qty, self.pct, self.amt, self.trial = new
        return True

    def end(self, t: int, canceled: int | None = None) -> None:
        self.active = False
        if t <= self.start:  # ends the day its current row would start: that row never runs
            return
        if canceled is not None and canceled <= self.start:
            canceled = None
        self._close_row(t, canceled)

    def finish_open(self, canceled: int | None = None) -> None:
        """Still running at the end of the data (a cancellation may already be requested)."""
        if canceled is not None and canceled <= self.start:
            canceled = None
        self._close_row(None, canceled)
        self.active = False


class _Generator:
    def __init__(self, rng: random.Random, start: date, end: date, digits: int, activity: float = 1.0):
        self.rng = rng
        self.activity = activity
        self.first = start.toordinal()
        self.last = end.toordinal()
        self.increase = price_increase_date(start, end).toordinal()
        self.digits = digits
        self.sub_counter = 0
        self.item_counter = 0
        self.pick_country = _picker([((c, cur), w) for c, cur, w in COUNTRIES])
        self.pick_segment = _picker(SEGMENTS)
        self.pick_channel = _picker(CHANNELS)
        self.pick_plan = {s: _picker(p) for s, p in PLAN_MIX.items()}
        self.pick_billing = {s: _picker(b) for s, b in BILLING_MIX.items()}
        self.pick_event_team = _picker(EVENTS_TEAM)
        self.pick_event_flat = {s: _picker(e) for s, e in EVENTS_FLAT.items()}
        self._iso: dict[int, str] = {}
        self._unit: dict[tuple, str] = {}
        self._plan_name: dict[tuple, str] = {}
        for code, (interval, count, months, suffix, multiple) in BILLING.items():
            for plan, (product, prefix, prices) in PLANS.items():
                self._plan_name[(plan, code)] = f"{prefix} {suffix}"
                for currency, price in prices.items():
                    self._unit[(plan, code, currency, False)] = f"{price * multiple:.2f}"
                    raised = INCREASED[currency] if plan == PRICE_INCREASE_PLAN else price
                    self._unit[(plan, code, currency, True)] = f"{raised * multiple:.2f}"

    # ---- ids, dates, money ----------------------------------------------------------------------
    def iso(self, ordinal: int | None) -> str:
        if ordinal is None:
            return ""
        text = self._iso.get(ordinal)
        if text is None:
            text = self._iso[ordinal] = date.fromordinal(ordinal).isoformat()
        return text

    def new_sub(self) -> str:
        self.sub_counter += 1
        return f"S{self.sub_counter:0{self.digits + 1}d}"

    def new_item(self, sub: str, plan: str, billing: str, qty: int, start: int, trial: bool = False) -> _Item:
        self.item_counter += 1
        return _Item(sub, f"I{self.item_counter:0{self.digits + 2}d}", plan, billing, qty, start, trial)

    def join_day(self, u: float) -> int:
        """Inverse CDF of a join density rising linearly by JOIN_GROWTH over the range."""
        a = (JOIN_GROWTH - 1) / 2
        x = (-1 + math.sqrt(1 + 4 * a * u * (1 + a))) / (2 * a)
        return self.first + min(int(x * (self.last - self.first + 1)), self.last - self.first)

    # ---- one customer ---------------------------------------------------------------------------
    def customer(self, number: int, joined: int) -> tuple[tuple, list[tuple]]:
        rng = self.rng
        cid = f"C{number:0{self.digits}d}"
        country, currency = self.pick_country(rng.random())
        segment = self.pick_segment(rng.random())
        name = f"{rng.choice(NAME_FIRST)} {rng.choice(NAME_SECOND)} {rng.choice(NAME_THIRD)}"
        customer_row = (cid, name, country, segment, self.pick_channel(rng.random()), rng.choice(INDUSTRIES))

        items: list[_Item] = []
        t0 = joined
        if rng.random() < JOIN_AND_LEAVE_SHARE:
            self.join_and_leave(segment, t0, items)
        else:
            first_episode = True
            reactivations = 0
            while True:
                churned = self.episode(segment, currency, t0, first_episode, items)
                first_episode = False
                if churned is None or reactivations >= 2 or rng.random() >= REACTIVATION_SHARE:
                    break
                reactivations += 1
                t0 = churned + rng.randint(20, 400)
                if t0 > self.last:
                    break
        return customer_row, self.rows(cid, currency, items)

    def join_and_leave(self, segment: str, t0: int, items: list[_Item]) -> None:
        """Signs up and cancels within the same calendar month (refunded month)."""
        rng = self.rng
        d = date.fromordinal(t0)
        t0 = max(self.first, date(d.year, d.month, min(d.day, 12)).toordinal())
        plan = "Team" if segment != "SMB" and rng.random() < 0.5 else "Starter"
        qty = rng.randint(*SEATS[segment]) if plan == "Team" else 1
        main = self.new_item(self.new_sub(), plan, "m", qty, t0)
        items.append(main)
        end = t0 + rng.randint(5, 15)
        if end > self.last:
            main.finish_open(None)
        else:
            main.end(end, t0 + rng.randint(1, 3))

    def episode(self, segment: str, currency: str, t0: int, first: bool, items: list[_Item]) -> int | None:
        """One paying stint. Returns its churn date, or None when the customer stays (or never pays)."""
        rng = self.rng
        last = self.last
        plan = self.pick_plan[segment](rng.random())
        billing = self.pick_billing[segment](rng.random())
        if plan == "Team":
            qty = rng.randint(*SEATS[segment])
        else:
            qty = 1
        sub = self.new_sub()
        if first and rng.random() < TRIAL_SHARE[segment]:
            main = self.new_item(sub, plan, billing, qty, t0, trial=True)
            items.append(main)
            p0 = t0 + TRIAL_DAYS
            if p0 > last:
                main.finish_open()
                return None
            if rng.random() < TRIAL_NEVER_CONVERTS:
                main.end(p0, t0 + rng.randint(2, 12) if rng.random() < 0.5 else None)
                return None
            main.change(p0, trial=False)
        else:
            main = self.new_item(sub, plan, billing, qty, t0)
            items.append(main)
            p0 = t0
        anchor = p0
        live: list[_Item] = [main]  # paid items of this stint still running
        scheduled: list[tuple[int, str]] = []

        # Starting terms: a permanent or temporary percent discount, a few amount-off deals.
        u = rng.random()
        if u < 0.24:
            main.change(p0, pct=rng.choice((10, 15, 20, 20, 25, 30)))
            if rng.random() < 0.6:
                scheduled.append((_add_months(p0, rng.choice((1, 3, 3, 6, 12))), "discount_end"))
        elif u < 0.27 and BILLING[billing][2] == 1 and plan in ("Starter", "Growth"):
            main.change(p0, amt=20)
            scheduled.append((_add_months(p0, rng.randint(1, 3)), "amount_end"))
        # Add-ons and a second product from day one.
        big = segment != "SMB"
        if rng.random() < (0.30 if big else 0.10):
            live.append(self.new_item(sub, "SSO", "m", 1, p0))
        if rng.random() < (0.22 if big else 0.12):
            live.append(self.new_item(sub, "Analytics", "m", 1, p0))
        if rng.random() < (0.06 if big else 0.02):
            live.append(self.new_item(self.new_sub(), "Pipeline", "m" if rng.random() < 0.7 else "y", 1, p0))
        items.extend(live[1:])

        # How long it stays: exponential lifetime; annual payers churn less.
        hazard = MONTHLY_CHURN[segment] * (0.6 if BILLING[billing][2] == 12 else 1.0)
        stays = int(rng.expovariate(hazard) * 30.44)
        leave = p0 + stays
        limit = min(leave - QUIET_DAYS_BEFORE_CHURN, last + 1)
        scheduled.sort()

        t = p0
        while True:
            gap = MEAN_DAYS_BETWEEN_CHANGES["Team" if main.plan == "Team" else "flat"] * CHANGE_PACE[segment] / self.activity
            t_next = t + 1 + int(rng.expovariate(1.0 / gap))
            while scheduled and scheduled[0][0] <= t_next and scheduled[0][0] < limit:
                when, what = scheduled.pop(0)
                if what == "discount_end":
                    main.change(when, pct=0)
                else:
                    main.change(when, amt=0)
            if t_next >= limit:
                break
            t = t_next
            anchor = self.random_change(t, main, live, items, scheduled, anchor, segment)

        # Churn at the end of the paid period that contains the leaving day.
        if leave > last:
            for item in live:
                item.finish_open()
            return None
        months = BILLING[main.billing][2]
        k = max(1, int((leave - anchor) / (30.44 * months)))
        churn = _add_months(anchor, k * months)
        while churn < leave:
            k += 1
            churn = _add_months(anchor, k * months)
        canceled = None
        if rng.random() < 0.9:
            canceled = max(churn - rng.randint(5, 45), max(item.start for item in live) + 1)
        if churn > last:
            canceled = canceled if canceled is not None and canceled <= last else None
            for item in live:
                item.finish_open(canceled)
            return None
        for item in live:
            item.end(churn, canceled)
        return churn

    def random_change(self, t, main, live, items, scheduled, anchor, segment: str) -> int:
        """One change of a paying customer at day t; returns the (possibly new) billing anchor."""
        rng = self.rng
        team = main.plan == "Team"
        seat_growth = SEAT_GROWTH[segment]
        what = (self.pick_event_team if team else self.pick_event_flat[segment])(rng.random())
        if what == "upgrade" and main.plan == FLAT_LADDER[-1]:
            what = "addon_add"  # at the top plan, growing means buying more
        if what == "bundle":  # two changes on the same day: a plan or seat step and an add-on
            if team:
                self.seats(t, main, up=True)
            else:
                self.step_plan(t, main, up=True)
            self.add_addon(t, main, live, items)
            return anchor
        if what == "seats":
            self.seats(t, main, up=rng.random() < seat_growth)
        elif what in ("upgrade", "downgrade"):
            self.step_plan(t, main, up=what == "upgrade")
        elif what == "team_to_scale":
            if main.qty >= 25:
                main.change(t, plan="Scale", qty=1)
            else:
                self.seats(t, main, up=True)
        elif what == "addon_add":
            self.add_addon(t, main, live, items)
        elif what == "addon_remove":
            addons = [i for i in live if i.plan in ADDONS and i.start < t]  # not an add-on still in trial
            if addons:
                item = addons[0] if len(addons) == 1 else rng.choice(addons)
                item.end(t, t - rng.randint(1, 25) if rng.random() < 0.5 else None)
                live.remove(item)
        elif what == "addon_seats":  # Analytics is billed per workspace: one more or one fewer
            analytics = [i for i in live if i.plan == "Analytics" and i.start < t]
            if analytics:
                item = analytics[0]
                item.change(t, qty=max(1, item.qty + (1 if rng.random() < 0.55 or item.qty == 1 else -1)))
            else:
                self.add_addon(t, main, live, items)
        elif what == "pipeline_seats":  # more or fewer pipeline units
            pipes = [i for i in live if i.plan == "Pipeline"]
            if pipes:
                pipes[0].change(t, qty=max(1, pipes[0].qty + (1 if rng.random() < 0.55 or pipes[0].qty == 1 else -1)))
            else:
                self.seats(t, main, up=rng.random() < 0.62)
        elif what == "pipeline_add":
            if not any(i.plan == "Pipeline" for i in live):
                item = self.new_item(self.new_sub(), "Pipeline", "m" if rng.random() < 0.7 else "y", 1, t)
                live.append(item)
                items.append(item)
        elif what == "pipeline_remove":
            pipes = [i for i in live if i.plan == "Pipeline"]
            if pipes:
                pipes[0].end(t, t - rng.randint(3, 30) if rng.random() < 0.7 else None)
                live.remove(pipes[0])
        elif what == "interval":
            months = BILLING[main.billing][2]
            if months == 1:
                main.change(t, billing="y" if rng.random() < 0.8 else "q")
            elif months == 3:
                main.change(t, billing="y")
            else:
                main.change(t, billing="m")
            return t
        elif what == "discount":  # a retention discount for a few months
            if main.pct == 0:
                main.change(t, pct=rng.choice((10, 20, 25)))
                scheduled.append((_add_months(t, rng.choice((2, 3, 6))), "discount_end"))
                scheduled.sort()
        return anchor

    def seats(self, t: int, item: _Item, up: bool) -> None:
        rng = self.rng
        step = 1 + int(rng.random() * max(1, item.qty // 8))
        item.change(t, qty=item.qty + step if up else max(1, item.qty - step))

    def step_plan(self, t: int, main: _Item, up: bool) -> None:
        if main.plan not in FLAT_LADDER:
            self.seats(t, main, up)
            return
        rank = FLAT_LADDER.index(main.plan) + (1 if up else -1)
        if 0 <= rank < len(FLAT_LADDER):
            main.change(t, plan=FLAT_LADDER[rank], amt=0)

    def add_addon(self, t: int, main: _Item, live: list[_Item], items: list[_Item]) -> None:
        rng = self.rng
        missing = [a for a in ADDONS if not any(i.plan == a for i in live)]
        if not missing:
            return
        plan = missing[0] if len(missing) == 1 else rng.choice(missing)
        trial = rng.random() < 0.15
        item = self.new_item(main.sub, plan, "m", 1, t, trial=trial)
        items.append(item)
        if not trial:
            live.append(item)
            return
        converts_on = t + TRIAL_DAYS
        if rng.random() < 0.35 or converts_on >= self.last:  # an add-on trial that is not taken up
            if converts_on > self.last:
                item.finish_open()
            else:
                item.end(converts_on)
            return
        item.change(converts_on, trial=False)
        live.append(item)

    # ---- rows -----------------------------------------------------------------------------------
    def rows(self, cid: str, currency: str, items: list[_Item]) -> list[tuple]:
        """The customer's rows in file order (subscription, item, start), clipped to the data's end
        and with Growth rows split at the list-price increase."""
        last, increase, iso = self.last, self.increase, self.iso
        unit, plan_name = self._unit, self._plan_name
        out = []
        for item in sorted(items, key=lambda i: (i.sub, i.item)):
            product = PLANS[item.plan][0]
            for start, end, plan, billing, qty, pct, amt, trial, canceled in item.rows:
                if start > last:
                    continue
                if end is not None and end > last:
                    end = None
                if canceled is not None and canceled > last:
                    canceled = None
                interval, count = BILLING[billing][0], BILLING[billing][1]
                name = plan_name[(plan, billing)]
                head = (cid, item.sub, item.item, product, name)
                tail = (str(qty),)
                disc = (str(pct), f"{amt:.2f}" if amt else "0", "true" if trial else "false")
                if (plan == PRICE_INCREASE_PLAN and start < increase and (end is None or end > increase)
                        and (canceled is None or canceled > increase)):
                    out.append(head + (iso(start), iso(increase)) + tail
                               + (unit[(plan, billing, currency, False)], currency, interval, count) + disc + ("",))
                    start = increase
                raised = start >= increase
                out.append(head + (iso(start), iso(end)) + tail
                           + (unit[(plan, billing, currency, raised)], currency, interval, count) + disc
                           + (iso(canceled),))
        return out


def _fx_rows(rng: random.Random, start: date, end: date) -> list[tuple[str, str, str]]:
    """Monthly rates (USD per unit) for every month of the range, a gentle random walk."""
    rows = []
    eur, gbp = 1.08, 1.26
    y, m = start.year, start.month
    while (y, m) <= (end.year, end.month):
        rows.append((f"{y:04d}-{m:02d}", "EUR", f"{eur:.4f}"))
        rows.append((f"{y:04d}-{m:02d}", "GBP", f"{gbp:.4f}"))
        eur = min(1.25, max(0.95, eur * (1 + rng.gauss(0, 0.013))))
        gbp = min(1.45, max(1.10, gbp * (1 + rng.gauss(0, 0.012))))
        m += 1
        if m > 12:
            y, m = y + 1, 1
    return rows


def generate(folder: Path, customers: int = 1500, seed: int = 7, start: date = date(2023, 1, 1),
             end: date = date(2026, 6, 30), activity: float = 1.0) -> dict:
    """Write customers.csv, subscriptions.csv and fx_rates.csv into `folder`; return a summary.

    activity scales how often customers change their subscriptions: 1.0 is the demo company's
    realistic pace (about four period rows a customer); the benchmark asks for more rows a
    customer (BENCH_ACTIVITY) without changing who the customers are or how they churn."""
    if customers < 1:
        raise ValueError("customers must be at least 1")
    if end <= start:
        raise ValueError(f"end {end} must be after start {start}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    digits = max(6, len(str(customers)))
    gen = _Generator(rng, start, end, digits, activity)

    fx = _fx_rows(rng, start, end)
    joins = sorted(gen.join_day(rng.random()) for _ in range(customers))

    rows_written = 0
    first_day, last_day = None, None
    tmp = {name: folder / f".{name}.tmp" for name in ("customers.csv", "subscriptions.csv", "fx_rates.csv")}
    with tmp["customers.csv"].open("w", newline="", encoding="utf-8") as cf, \
            tmp["subscriptions.csv"].open("w", newline="", encoding="utf-8") as sf:
        cw = csv.writer(cf, lineterminator="\n")
        sw = csv.writer(sf, lineterminator="\n")
        cw.writerow(CUSTOMER_HEADER)
        sw.writerow(SUBSCRIPTION_HEADER)
        batch: list[tuple] = []
        for number, joined in enumerate(joins, start=1):
            customer_row, rows = gen.customer(number, joined)
            cw.writerow(customer_row)
            if rows:
                batch.extend(rows)
                rows_written += len(rows)
                if len(batch) >= 20000:
                    sw.writerows(batch)
                    batch.clear()
                lo = min(r[5] for r in rows)
                hi = max(max(r[5], r[6], r[15]) for r in rows)
                first_day = lo if first_day is None or lo < first_day else first_day
                last_day = hi if last_day is None or hi > last_day else last_day
        sw.writerows(batch)
    with tmp["fx_rates.csv"].open("w", newline="", encoding="utf-8") as ff:
        fw = csv.writer(ff, lineterminator="\n")
        fw.writerow(("month", "currency", "rate"))
        fw.writerows(fx)
    for name, path in tmp.items():
        os.replace(path, folder / name)
    return {
        "customers": customers,
        "subscription_rows": rows_written,
        "fx_rates": len(fx),
        "first_date": first_day,
        "last_date": last_day,
        "seed": seed,
        "price_increase": f"{PRICE_INCREASE_PLAN} on {price_increase_date(start, end).isoformat()}",
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m semantic_layer.synthetic",
                                     description="Write a deterministic synthetic SaaS data set (canonical CSV).")
    parser.add_argument("folder", type=Path)
    parser.add_argument("--customers", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--start", type=date.fromisoformat, default=date(2023, 1, 1))
    parser.add_argument("--end", type=date.fromisoformat, default=date(2026, 6, 30))
    parser.add_argument("--activity", type=float, default=1.0, help="how often customers change (benchmark: 4.0)")
    args = parser.parse_args(argv)
    print(json.dumps(generate(args.folder, args.customers, args.seed, args.start, args.end, args.activity), indent=2))


if __name__ == "__main__":
    main()
