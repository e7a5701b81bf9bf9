"""The customers behind a movement or a metric, with amounts and the source rows."""

from semantic_layer.compiler import CustomerQuery, Filter
from semantic_layer.engine import Engine

from .artifacts import Chart, Computation, Period, jsonable

LABELS = {
    "new": "new MRR", "reactivation": "reactivation MRR", "expansion": "expansion MRR",
    "contraction": "contraction MRR", "churn": "churned MRR", "fx": "fx movement", "upgrade": "upgrades",
    "downgrade": "downgrades", "seat_expansion": "seat expansion", "seat_contraction": "seat contraction",
    "cross_sell": "cross-sells", "item_removed": "removed items", "discount": "discount changes",
    "price": "price changes", "mrr": "MRR",
}


# A movement's customers: how many change days, the first and the last. For MRR on one day
# they would only repeat that day.
MOVEMENT_COLUMNS = ("changes", "first_date", "last_date")


def shown_columns(rows: list[dict], movement: str) -> list[dict]:
    """The customers behind a movement, or behind MRR on a day without the movement columns."""
    if movement != "mrr":
        return rows
    return [{k: v for k, v in row.items() if k not in MOVEMENT_COLUMNS} for row in rows]


def list_customers(engine: Engine, args) -> tuple[str, dict]:
    query = CustomerQuery(movement=args.movement, start=args.start, end=args.end,
                          filters=[Filter(**f.model_dump()) for f in args.filters], limit=args.limit,
                          descending=args.descending)
    rows, sql = engine.customers(query)
    rows = shown_columns(rows, args.movement)
    label = LABELS[args.movement]
    currency = engine.settings.reporting_currency
    when = f"on {args.end}" if args.movement == "mrr" else f"{args.start}..{args.end}"
    computation = Computation(
        # One customer asked for ("our top customer by expansion") is the headline; a list has none.
        tool="list_customers", title=f"Customers by {label}", value=rows[0]["amount"] if rows and args.limit == 1 else None,
        unit=currency,
        period=Period(start=args.start, end=args.end),
        formula=(f"each customer's MRR on {args.end}" if args.movement == "mrr"
                 else f"each customer's sum of {label} movements dated in the period"),
        sql=[sql], table=jsonable(rows), customers=jsonable(rows),
        chart=Chart(kind="bar", title=f"Customers by {label}", x="customer", series=["amount"], unit=currency,
                    rows=[{"customer": r.get("name") or r["customer_id"], "amount": r["amount"]} for r in rows]) if rows else None,
    )
    # Names are data from the user's files, quoted so that the model reads them as data.
    lines = [f"list_customers {args.movement} {when} ({len(rows)} shown, largest first):"]
    lines += [f'customer_id={r["customer_id"]!r} name={r.get("name")!r} amount={r["amount"]:.2f} {currency}' for r in rows]
    return "\n".join(lines), computation.dump()
