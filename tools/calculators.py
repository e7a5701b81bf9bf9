"""What-if calculators: the rulebook's formulas applied to numbers the user gives."""

from semantic_layer.canonical import MONTHS_PER_INTERVAL

from .artifacts import Computation


def calculate_ltv(currency: str, args) -> tuple[str, dict]:
    value = args.arpa * args.gross_margin / (args.monthly_churn_rate / 100)
    computation = Computation(
        tool="calculate_ltv", title="LTV (what-if)", value=value, unit=currency, metric="ltv",
        formula="LTV = ARPA x gross margin / (monthly customer churn rate / 100)",
        inputs=[{"input": "ARPA", "value": args.arpa}, {"input": "monthly customer churn rate (%)", "value": args.monthly_churn_rate},
                {"input": "gross margin", "value": args.gross_margin}],
    )
    return f"calculate_ltv: LTV = {value:.2f} {currency}", computation.dump()


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
