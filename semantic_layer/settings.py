"""Settings the rulebook offers (defaults are the first value it names)."""

from typing import ClassVar, Literal

from pydantic import BaseModel, Field, ValidationError, field_validator

from .canonical import REPORTING_CURRENCY


class Settings(BaseModel):
    # Each description says what the setting takes, in words users read (`analyst settings`).
    churn_recognition: Literal["end_date", "cancellation"] = Field(
        default="end_date",
        description="end_date (a churn counts when the subscription ends) or cancellation (on its canceled_at date)",
    )
    reactivation_window_days: int | None = Field(
        default=None, ge=0,
        description="a number of days: a customer returning after a longer gap counts as new; "
                    "none: any return is a reactivation",
    )
    gross_margin: float = Field(
        default=1.0, gt=0, le=1, description="a share greater than 0 and less than or equal to 1 (0.8 for 80 %), used for LTV",
    )
    reporting_currency: str = Field(
        default=REPORTING_CURRENCY, pattern=r"^[A-Z]{3}$",
        description="a three-letter currency code such as EUR; one other than the currency fx_rates are "
                    "quoted in is reached through cross rates",
    )
    fiscal_year_start_month: int = Field(
        default=1, ge=1, le=12, description="the month a fiscal year starts in, 1 (January) to 12",
    )
    # The currency fx_rates.csv is quoted in (the reporting currency at import); another
    # reporting currency is reached through cross rates. Fixed by the import, never set by hand.
    fx_quote_currency: str | None = None

    # Settings that change the ledger itself; the others apply at query time.
    LEDGER_KEYS: ClassVar[tuple[str, ...]] = ("churn_recognition", "reactivation_window_days", "reporting_currency")
    # What `analyst settings KEY=VALUE` may change.
    USER_KEYS: ClassVar[tuple[str, ...]] = ("churn_recognition", "reactivation_window_days", "gross_margin",
                                            "reporting_currency", "fiscal_year_start_month")

    @field_validator("reporting_currency", "fx_quote_currency", mode="before")
    @classmethod
    def _upper(cls, value):
        return value.strip().upper() if isinstance(value, str) else value


def rejected(exc: ValidationError) -> str:
    """Why settings were refused, in plain words: each setting, the value given and what it takes."""
    reasons = []
    for error in exc.errors():
        key = str(error["loc"][0]) if error["loc"] else ""
        field = Settings.model_fields.get(key)
        if field is None or not field.description:
            reasons.append(error["msg"])
        else:
            reasons.append(f"{key} = {error['input']} is not allowed; it takes {field.description}")
    return "; ".join(dict.fromkeys(reasons)) + "."
