"""Small builders for hand-made test data."""


def sub(customer, start, end="", amount=0, **extra) -> dict:
    """One subscription row; item and subscription default to one per customer."""
    row = {"customer_id": customer, "subscription_id": extra.pop("subscription_id", f"S-{customer}"),
           "item_id": extra.pop("item_id", f"I-{customer}"), "start_date": start, "end_date": end,
           "unit_amount": amount}
    row.update({k: v for k, v in extra.items()})
    return row
