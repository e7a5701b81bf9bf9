"""Suggested follow-up questions for an answer (plain English the planner understands)."""

from .answer import Answer


def suggest(answer: Answer) -> list[str]:
    if answer.clarification:
        return list(answer.clarification["options"])
    if not answer.tool_calls:
        return []
    call = answer.tool_calls[0]
    args = call.args
    if call.name == "query_metrics":
        out = []
        if not args.get("group_by"):
            out.append("By segment")
        if not args.get("compare_to") and not args.get("compare_start"):
            # A day's figure (MRR today) is compared with a month earlier, not with the day before.
            out.append("Compared with a month earlier" if args.get("start") == args.get("end") else "Compared with the previous period")
        out.append("Which customers drove it?")
        if not args.get("grain") and args.get("start") != args.get("end"):
            out.append("Show it by month")
        return out[:4]
    if call.name == "mrr_bridge":
        return ["Which customers churned?", "Which customers expanded?", "And the period before?"]
    if call.name == "list_customers":
        return ["And the period before?"]
    if call.name == "describe_metric":
        return [f"What was {args['metric'].replace('_', ' ')} last quarter?"]
    return []
