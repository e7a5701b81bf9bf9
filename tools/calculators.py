"""What-if calculators: the rulebook's formulas applied to numbers the user gives (and, for what
they leave out, the data's own)."""

from semantic_layer.canonical import MONTHS_PER_INTERVAL
from semantic_layer.compiler import MetricQuery
from semantic_layer.engine import Engine
from semantic_layer.errors import QueryError
from semantic_layer.periods import month_start

from .artifacts import Computation


def calculate_ltv(engine: Engine, args) -> tuple[str, dict]:
    """LTV with the inputs the user gives ("if monthly churn dropped to 2%"); the others are the
    data's own: ARPA on `on`, the average monthly churn of the 6 full months ending with it, the
    gross margin setting (rulebook §4)."""
    currency = engine.settings.reporting_currency
    arpa, churn, sql = args.arpa, args.monthly_churn_rate, []
    if arpa is None or churn is None:
        on = args.on or engine.last_date
        result = engine.run(MetricQuery(metrics=["arpa", "ltv"], start=month_start(on), end=on), with_measures=True)
        row, sql = result.rows[0], [result.sql]
        arpa = row["arpa"] if arpa is None else arpa
        churn = row["m_avg_monthly_customer_churn_rate"] if churn is None else churn
        if not arpa or not churn:
            raise QueryError(f"the data has no paying customers or no customer churn in the months up to {on}, "
                             f"so give the ARPA and the monthly churn rate")
    margin = args.gross_margin if args.gross_margin is not None else engine.settings.gross_margin
    value = arpa * margin / (churn / 100)
    source = lambda given: "given" if given is not None else "from the data"
    computation = Computation(
        tool="calculate_ltv", title="LTV (what-if)", value=value, unit=currency, metric="ltv",
        formula="LTV = ARPA x gross margin / (monthly customer churn rate / 100)", sql=sql,
        inputs=[{"input": "ARPA", "value": arpa, "source": source(args.arpa)},
                {"input": "monthly customer churn rate (%)", "value": churn, "source": source(args.monthly_churn_rate)},
                {"input": "gross margin", "value": margin, "source": source(args.gross_margin).replace("data", "settings")}],
    )
    return (f"calculate_ltv: LTV = {value:.2f} {currency} (ARPA {arpa:.2f}, monthly churn {churn:.4g}%, gross margin {margin:g})",
            computation.dump())


def calculate_mrr(currency: str, args) -> tuple[str, dict]:
    months = args.interval_count * MONTHS_PER_INTERVAL[args.interval]
    per_customer = args.price * args.quantity * (1 - args.discount_percent / 100) / months
    value = per_customer * args.customers
    computation = Computation(
        tool="calculate_mrr", title=f"{args.report.upper()} (what-if)", value=value if args.report == "mrr" else 12 * value,
        unit=currency, metric=args.report,
        formula="MRR = price x quantity x (1 - discount %) / months per billing period x customers; ARR = 12 x MRR",
        inputs=[{"input": "price per interval", "value": args.price}, {"input": "billing interval",
                 "value": f"{args.interval_count} {args.interval}"}, {"input": "quantity", "value": args.quantity},
                {"input": "discount (%)", "value": args.discount_percent}, {"input": "customers", "value": args.customers},
                {"input": "MRR per customer", "value": per_customer}, {"input": "ARR", "value": 12 * value}],
    )
    return f"calculate_mrr: MRR = {value:.2f} {currency}, ARR = {12 * value:.2f} {currency}", computation.dump()
