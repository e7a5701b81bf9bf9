"""Settings the rulebook offers (defaults are the first value it names)."""

from typing import ClassVar, Literal

from pydantic import BaseModel, Field

from .canonical import REPORTING_CURRENCY


class Settings(BaseModel):
    churn_recognition: Literal["end_date", "cancellation"] = "end_date"
    reactivation_window_days: int | None = Field(
        default=None, ge=0, description="A return after a longer gap counts as new; none = any gap is a reactivation."
    )
    gross_margin: float = Field(default=1.0, gt=0, le=1)
    reporting_currency: str = Field(default=REPORTING_CURRENCY, pattern=r"^[A-Z]{3}$")
    fiscal_year_start_month: int = Field(default=1, ge=1, le=12)
    # The currency fx_rates.csv is quoted in (the reporting currency at import); another
    # reporting currency is reached through cross rates.
    fx_quote_currency: str | None = None

    # Settings that change the ledger itself; the others apply at query time.
    LEDGER_KEYS: ClassVar[tuple[str, ...]] = ("churn_recognition", "reactivation_window_days", "reporting_currency")
