"""The offline planner: a reading of the question becomes tool calls, and the tools' results
become the answer's words. Every number it states comes from a tool's artifact."""

from dataclasses import dataclass
from datetime import date, timedelta

from semantic_layer.catalog import Catalog
from semantic_layer.formatting import format_value
from tools.customer_tools import LABELS

from .reading import Context, Frame, Reading, read, scope
from .timewords import TimeSpan, describe, unit_label, unit_of

HELP = (
    "I answer questions about your subscription revenue from the loaded data, for example: "
    "\"What is our MRR?\", \"Expansion MRR last quarter by segment\", \"NRR for Enterprise customers in 2025\", "
    "\"Which customers churned in March?\", \"How did we do last month?\", \"What is net revenue retention?\". "
    "Ask for the list of metrics to see everything I can compute."
)


# The components of a bridge step as the tool names them; together they add up to the step.
BRIDGE_PARTS = {
    "Expansion": ["upgrades", "cross-sells", "seat expansion", "discounts ending / price increases"],
    "Contraction": ["downgrades", "removed items", "seat contraction", "new discounts / price cuts"],
}
SAID_AS = {"seat expansion": "seats", "seat contraction": "seats"}  # inside "Expansion (...)" the step says the rest


@dataclass
class ToolCall:
    name: str
    args: dict


@dataclass
class Plan:
    reading: Reading
    calls: list[ToolCall]
    reply: str | None = None  # a direct answer with no tools (help, can't answer)


class Planner:
    def __init__(self, ctx: Context):
        self.ctx = ctx

    @property
    def catalog(self) -> Catalog:
        return self.ctx.catalog

    def plan(self, question: str, frame: Frame | None) -> Plan:
        reading = read(question, self.ctx, frame)
        intent = reading.intent
        if intent == "help":
            prefix = f"{reading.message} " if reading.message else ""
            return Plan(reading, [], prefix + HELP)
        if intent == "unanswerable":
            nearest = ", ".join(f"{self.catalog.get(m).label} ({m})" for m in reading.metrics)
            return Plan(reading, [], (
                f"This data can't answer that: it holds customers and their subscriptions, not {reading.message}. "
                f"The nearest metrics it can compute are {nearest}."))
        if intent == "list_metrics":
            return Plan(reading, [ToolCall("list_metrics", {})])
        if intent == "definition":
            return Plan(reading, [ToolCall("describe_metric", {"metric": m}) for m in reading.metrics[:2]])
        if intent == "clarify":
            question_text, options = reading.clarification
            return Plan(reading, [ToolCall("ask_clarification", {"question": question_text, "options": options})])
        if intent == "calculate_ltv":
            return Plan(reading, [ToolCall("calculate_ltv", reading.calc)])
        if intent == "calculate_mrr":
            return Plan(reading, [ToolCall("calculate_mrr", reading.calc)])
        span = reading.span
        if intent == "bridge":
            return Plan(reading, [ToolCall("mrr_bridge", {"start": span.start.isoformat(), "end": span.end.isoformat(),
                                                          "filters": reading.filters})])
        if intent == "customers":
            descending, limit = reading.rank
            return Plan(reading, [ToolCall("list_customers", {
                "movement": reading.movement, "start": span.start.isoformat(), "end": span.end.isoformat(),
                "filters": reading.filters, "limit": reading.limit, "descending": descending})])
        args = {"metrics": reading.metrics, "start": span.start.isoformat(), "end": span.end.isoformat()}
        if reading.grain:
            args["grain"] = reading.grain
        if reading.group_by:
            args["group_by"] = reading.group_by
        if reading.filters:
            args["filters"] = reading.filters
        if isinstance(reading.compare, str):
            args["compare_to"] = reading.compare
        elif isinstance(reading.compare, TimeSpan):
            args["compare_start"], args["compare_end"] = reading.compare.start.isoformat(), reading.compare.end.isoformat()
        if reading.rank and reading.group_by:
            descending, limit = reading.rank
            args["order_by"] = reading.metrics[0]
            args["descending"] = descending
            if limit:
                args["limit"] = limit
        if reading.versus:
            # "Enterprise vs SMB": the same query for each, the first named is the headline.
            dim, values = reading.versus
            return Plan(reading, [ToolCall("query_metrics", {**args, "filters": args.get("filters", []) + [
                {"dimension": dim, "op": "eq", "values": [value]}]}) for value in values])
        return Plan(reading, [ToolCall("query_metrics", args)])

    # ---- the answer's words ---------------------------------------------------------------
    def compose(self, plan: Plan, results: list[tuple[str, dict | None, str]]) -> str:
        """results: (tool name, artifact or None, content) per call, in order."""
        parts = []
        for (name, artifact, content), call in zip(results, plan.calls):
            if artifact is None:
                parts.append(f"I couldn't compute that: {content}")
                continue
            writer = getattr(self, f"_say_{name}")
            said = writer(plan.reading, call.args, artifact)
            if plan.reading.versus and name == "query_metrics":
                value = next(f["values"][0] for f in call.args["filters"] if f["dimension"] == plan.reading.versus[0])
                said = f"{value}: {said}"
            parts.append(said)
        text = "\n\n".join(p for p in parts if p)
        if plan.reading.warnings:
            text = " ".join(w[0].upper() + w[1:] + "." for w in plan.reading.warnings) + "\n\n" + text
        if plan.reading.notes:
            text += "\n\n(" + "; ".join(plan.reading.notes) + ")"
        return text

    def _fmt(self, value, metric_name: str | None, unit: str | None = None) -> str:
        kind = self.catalog.get(metric_name).unit if metric_name in self.catalog.metrics else "currency"
        return format_value(value, kind, unit if kind == "currency" and unit else "USD")

    def _period_words(self, reading: Reading, start: str, end: str, metric: str | None = None) -> str:
        s, e = date.fromisoformat(start), date.fromisoformat(end)
        if metric == "opening_mrr":  # the day before the period
            return f"on {(s - timedelta(days=1)).isoformat()}, the day before {s.isoformat()}"
        stock = metric in ("mrr", "arr", "customers", "arpa")
        if s == e:
            return f"on {e.isoformat()}"
        span = reading.span if reading.span and (reading.span.start, reading.span.end) == (s, e) else None
        label = describe(span) if span else describe(TimeSpan(s, e, unit_label(s, e, unit_of(s, e))))
        if stock:
            return f"at the end of {label}, on {e.isoformat()}"
        if label == f"{s.isoformat()} to {e.isoformat()}":
            return f"from {label}"
        return f"in {label}"

    def _say_query_metrics(self, reading: Reading, args: dict, a: dict) -> str:
        metrics = args["metrics"]
        main = args.get("order_by") or metrics[0]
        metric = self.catalog.get(main)
        unit = a.get("unit")
        when = self._period_words(reading, args["start"], args["end"], main) + scope(args.get("filters"))
        table = a["table"]
        lines = []
        if args.get("group_by"):
            dims = args["group_by"]
            rows = [r for r in table if not r.get("compared")]
            if args.get("order_by") and rows:
                top = rows[0]
                group = ", ".join(str(top[d]) for d in dims)
                word = "most" if args.get("descending", True) else "least"
                lines.append(f"{group} had the {word} {metric.label} {when}: **{self._fmt(top[main], main, unit)}**.")
                others = [f"{', '.join(str(r[d]) for d in dims)} {self._fmt(r[main], main, unit)}" for r in rows[1:6]]
                if others:
                    lines.append("Then: " + "; ".join(others) + ".")
            else:
                stock = not self.catalog.is_flow(main)
                if a.get("value") is not None:  # the headline first, then its parts
                    lines.append(f"{metric.label} {when}: **{self._fmt(a['value'], main, unit)}** in total.")
                if args.get("grain"):
                    lines.append(f"{metric.label} by {args['grain']} and {', '.join(dims)}, {args['start']} to {args['end']}"
                                 f"{scope(args.get('filters'))}{' (on each period' + chr(39) + 's last day)' if stock else ''}:")
                else:
                    lines.append(f"By {', '.join(dims)}:" if a.get("value") is not None else f"{metric.label} {when} by {', '.join(dims)}:")
                for r in rows[:25]:
                    period = f"{r['period_end' if stock else 'period_start']}: " if args.get("grain") else ""
                    lines.append(f"- {period}{', '.join(str(r[d]) for d in dims)}: {self._fmt(r[main], main, unit)}")
                if len(rows) > 25:
                    lines.append(f"- ... {len(rows) - 25} more rows in the table")
        elif args.get("grain") and len(table) > 1:
            if a.get("value") is not None:  # the headline first, then the series
                total_word = "in total" if self.catalog.is_flow(main) else \
                    f"on {table[-1]['period_end']}" if self.catalog.at_period_end(main) else "over the whole range"
                lines.append(f"{metric.label} from {args['start']} to {args['end']}{scope(args.get('filters'))}: "
                             f"**{self._fmt(a['value'], main, unit)}** {total_word}.")
            lines.append(f"{metric.label} by {args['grain']}, {args['start']} to {args['end']}{scope(args.get('filters'))}:")
            for r in table:
                lines.append(f"- {r['period_start']} to {r['period_end']}: " + ", ".join(
                    f"{self._fmt(r[m], m, unit)}" + (f" ({self.catalog.get(m).label})" if len(metrics) > 1 else "") for m in metrics))
        else:
            row = table[0]
            for m in metrics:
                label, value = self.catalog.get(m).label, self._fmt(row[m], m, unit)
                verb = ":" if self.catalog.get(m).unit == "count" else " was"
                lines.append(f"{label}{verb} **{value}** {when}.")
            if row[main] is None:
                lines.append("It is undefined: its denominator is 0 for this period.")
        comparison = a.get("comparison")
        if comparison:
            c_start, c_end = comparison["period"]["start"], comparison["period"]["end"]
            other = self._period_words(reading, c_start, c_end, main).replace("at the end of ", "")
            if isinstance(reading.compare, TimeSpan) and (reading.compare.start.isoformat(), reading.compare.end.isoformat()) == (c_start, c_end):
                other = "in " + describe(reading.compare) if not reading.compare.point else other
            sentence = f"For comparison, it was {self._fmt(comparison['value'], main, unit)} {other}"
            if comparison["change"] is not None:
                sign = "+" if comparison["change"] >= 0 else "-"
                change = self._fmt(abs(comparison["change"]), main, unit)
                if metric.unit == "percent":
                    change = f"{abs(comparison['change']):,.1f} percentage points"
                later_first = c_start < args["start"]
                direction = "since then" if later_first else "from the first period to the second"
                sentence += f": a change of {sign}{change} {direction}"
                if comparison["change_percent"] is not None and metric.unit != "percent":
                    sentence += f" ({comparison['change_percent']:+.1f}%)"
            lines.append(sentence + ".")
        lines.append("")
        lines.append(f"Formula: {a['formula']}")
        simple = all(self.catalog.get(m).type == "simple" for m in metrics)
        inputs = a.get("inputs", [])
        if inputs and not simple and not args.get("group_by"):
            lines.append("Inputs: " + "; ".join(f"{i['input']} = {self._input_value(i)}" for i in inputs) + ".")
        return "\n".join(lines)

    def _input_value(self, item: dict) -> str:
        measure = self.catalog.measures.get(item.get("measure"))
        value = item.get("value")
        if value is None:
            return "undefined"
        if measure and (measure.kind == "count" or measure.value in ("customers", "size", "churned")):
            return f"{int(value):,}"
        if measure and measure.kind == "trailing_churn":
            return f"{value:,.2f}%"
        return f"{value:,.2f}"

    def _say_mrr_bridge(self, reading: Reading, args: dict, a: dict) -> str:
        steps = {i["step"].strip(): i["amount"] for i in a["inputs"]}
        unit = a["unit"]
        start, end = steps["MRR at start"], steps["MRR at end"]
        when = self._period_words(reading, args["start"], args["end"]) + scope(args.get("filters"))
        change = end - start
        lines = [f"MRR went from {self._fmt(start, 'mrr', unit)} to **{self._fmt(end, 'mrr', unit)}** {when} "
                 f"({'+' if change >= 0 else '-'}{self._fmt(abs(change), 'mrr', unit)}"
                 + (f", {change / start * 100:+.1f}%" if start else "") + ")."]
        for name in ("New", "Reactivation", "Expansion", "Contraction", "Churn", "FX", "Moved between groups"):
            if name not in steps:
                continue
            amount = steps[name]
            sign = "" if abs(amount) < 0.005 else "+" if amount > 0 else "-"
            lines.append(f"- {name}: {sign}{self._fmt(abs(amount), 'mrr', unit)}")
            parts = BRIDGE_PARTS.get(name)
            if parts:
                lines.append("  (" + ", ".join(f"{SAID_AS.get(key, key)} {self._fmt(abs(steps[key]), 'mrr', unit)}"
                                               for key in parts) + ")")
        net = steps["New"] + steps["Reactivation"] + steps["Expansion"] + steps["Contraction"] + steps["Churn"]
        lines.append("")
        lines.append(f"Net new MRR (fx excluded): {'+' if net >= 0 else '-'}{self._fmt(abs(net), 'mrr', unit)}.")
        lines.append(f"Formula: {a['formula']}")
        return "\n".join(lines)

    def _say_list_customers(self, reading: Reading, args: dict, a: dict) -> str:
        rows = a["table"]
        unit = a["unit"]
        movement = args["movement"]
        if movement == "mrr":
            head = f"Largest customers by MRR on {args['end']}"
        else:
            head = (f"Customers with {LABELS[movement]} {self._period_words(reading, args['start'], args['end'])}"
                    + scope(args.get("filters")))
        if not rows:
            return f"{head}: none."
        order = "largest" if args.get("descending", True) else "smallest"
        lines = [f"{head} ({len(rows)} shown, {order} first):"]
        if reading.single:
            top = rows[0]
            when = f"on {args['end']}" if movement == "mrr" else self._period_words(reading, args["start"], args["end"])
            return (f"{top.get('name') or top['customer_id']} ({top['customer_id']}) has the {order} {LABELS[movement]} "
                    f"{when}{scope(args.get('filters'))}: **{self._fmt(top['amount'], 'mrr', unit)}**.\nFormula: {a['formula']}")
        for r in rows:
            name = r.get("name") or r["customer_id"]
            lines.append(f"- {name} ({r['customer_id']}): {self._fmt(r['amount'], 'mrr', unit)}")
        lines.append(f"Formula: {a['formula']}")
        return "\n".join(lines)

    def _say_describe_metric(self, reading: Reading, args: dict, a: dict) -> str:
        metric = self.catalog.get(args["metric"])
        text = f"**{metric.label}** ({metric.name}): {metric.description}\nFormula: {metric.formula}"
        if metric.caveats:
            text += f"\nNote: {metric.caveats}"
        return text

    def _say_list_metrics(self, reading: Reading, args: dict, a: dict) -> str:
        return "Metrics I can compute:\n" + "\n".join(f"- {r['label']} ({r['metric']}): {r['description']}" for r in a["table"])

    def _say_ask_clarification(self, reading: Reading, args: dict, a: dict) -> str:
        return args["question"] + " " + " / ".join(args["options"])

    def _say_calculate_ltv(self, reading: Reading, args: dict, a: dict) -> str:
        arpa, churn, margin = a["inputs"]
        said = lambda i: "" if i["source"] == "given" else f" ({i['source']}, {args['on']})" if i["input"] != "gross margin" \
            else " (the setting)"
        return (f"With ARPA {arpa['value']:,.2f}{said(arpa)}, a monthly customer churn rate of {churn['value']:.4g}%{said(churn)} "
                f"and a gross margin of {margin['value']:g}{said(margin)}, LTV would be "
                f"**{self._fmt(a['value'], 'ltv', a['unit'])}**.\nFormula: {a['formula']}")

    def _say_calculate_mrr(self, reading: Reading, args: dict, a: dict) -> str:
        inputs = {i["input"]: i["value"] for i in a["inputs"]}
        mrr, arr = self._fmt(inputs["ARR"] / 12, "mrr", a["unit"]), self._fmt(inputs["ARR"], "mrr", a["unit"])
        figures = f"ARR **{arr}** (MRR {mrr})" if args.get("report") == "arr" else f"MRR **{mrr}** (ARR {arr})"
        return (f"{args['customers']:,} customers at {args['price']:,.2f} per {args.get('interval', 'month')} give {figures}."
                f"\nFormula: {a['formula']}")
