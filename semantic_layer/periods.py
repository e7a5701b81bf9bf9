"""Splitting a date range into reporting periods (rulebook §4-§5: weeks start on Monday,
quarters are calendar quarters; both ends inclusive)."""

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

Grain = Literal["day", "week", "month", "quarter", "year"]
GRAINS: tuple[str, ...] = ("day", "week", "month", "quarter", "year")


@dataclass(frozen=True)
class Period:
    start: date
    end: date

    @property
    def day_before(self) -> date:
        return self.start - timedelta(days=1)


def month_start(d: date) -> date:
    return d.replace(day=1)


def add_months(d: date, months: int) -> date:
    """First day of the month `months` after d's month."""
    index = d.year * 12 + d.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def month_end(d: date) -> date:
    return add_months(d, 1) - timedelta(days=1)


def bucket_start(d: date, grain: str) -> date:
    if grain == "day":
        return d
    if grain == "week":
        return d - timedelta(days=d.weekday())
    if grain == "month":
        return month_start(d)
    if grain == "quarter":
        return date(d.year, 3 * ((d.month - 1) // 3) + 1, 1)
    return date(d.year, 1, 1)


def next_bucket(d: date, grain: str) -> date:
    start = bucket_start(d, grain)
    if grain == "day":
        return start + timedelta(days=1)
    if grain == "week":
        return start + timedelta(days=7)
    return add_months(start, {"month": 1, "quarter": 3, "year": 12}[grain])


def split(start: date, end: date, grain: str | None) -> list[Period]:
    """Periods covering start..end; the first and last are clipped to the range."""
    if end < start:
        raise ValueError(f"the end date {end} is before the start date {start}")
    if grain is None:
        return [Period(start, end)]
    periods = []
    current = start
    while current <= end:
        following = next_bucket(current, grain)
        periods.append(Period(current, min(end, following - timedelta(days=1))))
        current = following
    return periods


def trailing_months(period: Period, count: int) -> list[Period]:
    """The `count` full months ending with the period's month when it ends on a month's last day,
    else with the month before (rulebook §4, LTV)."""
    last = month_start(period.end) if period.end == month_end(period.end) else add_months(period.end, -1)
    firsts = [add_months(last, -k) for k in range(count - 1, -1, -1)]
    return [Period(first, month_end(first)) for first in firsts]


def _whole_months(start: date, end: date) -> int:
    """How many calendar months start..end spans exactly (0 if it is not whole months)."""
    if start.day != 1 or end != month_end(end):
        return 0
    return (end.year - start.year) * 12 + end.month - start.month + 1


def _minus_year(d: date) -> date:
    try:
        return d.replace(year=d.year - 1)
    except ValueError:  # 29 February
        return d.replace(year=d.year - 1, day=28)


def previous_period(start: date, end: date) -> Period:
    """The period just before: as many whole months when start..end is whole months (Q1 -> Q4,
    a year -> the year before), else as many days."""
    months = _whole_months(start, end)
    if months:
        return Period(add_months(start, -months), start - timedelta(days=1))
    length = (end - start).days + 1
    return Period(start - timedelta(days=length), start - timedelta(days=1))


def previous_year(start: date, end: date) -> Period:
    """The same dates a year earlier."""
    if _whole_months(start, end):
        return Period(add_months(start, -12), month_end(add_months(end, -12)))
    return Period(_minus_year(start), _minus_year(end))


def unit_of(start: date, end: date) -> str | None:
    """The calendar unit that start..end is exactly, if any."""
    if start == end:
        return "day"
    if start.day == 1 and end == month_end(start):
        return "month"
    if start.day == 1 and start.month % 3 == 1 and end == month_end(add_months(start, 2)):
        return "quarter"
    if (start.month, start.day, end.month, end.day) == (1, 1, 12, 31) and start.year == end.year:
        return "year"
    if start.day == 1 and start.month in (1, 7) and end == month_end(add_months(start, 5)):
        return "half"
    return None
