"""Time words of rulebook §5, resolved against an explicit as-of date.

`find_periods(text, as_of)` returns every time expression in a question, in order, each as an
inclusive date range with a label; the planner decides which is the main period and which a
comparison. Rules: weeks start on Monday, quarters are calendar quarters, "last month" is the
last full month before the as-of month, "in March" is the most recent March that has ended or
contains the as-of date, trailing 12 months are the 12 calendar months ending with the as-of
month, and a period never runs past the as-of date.
"""

import re
from dataclasses import dataclass, replace
from datetime import date, timedelta

from semantic_layer.periods import add_months, bucket_start, month_end, next_bucket, previous_period, previous_year, unit_of

MONTHS = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4, "apr": 4,
    "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8, "september": 9,
    "sept": 9, "sep": 9, "october": 10, "oct": 10, "november": 11, "nov": 11, "december": 12, "dec": 12,
}
MONTH_RE = r"(?:" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")(?![a-z])\.?"
NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "eighteen": 18, "twenty-four": 24, "thirty": 30, "sixty": 60, "ninety": 90,
}
ORDINALS = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "4th": 4, "last": 4, "final": 4}
HALVES = {"first": 1, "1st": 1, "front": 1, "second": 2, "2nd": 2, "back": 2, "latter": 2}
UNITS = {"day": "day", "days": "day", "week": "week", "weeks": "week", "month": "month", "months": "month",
         "quarter": "quarter", "quarters": "quarter", "year": "year", "years": "year"}
# Abbreviations and slips people type, read before anything else.
SHORT_FORMS = {"yr": "year", "yrs": "years", "qtr": "quarter", "qtrs": "quarters", "mo": "month", "mos": "months",
               "mth": "month", "mths": "months", "wk": "week", "wks": "weeks", "yday": "yesterday", "lst": "last",
               "lsat": "last", "prev": "previous", "prv": "previous"}
CORRECTABLE = ["january", "february", "march", "april", "june", "july", "august", "september", "october", "november",
               "december", "quarter", "quarters", "month", "months", "year", "years", "week", "weeks", "yesterday",
               "trailing", "previous", "between", "through", "since", "today", "second", "third", "fourth", "first"]
NOT_TYPOS = {"match", "least", "most", "mean", "means", "seat", "seats", "team", "teams", "years", "march", "marco",
             "june", "sweet", "mouth", "fourteen", "trial", "trials", "weekly", "monthly", "yearly", "monday", "since",
             "second", "secondly", "first", "third", "tears", "wear", "here", "were", "week", "weeks", "where"}
YEAR_RE = r"(?:19|20)\d{2}"
SHORT_WORDLIKE = ("mar", "jun", "dec", "oct", "sep", "aug", "jan")  # short month names that are also words or names


@dataclass(frozen=True)
class TimeSpan:
    start: date
    end: date
    label: str
    point: bool = False  # a single day asked as a stock ("at the end of March", "today")
    unit: str | None = None  # day / week / month / quarter / year / half when the span is one calendar unit
    position: int = 0  # where it was found in the text


def _label_range(start: date, end: date) -> str:
    return f"{start.isoformat()} to {end.isoformat()}"


def month_span(year: int, month: int, as_of: date) -> TimeSpan:
    start = date(year, month, 1)
    return _clip(TimeSpan(start, month_end(start), start.strftime("%B %Y"), unit="month"), as_of)


def quarter_span(year: int, quarter: int, as_of: date) -> TimeSpan:
    start = date(year, 3 * quarter - 2, 1)
    return _clip(TimeSpan(start, month_end(add_months(start, 2)), f"Q{quarter} {year}", unit="quarter"), as_of)


def half_span(year: int, half: int, as_of: date) -> TimeSpan:
    start = date(year, 1 if half == 1 else 7, 1)
    return _clip(TimeSpan(start, month_end(add_months(start, 5)), f"H{half} {year}", unit="half"), as_of)


def year_span(year: int, as_of: date, fiscal_start: int = 1) -> TimeSpan:
    start = date(year if fiscal_start == 1 else year - 1, fiscal_start, 1)
    label = str(year) if fiscal_start == 1 else f"FY{year}"
    return _clip(TimeSpan(start, add_months(start, 12) - timedelta(days=1), label, unit="year"), as_of)


def _clip(span: TimeSpan, as_of: date) -> TimeSpan:
    """A period that contains the as-of date ends on it (month to date, year to date)."""
    if span.start <= as_of < span.end:
        return replace(span, end=as_of, label=f"{span.label} to date ({_label_range(span.start, as_of)})")
    return span


def unit_span(unit: str, offset: int, as_of: date, fiscal_start: int = 1) -> TimeSpan:
    """The calendar unit `offset` units before the one containing as_of (0 = this one, to date)."""
    if unit == "half":
        current = date(as_of.year, 1 if as_of.month <= 6 else 7, 1)
        start = add_months(current, -6 * offset)
        return half_span(start.year, 1 if start.month == 1 else 2, as_of)
    if unit == "year" and fiscal_start != 1:
        fy = as_of.year + (1 if as_of.month >= fiscal_start else 0)
        return year_span(fy - offset, as_of, fiscal_start)
    start = bucket_start(as_of, unit)
    for _ in range(offset):
        start = bucket_start(start - timedelta(days=1), unit)
    end = next_bucket(start, unit) - timedelta(days=1)
    label = {
        "day": lambda: start.isoformat(),
        "week": lambda: f"the week of {start.isoformat()}",
        "month": lambda: start.strftime("%B %Y"),
        "quarter": lambda: f"Q{(start.month - 1) // 3 + 1} {start.year}",
        "year": lambda: str(start.year),
    }[unit]()
    return _clip(TimeSpan(start, end, label, unit=unit), as_of)


def trailing(count: int, unit: str, as_of: date) -> TimeSpan:
    """The last N days (ending on as-of) or the N calendar units ending with the as-of's unit."""
    if unit == "day":
        start = as_of - timedelta(days=count - 1)
        return TimeSpan(start, as_of, f"the last {count} days ({_label_range(start, as_of)})")
    if unit == "week":
        start = as_of - timedelta(days=7 * count - 1)
        return TimeSpan(start, as_of, f"the last {count} weeks ({_label_range(start, as_of)})")
    months = {"month": 1, "quarter": 3, "year": 12}[unit]
    first = bucket_start(as_of, unit if unit != "year" else "month")
    if unit == "year":
        first = add_months(bucket_start(as_of, "month"), -(12 * count - 1))
    else:
        first = add_months(first, -months * (count - 1))
    end = min(as_of, next_bucket(as_of, unit if unit != "year" else "month") - timedelta(days=1))
    noun = {"month": "months", "quarter": "quarters", "year": "years"}[unit]
    return TimeSpan(first, end, f"the trailing {count} {noun} ({_label_range(first, end)})")


def recent_month(month: int, as_of: date) -> int:
    """Year of the most recent `month` that has ended or contains the as-of date."""
    return as_of.year if month <= as_of.month else as_of.year - 1


def recent_quarter(quarter: int, as_of: date) -> int:
    return as_of.year if 3 * quarter - 2 <= as_of.month else as_of.year - 1


def _year(text: str | None) -> int | None:
    if not text:
        return None
    text = text.strip("'’ ")
    value = int(text)
    return value + 2000 if value < 100 else value


def _number(text: str) -> int:
    return int(text) if text.isdigit() else NUMBER_WORDS[text]


def _explicit_date(text: str, day_first: bool = False) -> date | None:
    # Slashed dates are read month first (12/31/2024) unless that is impossible (31/12/2024) or
    # another date of the question is day first ("01/07/2025 to 30/06/2026").
    slashed = [(r"^(\d{1,2})/(\d{1,2})/(\d{4})$", "mdy"), (r"^(\d{1,2})/(\d{1,2})/(\d{4})$", "dmy")]
    for pattern, order in (
        (r"^(\d{4})-(\d{1,2})-(\d{1,2})$", "ymd"),
        *(reversed(slashed) if day_first else slashed),
        (r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$", "dmy"),
    ):
        m = re.match(pattern, text)
        if m:
            parts = dict(zip(order, map(int, m.groups())))
            try:
                return date(parts["y"], parts["m"], parts["d"])
            except ValueError:
                continue
    return None


NUM = r"(\d+|" + "|".join(NUMBER_WORDS) + r")"

# (pattern, builder(match, as_of, fiscal_start) -> TimeSpan | None). Earlier patterns win on overlap.
def _patterns():
    P = []

    def add(pattern):
        def register(fn):
            P.append((re.compile(pattern, re.I), fn))
            return fn
        return register

    # "2024-2025" (words between two years are the range rule's, which knows comparisons)
    @add(rf"\b({YEAR_RE})\s*(?:-|–|—)\s*({YEAR_RE})\b")
    def _years(m, a, f):
        first, last = year_span(int(m.group(1)), a), year_span(int(m.group(2)), a)
        if last.end < first.start:
            return None
        return TimeSpan(first.start, last.end, _label_range(first.start, last.end))

    @add(r"\b(\d{4}-\d{1,2}-\d{1,2}|\d{1,2}/\d{1,2}/\d{4}|\d{1,2}\.\d{1,2}\.\d{4})\b")
    def _iso(m, a, f):
        day_first = any(int(first) > 12 for first in re.findall(r"\b(\d{1,2})/\d{1,2}/\d{4}\b", m.string))
        d = _explicit_date(m.group(1), day_first)
        return TimeSpan(d, d, d.isoformat(), point=True, unit="day") if d else None

    @add(rf"\b({YEAR_RE})-(\d{{1,2}})\b(?![-/.]\d)")
    def _year_month(m, a, f):
        month = int(m.group(2))
        return month_span(int(m.group(1)), month, a) if 1 <= month <= 12 else None

    @add(rf"\b({MONTH_RE})\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+({YEAR_RE})\b")
    def _mdy(m, a, f):
        try:
            d = date(int(m.group(3)), MONTHS[m.group(1).lower().rstrip(".")], int(m.group(2)))
        except ValueError:
            return None
        return TimeSpan(d, d, d.isoformat(), point=True, unit="day")

    @add(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({MONTH_RE}),?\s+({YEAR_RE})\b")
    def _dmy(m, a, f):
        try:
            d = date(int(m.group(3)), MONTHS[m.group(2).lower().rstrip(".")], int(m.group(1)))
        except ValueError:
            return None
        return TimeSpan(d, d, d.isoformat(), point=True, unit="day")

    # A day without a year is the most recent one that is not after the as-of date ("since March
    # 15th"). Only with an ordinal or after a word that takes a date: "Jan 25" is January 2025 and
    # "top 5 March expansions" names no day.
    @add(rf"\b({MONTH_RE})\s+(\d{{1,2}})(st|nd|rd|th)?\b(?!\s*,?\s*['\d])")
    def _md(m, a, f):
        if not (m.group(3) or _takes_a_date(m)) or not _month_word(m, m.group(1)):
            return None
        return _recent_day(MONTHS[m.group(1).lower().rstrip(".")], int(m.group(2)), a)

    @add(rf"\b(\d{{1,2}})(st|nd|rd|th)?\s+(of\s+)?({MONTH_RE})(?!\s*,?\s*['\d])")
    def _dm(m, a, f):
        if not (m.group(2) or m.group(3) or _takes_a_date(m)):
            return None
        return _recent_day(MONTHS[m.group(4).lower().rstrip(".")], int(m.group(1)), a)

    @add(r"\b(?:trailing|rolling|last|past|previous|prior)[\s-]+(?:twelve|12)[\s-]*(?:months?|mos|m)\b|\bttm\b|\bltm\b")
    def _ttm(m, a, f):
        return trailing(12, "month", a)

    @add(rf"\b(?:in\s+|over\s+|during\s+)?(?:the\s+)?(?:last|past|previous|prior|trailing|rolling)\s+{NUM}\s+(days?|weeks?|months?|quarters?|years?)\b")
    def _last_n(m, a, f):
        return trailing(_number(m.group(1).lower()), UNITS[m.group(2).lower()], a)

    @add(r"\b(year|quarter|month|week)[\s-]to[\s-]date\b|\b(ytd|qtd|mtd|wtd)\b")
    def _to_date(m, a, f):
        # Rulebook §5: year to date runs from 1 January, whatever the fiscal year.
        unit = (m.group(1) or {"ytd": "year", "qtd": "quarter", "mtd": "month", "wtd": "week"}[m.group(2).lower()]).lower()
        return unit_span(unit, 0, a)

    @add(r"\b(?:the\s+)?(quarter|month|year|week)\s+before\s+last\b")
    def _before_last(m, a, f):
        return unit_span(m.group(1).lower(), 2, a)

    @add(rf"\b(?:the\s+)?(?:last|final)\s+(quarter|month)\s+of\s+({YEAR_RE})\b")
    def _last_of_year(m, a, f):
        year = int(m.group(2))
        return quarter_span(year, 4, a) if m.group(1).lower() == "quarter" else month_span(year, 12, a)

    # "May last year", "Q1 this year": that unit of the year named relative to the as-of date.
    @add(rf"\b({MONTH_RE}|q[1-4]|h[12])\s+(?:of\s+)?(last|previous|prior|this|current)\s+year\b")
    def _unit_of_relative_year(m, a, f):
        word = m.group(1).lower().rstrip(".")
        year = a.year - (1 if m.group(2).lower() in ("last", "previous", "prior") else 0)
        if word[0] == "q" and word[1:].isdigit():
            return quarter_span(year, int(word[1]), a)
        if word[0] == "h" and word[1:].isdigit():
            return half_span(year, int(word[1]), a)
        return month_span(year, MONTHS[word], a)

    @add(r"\b(?:this|current|the current)\s+(fiscal\s+year|year|quarter|month|week|half)\b")
    def _this(m, a, f):
        unit = m.group(1).lower()
        return unit_span("year" if "year" in unit else unit, 0, a, f if "fiscal" in unit else 1)

    # "the start of the year", "end of the quarter": the current one (its start or end is applied later).
    @add(r"\bthe\s+(year|quarter|month|week|half)\b")
    def _the_unit(m, a, f):
        if not re.search(r"\b(start|beginning|end|close)\s+of\s+$", m.string[:m.start()]):
            return None
        return unit_span(m.group(1).lower(), 0, a)

    # "the past year on a rolling basis", "rolling quarter": a trailing window, not a calendar unit.
    @add(r"\b(?:the\s+)?(?:past|last|previous)\s+(year|quarter|month)\s+on\s+a\s+rolling\s+basis\b|"
         r"\b(?:trailing|rolling)\s+(year|quarter|twelve|12)\b")
    def _rolling(m, a, f):
        unit = (m.group(1) or m.group(2)).lower()
        return trailing({"year": 12, "twelve": 12, "12": 12, "quarter": 3, "month": 1}[unit], "month", a)

    @add(r"\b(?:last|previous|prior|past|most\s+recent)\s+(?:(?:full|complete|completed|whole|calendar|entire|closed)\s+){0,2}"
         r"(fiscal\s+year|year|quarter|month|week|half)\b")
    def _last_unit(m, a, f):
        unit = m.group(1).lower()
        return unit_span("year" if "year" in unit else unit, 1, a, f if "fiscal" in unit else 1)

    @add(rf"\b(?:(q)([1-4])|([1-4])q)(?:\s*(?:of\s+)?(?:fy\s*)?('?\d{{2}}|{YEAR_RE}))?\b")
    def _q(m, a, f):
        quarter = int(m.group(2) or m.group(3))
        year = _year(m.group(4))
        return quarter_span(year or recent_quarter(quarter, a), quarter, a)

    @add(rf"\b(first|second|third|fourth|1st|2nd|3rd|4th|final)\s+quarter(?:\s+(?:of\s+)?({YEAR_RE}))?")
    def _q_words(m, a, f):
        quarter = ORDINALS[m.group(1).lower()]
        year = _year(m.group(2))
        return quarter_span(year or recent_quarter(quarter, a), quarter, a)

    @add(rf"\b(?:h(?P<h>[12])|(?P<n>[12])h)(?:\s*(?:of\s+)?(?P<y>'?\d{{2}}|{YEAR_RE}))?\b|"
         rf"\b(?P<word>first|second|1st|2nd|front|back|latter)\s+half(?:\s+(?:of\s+)?(?P<wy>{YEAR_RE}))?")
    def _half(m, a, f):
        half = int(m.group("h") or m.group("n")) if m.group("h") or m.group("n") else HALVES[m.group("word").lower()]
        year = _year(m.group("y") or m.group("wy"))
        if year is None:
            year = a.year if (half == 1 or a.month >= 7) else a.year - 1
        return half_span(year, half, a)

    @add(rf"\b({MONTH_RE})(?:\s+(?:of\s+)?('?\d{{2}}\b|{YEAR_RE}))?")
    def _month(m, a, f):
        word = m.group(1).lower().rstrip(".")
        year = _year(m.group(2))
        if word == "may" and year is None and not _may_is_month(m):
            return None
        if word in SHORT_WORDLIKE and year is None and not _preceded_by_time_word(m):
            return None
        return month_span(year or recent_month(MONTHS[word], a), MONTHS[word], a)

    @add(rf"\b(?:cy|calendar\s+year)\s*('?\d{{2}}\b|{YEAR_RE})")
    def _calendar_year(m, a, f):
        return year_span(_year(m.group(1)), a)

    @add(rf"\b(?:fy|fiscal\s+(?:year\s+)?)\s*('?\d{{2}}\b|{YEAR_RE})")
    def _fiscal(m, a, f):
        return year_span(_year(m.group(1)), a, f)

    @add(rf"(?<![-/.\d])\b({YEAR_RE})\b(?![-/.]\d)")
    def _year_only(m, a, f):
        return year_span(int(m.group(1)), a)

    @add(rf"\b(a|an|one|{NUM[1:-1]})\s+(day|week|month|quarter|year)s?\s+ago\b")
    def _ago(m, a, f):
        count = 1 if m.group(1).lower() in ("a", "an", "one") else _number(m.group(1).lower())
        unit = m.group(2).lower()
        d = a - timedelta(days=count) if unit == "day" else a - timedelta(weeks=count) if unit == "week" else \
            _months_back(a, count * {"month": 1, "quarter": 3, "year": 12}[unit])
        return TimeSpan(d, d, d.isoformat(), point=True, unit="day")

    @add(r"\b(today|now|right now|currently|as of today|at present|yesterday|at the moment|presently|as it stands|"
         r"as things stand|at this point)\b")
    def _today(m, a, f):
        word = m.group(1).lower()
        d = a - timedelta(days=1) if word == "yesterday" else a
        # "yesterday" and "today" name a day (its movements, for a flow); "now" names the current state.
        return TimeSpan(d, d, d.isoformat(), point=True, unit="day" if word in ("yesterday", "today") else None)

    return P


def _recent_day(month: int, day: int, as_of: date) -> TimeSpan | None:
    for year in (as_of.year, as_of.year - 1):
        try:
            d = date(year, month, day)
        except ValueError:
            return None
        if d <= as_of:
            return TimeSpan(d, d, d.isoformat(), point=True, unit="day")
    return None


def _months_back(d: date, months: int) -> date:
    first = add_months(d, -months)
    return first.replace(day=min(d.day, month_end(first).day))


def time_words(text: str) -> str:
    """The question as the time parser reads it: lower case, abbreviations spelt out and
    misspelt time words corrected ("last quater", "febuary", "this yaer")."""
    from rapidfuzz.distance import OSA

    text = text.lower().replace("’", "'")
    out = []
    for token in re.split(r"(\W+)", text):
        if token in SHORT_FORMS:
            token = SHORT_FORMS[token]
        elif token.isalpha() and len(token) >= 4 and token not in CORRECTABLE and token not in NOT_TYPOS and token not in MONTHS:
            allowed = 1 if len(token) <= 5 else 2
            for word in CORRECTABLE:
                if word[0] == token[0] and abs(len(word) - len(token)) <= allowed and OSA.distance(word, token) <= allowed:
                    token = word
                    break
        out.append(token)
    return "".join(out)


def _takes_a_date(m: re.Match) -> bool:
    """After a word that takes a date ("since March 15"), or first of a range of days ("Feb 1 to Apr 30")."""
    before = m.string[: m.start()].lower().rstrip()
    after = m.string[m.end():].lower()
    return bool(re.search(r"\b(on|since|from|until|till|through|to|between|and|by|as of|before|after|starting|ending|"
                          r"ended|effective|over|during)$", before)
                or re.match(rf"\s*(to|through|thru|until|-|–|and)\s+({MONTH_RE}\s+\d|\d{{1,2}}(st|nd|rd|th)?\s+(of\s+)?{MONTH_RE})", after))


def _month_word(m: re.Match, word: str) -> bool:
    """A month name that is also a word ("may", "mar") counts as one only where it reads as a month."""
    word = word.lower().rstrip(".")
    if word == "may":
        return _may_is_month(m)
    return word not in SHORT_WORDLIKE or _preceded_by_time_word(m)


def _may_is_month(m: re.Match) -> bool:
    """"May" is the month unless it reads as the verb: after a subject ("it may") or before
    what follows the verb ("may I", "may be")."""
    before = m.string[: m.start()].lower().rstrip()
    after = m.string[m.end():].lower().lstrip()
    if re.search(r"(in|of|for|during|since|from|between|and|to|through|until|end|last|this|vs|versus|than|with)$", before):
        return True
    if re.search(r"\b(i|we|you|he|she|it|they|this|that|which|who|what|there|how|numbers?|values?|results?|data|one)$", before):
        return False
    return not re.match(r"(i|we|you|he|she|it|they|be|have|not|also|well|need|want|see|ask|get|show|help|happen|change|"
                        r"affect|include|contain|differ|vary|look|seem|come|go|become|mean)\b", after)


def _preceded_by_time_word(m: re.Match) -> bool:
    """Short month names that are also words ("mar", "dec") count only after a time preposition,
    in a list or range of months ("Feb, Mar, Apr", "Mar-May")."""
    before = m.string[: m.start()].lower().rstrip()
    after = m.string[m.end():].lower()
    return bool(re.search(r"(in|of|for|during|since|from|between|and|to|through|until|end|last|this)$", before)
                or re.search(MONTH_RE + r"\s*[,&]$", before)
                or re.match(r"\s*(-|–|—|to|through|and|,|&)\s*" + MONTH_RE, after))


PATTERNS = _patterns()


def find_periods(text: str, as_of: date, fiscal_start: int = 1) -> list[TimeSpan]:
    """All time expressions of `text`, in order of appearance, ranges combined ("between
    January and March 2026" -> one span) and "end of X" / "since X" applied."""
    found: list[tuple[int, int, TimeSpan]] = []
    taken = [False] * len(text)
    for pattern, build in PATTERNS:
        for m in pattern.finditer(text):
            if any(taken[m.start():m.end()]):
                continue
            span = build(m, as_of, fiscal_start)
            if span is None:
                continue
            found.append((m.start(), m.end(), replace(span, position=m.start())))
            for i in range(m.start(), m.end()):
                taken[i] = True
    found.sort(key=lambda item: item[0])
    found = _carry_years(text, found, as_of)
    spans = _combine(text, found, as_of)
    # The same period named twice ("for FY2025 ... for the full year 2025") is one period, not a comparison.
    return [span for i, span in enumerate(spans) if all((span.start, span.end) != (o.start, o.end) for o in spans[:i])]


def _carry_years(text: str, found, as_of: date):
    """In "between January and March 2026" the first month takes the year of the second."""
    out = list(found)
    for i in range(len(out) - 1):
        s1, e1, a = out[i]
        s2, e2, b = out[i + 1]
        between = text[e1:s2].lower()
        explicit_year = re.search(YEAR_RE + r"|'\d{2}", text[s1:e1])
        if a.unit in ("day", "month", "quarter") and b.unit == a.unit and not explicit_year and re.fullmatch(r"\s*(,|and|, and|&|to|through|until|thru|-|–|—)\s*", between):
            if a.unit == "day":  # "1 January to 31 December 2025"
                year = b.start.year if (a.start.month, a.start.day) <= (b.start.month, b.start.day) else b.start.year - 1
                moved = date(year, a.start.month, min(a.start.day, month_end(date(year, a.start.month, 1)).day))
                new = TimeSpan(moved, moved, moved.isoformat(), point=True, unit="day")
            elif a.unit == "month":
                start_month = a.start.month
                year = b.start.year if start_month <= b.start.month else b.start.year - 1
                new = month_span(year, start_month, as_of)
            else:
                quarter = (a.start.month - 1) // 3 + 1
                end_quarter = (b.start.month - 1) // 3 + 1
                year = b.start.year if quarter <= end_quarter else b.start.year - 1
                new = quarter_span(year, quarter, as_of)
            out[i] = (s1, e1, replace(new, position=a.position))
    return out


def _combine(text: str, found, as_of: date) -> list[TimeSpan]:
    spans: list[TimeSpan] = []
    i = 0
    while i < len(found):
        s, e, span = found[i]
        run = _listed_run(text, found, i)
        if run > 2:  # "February, March and April of 2026": the three months, one period
            last = found[i + run - 1][2]
            spans.append(TimeSpan(span.start, last.end, _label_range(span.start, last.end), position=span.position))
            i += run
            continue
        before = text[max(0, s - 40):s].lower()
        if i + 1 < len(found):
            s2, e2, nxt = found[i + 1]
            between = text[e:s2].lower()
            opened = re.search(r"(between|from)\s+(the\s+)?((start|beginning)\s+of\s+(the\s+)?)?$", before)
            joiner = between.split()[0] if between.split() else ""
            # "Compare X in Q3 to Q4" compares two periods; "January through March" and "from ... to ..." are one.
            compared = joiner in ("to", "and") and (
                not opened and re.search(r"\bcompar\w*\b", text[:s].lower())
                or re.search(r"\b(chang|grow|grew|go|went|mov|increas|decreas|drop|ris|rose|fall|fell)\w*\b.*\bfrom\s+$", before))
            if re.fullmatch(r"\s*(and|to|through|until|thru|-|–|—)\s*((the\s+)?(end|close)\s+of\s+(the\s+)?)?", between) and (
                opened or joiner in ("to", "through", "thru", "-", "–", "—", "until")
            ) and not compared:
                start, end = span.start, min(nxt.end, as_of)
                if end >= start:
                    spans.append(TimeSpan(start, end, f"{_label_range(start, end)}", position=span.position))
                    i += 2
                    continue
        after = text[e:e + 20].lower()
        window = WINDOW_ENDING.search(before)
        if window:
            span = _window_ending(window, min(span.end, as_of), span.position)
        elif re.search(r"\bfrom\s+the\s+(start|beginning)\s+(to|until|through)\s+(the\s+)?end\s+of\s+(the\s+)?$", before):
            pass  # "from the start to the end of Q1": the whole of it
        elif re.search(r"\bsince\s+(the\s+)?((start|beginning)\s+of\s+(the\s+)?)?$|\bfrom\s+the\s+(start|beginning)\s+of\s+(the\s+)?$", before) \
                or re.match(r"\s*(to date|till date|until date|up to date|to this day)\b", after):
            span = TimeSpan(span.start, as_of, _label_range(span.start, as_of), position=span.position)
        elif re.search(r"\b(end|close)\s+of\s+(the\s+)?$|\bas\s+of\s+(the\s+end\s+of\s+)?$", before) or (
                span.unit == "day" and re.search(r"(?<![-\w])(at|on)\s+$", before)):  # "on May 2026" is the month
            day = min(span.end, as_of) if span.start <= as_of else span.end  # a future day stays one, to be refused
            span = TimeSpan(day, day, day.isoformat(), point=True, unit="day", position=span.position)
        elif re.search(r"\b(start|beginning)\s+of\s+(the\s+)?$", before):
            day = span.start - timedelta(days=1)
            span = TimeSpan(day, day, f"{day.isoformat()} (the day before {span.start.isoformat()})", point=True,
                            unit="day", position=span.position)
        spans.append(span)
        i += 1
    return spans


def _listed_run(text: str, found, i: int) -> int:
    """How many months or quarters from found[i] on are listed one after the other ("A, B and C")."""
    n = 1
    while i + n < len(found):
        (_, e, a), (s2, _, b) = found[i + n - 1], found[i + n]
        if not (a.unit in ("month", "quarter") and b.unit == a.unit and b.start == a.end + timedelta(days=1)
                and re.fullmatch(r"\s*(,|and|, and|&)\s*", text[e:s2].lower())):
            break
        n += 1
    return n


# "the three months ending March 31, 2026", "the quarter ended", "12 months to June 2026"
WINDOW_ENDING = re.compile(rf"\b(?:(?P<n>{NUM[1:-1]}|a)\s+)?(?P<unit>days?|weeks?|months?|quarters?|years?)\s+"
                           r"(?:ending|ended|that ended|up to|to|through)\s+(?:on\s+)?(?:the\s+end\s+of\s+)?$")


def _window_ending(m: re.Match, end: date, position: int) -> TimeSpan:
    count = 1 if m.group("n") in (None, "a") else _number(m.group("n").lower())
    unit = UNITS[m.group("unit").lower()]
    if unit in ("day", "week"):
        start = end - timedelta(days=count * (7 if unit == "week" else 1) - 1)
    else:
        start = add_months(end + timedelta(days=1), -count * {"month": 1, "quarter": 3, "year": 12}[unit])
    return TimeSpan(start, end, unit_label(start, end, unit_of(start, end)), unit=unit_of(start, end), position=position)


def shift(span: TimeSpan, how: str) -> TimeSpan:
    """The period before (`previous_period`) or the same dates a year earlier (`previous_year`)."""
    moved = (previous_year if how == "previous_year" else previous_period)(span.start, span.end)
    return TimeSpan(moved.start, moved.end, unit_label(moved.start, moved.end, span.unit), point=span.point, unit=span.unit)


def unit_label(start: date, end: date, unit: str | None) -> str:
    if unit in ("month", "quarter", "year") and unit_of(start, end) == unit:
        return {"month": f"{start:%B %Y}", "quarter": f"Q{(start.month - 1) // 3 + 1} {start.year}", "year": str(start.year)}[unit]
    if start == end:
        return start.isoformat()
    return _label_range(start, end)


def describe(span: TimeSpan) -> str:
    """The label with its exact dates, e.g. "Q1 2026 (2026-01-01 to 2026-03-31)"."""
    exact = _label_range(span.start, span.end) if span.start != span.end else span.start.isoformat()
    return span.label if exact in span.label else f"{span.label} ({exact})"
