"""Tool argument models. Metric names and dimensions are enums read from the catalog and the
loaded data, so a tool call outside them is rejected before anything runs."""

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field, create_model

from semantic_layer.compiler import COMPONENTS, MOVEMENTS
from semantic_layer.periods import GRAINS
from semantic_layer.catalog import Catalog


def _enum(values) -> type:
    return Literal[tuple(values)]


class Schemas:
    """Argument models bound to one catalog and one data set's dimensions."""

    def __init__(self, catalog: Catalog, dimensions: list[str]):
        metric = _enum(catalog.metrics)
        dimension = _enum(dimensions)
        self.filter = create_model(
            "FilterArg",
            dimension=(dimension, Field(description="a customer column or plan / product / currency")),
            op=(Literal["eq", "ne", "in", "not_in"], Field(default="eq", description="eq / ne take one value")),
            values=(list[str], Field(min_length=1, description="values exactly as they appear in the data")),
        )
        period = {
            "start": (date, Field(description="first day, inclusive (YYYY-MM-DD)")),
            "end": (date, Field(description="last day, inclusive (YYYY-MM-DD)")),
        }
        filters = (list[self.filter], Field(default_factory=list, description="keep only matching customers / items"))
        self.query_metrics = create_model(
            "QueryMetricsArgs",
            metrics=(list[metric], Field(min_length=1, description="metric names from the catalog")),
            **period,
            grain=(Literal[GRAINS] | None, Field(default=None, description="split the range into periods")),
            group_by=(list[dimension], Field(default_factory=list, description="dimensions to break down by")),
            filters=filters,
            compare_to=(Literal["previous_period", "previous_year"] | None,
                        Field(default=None, description="also compute the period before or the same period a year earlier")),
            compare_start=(date | None, Field(default=None, description="an explicit comparison period's first day")),
            compare_end=(date | None, Field(default=None, description="an explicit comparison period's last day")),
            order_by=(metric | None, Field(default=None, description="rank groups by this metric (one of metrics)")),
            descending=(bool, Field(default=True, description="largest first")),
            limit=(int | None, Field(default=None, ge=1, description="keep the top N groups")),
        )
        self.mrr_bridge = create_model("MrrBridgeArgs", **period, filters=filters)
        self.list_customers = create_model(
            "ListCustomersArgs",
            movement=(Literal[MOVEMENTS + COMPONENTS + ("mrr",)],
                      Field(description="the movement or component to list customers for, or mrr for the largest customers on `end`")),
            **period,
            filters=filters,
            limit=(int, Field(default=10, ge=1, le=200)),
            descending=(bool, Field(default=True, description="largest amounts first")),
        )
        self.describe_metric = create_model("DescribeMetricArgs", metric=(metric, ...))


class ListMetricsArgs(BaseModel):
    pass


class LtvArgs(BaseModel):
    """A what-if LTV: the inputs the user gives; the others are the data's own on `on`."""

    arpa: float | None = Field(default=None, gt=0, description="average MRR per account; default: the data's ARPA on `on`")
    monthly_churn_rate: float | None = Field(
        default=None, gt=0, le=100,
        description="monthly customer churn rate in percent; default: the data's average of the 6 full months ending with `on`")
    gross_margin: float | None = Field(default=None, gt=0, le=1, description="as a fraction, e.g. 0.8; default: the setting")
    on: date | None = Field(default=None, description="the day the data's own inputs are taken from (the as-of date)")


class MrrCalcArgs(BaseModel):
    price: float = Field(ge=0, description="price per unit per billing interval")
    customers: int = Field(default=1, ge=0)
    quantity: float = Field(default=1, ge=0, description="units (seats) per customer")
    interval: Literal["day", "week", "month", "quarter", "year"] = "month"
    interval_count: int = Field(default=1, ge=1)
    discount_percent: float = Field(default=0, ge=0, le=100)
    report: Literal["mrr", "arr"] = Field(default="mrr", description="which figure is the answer")


class ClarifyArgs(BaseModel):
    question: str = Field(description="one short question to the user")
    options: list[str] = Field(min_length=2, max_length=5, description="complete questions the user can pick")
