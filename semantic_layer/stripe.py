"""Stripe API exports -> the canonical tables of rulebook §1 (customers, subscription item periods).

Invoice lines are the history. Every subscription line with a service period says which price,
quantity and discount one subscription item had from that period's start; a proration line
says the item changed on its period start, and the change is valued at the full-period rate of
the new price and quantity, never at the partial amount charged. The subscription object says
how the item ends (status, ended_at, cancel_at, cancel_at_period_end, canceled_at). Each item's
observations become canonical rows, one per period with a fixed price, plan, quantity and
discount, whose `_loc` names the Stripe object they came from ("invoice in_1, line il_2").

Changes not invoiced yet come from pending invoice items, else from the subscription's current
items. What Stripe has scheduled (a cancellation at a period end or at cancel_at, a coupon's end)
is kept, also when it lies after the export (issue 5); a trial ending after it stays a trial.

Not MRR (rulebook §2), so not imported: tax (a tax-inclusive price is reduced by its tax),
one-off invoice items, metered (usage) prices, credit notes and refunds.

Both invoice line shapes are read: the older one (`price` / `plan`, `proration`,
`subscription_item`, `tax_amounts` on the line; API versions up to 2025-02-24.acacia) and the
current one (`parent.subscription_item_details`, `pricing.price_details`, `taxes`; API versions
from 2025-03-31.basil).
"""

import calendar
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timezone
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, InvalidOperation
from pathlib import Path

from .canonical import MONTHS_PER_INTERVAL
from .errors import ImportProblem, ImportRejected
from .raw_tables import customer_table, subscription_table
from .reader import RawTable
from .stripe_csv import email_domain
from .stripe_read import Found, StripeObjects, read_objects

# ISO 4217 codes Stripe counts in whole units or in thousandths (docs.stripe.com/currencies).
# ISK, HUF and TWD stay two-decimal in the API even where they are charged in whole units.
ZERO_DECIMAL = frozenset(
    "BIF CLP DJF GNF JPY KMF KRW MGA PYG RWF UGX VND VUV XAF XOF XPF".split()
)
THREE_DECIMAL = frozenset("BHD JOD KWD OMR TND".split())
_Q = Decimal("1e-12")
_ZERO = Decimal(0)
_SKIPPED_INVOICE_STATUSES = ("draft", "void")
_NEVER_CONTRIBUTE = ("incomplete", "incomplete_expired")


def minor_unit(currency: str) -> Decimal:
    """Value of one API amount unit in major units: 0.01 USD, 1 JPY, 0.001 KWD."""
    code = currency.upper()
    if code in ZERO_DECIMAL:
        return Decimal(1)
    if code in THREE_DECIMAL:
        return Decimal("0.001")
    return Decimal("0.01")


def id_of(value) -> str | None:
    """Stripe fields hold an id or, when expanded, the object."""
    if isinstance(value, dict):
        return value.get("id")
    return value if isinstance(value, str) and value else None


def day(ts: int) -> date:
    return datetime.fromtimestamp(ts, tz=timezone.utc).date()


def _dec(value) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        result = Decimal(str(value))
    except InvalidOperation:
        return None
    return result if result.is_finite() else None


def _num(value: Decimal) -> str:
    if value.as_tuple().exponent < -12:
        value = value.quantize(_Q)
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _int(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class Unmappable(Exception):
    def __init__(self, field: str | None, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


# ---- prices, discounts ------------------------------------------------------------------


@dataclass
class Price:
    id: str
    nickname: str | None
    lookup_key: str | None
    product: str | None
    currency: str | None
    unit_amount: Decimal | None  # minor units
    billing_scheme: str
    tiers: list | None
    tiers_mode: str | None
    transform: dict | None
    one_time: bool
    interval: str | None
    interval_count: int
    usage_type: str
    tax_behavior: str | None
    currency_options: dict
    from_line: bool = False  # known only from an invoice line, not from a price object

    @classmethod
    def of_line(cls, pid: str, product, currency: str | None, interval: tuple[str, int] | None) -> "Price":
        return cls(
            id=pid, nickname=None, lookup_key=None, product=id_of(product), currency=currency, unit_amount=None,
            billing_scheme="per_unit", tiers=None, tiers_mode=None, transform=None, one_time=False,
            interval=interval[0] if interval else None, interval_count=interval[1] if interval else 1,
            usage_type="licensed", tax_behavior=None, currency_options={}, from_line=True,
        )

    @classmethod
    def of(cls, obj: dict) -> "Price":
        if obj.get("object") == "plan":  # the pre-2020 Plan object, still on older lines and items
            return cls(
                id=obj.get("id") or "", nickname=obj.get("nickname"), lookup_key=None,
                product=id_of(obj.get("product")), currency=obj.get("currency"),
                unit_amount=_dec(obj.get("amount_decimal") if obj.get("amount_decimal") is not None else obj.get("amount")),
                billing_scheme=obj.get("billing_scheme") or "per_unit", tiers=obj.get("tiers"),
                tiers_mode=obj.get("tiers_mode"), transform=obj.get("transform_usage"), one_time=False,
                interval=obj.get("interval"), interval_count=_int(obj.get("interval_count")) or 1,
                usage_type=obj.get("usage_type") or "licensed", tax_behavior=None, currency_options={},
            )
        recurring = obj.get("recurring") or {}
        unit = obj.get("unit_amount_decimal")
        return cls(
            id=obj.get("id") or "", nickname=obj.get("nickname"), lookup_key=obj.get("lookup_key"),
            product=id_of(obj.get("product")), currency=obj.get("currency"),
            unit_amount=_dec(unit if unit is not None else obj.get("unit_amount")),
            billing_scheme=obj.get("billing_scheme") or "per_unit", tiers=obj.get("tiers"),
            tiers_mode=obj.get("tiers_mode"), transform=obj.get("transform_quantity"),
            one_time=obj.get("type") == "one_time" or not recurring,
            interval=recurring.get("interval"), interval_count=_int(recurring.get("interval_count")) or 1,
            usage_type=recurring.get("usage_type") or "licensed", tax_behavior=obj.get("tax_behavior"),
            currency_options=obj.get("currency_options") or {},
        )

    @property
    def plan_name(self) -> str:
        return self.nickname or self.lookup_key or self.id


@dataclass(frozen=True)
class Discount:
    percent: Decimal  # combined percent off
    amount: Decimal   # amount off per billing interval, major units
    until: int | None = None  # timestamp when a once / repeating coupon stops applying


NO_DISCOUNT = Discount(_ZERO, _ZERO)


@dataclass(frozen=True)
class State:
    """What one subscription item is billed during one canonical row."""

    price_id: str
    plan: str
    product: str
    unit_amount: Decimal | None  # major units, tax excluded; None until a proration's full-period rate is known
    quantity: Decimal
    currency: str
    interval: str
    interval_count: int
    discount_percent: Decimal = _ZERO
    discount_amount: Decimal = _ZERO
    is_trial: bool = False

    def without_discount(self) -> "State":
        return replace(self, discount_percent=_ZERO, discount_amount=_ZERO)


@dataclass
class Obs:
    """One observation of a subscription item: from `ts` on it is billed as `state`
    (None: the item was removed)."""

    ts: int
    rank: int  # 0 regular line, 1 proration, 2 removal: the order of observations at the same instant
    seq: int
    state: State | None
    period_end: int
    loc: str
    file: str
    kind: str  # regular | proration | removal | subscription
    discount_until: int | None = None


@dataclass
class LineInfo:
    loc: str
    file: str
    invoice_status: str
    subscription: str
    item: str | None
    price: Price | None
    start: int
    end: int
    amount: int
    quantity: Decimal
    currency: str
    proration: bool
    credit: bool
    state: State | None = None
    entries: list[dict] = field(default_factory=list)  # its discount_amounts, whole-invoice amounts off moved
    factor: Decimal = Decimal(1)  # what is left of its amounts without inclusive tax
    charged: int = 0  # amount after discounts, inclusive tax included
    inclusive: tuple[int, list] | None = None  # (inclusive tax amount, its rates) on a tax-inclusive line
    unknown_rate: tuple[str, str] | None = None  # (field, message) if its full-period rate stays unknown
    discount: Discount = NO_DISCOUNT
    seq: int = 0


@dataclass
class Billing:
    """What an invoice line says about the subscription item it bills, in either API shape."""

    subscription: str | None
    item: str | None
    proration: bool
    credited: bool
    price_ref: object
    price_field: str
    product: object
    unit: Decimal | None  # the line's own unit amount, minor units (partial on a proration)
    taxes: list[tuple[int, bool, str | None]]  # (amount, inclusive, tax rate id)


def _billing(line: dict, inv_sub: str | None) -> Billing:
    parent = line.get("parent")
    if isinstance(parent, dict):  # 2025-03-31.basil and later
        # A line's parent is a subscription item or an invoice item; a pending invoice item's
        # parent is its subscription (and it says itself whether it is a proration).
        item_details = parent.get("subscription_item_details") or parent.get("subscription_details") or {}
        details = parent.get("subscription_item_details") or parent.get("invoice_item_details") or line
        pricing = line.get("pricing") or {}
        price_details = pricing.get("price_details") or {}
        return Billing(
            subscription=id_of(item_details.get("subscription") or details.get("subscription"))
            or (inv_sub if item_details else None),
            item=item_details.get("subscription_item"), proration=bool(details.get("proration")),
            credited=bool((details.get("proration_details") or {}).get("credited_items")),
            price_ref=price_details.get("price"), price_field="pricing.price_details.price",
            product=price_details.get("product"), unit=_dec(pricing.get("unit_amount_decimal")),
            taxes=[(t.get("amount") or 0, t.get("tax_behavior") == "inclusive",
                    id_of((t.get("tax_rate_details") or {}).get("tax_rate"))) for t in line.get("taxes") or []],
        )
    price_ref = line.get("price") or line.get("plan")  # up to 2025-02-24.acacia
    return Billing(
        subscription=id_of(line.get("subscription")) or (inv_sub if line.get("type") == "subscription" else None),
        item=line.get("subscription_item"), proration=bool(line.get("proration")),
        credited=bool((line.get("proration_details") or {}).get("credited_items")),
        price_ref=price_ref, price_field="price" if line.get("price") else "plan",
        product=(price_ref or {}).get("product") if isinstance(price_ref, dict) else None, unit=None,
        taxes=[(t.get("amount") or 0, bool(t.get("inclusive")), id_of(t.get("tax_rate")))
               for t in line.get("tax_amounts") or []],
    )


def _period_interval(start: int, end: int) -> tuple[str, int] | None:
    """The billing interval a regular line's service period spans: whole months (a month-end
    anchor shortens some, Jan 31 -> Feb 28 -> Mar 31), years, weeks or days."""
    first, last = (datetime.fromtimestamp(t, tz=timezone.utc) for t in (start, end))
    months = (last.year - first.year) * 12 + last.month - first.month
    month_end = calendar.monthrange(last.year, last.month)[1]
    same_day = last.day == first.day or (last.day == month_end and last.day < first.day) or (
        first.day == calendar.monthrange(first.year, first.month)[1] and last.day > first.day)
    if months > 0 and same_day and last.time() == first.time():
        return ("year", months // 12) if months % 12 == 0 else ("month", months)
    days, rest = divmod(end - start, 86400)
    if rest or days <= 0:
        return None
    return ("week", days // 7) if days % 7 == 0 else ("day", days)


@dataclass
class Conversion:
    customers: RawTable
    subscriptions: RawTable
    notes: list[str]
    sources: list[str]


# ---- the converter ----------------------------------------------------------------------


class StripeConverter:
    def __init__(self, objects: StripeObjects):
        self.o = objects
        self.problems: list[ImportProblem] = list(objects.problems)
        self.counts: dict[str, int] = {}
        self.notes: list[str] = []
        self.prices: dict[str, Price] = {}
        self.products: dict[str, dict] = {}
        self.coupons: dict[str, dict] = {}
        self.discounts: dict[str, dict] = {}
        self.customer_snapshots: dict[str, dict] = {}
        self.rows: list[dict] = []
        self.customer_refs: dict[str, Found] = {}
        self.bearers: dict[tuple[str, str], str | None] = {}  # (subscription, discount) -> item
        self.prices_from_lines: set[str] = set()
        self.known_rates: dict[tuple[str, str], State] = {}  # (price, currency) -> a regular line's state
        self.tax_rates: dict[str, Decimal] = {}  # tax rate -> percentage
        self.exported_at: int | None = None
        self.lines_of: dict[str, list[dict]] = {}  # invoice -> its lines

    # ---- public
    def run(self) -> tuple[list[dict], list[dict]]:
        self.lines_of = self._invoice_lines_read()
        self._catalog()
        self.exported_at = self._export_moment()
        lines = self._lines()
        self._full_period_rates(lines)
        subscriptions = self.o.of("subscription")
        for sub_id in sorted(set(lines) - set(subscriptions)):
            first = lines[sub_id][0]
            self.problems.append(ImportProblem(
                first.file, first.loc, "subscription",
                f"subscription {sub_id} is not among the exported subscriptions; list subscriptions "
                f"with status=all so that canceled ones are included",
            ))
        for sub_id in sorted(subscriptions):
            try:
                self._subscription(subscriptions[sub_id], lines.get(sub_id, []))
            except Unmappable as exc:
                found = subscriptions[sub_id]
                self.problems.append(ImportProblem(found.file, f"subscription {sub_id}", exc.field, exc.message))
        customers = self._customers()
        if self.problems:
            raise ImportRejected(self.problems)
        self._summarize()
        return customers, self.rows

    # ---- reference objects
    def _catalog(self) -> None:
        for found in self.o.of("product").values():
            self.products[found.obj["id"]] = found.obj
        for found in self.o.of("coupon").values():
            self.coupons[found.obj["id"]] = found.obj
        for kind in ("price", "plan"):
            for found in self.o.of(kind).values():
                self._add_price(found.obj)
        for found in self.o.of("discount").values():
            self._add_discount(found.obj)
        for found in self.o.of("tax_rate").values():
            self._add_tax_rate(found.obj)
        for found in self.o.of("customer").values():
            self._add_discount(found.obj.get("discount"))
        for found in self.o.of("subscription").values():
            sub = found.obj
            self._add_discount(sub.get("discount"))
            for d in sub.get("discounts") or []:
                self._add_discount(d)
            for item in (sub.get("items") or {}).get("data") or []:
                for key in ("price", "plan"):
                    self._add_price(item.get(key))
                for d in item.get("discounts") or []:
                    self._add_discount(d)
        for found in self.o.of("invoice").values():
            inv = found.obj
            self._add_discount(inv.get("discount"))
            for d in inv.get("discounts") or []:
                self._add_discount(d)
            for line in self.lines_of.get(inv["id"], []):
                for rate in [*(line.get("tax_rates") or []),
                             *(t.get("tax_rate") for t in line.get("tax_amounts") or []),
                             *((t.get("tax_rate_details") or {}).get("tax_rate") for t in line.get("taxes") or [])]:
                    self._add_tax_rate(rate)
                for key in ("price", "plan"):
                    self._add_price(line.get(key))
                self._add_price(((line.get("pricing") or {}).get("price_details") or {}).get("price"))
                for d in line.get("discounts") or []:
                    self._add_discount(d)
                for amount in line.get("discount_amounts") or []:
                    self._add_discount(amount.get("discount"))

    def _export_moment(self) -> int | None:
        """When the export was made, as far as it tells: the latest moment at which something in
        it happened. Period ends, cancel_at and trial ends may lie ahead, so they do not count."""
        moments = []
        for found in self.o.of("invoice").values():
            if not found.obj["id"].startswith("upcoming"):
                moments += [found.obj.get("created"), *(found.obj.get("status_transitions") or {}).values()]
        for found in self.o.of("subscription").values():
            sub = found.obj
            moments += [sub.get(k) for k in ("created", "start_date", "canceled_at", "ended_at", "trial_start",
                                             "current_period_start")]
            for item in (sub.get("items") or {}).get("data") or []:
                moments += [item.get("created"), item.get("current_period_start")]
        for kind, key in (("customer", "created"), ("credit_note", "created"), ("invoiceitem", "date"),
                          ("discount", "start")):
            moments += [found.obj.get(key) for found in self.o.of(kind).values()]
        return max((m for m in moments if isinstance(m, int)), default=None)

    def _invoice_lines_read(self) -> dict[str, list[dict]]:
        """Each invoice's lines: those on the invoice object (only its first ones when
        lines.has_more is true) and those exported page by page from /v1/invoices/{id}/lines."""
        by_invoice: dict[str, dict[str, dict]] = {}
        for inv_id, found in self.o.of("invoice").items():
            listed = found.obj.get("lines")
            by_invoice[inv_id] = {line.get("id"): line for line in (listed or {}).get("data") or []}
        for line_id, found in sorted(self.o.of("line_item").items()):
            inv_id = found.obj.get("invoice") or found.invoice
            if inv_id in by_invoice:
                by_invoice[inv_id][line_id] = found.obj
                continue
            self.problems.append(ImportProblem(
                found.file, f"line {found.line}, line_item {line_id}", "invoice",
                f"a line of invoice {inv_id}, which is not among the exported invoices" if inv_id else
                "an invoice line on its own that names no invoice (export lines with /v1/invoices/{id}/lines)",
            ))
        return {inv_id: list(lines.values()) for inv_id, lines in by_invoice.items()}

    def _all_lines_read(self, inv: dict) -> bool:
        listed = inv.get("lines") or {}
        if not listed.get("has_more"):
            return True
        total = _int(listed.get("total_count"))
        return inv["id"] in self.o.last_line_pages and (total is None or len(self.lines_of[inv["id"]]) >= total)

    def _add_price(self, obj) -> None:
        """The first object seen for a price wins: exported prices come first and carry what was
        expanded (currency_options, tiers); a price comes before its Plan twin."""
        if isinstance(obj, dict) and obj.get("id") and obj.get("object") in ("price", "plan"):
            if obj["id"] in self.prices:
                return
            self.prices[obj["id"]] = Price.of(obj)
            product = obj.get("product")
            if isinstance(product, dict) and product.get("id"):
                self.products.setdefault(product["id"], product)

    def _add_tax_rate(self, obj) -> None:
        if isinstance(obj, dict) and obj.get("id") and _dec(obj.get("percentage")) is not None:
            self.tax_rates[obj["id"]] = _dec(obj["percentage"])

    def _add_discount(self, obj) -> None:
        if isinstance(obj, dict) and obj.get("id"):
            self.discounts[obj["id"]] = obj
            coupon = obj.get("coupon") or (obj.get("source") or {}).get("coupon")
            if isinstance(coupon, dict) and coupon.get("id"):
                self.coupons.setdefault(coupon["id"], coupon)

    def _coupon_of(self, discount_ref) -> tuple[dict | None, dict | None]:
        discount = self.discounts.get(id_of(discount_ref) or "")
        if discount is None:
            return None, None
        coupon = discount.get("coupon") or (discount.get("source") or {}).get("coupon")
        if isinstance(coupon, str):
            coupon = self.coupons.get(coupon)
        return discount, coupon if isinstance(coupon, dict) else None

    def _price(self, ref) -> Price | None:
        """A line's or item's own price object, with what only an exported copy had expanded."""
        known = self.prices.get(id_of(ref) or "")
        if not isinstance(ref, dict) or known is None:
            return known
        own = Price.of(ref)
        return replace(own, currency_options=own.currency_options or known.currency_options,
                       tiers=own.tiers or known.tiers)

    def _product_name(self, price: Price) -> str:
        product = self.products.get(price.product or "")
        return (product or {}).get("name") or price.product or ""

    # ---- invoice lines
    def _lines(self) -> dict[str, list[LineInfo]]:
        """Every subscription line, by subscription, numbered in the order read (invoices in time
        order, then pending invoice items), which orders observations of the same moment."""
        by_sub: dict[str, list[LineInfo]] = {}
        infos = [*self._invoiced(), *self._pending_prorations()]
        self._remove_inclusive_tax(infos)
        for seq, info in enumerate(infos, start=1):
            info.seq = seq
            by_sub.setdefault(info.subscription, []).append(info)
            if info.state is not None and not info.proration:
                info.discount = self._discount(info.entries, info.currency, info.factor, info.end)
        return by_sub

    def _remove_inclusive_tax(self, infos: list[LineInfo]) -> None:
        """A tax-inclusive price's amounts hold tax, which is not MRR (rulebook §2). The share to take
        off is exact from the tax rates' percentages when the export has them. Else it is read from
        the item's own charges of that price: the largest one, where cent-rounded tax weighs least,
        the same for all its lines (so that rounding makes no price movements) and for a line that
        charged nothing (a 100% coupon: no tax to read)."""
        read: dict[tuple, tuple[int, Decimal]] = {}
        for info in infos:
            if info.state is not None and info.inclusive and info.charged > 0:
                key = (info.item, info.state.price_id, info.currency)
                if info.charged > read.get(key, (0,))[0]:
                    read[key] = (info.charged, Decimal(info.charged - info.inclusive[0]) / info.charged)
        for info in infos:
            if info.state is None or not info.inclusive:
                continue
            factor = self._rates_factor(info.inclusive[1]) or read.get((info.item, info.state.price_id, info.currency), (0, None))[1]
            if factor is None:
                self._count("tax-inclusive line(s) kept with their tax: nothing was charged and the export has no "
                            "tax rate to tell the tax (export /v1/tax_rates)")
                continue
            info.factor = factor
            if info.state.unit_amount is not None:
                info.state = replace(info.state, unit_amount=info.state.unit_amount * factor)
            self._count("line(s) with tax-inclusive prices reduced by their tax")

    def _rates_factor(self, rates: list[str | None]) -> Decimal | None:
        """What is left of a tax-inclusive amount without its taxes, when every rate is known."""
        percents = [self.tax_rates.get(rate or "") for rate in rates]
        if not percents or None in percents:
            return None
        return 1 / (1 + sum(percents) / 100)

    def _invoiced(self) -> list[LineInfo]:
        infos: list[LineInfo] = []
        # In time order: the item that carries a whole-invoice amount off stays the one it was.
        invoices = sorted(self.o.of("invoice").values(), key=lambda f: (_int(f.obj.get("created")) or 0, f.obj["id"]))
        for found in invoices:
            inv = found.obj
            inv_id = inv["id"]
            status = inv.get("status")
            self._snapshot(inv)
            if status in _SKIPPED_INVOICE_STATUSES or inv_id.startswith("upcoming"):
                self._count(f"{status or 'preview'} invoice(s) skipped")
                continue
            lines = self.lines_of[inv_id]
            if not lines and not isinstance((inv.get("lines") or {}).get("data"), list):
                self.problems.append(ImportProblem(found.file, f"invoice {inv_id}", "lines", "an invoice without its lines"))
                continue
            if not self._all_lines_read(inv):
                self.problems.append(ImportProblem(
                    found.file, f"invoice {inv_id}", "lines.has_more",
                    f"only {len(lines)} of the invoice's lines are in the export; export the lines of invoices "
                    f"whose lines.has_more is true, to the last page, from /v1/invoices/{inv_id}/lines "
                    f"(see docs/stripe.md)",
                ))
                continue
            infos += self._invoice_lines(found, lines)
        return infos

    def _invoice_lines(self, found: Found, lines: list[dict]) -> list[LineInfo]:
        inv = found.obj
        parent = inv.get("parent") or {}
        inv_sub = id_of(inv.get("subscription")) or id_of((parent.get("subscription_details") or {}).get("subscription"))
        infos = []
        for line in lines:
            loc = f"invoice {inv['id']}, line {line.get('id') or '?'}"
            info = self._mapped(line, loc, found.file, inv.get("status") or "", inv_sub)
            if info is not None:
                infos.append(info)
        self._whole_invoice_amounts_off(inv, lines, [i for i in infos if i.state is not None and not i.proration])
        return infos

    def _mapped(self, line: dict, loc: str, file: str, status: str, inv_sub: str | None) -> LineInfo | None:
        try:
            return self._line(line, loc, file, status, inv_sub)
        except Unmappable as exc:
            self.problems.append(ImportProblem(file, loc, exc.field, exc.message))
            return None

    def _pending_prorations(self) -> list[LineInfo]:
        """Under Stripe's default proration_behavior (create_prorations) a mid-cycle change waits as
        pending invoice items until the next renewal invoice: the proration, dated by its period
        start, of a change the invoices do not show yet. Items on an invoice the import reads are
        that invoice's lines already."""
        read = {i for i, f in self.o.of("invoice").items()
                if f.obj.get("status") not in _SKIPPED_INVOICE_STATUSES and not i.startswith("upcoming")}
        infos = []
        for found in sorted(self.o.of("invoiceitem").values(), key=lambda f: (f.obj.get("date") or 0, f.obj["id"])):
            if id_of(found.obj.get("invoice")) in read:
                continue
            info = self._mapped(found.obj, f"invoice item {found.obj['id']}", found.file, "pending", None)
            if info is not None and info.proration:
                infos.append(info)
        return infos

    def _whole_invoice_amounts_off(self, inv: dict, lines: list[dict], billed: list[LineInfo]) -> None:
        """Stripe spreads an amount off the whole invoice (a subscription's or customer's coupon)
        over every discountable line, one-off fees included, and splits it anew on every invoice.
        Per billing interval the subscription gets what the discount took off the whole invoice,
        on one of its items: the same item on every invoice while it is billed, so that the split
        moves no MRR between items (a percent off is the same share of every line)."""
        whole = {id_of(d) for d in [inv.get("discount"), *(inv.get("discounts") or [])]} - {None}
        totals: dict[str, int] = {}
        for line in lines:
            for entry in line.get("discount_amounts") or []:
                did = id_of(entry.get("discount"))
                if did in whole and self._is_amount_off(did):
                    totals[did] = totals.get(did, 0) + (entry.get("amount") or 0)
        for did, total in totals.items():
            for info in billed:
                info.entries = [e for e in info.entries if id_of(e.get("discount")) != did]
            if billed and total > 0:
                self._bearer(did, billed).entries.append({"amount": total, "discount": did})

    def _bearer(self, did: str, billed: list[LineInfo]) -> LineInfo:
        """The line whose item carries a whole-invoice amount off: the item that carried it last
        time, else the largest line (ties: the smallest item id)."""
        key = (billed[0].subscription, did)
        line = next((i for i in billed if i.item == self.bearers.get(key)), None)
        if line is None:
            line = min(billed, key=lambda i: (-i.amount, i.item or ""))
            self.bearers[key] = line.item
        return line

    def _is_amount_off(self, discount_ref) -> bool:
        _, coupon = self._coupon_of(discount_ref)
        return bool(coupon) and coupon.get("percent_off") is None and coupon.get("amount_off") is not None

    def _snapshot(self, inv: dict) -> None:
        customer = id_of(inv.get("customer"))
        if customer:
            self.customer_snapshots[customer] = {
                "name": inv.get("customer_name"),
                "email": inv.get("customer_email"),
                "country": (inv.get("customer_address") or {}).get("country"),
            }

    def _line(self, line: dict, loc: str, file: str, status: str, inv_sub: str | None) -> LineInfo | None:
        """What one invoice line (or pending invoice item) says about a subscription item; None
        for what is not MRR."""
        billed = _billing(line, inv_sub)
        if not (billed.item or (billed.proration and billed.subscription)):
            self._count("one-off invoice line(s) skipped (not MRR)")
            return None
        if not billed.subscription:
            raise Unmappable("subscription", "a subscription line that names no subscription")
        amount = _int(line.get("amount"))
        if amount is None:
            raise Unmappable("amount", "a line without an integer amount")
        credit = billed.proration and (amount < 0 or bool(billed.credited))
        period = line.get("period")
        if not isinstance(period, dict) or _int(period.get("start")) is None or _int(period.get("end")) is None:
            raise Unmappable("period", "a subscription line without a service period (period.start, period.end)")
        start, end = period["start"], period["end"]
        quantity = _dec(line.get("quantity"))
        quantity = Decimal(1) if quantity is None else quantity
        # A credit needs no price of its own, but an item-less one is matched to its item by it.
        price = self._price(billed.price_ref) if credit else (
            self._price(billed.price_ref) or self._price_of_line(billed, line, start, end))
        if price is not None and not credit and not price.from_line:
            if price.one_time or not price.interval:
                raise Unmappable(
                    f"{billed.price_field}.recurring",
                    f"price {price.id} on a subscription line has no recurring interval",
                )
            if price.usage_type == "metered":
                self._count("metered (usage) line(s) skipped (not MRR)")
                return None
        currency = (line.get("currency") or (price.currency if price else None) or "").upper()
        info = LineInfo(
            loc=loc, file=file, invoice_status=status, subscription=billed.subscription,
            item=billed.item, price=price, start=start, end=end, amount=amount, quantity=quantity,
            currency=currency, proration=billed.proration, credit=credit,
        )
        if credit:
            return info
        unit_minor, quantity = self._unit_minor(price, currency, quantity, None if billed.proration else amount,
                                                billed.unit)
        discounts = [d for d in line.get("discount_amounts") or [] if (_int(d.get("amount")) or 0) > 0]
        info.charged = amount - sum(d["amount"] for d in discounts)
        inclusive = [(a, rate) for a, is_inclusive, rate in billed.taxes if is_inclusive]
        if inclusive:
            info.inclusive = (sum(a for a, _ in inclusive), [rate for _, rate in inclusive])
        unit = None if unit_minor is None else unit_minor * minor_unit(currency)
        if unit is None:
            info.unknown_rate = self._rate_advice(price, currency, billed)
        info.state = State(
            price_id=price.id, plan=price.plan_name, product=self._product_name(price),
            unit_amount=unit, quantity=quantity, currency=currency,
            interval=price.interval or "", interval_count=price.interval_count,
        )
        info.entries = discounts
        return info

    def _price_of_line(self, billed: Billing, line: dict, start: int, end: int) -> Price:
        """A price that is neither expanded nor exported (an archived or inline price, with the
        current line shape) as far as the line tells it: its unit amount and, on a regular line,
        its billing interval from the service period. A proration's period is partial, so its
        price takes both from a regular line of the same price (see _full_period_rates)."""
        if billed.price_ref is None:
            raise Unmappable(billed.price_field, "a subscription line without a price")
        interval = None if billed.proration else _period_interval(start, end)
        if interval is None and not billed.proration:
            raise Unmappable(
                billed.price_field,
                f"price {id_of(billed.price_ref)} is neither expanded on the line nor among the exported prices, "
                f"and the line's service period is not one billing interval; export prices, archived ones "
                f"too (see docs/stripe.md)",
            )
        self.prices_from_lines.add(id_of(billed.price_ref))
        return Price.of_line(id_of(billed.price_ref), billed.product, line.get("currency"), interval)

    def _unit_minor(self, price: Price, currency: str, quantity: Decimal, amount: int | None,
                    own_unit: Decimal | None) -> tuple[Decimal | None, Decimal]:
        """Unit amount in minor units at the full-period rate (tax not yet removed) and the
        quantity it applies to. `amount` and `own_unit` are a regular line's, None for a proration
        (its amounts are prorated, partial ones) or a subscription item; the unit amount is None
        when only they could have told it."""
        unit, tiers, mode, scheme = price.unit_amount, price.tiers, price.tiers_mode, price.billing_scheme
        if price.currency and currency and price.currency.upper() != currency:
            option = price.currency_options.get(currency.lower()) or {}  # only there when expanded
            unit = _dec(option.get("unit_amount_decimal") if option.get("unit_amount_decimal") is not None
                        else option.get("unit_amount"))
            tiers = option.get("tiers")
        if scheme == "tiered":
            if tiers:
                total = _tiered_total(tiers, mode, quantity)
                return (total / quantity if quantity else _ZERO), quantity
            if amount is not None and quantity:
                return Decimal(amount) / quantity, quantity
            raise Unmappable("price.tiers", f"tiered price {price.id} without its tiers; export prices with expand[]=data.tiers")
        transform = price.transform
        if transform and _int(transform.get("divide_by")):
            packages = quantity / Decimal(transform["divide_by"])
            rounding = ROUND_CEILING if transform.get("round") == "up" else ROUND_FLOOR
            quantity = packages.to_integral_value(rounding=rounding)
        if unit is None and amount is not None:
            unit = own_unit if own_unit is not None else (Decimal(amount) / quantity if quantity else None)
            if unit is None:
                raise Unmappable("price.unit_amount", f"price {price.id} has no unit amount")
        return unit, quantity

    @staticmethod
    def _rate_advice(price: Price, currency: str, billed: Billing | None) -> tuple[str, str]:
        """(field, message) for a proration or subscription item whose full-period rate nothing in
        the export tells (a proration bills only part of it)."""
        if price.from_line:
            return billed.price_field, (
                f"price {price.id} is neither expanded nor among the exported prices, and no regular invoice line "
                f"bills it for a whole period; export prices, archived ones too (see docs/stripe.md)")
        return "price.currency_options", (
            f"price {price.id} is in {(price.currency or '').upper()}, and no regular invoice line bills it in "
            f"{currency} for a whole period; export prices with expand[]=data.currency_options (see docs/stripe.md)")

    def _full_period_rates(self, by_sub: dict[str, list[LineInfo]]) -> None:
        """A proration whose price says nothing for its currency (or is not exported) is valued at
        the unit amount and interval of a regular line of the same price and currency anywhere in
        the export: the price bills every customer the same per unit."""
        known = self.known_rates
        for info in (i for infos in by_sub.values() for i in infos):
            if info.state is not None and not info.proration and info.amount and info.state.unit_amount is not None:
                known.setdefault((info.state.price_id, info.currency), info.state)
        for sub_id, infos in by_sub.items():
            unknown = [i for i in infos if i.state is not None and i.state.unit_amount is None]
            for info in unknown:
                rate = known.get((info.state.price_id, info.currency))
                if rate is None:
                    self.problems.append(ImportProblem(info.file, info.loc, *info.unknown_rate))
                else:
                    info.state = replace(info.state, unit_amount=rate.unit_amount, interval=rate.interval,
                                         interval_count=rate.interval_count)
            by_sub[sub_id] = [i for i in infos if i.state is None or i.state.unit_amount is not None]

    def _discount(self, entries: list[dict], currency: str, factor: Decimal, period_end: int) -> Discount:
        terms = []
        for entry in entries:
            discount, coupon = self._coupon_of(entry.get("discount"))
            percent = _dec((coupon or {}).get("percent_off"))
            off = _ZERO
            if percent is None:  # amount_off, or a coupon the export does not show: the amount on this line
                off = Decimal(entry["amount"]) * minor_unit(currency) * factor
            terms.append((percent, off, _until(discount, coupon, period_end)))
        return _combined(terms)

    def _standing_discount(self, found: Found, item_id: str, state: State, start: int) -> Discount:
        """The discounts on an item of a subscription without invoices, as the objects show them
        today: the item's own, and the subscription's (else its customer's). An amount off the
        whole subscription goes to its largest item, as on invoices."""
        sub = found.obj
        items = {i.get("id"): i for i in (sub.get("items") or {}).get("data") or []}
        whole = [sub.get("discount"), *(sub.get("discounts") or [])]
        if not any(whole):
            customer = self.o.of("customer").get(id_of(sub.get("customer")) or "")
            whole = [customer.obj.get("discount")] if customer else []
        refs = [(ref, False) for ref in items[item_id].get("discounts") or []]
        refs += [(ref, True) for ref in dict.fromkeys(id_of(d) for d in whole if id_of(d))]
        terms = []
        for ref, on_whole in refs:
            discount, coupon = self._coupon_of(ref)
            if coupon is None:
                self._count("discount(s) of subscriptions without invoices not applied: their coupon is not in the export")
                continue
            percent = _dec(coupon.get("percent_off"))
            if percent is None and on_whole and item_id != self._largest_item(sub, items):
                continue
            off = _ZERO if percent is not None else self._amount_off(coupon, state.currency)
            first_period_end = _after_intervals(max(start, _int((discount or {}).get("start")) or start), state)
            terms.append((percent, off, _until(discount, coupon, first_period_end)))
        return _combined(terms)

    def _largest_item(self, sub: dict, items: dict) -> str | None:
        """The item with the largest amount per period (ties: the smallest id), metered ones aside."""
        amounts = []
        for item_id, item in items.items():
            state = self._item_state(sub, item_id, item)
            if state is not None:
                amounts.append((-state.unit_amount * state.quantity / _months(state), item_id))
        return min(amounts)[1] if amounts else None

    @staticmethod
    def _amount_off(coupon: dict, currency: str) -> Decimal:
        amount = coupon.get("amount_off")
        if (coupon.get("currency") or "").upper() != currency:
            amount = ((coupon.get("currency_options") or {}).get(currency.lower()) or {}).get("amount_off")
        if amount is None:
            raise Unmappable("coupon.currency_options", (
                f"coupon {coupon.get('id')} takes an amount off in {(coupon.get('currency') or '').upper()} and says "
                f"nothing for {currency}; export coupons with expand[]=data.currency_options"))
        return Decimal(amount) * minor_unit(currency)

    # ---- subscriptions
    def _subscription(self, found: Found, lines: list[LineInfo]) -> None:
        sub = found.obj
        sub_id = sub["id"]
        status = sub.get("status")
        customer = id_of(sub.get("customer"))
        if not customer:
            raise Unmappable("customer", "a subscription without a customer")
        self._referenced(customer, found)
        if status in _NEVER_CONTRIBUTE:
            self._count(f"{status} subscription(s) skipped (never paid)")
            return
        items_list = sub.get("items") or {}
        current_items = {i.get("id"): i for i in items_list.get("data") or [] if isinstance(i, dict)}
        items_known = bool(current_items) and not items_list.get("has_more")
        trial_end = _int(sub.get("trial_end"))
        for info in lines:
            if _looks_like_trial(info, trial_end):
                info.state = replace(info.state, is_trial=True)
                info.discount = NO_DISCOUNT
        by_item = self._observations(sub_id, lines, current_items)
        if items_known:
            for item_id, item in sorted(current_items.items()):
                if item_id in by_item:
                    self._changed_since_invoiced(found, item_id, item, by_item[item_id])
                    continue
                obs = self._item_from_subscription(found, item_id, item)
                if obs:
                    by_item[item_id] = obs
                    self._count("subscription item(s) without invoice lines, taken as the subscription shows them today")
        end, canceled_at = self._end(sub, lines)
        if end is not None and self._after_export(end):
            # Issue 5: cancel_at_period_end ends at the period end, cancel_at on its date, also when
            # that is still ahead: Stripe has scheduled it, and MRR up to then is unchanged.
            self._count(f"subscription(s) set to end after the export ({self._export_day()}) by cancel_at_period_end "
                        f"or cancel_at: their churn is dated at the scheduled end")
        converted = trial_end is None or any(
            i.invoice_status == "paid" and i.state is not None and not i.state.is_trial and i.amount > 0
            for i in lines
        ) or (not lines and status not in ("trialing", "paused"))
        for item_id, obs in sorted(by_item.items()):
            tail = None
            if items_known and item_id not in current_items:
                tail = self._removed_at(obs)
            for start, stop, state, source in self._segments(obs, tail, end):
                if not state.is_trial and not converted:
                    continue
                self._row(customer, sub_id, item_id, start, stop, state, source, canceled_at)

    def _removed_at(self, obs: list[Obs]) -> int | None:
        """An item no longer on the subscription and not credited by a proration ran to the end of
        its last billed period, unless that lies after the export: then it was removed without
        proration since its last invoice, at the latest when the export was made."""
        tail = max((o.period_end for o in obs if o.state is not None), default=None)
        if tail is not None and self._after_export(tail):
            self._count(f"subscription item(s) removed since their last invoice, without a proration to date it: "
                        f"ended at the export's last recorded moment ({self._export_day()})")
            return self.exported_at
        return tail

    def _after_export(self, ts: int) -> bool:
        return self.exported_at is not None and ts > self.exported_at

    def _export_day(self) -> str:
        return day(self.exported_at).isoformat()

    def _referenced(self, customer: str, found: Found) -> None:
        self.customer_refs.setdefault(customer, found)

    def _observations(self, sub_id: str, lines: list[LineInfo], current_items: dict) -> dict[str, list[Obs]]:
        by_item: dict[str, list[Obs]] = {}
        by_price: dict[str, set[str]] = {}
        for item_id, item in current_items.items():
            price = self._price(item.get("price") or item.get("plan"))
            if price:
                by_price.setdefault(price.id, set()).add(item_id)
        for info in lines:
            if info.item and info.price:
                by_price.setdefault(info.price.id, set()).add(info.item)
        for info in lines:
            if info.item is None:
                candidates = by_price.get(info.price.id if info.price else "", set())
                if len(candidates) != 1:
                    self.problems.append(ImportProblem(
                        info.file, info.loc, "subscription_item",
                        "a proration line that names no subscription item, and its price does not tell "
                        f"which item of subscription {sub_id} it changes",
                    ))
                    continue
                info.item = next(iter(candidates))
        lines = [i for i in lines if i.item is not None]
        debits = {(i.item, i.start) for i in lines if not i.credit}
        for info in lines:
            if info.credit:
                if (info.item, info.start) in debits or info.amount == 0:
                    continue  # the debit line of the same change says what the item became
                obs = Obs(info.start, 2, info.seq, None, info.end, info.loc, info.file, "removal")
            else:
                obs = Obs(
                    info.start, 1 if info.proration else 0, info.seq, info.state, info.end, info.loc, info.file,
                    "proration" if info.proration else "regular",
                    discount_until=info.discount.until,
                )
                if not info.proration:
                    obs.state = replace(obs.state, discount_percent=info.discount.percent,
                                        discount_amount=info.discount.amount)
            by_item.setdefault(info.item, []).append(obs)
        for obs in by_item.values():
            obs.sort(key=lambda o: (o.ts, o.rank, o.seq))
            self._carry_discounts(obs)
        return by_item

    @staticmethod
    def _carry_discounts(obs: list[Obs]) -> None:
        """A proration line is a partial amount without the full-period discount (prorations are
        never discountable). Its new state takes the discount of the item's next regular line when
        that line bills the same price and quantity (what Stripe then charged), else the discount
        the item had before the change."""
        previous: Obs | None = None
        for index, o in enumerate(obs):
            if o.kind == "proration" and o.state is not None and not o.state.is_trial:
                following = next((n for n in obs[index + 1:] if n.kind == "regular"), None)
                source = None
                if following is not None and following.state is not None \
                        and following.state.price_id == o.state.price_id \
                        and following.state.quantity == o.state.quantity:
                    source = following
                elif previous is not None:
                    source = previous
                if source is not None and source.state is not None and not source.state.is_trial:
                    o.state = replace(o.state, discount_percent=source.state.discount_percent,
                                      discount_amount=source.state.discount_amount)
                    o.discount_until = source.discount_until
            if o.state is not None:
                previous = o

    def _item_state(self, sub: dict, item_id: str, item: dict) -> State | None:
        """A current item's price and quantity as the subscription shows them today, at the
        price's full-period rate; None for a metered price."""
        price = self._price(item.get("price") or item.get("plan"))
        if price is None:
            raise Unmappable("items.price", f"item {item_id} has no price")
        if price.one_time or not price.interval:
            raise Unmappable("items.price.recurring", f"price {price.id} of item {item_id} has no recurring interval")
        if price.usage_type == "metered":
            return None
        quantity = _dec(item.get("quantity"))
        quantity = Decimal(1) if quantity is None else quantity
        currency = (sub.get("currency") or price.currency or "").upper()  # a price may bill other currencies
        unit_minor, quantity = self._unit_minor(price, currency, quantity, None, None)
        if unit_minor is None:
            rate = self.known_rates.get((price.id, currency))
            if rate is None:
                raise Unmappable(*self._rate_advice(price, currency, None))
            unit_minor = rate.unit_amount / minor_unit(currency)
        return State(
            price_id=price.id, plan=price.plan_name, product=self._product_name(price),
            unit_amount=unit_minor * minor_unit(currency), quantity=quantity, currency=currency,
            interval=price.interval, interval_count=price.interval_count,
        )

    def _item_from_subscription(self, found: Found, item_id: str, item: dict) -> list[Obs] | None:
        """A current item with no exported invoice line: its price and quantity as the subscription
        shows them today, from when the item was added (after the trial, if any)."""
        sub = found.obj
        start = _int(sub.get("start_date")) or _int(sub.get("created"))
        if start is None:
            raise Unmappable("start_date", "a subscription without start_date")
        state = self._item_state(sub, item_id, item)
        if state is None:
            return None
        loc = f"subscription {sub['id']}, item {item_id}"
        item_start = max(start, _int(item.get("created")) or start)
        trial_start, trial_end = _int(sub.get("trial_start")), _int(sub.get("trial_end"))
        obs = []
        if trial_start is not None and trial_end is not None and trial_end > trial_start and item_start < trial_end:
            obs.append(Obs(item_start, 0, 0, replace(state, is_trial=True), trial_end, loc, found.file, "subscription"))
            item_start = trial_end
        discount = self._standing_discount(found, item_id, state, item_start)
        state = replace(state, discount_percent=discount.percent, discount_amount=discount.amount)
        obs.append(Obs(item_start, 0, 1, state, item_start, loc, found.file, "subscription", discount.until))
        return obs

    def _changed_since_invoiced(self, found: Found, item_id: str, item: dict, obs: list[Obs]) -> None:
        """A change after the item's last invoice that no pending invoice item records (made without
        proration, or invoice items not exported) shows only in the subscription's current items,
        and Stripe records no date for it: it is dated at the export's last recorded moment, the
        latest it can have happened."""
        last = obs[-1]
        if found.obj.get("status") not in ("active", "past_due") or last.state is None or last.state.is_trial \
                or self.exported_at is None:
            return
        state = self._item_state(found.obj, item_id, item)
        if state is None or (state.price_id, state.quantity) == (last.state.price_id, last.state.quantity):
            return
        if (state.price_id, state.currency) == (last.state.price_id, last.state.currency):
            state = replace(state, unit_amount=last.state.unit_amount)  # the rate its lines show, tax excluded
        state = replace(state, discount_percent=last.state.discount_percent, discount_amount=last.state.discount_amount)
        obs.append(Obs(self.exported_at, 1, last.seq + 1, state, self.exported_at,
                       f"subscription {found.obj['id']}, item {item_id}", found.file, "subscription",
                       discount_until=last.discount_until))
        self._count(f"subscription item(s) changed after their last invoice, with no pending invoice item to "
                    f"date the change: dated at the export's last recorded moment ({self._export_day()}); "
                    f"export pending invoice items for the exact date (see docs/stripe.md)")

    def _end(self, sub: dict, lines: list[LineInfo]) -> tuple[int | None, int | None]:
        """When the whole subscription stops contributing, and when its cancellation was asked for."""
        status = sub.get("status")
        canceled_at = _int(sub.get("canceled_at"))
        last_line_end = max((i.end for i in lines if not i.credit), default=None)
        if status == "canceled":
            end = _int(sub.get("ended_at")) or canceled_at or last_line_end
            if end is None:
                raise Unmappable("ended_at", "a canceled subscription without ended_at")
            return end, canceled_at
        if status in ("unpaid", "paused"):
            paid = [i.end for i in lines if i.invoice_status == "paid" and not i.credit]
            start = _int(sub.get("start_date")) or _int(sub.get("created")) or 0
            return max(paid, default=start), None
        if _int(sub.get("cancel_at")):
            return sub["cancel_at"], canceled_at
        if sub.get("cancel_at_period_end"):
            period_ends = [_int(sub.get("current_period_end"))] + [
                _int(i.get("current_period_end")) for i in (sub.get("items") or {}).get("data") or []
            ]
            end = max((e for e in period_ends if e), default=None) or last_line_end
            if end is None:
                raise Unmappable("current_period_end", "cancel_at_period_end without a current period end")
            return end, canceled_at
        return None, None

    def _segments(self, obs: list[Obs], tail: int | None, end: int | None):
        """(start date, end date or None, state, observation) of an item, one per canonical row.

        Each observation holds until the next one (a trial only until its period ends; an item
        no longer on the subscription until its last period ends), a once / repeating discount
        only until it expires, and nothing holds beyond the subscription's end: what Stripe has
        scheduled (a cancellation, a coupon's end) counts even when it is after the export.
        Observations are in time order, so the spans never overlap; a span that starts and ends on
        the same day is dropped (the day's last change wins) and equal neighbours are merged.
        """
        spans: list[tuple[int, int | None, State, Obs]] = []
        for index, o in enumerate(obs):
            if o.state is None:
                continue
            stop = obs[index + 1].ts if index + 1 < len(obs) else tail
            if o.state.is_trial:
                stop = o.period_end if stop is None else min(stop, o.period_end)
            until = self._discount_end(o, stop)
            if until is not None:
                spans.append((o.ts, until, o.state, o))
                spans.append((until, stop, o.state.without_discount(), o))
            else:
                spans.append((o.ts, stop, o.state, o))
        rows: list[list] = []
        for start, stop, state, source in spans:
            if end is not None:
                stop = end if stop is None else min(stop, end)
            first, last = day(start), (day(stop) if stop is not None else None)
            if last is not None and last <= first:
                continue
            if rows and rows[-1][2] == state and rows[-1][1] == first:
                rows[-1][1] = last
            else:
                rows.append([first, last, state, source])
        return [tuple(r) for r in rows]

    def _discount_end(self, o: Obs, stop: int | None) -> int | None:
        """When a once / repeating discount stops applying within the observation's span (its
        scheduled end, after the export too)."""
        until = o.discount_until
        discounted = o.state.discount_percent or o.state.discount_amount
        if not discounted or until is None or until <= o.ts or (stop is not None and stop <= until):
            return None
        return until

    def _row(self, customer: str, sub_id: str, item_id: str, start: date, stop: date | None,
             state: State, source: Obs, canceled_at: int | None) -> None:
        cancel_day = day(canceled_at) if canceled_at is not None else None
        self.rows.append({
            "customer_id": customer,
            "subscription_id": sub_id,
            "item_id": item_id,
            "product": state.product,
            "plan": state.plan,
            "start_date": start.isoformat(),
            "end_date": stop.isoformat() if stop else None,
            "quantity": _num(state.quantity),
            "unit_amount": _num(state.unit_amount),
            "currency": state.currency,
            "interval": state.interval,
            "interval_count": str(state.interval_count),
            "discount_percent": _num(state.discount_percent),
            "discount_amount": _num(state.discount_amount),
            "is_trial": "true" if state.is_trial else "false",
            "canceled_at": cancel_day.isoformat() if cancel_day and (stop is None or stop > cancel_day) else None,
            "_loc": source.loc,
            "_file": source.file,
        })

    # ---- customers
    def _customers(self) -> list[dict]:
        rows = []
        exported = self.o.of("customer")
        referenced = set(self.customer_refs) | {r["customer_id"] for r in self.rows}
        stubs = 0
        for cid in sorted(set(exported) | referenced):
            found = exported.get(cid)
            obj = found.obj if found else {}
            if not found or obj.get("deleted"):
                stubs += 1
                snapshot = self.customer_snapshots.get(cid, {})
                obj = {"name": snapshot.get("name"), "email": snapshot.get("email"),
                       "address": {"country": snapshot.get("country")}, "metadata": {}}
            row = {
                "customer_id": cid,
                "name": obj.get("name"),
                "email_domain": email_domain(obj.get("email")),
                "country": (obj.get("address") or {}).get("country"),
                "_loc": f"customer {cid}",
                "_file": found.file if found else (self.customer_refs[cid].file if cid in self.customer_refs else ""),
                "_metadata": {str(k): (None if v is None else str(v)) for k, v in (obj.get("metadata") or {}).items()},
            }
            rows.append(row)
        if stubs:
            self.notes.append(
                f"{stubs} customer(s) were not among the exported customer objects (deleted customers?); "
                f"their name, email domain and country come from their latest invoice."
            )
        return rows

    # ---- notes
    def _count(self, what: str) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1

    def _summarize(self) -> None:
        if self.o.duplicates:
            self.notes.append(f"{self.o.duplicates} object(s) appeared more than once (same id); each was imported once.")
        credit_notes = len(self.o.of("credit_note"))
        if credit_notes:
            self.notes.append(f"{credit_notes} credit note(s) read; credits and refunds do not change MRR.")
        if self.prices_from_lines:
            self.notes.append(
                f"{len(self.prices_from_lines)} price(s) not among the exported prices "
                f"({', '.join(sorted(self.prices_from_lines))}) were read from their invoice lines: the plan shows "
                f"the price id, and a metered price would pass for a licensed one. Export archived prices too "
                f"(active=false, see docs/stripe.md)."
            )
        for what, n in sorted(self.counts.items()):
            self.notes.append(f"{n} {what}.")
        if self.o.pages_with_more:
            self.notes.append(
                f"{self.o.pages_with_more} list page(s) say has_more=true: if you exported page by page, "
                f"make sure every page is among the imported files."
            )


def _add_months(ts: int, months: int) -> int:
    moment = datetime.fromtimestamp(ts, tz=timezone.utc)
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    return int(moment.replace(year=year, month=month,
                              day=min(moment.day, calendar.monthrange(year, month)[1])).timestamp())


def _until(discount: dict | None, coupon: dict | None, period_end: int) -> int | None:
    """When a once / repeating discount stops applying: a once coupon with the billing period it
    was first on, a repeating one at its end (its start plus duration_in_months where the
    discount does not say), never before that period ends, since Stripe discounts whole invoices."""
    duration = (coupon or {}).get("duration")
    if duration == "once":
        return period_end
    if duration != "repeating":
        return None
    end = _int((discount or {}).get("end"))
    start, months = _int((discount or {}).get("start")), _int((coupon or {}).get("duration_in_months"))
    if end is None and start is not None and months:
        end = _add_months(start, months)
    return max(end, period_end) if end else None


def _combined(terms: list[tuple[Decimal | None, Decimal, int | None]]) -> Discount:
    """One item's discounts, (percent off or None, amount off, until) each, as one: percents
    compound, amounts add up, and an end is known only when they all end together."""
    if not terms:
        return NO_DISCOUNT
    keep = Decimal(1)
    for percent, _, _ in terms:
        if percent is not None:
            keep *= 1 - percent / 100
    untils = {until for _, _, until in terms}
    return Discount((1 - keep) * 100, sum((off for _, off, _ in terms), _ZERO), untils.pop() if len(untils) == 1 else None)


def _months(state: State) -> Decimal:
    return Decimal(str(MONTHS_PER_INTERVAL[state.interval])) * state.interval_count


def _after_intervals(ts: int, state: State) -> int:
    """The end of one billing period of `state` starting at `ts`."""
    if state.interval in ("month", "quarter", "year"):
        return _add_months(ts, state.interval_count * {"month": 1, "quarter": 3, "year": 12}[state.interval])
    return ts + state.interval_count * {"day": 1, "week": 7}[state.interval] * 86400


def _looks_like_trial(info: LineInfo, trial_end: int | None) -> bool:
    """Stripe bills a trial as a zero-amount line of the real price (amounts are before discounts,
    so a 100%-off line is not zero)."""
    state = info.state
    if state is None or info.amount != 0 or info.quantity <= 0 or state.unit_amount <= 0:
        return False
    return info.start < trial_end if trial_end is not None else not info.proration


def _tiered_total(tiers: list, mode: str | None, quantity: Decimal) -> Decimal:
    """Amount in minor units for `quantity` under volume or graduated tiers."""
    def amount(tier, key):
        value = _dec(tier.get(f"{key}_decimal")) if tier.get(f"{key}_decimal") is not None else _dec(tier.get(key))
        return value or _ZERO

    if mode == "volume":
        for tier in tiers:
            up_to = tier.get("up_to")
            if up_to in (None, "inf") or quantity <= Decimal(up_to):
                return quantity * amount(tier, "unit_amount") + amount(tier, "flat_amount")
        return _ZERO
    total, lower = _ZERO, _ZERO
    for tier in tiers:
        up_to = tier.get("up_to")
        upper = quantity if up_to in (None, "inf") else min(quantity, Decimal(up_to))
        if upper > lower:
            total += (upper - lower) * amount(tier, "unit_amount") + amount(tier, "flat_amount")
        lower = upper if up_to not in (None, "inf") else lower
        if up_to in (None, "inf") or quantity <= Decimal(up_to):
            break
    return total


# ---- building the raw tables ------------------------------------------------------------


def convert_paths(paths: list[Path]) -> Conversion:
    """Stripe export files -> canonical customers and subscriptions tables, or ImportRejected."""
    objects = read_objects(paths)
    converter = StripeConverter(objects)
    customers, rows = converter.run()
    return Conversion(
        customers=customer_table(customers),
        subscriptions=subscription_table(rows),
        notes=converter.notes,
        sources=objects.files,
    )
