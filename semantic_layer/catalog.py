"""The metric catalog: `metrics.yml` loaded into typed definitions and checked once."""

from functools import lru_cache
from pathlib import Path
from typing import Literal

import sqlglot
import yaml
from pydantic import BaseModel, model_validator
from sqlglot import exp

CATALOG_FILE = Path(__file__).with_name("metrics.yml")

# Settings a metric expression may name (rulebook §4: LTV's gross margin).
EXPRESSION_SETTINGS = ("gross_margin",)

UNIT_NAMES = {"currency": "USD", "percent": "%", "count": "customers", "ratio": "ratio"}


class Measure(BaseModel):
    name: str
    label: str
    kind: Literal["movement", "count", "stock", "cohort", "trailing_churn"]
    movements: list[str] = []
    components: list[str] = []
    sign: Literal[1, -1] = 1
    change: Literal["new", "churn", "reactivation"] | None = None
    at: Literal["start", "end"] | None = None
    value: str | None = None
    months: int | None = None


class Metric(BaseModel):
    name: str
    label: str
    type: Literal["simple", "ratio", "derived"]
    unit: Literal["currency", "percent", "count", "ratio"]
    description: str
    formula: str
    synonyms: list[str] = []
    caveats: str | None = None
    measure: str | None = None
    numerator: str | None = None
    denominator: str | None = None
    multiplier: float | None = None
    expr: str | None = None

    @model_validator(mode="after")
    def _fields_for_type(self):
        needed = {"simple": ("measure",), "ratio": ("numerator", "denominator"), "derived": ("expr",)}[self.type]
        missing = [f for f in needed if getattr(self, f) is None]
        if missing:
            raise ValueError(f"metric {self.name}: a {self.type} metric needs {', '.join(missing)}")
        return self

    def expression(self) -> exp.Expression:
        """The metric as an expression over measures, other metrics and settings."""
        if self.type == "simple":
            return exp.column(self.measure)
        if self.type == "derived":
            return sqlglot.parse_one(self.expr)
        ratio = exp.Div(this=exp.paren(sqlglot.parse_one(self.numerator)), expression=exp.paren(sqlglot.parse_one(self.denominator)))
        if self.multiplier is not None:
            return exp.Mul(this=ratio, expression=exp.Literal.number(self.multiplier))
        return ratio

    @property
    def unit_name(self) -> str:
        return UNIT_NAMES[self.unit]


class Catalog(BaseModel):
    measures: dict[str, Measure]
    metrics: dict[str, Metric]

    @model_validator(mode="after")
    def _references_resolve(self):
        known = set(self.measures) | set(self.metrics) | set(EXPRESSION_SETTINGS)
        for metric in self.metrics.values():
            for column in metric.expression().find_all(exp.Column):
                if column.name not in known:
                    raise ValueError(f"metric {metric.name} refers to unknown {column.name!r}")
        return self

    def get(self, name: str) -> Metric:
        return self.metrics[name]

    def is_flow(self, name: str) -> bool:
        """True when the metric sums over time (a quarter is the sum of its months)."""
        if name in self.measures:
            return self.measures[name].kind in ("movement", "count")
        metric = self.metrics[name]
        if metric.type == "ratio":
            return False
        expression = metric.expression()
        if expression.find(exp.Div):
            return False
        return all(self.is_flow(c.name) for c in expression.find_all(exp.Column) if c.name not in EXPRESSION_SETTINGS)

    def at_period_end(self, name: str) -> bool:
        """True for a stock (MRR, ARPA) or LTV: a range's value is its last period's value."""
        return all(m.kind == "trailing_churn" or (m.kind == "stock" and m.at == "end") for m in self.measures_of(name))

    def measures_of(self, name: str) -> list[Measure]:
        """The measures a metric is computed from: its inputs."""
        if name in self.measures:
            return [self.measures[name]]
        found = []
        for column in self.metrics[name].expression().find_all(exp.Column):
            if column.name not in EXPRESSION_SETTINGS:
                found += [m for m in self.measures_of(column.name) if m not in found]
        return found


@lru_cache(maxsize=1)
def load_catalog(path: Path = CATALOG_FILE) -> Catalog:
    data = yaml.safe_load(path.read_text())
    return Catalog(
        measures={name: Measure(name=name, **spec) for name, spec in data["measures"].items()},
        metrics={m["name"]: Metric(**m) for m in data["metrics"]},
    )
