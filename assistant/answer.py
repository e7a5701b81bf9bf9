"""The answer as users and scripts receive it, assembled from one turn's tool calls and results."""

from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from pydantic import BaseModel

HEADLINE_TOOLS = ("query_metrics", "mrr_bridge", "list_customers", "calculate_ltv", "calculate_mrr")


class ToolCallRecord(BaseModel):
    name: str
    args: dict[str, Any]


class Answer(BaseModel):
    answer: str
    value: float | None = None
    unit: str | None = None
    period: dict[str, str] | None = None
    tool_calls: list[ToolCallRecord] = []
    sql: list[str] = []
    formula: str | None = None
    table: list[dict[str, Any]] = []
    clarification: dict[str, Any] | None = None
    # For the app: every tool's computation, numbers the model wrote that no tool returned,
    # and suggested follow-up questions.
    computations: list[dict[str, Any]] = []
    ungrounded: list[str] = []
    follow_ups: list[str] = []

    def to_json(self) -> dict:
        return self.model_dump(include={"answer", "value", "unit", "period", "tool_calls", "sql", "formula", "table",
                                        "clarification"}, mode="json")


def from_turn(messages: list[BaseMessage]) -> Answer:
    """Build the answer from the messages of one turn (after the user's question)."""
    calls = [c for m in messages if isinstance(m, AIMessage) for c in m.tool_calls]
    results = {m.tool_call_id: m for m in messages if isinstance(m, ToolMessage)}
    computations = []
    for call in calls:
        result = results.get(call["id"])
        if result is not None and result.status != "error" and isinstance(result.artifact, dict):
            computations.append(result.artifact)
    final = next((m for m in reversed(messages) if isinstance(m, AIMessage) and not m.tool_calls), None)
    text = final.content if final is not None and isinstance(final.content, str) else ""
    answer = Answer(
        answer=text,
        tool_calls=[ToolCallRecord(name=c["name"], args=c["args"]) for c in calls],
        sql=[sql for c in computations for sql in c.get("sql", [])],
        computations=computations,
    )
    headline = next((c for c in computations if c["tool"] in HEADLINE_TOOLS), None)
    described = next((c for c in computations if c["tool"] == "describe_metric"), None)
    if headline:
        answer.value, answer.unit = headline.get("value"), headline.get("unit")
        if headline.get("period"):
            answer.period = {"start": headline["period"]["start"], "end": headline["period"]["end"]}
        answer.formula = headline.get("formula")
        answer.table = headline.get("table", [])
    elif described:
        answer.formula = described.get("formula")
        answer.table = described.get("table", [])
    elif computations:
        answer.table = computations[0].get("table", [])
        answer.formula = computations[0].get("formula")
        if computations[0].get("period"):
            answer.period = {k: computations[0]["period"][k] for k in ("start", "end")}
    clarification = next((c["clarification"] for c in computations if c.get("clarification")), None)
    if clarification:
        answer.clarification = clarification
    return answer
