"""The JSON shape of every Stripe object field the importer reads.

Checked when a file is read, before anything is interpreted: valid JSON with the wrong nesting
(a line that is a string, metadata given as a list, a quantity of "two") is refused with the file,
the object and the field, instead of failing half-way or being read as something it is not.
Fields the importer does not read are not checked, and every field may be null or missing, as
Stripe's API reference allows for most of them (what a missing value means is the converter's
business).
"""

import json
from decimal import Decimal, InvalidOperation

# Leaf kinds, named as the messages say them.
STRING, INTEGER, BOOLEAN, NUMBER, DECIMAL, SCALAR, UP_TO, TIMESTAMP = (
    "a string", "an integer", "true or false", "a number", "a decimal number", "a text value",
    'an integer or "inf"', "a Unix timestamp (seconds, 1970 to 9999)",
)
_LAST_TIMESTAMP = 253402300799  # 9999-12-31T23:59:59Z: dates beyond cannot be written


class Ref:
    """An expandable field: an id, or the object itself."""

    def __init__(self, shape: dict):
        self.shape = shape


class Many:
    """A JSON array of values of one shape."""

    def __init__(self, shape):
        self.shape = shape


class Keyed:
    """A JSON object with free keys (currency codes, metadata keys) and values of one shape."""

    def __init__(self, shape):
        self.shape = shape


ANY_OBJECT = {"id": STRING}
PRODUCT = {"id": STRING, "name": STRING}
TIER = {"up_to": UP_TO, "unit_amount": INTEGER, "unit_amount_decimal": DECIMAL,
        "flat_amount": INTEGER, "flat_amount_decimal": DECIMAL}
PRICE = {
    "id": STRING, "object": STRING, "nickname": STRING, "lookup_key": STRING, "product": Ref(PRODUCT),
    "currency": STRING, "unit_amount": INTEGER, "unit_amount_decimal": DECIMAL, "billing_scheme": STRING,
    "tiers": Many(TIER), "tiers_mode": STRING, "transform_quantity": {"divide_by": INTEGER, "round": STRING},
    "type": STRING, "recurring": {"interval": STRING, "interval_count": INTEGER, "usage_type": STRING},
    "tax_behavior": STRING,
    "currency_options": Keyed({"unit_amount": INTEGER, "unit_amount_decimal": DECIMAL, "tiers": Many(TIER)}),
}
PLAN = {
    "id": STRING, "object": STRING, "nickname": STRING, "product": Ref(PRODUCT), "currency": STRING,
    "amount": INTEGER, "amount_decimal": DECIMAL, "billing_scheme": STRING, "tiers": Many(TIER),
    "tiers_mode": STRING, "transform_usage": {"divide_by": INTEGER, "round": STRING}, "interval": STRING,
    "interval_count": INTEGER, "usage_type": STRING,
}
COUPON = {"id": STRING, "percent_off": NUMBER, "amount_off": INTEGER, "currency": STRING, "duration": STRING,
          "duration_in_months": INTEGER, "currency_options": Keyed({"amount_off": INTEGER})}
DISCOUNT = {"id": STRING, "coupon": Ref(COUPON), "source": {"coupon": Ref(COUPON)}, "start": TIMESTAMP,
            "end": TIMESTAMP}
TAX_RATE = {"id": STRING, "percentage": NUMBER, "inclusive": BOOLEAN}
_PRORATION_DETAILS = {"credited_items": {"invoice": STRING, "invoice_line_items": Many(STRING)}}
_ITEM_DETAILS = {"subscription": Ref(ANY_OBJECT), "subscription_item": STRING, "proration": BOOLEAN,
                 "proration_details": _PRORATION_DETAILS}
_PRICING = {"price_details": {"price": Ref(PRICE), "product": Ref(PRODUCT)}, "unit_amount_decimal": DECIMAL}
_BILLED = {  # what invoice lines and invoice items share
    "id": STRING, "amount": INTEGER, "currency": STRING, "quantity": INTEGER,
    "period": {"start": TIMESTAMP, "end": TIMESTAMP}, "price": Ref(PRICE), "plan": Ref(PLAN), "pricing": _PRICING,
    "proration": BOOLEAN, "proration_details": _PRORATION_DETAILS, "subscription": Ref(ANY_OBJECT),
    "subscription_item": STRING, "discounts": Many(Ref(DISCOUNT)), "tax_rates": Many(TAX_RATE),
}
LINE = {
    **_BILLED, "invoice": STRING, "type": STRING,
    "parent": {"subscription_item_details": _ITEM_DETAILS, "invoice_item_details": _ITEM_DETAILS},
    "discount_amounts": Many({"amount": INTEGER, "discount": Ref(DISCOUNT)}),
    "taxes": Many({"amount": INTEGER, "tax_behavior": STRING, "tax_rate_details": {"tax_rate": Ref(TAX_RATE)}}),
    "tax_amounts": Many({"amount": INTEGER, "inclusive": BOOLEAN, "tax_rate": Ref(TAX_RATE)}),
}
INVOICE_ITEM = {
    **_BILLED, "invoice": Ref(ANY_OBJECT), "date": TIMESTAMP,
    "parent": {"subscription_details": {"subscription": Ref(ANY_OBJECT), "subscription_item": STRING}},
}
INVOICE = {
    "id": STRING, "status": STRING, "customer": Ref(ANY_OBJECT), "customer_name": STRING,
    "customer_email": STRING, "customer_address": {"country": STRING}, "subscription": Ref(ANY_OBJECT),
    "parent": {"subscription_details": {"subscription": Ref(ANY_OBJECT)}}, "discount": DISCOUNT,
    "discounts": Many(Ref(DISCOUNT)), "lines": {"data": Many(LINE), "has_more": BOOLEAN, "total_count": INTEGER},
    "created": TIMESTAMP, "status_transitions": Keyed(TIMESTAMP),
}
SUBSCRIPTION_ITEM = {
    "id": STRING, "created": TIMESTAMP, "quantity": INTEGER, "price": Ref(PRICE), "plan": Ref(PLAN),
    "discounts": Many(Ref(DISCOUNT)), "current_period_start": TIMESTAMP, "current_period_end": TIMESTAMP,
}
SUBSCRIPTION = {
    "id": STRING, "status": STRING, "customer": Ref(ANY_OBJECT), "start_date": TIMESTAMP, "created": TIMESTAMP,
    "trial_start": TIMESTAMP, "trial_end": TIMESTAMP, "canceled_at": TIMESTAMP, "ended_at": TIMESTAMP,
    "cancel_at": TIMESTAMP, "cancel_at_period_end": BOOLEAN, "current_period_start": TIMESTAMP,
    "current_period_end": TIMESTAMP, "currency": STRING, "discount": DISCOUNT, "discounts": Many(Ref(DISCOUNT)),
    "items": {"data": Many(SUBSCRIPTION_ITEM), "has_more": BOOLEAN},
}
CUSTOMER = {"id": STRING, "name": STRING, "email": STRING, "address": {"country": STRING},
            "metadata": Keyed(SCALAR), "discount": DISCOUNT, "deleted": BOOLEAN, "created": TIMESTAMP}

SHAPES = {
    "invoice": INVOICE, "line_item": LINE, "invoiceitem": INVOICE_ITEM, "subscription": SUBSCRIPTION,
    "customer": CUSTOMER, "credit_note": {"created": TIMESTAMP}, "price": PRICE, "plan": PLAN,
    "product": PRODUCT, "coupon": COUPON, "discount": DISCOUNT, "tax_rate": TAX_RATE,
}


def shape_problems(kind: str, obj: dict) -> list[tuple[str, str]]:
    """(field, message) for every field of `obj` that does not have the shape the importer reads."""
    found: list[tuple[str, str]] = []
    _object(SHAPES[kind], obj, "", found)
    return found


def _check(shape, value, path: str, found: list) -> None:
    if value is None:
        return
    if isinstance(shape, dict):
        if isinstance(value, dict):
            _object(shape, value, path + ".", found)
        else:
            found.append((path, f"expected an object, not {_show(value)}"))
    elif isinstance(shape, Ref):
        if not (isinstance(value, str) or isinstance(value, dict)):
            found.append((path, f"expected an id or an object, not {_show(value)}"))
        elif isinstance(value, dict):
            _object(shape.shape, value, path + ".", found)
    elif isinstance(shape, Many):
        if not isinstance(value, list):
            found.append((path, f"expected a list, not {_show(value)}"))
            return
        for index, item in enumerate(value):
            _check(shape.shape, item, f"{path}[{index}]", found)
    elif isinstance(shape, Keyed):
        if not isinstance(value, dict):
            found.append((path, f"expected an object, not {_show(value)}"))
            return
        for key, item in value.items():
            _check(shape.shape, item, f"{path}.{key}", found)
    elif not _is_leaf(shape, value):
        found.append((path, f"expected {shape}, not {_show(value)}"))


def _object(shape: dict, value: dict, prefix: str, found: list) -> None:
    for key, inner in shape.items():
        _check(inner, value.get(key), prefix + key, found)


def _is_leaf(kind: str, value) -> bool:
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == STRING:
        return isinstance(value, str)
    if kind == INTEGER:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == BOOLEAN:
        return isinstance(value, bool)
    if kind == NUMBER:
        return number
    if kind == SCALAR:
        return number or isinstance(value, (str, bool))
    if kind == TIMESTAMP:
        return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= _LAST_TIMESTAMP
    if kind == UP_TO:
        return value == "inf" or (isinstance(value, int) and not isinstance(value, bool))
    return number or (isinstance(value, str) and _decimal_text(value))  # DECIMAL


def _decimal_text(text: str) -> bool:
    try:
        return Decimal(text).is_finite()
    except InvalidOperation:
        return False


def _show(value) -> str:
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."
