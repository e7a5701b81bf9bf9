"""The Stripe Dashboard's subscriptions CSV export -> canonical tables.

The export is one row per subscription *as it is today*: its current price, quantity and
status. It has no history, so a plan change, a seat change or a discount that ended shows
nowhere and every subscription looks as if it had always been billed as it is now. The
importer says so every time. The Stripe API export (see docs/stripe.md) has the history.

Amount is read in major units (49.00), as the Dashboard writes it; the Coupon column names a
coupon but not its terms, so coupons are not applied.
"""

import csv
import re
from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation
from pathlib import Path

from .errors import ImportProblem, ImportRejected, not_utf8
from .reader import RawTable
from .raw_tables import customer_table, subscription_table

CURRENT_STATE_NOTE = (
    "The Stripe Dashboard subscriptions export holds only each subscription's current state: "
    "upgrades, seat changes, discounts and everything else that changed before today are missing, "
    "so movements before today are not real history. Export from the Stripe API for history "
    "(see docs/stripe.md)."
)

# Header names as the Dashboard writes them (matched case-insensitively); first found wins.
COLUMNS = {
    "id": ("id", "subscription id"),
    "customer": ("customer id", "customer"),
    "customer_name": ("customer name", "customer description"),
    "customer_email": ("customer email",),
    "plan": ("plan", "plan nickname", "price", "price id", "plan id"),
    "product": ("product", "product name", "product id"),
    "quantity": ("quantity",),
    "currency": ("currency",),
    "interval": ("interval", "plan interval"),
    "interval_count": ("interval count", "plan interval count"),
    "amount": ("amount", "plan amount", "price amount"),
    "status": ("status",),
    "created": ("created (utc)", "created"),
    "start": ("start date (utc)", "start (utc)", "start date", "start"),
    "period_start": ("current period start (utc)", "current period start"),
    "period_end": ("current period end (utc)", "current period end"),
    "trial_start": ("trial start (utc)", "trial start"),
    "trial_end": ("trial end (utc)", "trial end"),
    "canceled_at": ("canceled at (utc)", "canceled at"),
    "cancel_at_period_end": ("cancel at period end",),
    "ended_at": ("ended at (utc)", "ended at"),
    "cancel_at": ("cancel at (utc)", "cancel at"),
    "coupon": ("coupon", "coupon id"),
}
CUSTOMER_COLUMNS = ("id", "name", "description", "email", "address country", "country")
_INTERVALS = {"day": "day", "daily": "day", "week": "week", "weekly": "week", "month": "month",
              "monthly": "month", "year": "year", "yearly": "year", "annual": "year", "annually": "year",
              "quarter": "quarter", "quarterly": "quarter"}
_METADATA = re.compile(r"^(.*)\s*\(metadata\)$", re.IGNORECASE)


def email_domain(email: str | None) -> str | None:
    return email.rsplit("@", 1)[1].lower() if email and "@" in email else None


def looks_like_dashboard_export(header: list[str]) -> bool:
    names = {h.strip().lower() for h in header}
    return "id" in names and ("customer id" in names or "customer" in names) and "status" in names and (
        "current period start (utc)" in names or "amount" in names or "plan" in names
    )


def looks_like_dashboard_customers(header: list[str]) -> bool:
    """The Dashboard's customers export (Customers > Export), which may be named customers.csv."""
    names = {h.strip().lower() for h in header}
    return "id" in names and "created (utc)" in names and not names & {"customer_id", "customer id", "status"}


def convert_csv(path: Path, customers_path: Path | None = None) -> tuple[RawTable, RawTable, list[str]]:
    """The subscriptions export, with names, countries and metadata from the customers export
    when there is one."""
    name = path.name
    header, records = _read(path)
    index = {h.lower(): i for i, h in enumerate(header)}
    where = {key: next((index[n] for n in names if n in index), None) for key, names in COLUMNS.items()}
    metadata = [(i, m.group(1).strip()) for i, h in enumerate(header) if (m := _METADATA.match(h))]
    problems: list[ImportProblem] = []
    for key in ("id", "customer", "status", "amount"):
        if where[key] is None:
            problems.append(ImportProblem(name, "line 1", COLUMNS[key][0].title(), "required column is missing"))
    if problems:
        raise ImportRejected(problems)

    customers: dict[str, dict] = {}
    rows: list[dict] = []
    skipped: dict[str, int] = {}
    coupons = 0
    moments: list[date] = []  # what happened by the export (period ends and cancel_at may lie ahead)
    for line, values in records:
        loc = f"line {line}"
        if len(values) != len(header):
            problems.append(ImportProblem(name, loc, None, f"{len(values)} fields where the header has {len(header)}"))
            continue

        def get(key):
            i = where[key]
            value = values[i].strip() if i is not None and i < len(values) else ""
            return value or None

        def when(key):
            raw = get(key)
            if raw is None:
                return None
            parsed = _date(raw)
            if parsed is None:
                problems.append(ImportProblem(name, loc, header[where[key]], f'"{raw}" is not a date'))
            return parsed

        sub_id, customer, status = get("id"), get("customer"), (get("status") or "").lower()
        if not sub_id or not customer:
            problems.append(ImportProblem(name, loc, "id" if not sub_id else "Customer ID", "a value is required"))
            continue
        customers.setdefault(customer, {
            "customer_id": customer, "name": get("customer_name"),
            "email_domain": email_domain(get("customer_email")),
            "country": None, "_loc": loc, "_file": name, "_metadata": {},
        })
        if status in ("incomplete", "incomplete_expired"):
            skipped[status] = skipped.get(status, 0) + 1
            continue
        amount = _decimal(get("amount"))
        if amount is None:
            problems.append(ImportProblem(name, loc, header[where["amount"]], f'"{get("amount")}" is not a number'))
            continue
        interval, count = _interval(get("interval"), get("interval_count"))
        if interval is None:
            problems.append(ImportProblem(name, loc, "Interval", f'"{get("interval")}" is not day, week, month or year'))
            continue
        start = when("start") or when("created")
        trial_start, trial_end = when("trial_start"), when("trial_end")
        period_start, period_end = when("period_start"), when("period_end")
        canceled_at, ended_at, cancel_at = when("canceled_at"), when("ended_at"), when("cancel_at")
        if start is None:
            problems.append(ImportProblem(name, loc, "Start (UTC)", "a start date is required"))
            continue
        moments += [d for d in (when("created"), start, period_start, trial_start, canceled_at, ended_at) if d]
        if get("coupon"):
            coupons += 1
        if status == "canceled":
            end = ended_at or canceled_at or period_end
        elif status in ("unpaid", "paused"):
            end = period_start or start  # the end of the last paid period, as far as the export tells
        elif cancel_at:
            end = cancel_at
        elif (get("cancel_at_period_end") or "").lower() in ("true", "yes", "1"):
            end = period_end
        else:
            end = None
        base = {
            "customer_id": customer, "subscription_id": sub_id, "item_id": sub_id,
            "product": get("product") or "", "plan": get("plan") or "",
            "quantity": get("quantity") or "1", "unit_amount": str(amount),
            "currency": (get("currency") or "").upper() or None, "interval": interval,
            "interval_count": str(count), "discount_percent": "0", "discount_amount": "0",
            "_loc": loc, "_file": name,
        }
        for i, key in metadata:
            column = key.lstrip("_") or "key"
            base[f"metadata_{column}" if column.lower() in base else column] = values[i].strip() or None
        paid_from = start
        if trial_start and trial_end and trial_end > trial_start:
            trial_stop = min(trial_end, end) if end else trial_end
            if trial_stop > trial_start:
                rows.append({**base, "start_date": trial_start.isoformat(), "end_date": trial_stop.isoformat(),
                             "is_trial": "true", "canceled_at": None})
            paid_from = trial_end
            if status in ("trialing", "paused"):
                continue  # not converted (yet)
        if end is not None and end <= paid_from:
            continue
        cancel = canceled_at.isoformat() if canceled_at and end and status != "unpaid" and end > canceled_at else None
        rows.append({**base, "start_date": paid_from.isoformat(), "end_date": end.isoformat() if end else None,
                     "is_trial": "false", "canceled_at": cancel})
    if customers_path is not None:
        problems += _add_customer_details(customers_path, customers)
    if problems:
        raise ImportRejected(problems)
    notes = [CURRENT_STATE_NOTE] + _scheduled_ends(rows, max(moments, default=None))
    if coupons:
        notes.append(f"{coupons} subscription(s) name a coupon; the export does not say its terms, so it was not applied.")
    for status, n in sorted(skipped.items()):
        notes.append(f"{n} {status} subscription(s) skipped (never paid).")
    extra = sorted({k for r in rows for k in r} - {c for c in subscription_table([]).columns} - {"_loc", "_file"})
    return (
        customer_table(list(customers.values()), customers_path.name if customers_path else name),
        subscription_table(rows, name, extra),
        notes,
    )


def _scheduled_ends(rows: list[dict], exported: date | None) -> list[str]:
    """Ends Stripe has scheduled for after the export (a period end under cancel_at_period_end,
    a cancel_at date) are kept, as issue 5 and the API import have them: say how many."""
    later = sum(1 for r in rows if exported and r["end_date"] and r["end_date"] > exported.isoformat()
                and r["is_trial"] == "false")
    return [f"{later} subscription(s) set to end after the export ({exported.isoformat()}): their churn is dated "
            f"at the scheduled end."] if later else []


def _read(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header and the (line number, values) of every non-empty row of a Dashboard export."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            header = [h.strip() for h in next(reader, [])]
            return header, [(reader.line_num, values) for values in reader if values and values != [""]]
    except UnicodeDecodeError as exc:
        raise not_utf8(path.name, exc)
    except csv.Error as exc:
        raise ImportRejected([ImportProblem(path.name, None, None, f"unreadable CSV: {exc}")])


def _add_customer_details(path: Path, customers: dict[str, dict]) -> list[ImportProblem]:
    """Name, email domain, country and every "(metadata)" column of the customers export, for the
    customers it lists (those it does not list keep what the subscriptions export says)."""
    header, records = _read(path)
    index = {h.lower(): i for i, h in enumerate(header)}
    metadata = [(i, m.group(1).strip()) for i, h in enumerate(header) if (m := _METADATA.match(h))]
    problems = []
    for line, values in records:
        if len(values) != len(header):
            problems.append(ImportProblem(path.name, f"line {line}", None, f"{len(values)} fields where the header has {len(header)}"))
            continue
        field = {key: values[index[key]].strip() or None for key in CUSTOMER_COLUMNS if key in index}
        customer = field.get("id")
        if not customer:
            problems.append(ImportProblem(path.name, f"line {line}", "id", "a value is required"))
            continue
        known = customers.get(customer, {})
        customers[customer] = {
            "customer_id": customer, "name": field.get("name") or field.get("description") or known.get("name"),
            "email_domain": email_domain(field.get("email")) or known.get("email_domain"),
            "country": field.get("address country") or field.get("country"), "_loc": f"line {line}",
            "_file": path.name, "_metadata": {key: values[i].strip() or None for i, key in metadata},
        }
    return problems


def _date(raw: str) -> date | None:
    text = raw.strip()
    if re.fullmatch(r"\d{9,11}", text):
        return datetime.fromtimestamp(int(text), tz=timezone.utc).date()
    match = re.match(r"^(\d{4})-(\d{2})-(\d{2})", text)
    if match:
        try:
            return date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            return None
    match = re.match(r"^(\d{1,2})/(\d{1,2})/(\d{4})", text)
    if match:
        try:
            return date(int(match[3]), int(match[1]), int(match[2]))
        except ValueError:
            return None
    return None


def _decimal(raw: str | None) -> Decimal | None:
    if raw is None:
        return None
    try:
        value = Decimal(raw.replace(",", "").lstrip("$€£¥"))
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _interval(raw: str | None, count: str | None) -> tuple[str | None, int]:
    text = (raw or "month").strip().lower()
    match = re.fullmatch(r"(?:every\s+)?(\d+)\s*([a-z]+?)s?", text)
    n = 1
    if match:
        n, text = int(match[1]), match[2]
    if count and count.strip().isdigit():
        n = int(count.strip())
    return _INTERVALS.get(text.rstrip("s") if text.rstrip("s") in _INTERVALS else text), max(n, 1)
