"""Rulebook §5 time words, resolved against an explicit as-of date."""

from datetime import date

import pytest

from assistant.timewords import find_periods, shift

AS_OF = date(2026, 6, 30)
MID_MONTH = date(2026, 5, 14)


@pytest.mark.parametrize("text, as_of, start, end", [
    ("last month", AS_OF, "2026-05-01", "2026-05-31"),
    ("last month", MID_MONTH, "2026-04-01", "2026-04-30"),
    ("this month", MID_MONTH, "2026-05-01", "2026-05-14"),
    ("month to date", MID_MONTH, "2026-05-01", "2026-05-14"),
    ("last quarter", AS_OF, "2026-01-01", "2026-03-31"),
    ("last quarter", MID_MONTH, "2026-01-01", "2026-03-31"),
    ("this quarter", MID_MONTH, "2026-04-01", "2026-05-14"),
    ("last year", AS_OF, "2025-01-01", "2025-12-31"),
    ("year to date", MID_MONTH, "2026-01-01", "2026-05-14"),
    ("YTD", AS_OF, "2026-01-01", "2026-06-30"),
    ("last 30 days", AS_OF, "2026-06-01", "2026-06-30"),
    ("in March", AS_OF, "2026-03-01", "2026-03-31"),
    ("in September", AS_OF, "2025-09-01", "2025-09-30"),
    ("in May", MID_MONTH, "2026-05-01", "2026-05-14"),
    ("March 2025", AS_OF, "2025-03-01", "2025-03-31"),
    ("trailing 12 months", AS_OF, "2025-07-01", "2026-06-30"),
    ("TTM", MID_MONTH, "2025-06-01", "2026-05-14"),
    ("last twelve months", AS_OF, "2025-07-01", "2026-06-30"),
    ("Q1", AS_OF, "2026-01-01", "2026-03-31"),
    ("Q3", AS_OF, "2025-07-01", "2025-09-30"),
    ("Q4 2025", AS_OF, "2025-10-01", "2025-12-31"),
    ("Q4 '25", AS_OF, "2025-10-01", "2025-12-31"),
    ("the first quarter of 2025", AS_OF, "2025-01-01", "2025-03-31"),
    ("H1", AS_OF, "2026-01-01", "2026-06-30"),
    ("H2 2025", AS_OF, "2025-07-01", "2025-12-31"),
    ("the second half of 2025", AS_OF, "2025-07-01", "2025-12-31"),
    ("between January and March", AS_OF, "2026-01-01", "2026-03-31"),
    ("between November and February", AS_OF, "2025-11-01", "2026-02-28"),
    ("from Feb to April 2026", AS_OF, "2026-02-01", "2026-04-30"),
    ("Mar-May 2025", AS_OF, "2025-03-01", "2025-05-31"),
    ("on December 31, 2024", AS_OF, "2024-12-31", "2024-12-31"),
    ("on 31 Dec 2024", AS_OF, "2024-12-31", "2024-12-31"),
    ("as of 2025-06-30", AS_OF, "2025-06-30", "2025-06-30"),
    ("at the end of March 2026", AS_OF, "2026-03-31", "2026-03-31"),
    ("at the end of last quarter", AS_OF, "2026-03-31", "2026-03-31"),
    ("at end of 2025", AS_OF, "2025-12-31", "2025-12-31"),
    ("right now", AS_OF, "2026-06-30", "2026-06-30"),
    ("since January", AS_OF, "2026-01-01", "2026-06-30"),
    ("in 2025", AS_OF, "2025-01-01", "2025-12-31"),
    ("the quarter before last", AS_OF, "2025-10-01", "2025-12-31"),
    ("last week", date(2026, 6, 17), "2026-06-08", "2026-06-14"),
    ("the last 3 months", AS_OF, "2026-04-01", "2026-06-30"),
    ("since the start of the year", AS_OF, "2026-01-01", "2026-06-30"),
    ("since the beginning of this quarter", MID_MONTH, "2026-04-01", "2026-05-14"),
    ("from the start of 2026", AS_OF, "2026-01-01", "2026-06-30"),
    ("since the beginning of 2025", AS_OF, "2025-01-01", "2026-06-30"),
    ("at the start of the year", AS_OF, "2025-12-31", "2025-12-31"),
    ("at the end of the quarter", MID_MONTH, "2026-05-14", "2026-05-14"),
    ("from January 1 2026 to date", AS_OF, "2026-01-01", "2026-06-30"),
    ("from March 1 to today", AS_OF, "2026-03-01", "2026-06-30"),
    ("since March 15th", AS_OF, "2026-03-15", "2026-06-30"),
    ("on the 1st of July", AS_OF, "2025-07-01", "2025-07-01"),
    ("February 2026 until now", AS_OF, "2026-02-01", "2026-06-30"),
    ("upsell revenue 1H26", AS_OF, "2026-01-01", "2026-06-30"),
    ("cross-sell in 1H 2025", AS_OF, "2025-01-01", "2025-06-30"),
    ("2H25", AS_OF, "2025-07-01", "2025-12-31"),
    ("seat expansion 2024-2025", AS_OF, "2024-01-01", "2025-12-31"),
    ("May last year", AS_OF, "2025-05-01", "2025-05-31"),
    ("Q1 of last year", AS_OF, "2025-01-01", "2025-03-31"),
    ("May new MRR", AS_OF, "2026-05-01", "2026-05-31"),
    ("churned MRR yesterday", AS_OF, "2026-06-29", "2026-06-29"),
    ("for the previous calendar month", AS_OF, "2026-05-01", "2026-05-31"),
    ("the last full quarter", AS_OF, "2026-01-01", "2026-03-31"),
    ("in the three months ending March 31, 2026", AS_OF, "2026-01-01", "2026-03-31"),
    ("the quarter ended December 31, 2025", AS_OF, "2025-10-01", "2025-12-31"),
    ("the 12 months to June 2026", AS_OF, "2025-07-01", "2026-06-30"),
    ("the past year on a rolling basis", AS_OF, "2025-07-01", "2026-06-30"),
    ("the back half of 2025", AS_OF, "2025-07-01", "2025-12-31"),
    ("from the start of february through the end of april 2026", AS_OF, "2026-02-01", "2026-04-30"),
    ("at the moment", AS_OF, "2026-06-30", "2026-06-30"),
    ("the expansion revenue we made on May of 2026", AS_OF, "2026-05-01", "2026-05-31"),
    ("Looking at Q1 2026 health", AS_OF, "2026-01-01", "2026-03-31"),
    ("trailing-twelve-month net new MRR", AS_OF, "2025-07-01", "2026-06-30"),
    ("for FY2025 numbers, the full year 2025", AS_OF, "2025-01-01", "2025-12-31"),
    ("cross-sell MRR CY2025", AS_OF, "2025-01-01", "2025-12-31"),
    ("expansion 2026-05", AS_OF, "2026-05-01", "2026-05-31"),
    ("between 01/02/2026 and 30/04/2026", AS_OF, "2026-02-01", "2026-04-30"),
    ("01/07/2025 to 30/06/2026", AS_OF, "2025-07-01", "2026-06-30"),
    ("measured over 1 January to 31 December 2025", AS_OF, "2025-01-01", "2025-12-31"),
    ("from the start to the end of the 1st quarter of 2026", AS_OF, "2026-01-01", "2026-03-31"),
    ("new MRR in Jan 25", AS_OF, "2025-01-01", "2025-01-31"),
    ("churn for Mar 26", AS_OF, "2026-03-01", "2026-03-31"),
    ("top 5 March expansions", AS_OF, "2026-03-01", "2026-03-31"),
    ("In March 3 enterprise customers churned", AS_OF, "2026-03-01", "2026-03-31"),
    ("Q1 this year", AS_OF, "2026-01-01", "2026-03-31"),
    ("last quarter on a rolling basis", AS_OF, "2026-04-01", "2026-06-30"),
    ("expansion revenue over February, March and April of 2026", AS_OF, "2026-02-01", "2026-04-30"),
    ("expansion MRR for Feb, Mar, Apr 2026", AS_OF, "2026-02-01", "2026-04-30"),
    ("churned MRR in July, August & September 2025", AS_OF, "2025-07-01", "2025-09-30"),
])
def test_time_words(text, as_of, start, end):
    spans = find_periods(text, as_of)
    assert len(spans) == 1, spans
    assert (spans[0].start.isoformat(), spans[0].end.isoformat()) == (start, end)


def test_may_against_another_period():
    spans = find_periods("expansion MRR May vs April", AS_OF)
    assert [(s.start.isoformat(), s.end.isoformat()) for s in spans] == [("2026-05-01", "2026-05-31"), ("2026-04-01", "2026-04-30")]
    spans = find_periods("SMB new MRR May vs May last year", AS_OF)
    assert [s.start.isoformat() for s in spans] == ["2026-05-01", "2025-05-01"]


@pytest.mark.parametrize("text, periods", [
    ("Compare expansion MRR in Q3 2025 to Q4 2025", [("2025-07-01", "2025-09-30"), ("2025-10-01", "2025-12-31")]),
    ("Compare new MRR 2024 to 2025", [("2024-01-01", "2024-12-31"), ("2025-01-01", "2025-12-31")]),
    ("compare expansion for January through March 2026 with 2025", [("2026-01-01", "2026-03-31"), ("2025-01-01", "2025-12-31")]),
    ("Compare churn Jan - Mar 2026 vs 2025", [("2026-01-01", "2026-03-31"), ("2025-01-01", "2025-12-31")]),
    ("Compare new MRR from the start of February through the end of April 2026 with last year",
     [("2026-02-01", "2026-04-30"), ("2025-01-01", "2025-12-31")]),
    ("expansion dec 2025 vs dec 24", [("2025-12-01", "2025-12-31"), ("2024-12-01", "2024-12-31")]),
])
def test_compare_a_to_b_is_two_periods_a_range_is_one(text, periods):
    assert [(s.start.isoformat(), s.end.isoformat()) for s in find_periods(text, AS_OF)] == periods


def test_two_periods_in_order():
    spans = find_periods("expansion in Q3 2025 compared with Q4 2025", AS_OF)
    assert [(s.start.isoformat(), s.end.isoformat()) for s in spans] == [("2025-07-01", "2025-09-30"), ("2025-10-01", "2025-12-31")]


@pytest.mark.parametrize("text", ["marketing spend", "what may happen", "the mar file", "dec values", "it may be churn",
                                  "may I ask about churn", "Top 10 may be enterprise"])
def test_words_that_are_not_times(text):
    assert find_periods(text, AS_OF) == []


def test_shift():
    q1 = find_periods("Q1 2026", AS_OF)[0]
    assert (shift(q1, "previous_period").start, shift(q1, "previous_period").end) == (date(2025, 10, 1), date(2025, 12, 31))
    assert (shift(q1, "previous_year").start, shift(q1, "previous_year").end) == (date(2025, 1, 1), date(2025, 3, 31))
