"""What a tool hands the user: the computation behind an answer (never sent to the model)."""

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel

from semantic_layer.catalog import Metric
from semantic_layer.formatting import json_row


class Period(BaseModel):
    start: date
    end: date
    label: str | None = None


class Chart(BaseModel):
    kind: Literal["line", "bar", "waterfall"]
    title: str
    x: str
    series: list[str]
    rows: list[dict[str, Any]]
    unit: str | None = None


class Comparison(BaseModel):
    """The other period's value; change = later period's value - earlier period's."""

    period: Period
    value: float | None
    change: float | None
    change_percent: float | None


class Clarification(BaseModel):
    question: str
    options: list[str]


class Computation(BaseModel):
    """One tool call's result for the user: the number, the dates, the formula, the SQL and
    the input rows behind it."""

    tool: str
    title: str
    value: float | None = None
    unit: str | None = None
    metric: str | None = None
    period: Period | None = None
    formula: str | None = None
    sql: list[str] = []
    inputs: list[dict[str, Any]] = []
    table: list[dict[str, Any]] = []
    customers: list[dict[str, Any]] = []  # the customers behind the number, with their source rows
    chart: Chart | None = None
    comparison: Comparison | None = None
    clarification: Clarification | None = None
    notes: list[str] = []

    def dump(self) -> dict:
        data = self.model_dump(mode="json")
        return {**data, "value": json_row({"value": data["value"]})["value"]}  # the headline, as the rows carry numbers


def unit_of(metric: Metric, currency: str) -> str:
    """Units as answers report them: the reporting currency, "%", "customers" or "ratio"."""
    return currency if metric.unit == "currency" else metric.unit_name


def jsonable(rows: list[dict]) -> list[dict]:
    return [json_row(row) for row in rows]
