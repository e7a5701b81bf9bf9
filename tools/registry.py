"""The LangChain tools over one data set's semantic layer."""

from langchain_core.tools import BaseTool, StructuredTool

from semantic_layer.engine import Engine

from . import calculators, customer_tools, metric_tools
from .artifacts import Clarification, Computation
from .schemas import ClarifyArgs, ListMetricsArgs, LtvArgs, MrrCalcArgs, Schemas

DESCRIPTIONS = {
    "list_metrics": "List every metric in the catalog with its definition.",
    "describe_metric": "Definition, formula, caveats and SQL template of one metric. Use for 'what is X' / 'how is X calculated'.",
    "query_metrics": (
        "Compute metrics for a date range (inclusive), optionally split by grain, grouped by dimensions, filtered, "
        "compared with the previous period / year or an explicit period, and ranked (order_by + limit). "
        "Stock metrics (mrr, arr, customers, arpa) are values on the range's last day; flows are sums over it."
    ),
    "mrr_bridge": "The MRR bridge of a period: MRR at start, new, reactivation, expansion (by component), contraction, churn, fx, MRR at end.",
    "list_customers": "The customers behind a movement in a period (e.g. who expanded / churned), or the largest customers by MRR on `end`.",
    "calculate_ltv": "What-if LTV from an ARPA, a monthly customer churn rate (%) and a gross margin the user gives; "
                     "any of them left out is the data's own on `on` (give the as-of date).",
    "calculate_mrr": "What-if MRR and ARR from a price, billing interval, quantity, discount and number of customers the user gives.",
    "ask_clarification": "Ask the user one clarifying question with 2-5 options when a question is truly ambiguous.",
}


def _tool(name: str, schema, run) -> BaseTool:
    def call(**kwargs):
        return run(schema(**kwargs))

    return StructuredTool.from_function(
        func=call, name=name, description=DESCRIPTIONS[name], args_schema=schema, response_format="content_and_artifact"
    )


def _clarify(args: ClarifyArgs) -> tuple[str, dict]:
    computation = Computation(tool="ask_clarification", title="Clarification",
                              clarification=Clarification(question=args.question, options=args.options))
    return f"asked the user: {args.question} options: {args.options}", computation.dump()


def build_tools(engine: Engine) -> list[BaseTool]:
    schemas = Schemas(engine.catalog, list(engine.dimensions.customer) + list(engine.dimensions.item))
    currency = engine.settings.reporting_currency
    return [
        _tool("list_metrics", ListMetricsArgs, lambda a: metric_tools.list_metrics(engine, a)),
        _tool("describe_metric", schemas.describe_metric, lambda a: metric_tools.describe_metric(engine, a)),
        _tool("query_metrics", schemas.query_metrics, lambda a: metric_tools.query_metrics(engine, a)),
        _tool("mrr_bridge", schemas.mrr_bridge, lambda a: metric_tools.mrr_bridge(engine, a)),
        _tool("list_customers", schemas.list_customers, lambda a: customer_tools.list_customers(engine, a)),
        _tool("calculate_ltv", LtvArgs, lambda a: calculators.calculate_ltv(engine, a)),
        _tool("calculate_mrr", MrrCalcArgs, lambda a: calculators.calculate_mrr(currency, a)),
        _tool("ask_clarification", ClarifyArgs, _clarify),
    ]
