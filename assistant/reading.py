"""Reading a plain-English question into a structured request, deterministically.

The reading names what to compute (metrics, period, grain, breakdown, filters, comparison,
ranking) or what else was asked (a definition, a summary, customers, a what-if, something the
data can't answer, an ambiguity). Follow-ups start from the previous request (`Frame`), taken
from the tool calls of the conversation so far.
"""

import re
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlglot import exp

from semantic_layer.catalog import Catalog
from semantic_layer.periods import add_months, month_end, split
from tools.customer_tools import LABELS

from .timewords import MONTHS as MONTH_WORDS, TimeSpan, describe, find_periods, shift, time_words, trailing, unit_label, unit_of, unit_span
from .vocabulary import AMBIGUOUS, DIMENSION_WORDS, Match, Vocabulary, normalize

DIMENSION_OF_WORD = {w: dim for dim, ws in DIMENSION_WORDS.items() if dim != "name" for w in ws if " " not in w}
STOCKS = {"mrr", "arr", "customers", "arpa", "opening_mrr"}
POINT_METRICS = STOCKS | {"ltv"}
RETENTION = {"nrr", "grr", "gross_mrr_churn_rate", "net_mrr_churn_rate"}
BAD_WHEN_HIGH = {"contraction_mrr", "churned_mrr", "downgrade_mrr", "item_removed_mrr", "seat_contraction_mrr",
                 "churned_customers", "customer_churn_rate", "gross_mrr_churn_rate", "net_mrr_churn_rate"}
EXPANSION_PARTS = {"upgrade_mrr", "cross_sell_mrr", "seat_expansion_mrr"}
MOVEMENT_OF = {
    "new_mrr": "new", "new_customers": "new", "expansion_mrr": "expansion", "contraction_mrr": "contraction",
    "churned_mrr": "churn", "churned_customers": "churn", "reactivation_mrr": "reactivation",
    "reactivated_customers": "reactivation", "upgrade_mrr": "upgrade", "cross_sell_mrr": "cross_sell",
    "seat_expansion_mrr": "seat_expansion", "downgrade_mrr": "downgrade", "item_removed_mrr": "item_removed",
    "seat_contraction_mrr": "seat_contraction", "fx_mrr": "fx", "mrr": "mrr", "arr": "mrr", "customers": "mrr",
    "arpa": "mrr", "net_new_mrr": "expansion", "customer_churn_rate": "churn", "nrr": "churn", "grr": "churn",
    "gross_mrr_churn_rate": "churn", "net_mrr_churn_rate": "churn", "expansion_rate": "expansion",
    "expansion_share": "expansion", "ltv": "mrr", "opening_mrr": "mrr",
}

# Things a subscription ledger cannot tell, and the nearest metrics it can.
UNANSWERABLE = [
    (r"\b(cac|customer acquisition costs?|acquisition costs?|cost (per|of) (acquisition|acquiring)|"
     r"costs? (per|of|to acquire)( an?)?( acquired| new)? (customers?|accounts?|logos?)|"
     r"costs? (us |you |we )?(on average )?to (acquire|win|land|get)|(spend|spent) to (acquire|win|land)|payback|magic number|"
     r"sales efficiency|burn multiple)\b",
     "customer acquisition cost or sales efficiency (they need sales and marketing spend)", ["new_customers", "new_mrr", "ltv"]),
    (r"\b(marketing|advertising|ad spend|ads|spend|spent|spending|budget|campaigns?)\b",
     "marketing or other spend", ["new_mrr", "new_customers"]),
    (r"\b(pipeline|leads?|opportunit(y|ies)|deals?|win rate|quota|bookings|sales cycle|prospects?|funnel|demos?|sdrs?|"
     r"bdrs?|meetings?|sales calls?|outreach)\b",
     "the sales pipeline", ["new_mrr", "new_customers"]),
    (r"\b(profit|profits|profitability|ebitda|margin|expenses?|costs?|burn|runway|cash|payroll|salar(y|ies)|headcount|employees?|staff|fte)\b",
     "costs, profit or cash", ["mrr", "arr", "ltv"]),
    (r"\b(nps|csat|satisfaction|support tickets?|tickets)\b", "customer satisfaction", ["customer_churn_rate", "nrr"]),
    (r"\b(website|web traffic|traffic|visitors|page ?views|sessions|dau|mau|daily active|monthly active|active users|usage|logins?)\b",
     "product usage or web traffic", ["customers", "new_customers"]),
    (r"\b(refunds?|chargebacks?|invoices? (paid|collected)|collections?|cash collected|billings?|recognized revenue|gaap)\b",
     "billed, collected or recognized revenue (it holds recurring subscription amounts)", ["mrr", "arr", "net_new_mrr"]),
    (r"\b(trial conversion|conversion rate|conversions?|convert)\b",
     "conversion rates", ["new_customers", "new_mrr"]),
]
PART_OF_METRIC = re.compile(r"\b(ltv|lifetime value)\s*(to|:|/|vs|versus|over)?\s*cac\b|\bcac\b|\bpayback\b|"
                            r"\bcosts? (per|of|to acquire|us|you)\b|\bspent to (acquire|win|land)\b|\bsupport tickets?\b|\btickets\b|"
                            r"\bper (employee|head|rep|salesperson|fte|seat sold)\b|\bmagic number\b")
# Why customers left is not in subscription data, whatever metric words come with it.
REASONS = re.compile(r"\b(reasons?|causes?|why)\b.*\b(churn\w*|leav\w*|left|cancel\w*|quit)\b|\bchurn (reasons?|drivers?|causes?)\b")
DEFINITION = re.compile(
    r"^(what (is|are|does|means|mean)|define|definition of|explain|meaning of|tell me about|describe)\b|"
    r"\bhow (do|does|is|are|would|should|did) (you |we |one |i )?(calculat|comput|measur|defin|work out|deriv|get)|"
    r"\bhow is .* (calculated|computed|defined|measured|derived)|\bformula\b|\bwhat does .* mean\b|\bdefinition\b"
)
STRONG_DEFINITION = re.compile(
    r"\bhow (do|does|is|are|would|should|can|could) (you |we |one |i |the system |it )?"
    r"(calculat|comput|measur|defin|work out|deriv|tell|count|treat|handle|classif|distinguish|differentiate|decide|determine|recogni)|"
    r"\bhow (is|are) .* (calculated|computed|defined|measured|derived|worked out|counted|treated|handled|determined)|"
    r"\bhow (you|we|they) (calculat|comput|measur|defin|work out|deriv|count)|"
    r"\bwalk (me|us) through (the |how )?(calculation|computation|formula|method|math)|\bwhat means\b|"
    r"\bmethodology\b|\b(by )?what method\b|\bworked out\b|^def\b|\bcalc(ulation)? method\b|"
    r"\bformula\b|\bwhat does .* mean\b|\bdefin(e|ition)\b|\bexplain\b|\bmeaning\b|\bdifference between\b|"
    r"\bwhat (counts|is counted|is included|goes into|makes up|is in)\b|\bwhat (is|are) (included|counted) in\b|"
    r"\bwhat kind of\b|\bwhy (is|are|does|do) .* (differ|different)\b"
)
DATA_CUES = re.compile(r"\b(our|we|us|my|current(ly)?|today|now|right now|so far|latest|this|last|did|had|have|was|were)\b")
BRIDGE = re.compile(
    r"\b(how (did|are|were|have) we (do|doing|done|perform|performing|performed|fare|faring)|how did (it|things|the business|business) go|"
    r"how('s| is) (the )?business|overview|summary|summari[sz]e|recap|bridge|waterfall|walk me through|what happened|"
    r"what changed|mrr movements?|movements? (of|in) mrr|break ?down of (mrr|the) changes?|explain the change|report card|scorecard)\b"
)
CUSTOMERS = re.compile(
    r"\b(which|what|list( the| all| our)?|show( me)?( the| all)?|name( the)?|who are the) (customers|accounts|clients|companies|logos)\b|"
    r"\bwho (churned|expanded|upgraded|downgraded|left|cancel+ed|came back|returned|joined|signed|reactivated|contracted|grew|shrank)\b|"
    r"\b(top|biggest|largest|smallest|bottom)( \d+| ten| five| three)? (customers|accounts|clients|companies|logos)\b|"
    r"\b(customers|accounts) (who|that) (have |had |did )?(churn|expand|upgrad|downgrad|left|leave|cancel|came back|return|join|sign|"
    r"reactivat|contract|grew|shr|are new|were new|started|stopped)"
)
# One customer asked for by rank ("our biggest customer", "which customer expanded the most"); not a
# customer column ("which customer segment").
_NOT_A_COLUMN = (r"(?! (segments?|size|industr\w*|channels?|countr\w*|types?|tiers?|plans?|base|counts?|churn\b|"
                 r"categor\w*|groups?|cohorts?|regions?|markets?|lifetime|success|retention|acquisition|satisfaction|"
                 r"growth|value|revenue|mrr|arr))")
TOP_CUSTOMER = re.compile(
    r"\b(top|biggest|largest|smallest|best|worst|leading|main|most valuable|highest paying|number one)( \w+ing| paying)? "
    rf"(customer|account|client|company|logo)\b{_NOT_A_COLUMN}|"
    rf"\bwhich (customer|account|client|company)\b{_NOT_A_COLUMN}.*\b(most|least|biggest|largest|highest|lowest|top)\b")
CUSTOMER_MOVEMENTS = [
    (r"\b(churn|churned|left|leave|cancel|cancell?ed|lost|quit|drop(ped)? off)\b", "churn"),
    (r"\b(came back|come back|return(ed)?|reactivat\w*|won back|win back)\b", "reactivation"),
    (r"\bupgrad\w*", "upgrade"), (r"\bdowngrad\w*", "downgrade"),
    (r"\b(cross ?sell\w*|add ?ons?|added (an? )?(items?|products?))\b", "cross_sell"),
    (r"\b(added seats|more seats|seat expansion)\b", "seat_expansion"),
    (r"\b(expand\w*|expansion|grew|upsell\w*)\b", "expansion"),
    (r"\b(contract\w*|shr[ai]nk\w*|shrunk|reduced)\b", "contraction"),
    (r"\b(new|joined|signed|started|acquired|won)\b", "new"),
]
GRAIN_WORDS = {"day": "day", "daily": "day", "week": "week", "weekly": "week", "month": "month", "monthly": "month",
               "quarter": "quarter", "quarterly": "quarter", "year": "year", "yearly": "year", "annually": "year", "annual": "year"}
MORE = r"(most|highest|largest|biggest|top|best|greatest|leading|maximum|max|strongest|more)"
LESS = r"(least|lowest|smallest|fewest|worst|bottom|minimum|min|weakest|less)"
NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
                "ten": 10, "fifteen": 15, "twenty": 20}


@dataclass
class Frame:
    """The previous request of the conversation, rebuilt from its tool call."""

    tool: str
    args: dict


@dataclass
class Reading:
    intent: str  # metrics | definition | bridge | customers | calculate_ltv | calculate_mrr | clarify | unanswerable | list_metrics | help
    metrics: list[str] = field(default_factory=list)
    span: TimeSpan | None = None
    grain: str | None = None
    group_by: list[str] = field(default_factory=list)
    filters: list[dict] = field(default_factory=list)
    compare: str | TimeSpan | None = None
    rank: tuple[bool, int | None] | None = None  # (descending, limit)
    movement: str | None = None
    limit: int = 10
    single: bool = False  # one customer asked for ("our biggest customer"): the answer is that customer
    clarification: tuple[str, list[str]] | None = None
    message: str | None = None
    calc: dict | None = None
    versus: tuple[str, list[str]] | None = None  # "Enterprise vs SMB": one query per value, the first is the headline
    notes: list[str] = field(default_factory=list)  # assumptions, said after the answer
    warnings: list[str] = field(default_factory=list)  # what the user must see first


@dataclass
class Context:
    catalog: Catalog
    vocabulary: Vocabulary
    as_of: date
    fiscal_start: int = 1
    first_date: date | None = None


def read(question: str, ctx: Context, frame: Frame | None = None) -> Reading:
    if frame is not None and frame.tool == "ask_clarification":
        return _answer_to_clarification(question, ctx, frame)
    # "We're closing the books for Q1 2026. How much MRR churned in March?": the question is the
    # last sentence; what comes before lends its period and filters only where the question has none.
    message = question
    question, context = _split_context(question, ctx.vocabulary)
    text = normalize(question)
    words = text.split()
    if not words:
        return Reading("help")
    if re.fullmatch(r"(hi|hello|hey|help|thanks|thank you|ok|okay|\?)+( there)?", text) or re.search(
            r"\bwhat can you (do|answer)\b|\bhow do i use\b", text):
        return Reading("help")
    if re.search(r"\b(list|show|which|what) (all )?(the )?(metrics|kpis|measures)\b|\bmetrics (can|do) you\b", text):
        return Reading("list_metrics")

    compare, time_text = _comparison(time_words(question))
    shift_text = normalize(time_text)  # without the comparison phrase: "vs the previous quarter" is no shift
    spans = find_periods(time_text, ctx.as_of, ctx.fiscal_start)
    if context and not spans:
        spans = find_periods(_comparison(time_words(context))[1], ctx.as_of, ctx.fiscal_start)
    filters, versus, used = _filters(words, question, ctx.vocabulary)
    if context and CONTEXT_SCOPE.search(normalize(context)):
        named = {f["dimension"] for f in filters}
        filters += [f for f in _filters(normalize(context).split(), context, ctx.vocabulary)[0] if f["dimension"] not in named]
    # Words that named a filter value ("the Growth monthly plan") name no metric.
    metric_words = [("_" if i in used else w) for i, w in enumerate(words)]
    metric_text = " ".join(metric_words)
    metric_matches = ctx.vocabulary.metrics(metric_words)
    metrics, ambiguous, specific = _metrics(metric_text, metric_words, metric_matches, ctx.catalog)
    group_by, dim_rank = _group_by(text, words, ctx.vocabulary, metric_matches)
    grain = _grain(text)

    calc = _calculator(message.lower(), ctx)  # the whole message: "If we had 1000 customers at $500, what would MRR be?"
    if calc:
        return calc
    if REASONS.search(text):
        return Reading("unanswerable", metrics=["churned_customers", "churned_mrr", "customer_churn_rate"],
                       message="why customers left (it records what they paid, not their reasons)")
    for pattern, what, nearest in UNANSWERABLE:
        # A metric named with it ("LTV to CAC", "ARR per employee") still needs what the data lacks.
        if re.search(pattern, text) and (not specific or PART_OF_METRIC.search(text)):
            return Reading("unanswerable", metrics=nearest, message=what)

    if STRONG_DEFINITION.search(text) and (metrics or ambiguous):
        return Reading("definition", metrics=metrics or AMBIGUOUS[ambiguous][:2])
    missing = _missing_breakdown(words, ctx.vocabulary)
    if (DEFINITION.search(text) and (metrics or ambiguous) and not spans and not filters and not group_by and not missing
            and not DATA_CUES.search(text) and not re.search(r"^what (is|are|was) (the|a)\b", text)
            and not re.search(r"\b(by|per|vs|versus|compared|split|breakdown)\b", text)):
        return Reading("definition", metrics=metrics or AMBIGUOUS[ambiguous][:2])

    ranked = _top_n(text) is not None or re.search(rf"\b{MORE}\b|\b{LESS}\b|\b(rank|ranked|ranking)\b", text)
    carries = bool(spans or filters or group_by or grain or compare or dim_rank or ranked)
    if not any(not m.weak for m in metric_matches) and not carries and len(_unknown_words(words, ctx.vocabulary)) >= 2:
        return Reading("help", message="I couldn't tell which metric you mean.")  # "who won the world cup?"
    counted_before = _count_of_previous(text, frame)
    if counted_before:
        metrics, specific = [counted_before], True
    elif MOVEMENT_OF.get(_previous_subject(text, frame) or "", _previous_subject(text, frame)) not in (None, "mrr"):
        # Expansion, contraction and their parts have no count metric: the customers behind them.
        reading = _customers(text, ctx, frame, [], spans, filters)
        reading.notes.append(f"no metric counts customers with {LABELS.get(reading.movement, reading.movement)}; "
                             f"these are the customers behind it")
        return reading
    follow_up = frame is not None and (bool(counted_before) or _is_follow_up(text, metrics, ambiguous, carries))
    # "count of customers who churned" asks for a number, and "the total MRR of customers who
    # churned" for an amount: neither is a list of the customers.
    listing = re.search(r"\b(which|list|show|name)\b|^who\b|\bwho (are|were|was|is)\b", text)
    counting = re.search(r"\b(how many|number of|count|counts|# of|no of)\b", text) and \
        _count_metric(text) not in (None, "customers")
    summing = re.search(r"\b(how much|total|sum|amount)\b", text) and MONEY.search(text)
    counting = (counting or summing) and not listing
    if not counting and (CUSTOMERS.search(text) or TOP_CUSTOMER.search(text) or (follow_up and WHO_WERE_THEY.search(text))):
        named = metrics if specific else []
        return _customers(text, ctx, frame if follow_up or not named else None, named, spans, filters)
    if BRIDGE.search(text) and not (metrics and not re.search(r"\b(how did we do|overview|summary|recap|bridge|waterfall)\b", text)):
        span = spans[0] if spans else (_frame_span(frame, ctx) if follow_up else None) or _default_flow_span(ctx)
        return Reading("bridge", span=_as_range(span, ctx), filters=filters)

    if spans and spans[0].start > ctx.as_of:
        return Reading("unanswerable", metrics=metrics or ["mrr"],
                       message=f"the future: it ends on {ctx.as_of.isoformat()} and I don't forecast "
                               f"({describe(spans[0])} starts after that)")
    # In a conversation, a question without a period keeps the last one.
    kept = [] if spans or frame is None or _asks_for_now(text, metrics) else [s for s in [_frame_span(frame, ctx)] if s]
    if kept and kept[0].point and not all(m in POINT_METRICS for m in metrics):
        kept = []  # after "What is our MRR?" (a day), "What was new MRR?" asks for a period, not that day
    if follow_up and ambiguous and not metrics:
        kept_filters = [dict(f) for f in frame.args.get("filters", []) if f["dimension"] not in {g["dimension"] for g in filters}]
        return _clarify(ambiguous, ctx, spans or kept, kept_filters + filters)  # "Enterprise NRR" then "and churn?"
    if follow_up:
        reading = _follow_up(text, shift_text, ctx, frame, metrics, spans, filters, group_by, grain, compare)
        if reading:
            return reading
    if ambiguous and not metrics:
        return _clarify(ambiguous, ctx, spans or kept, filters)
    if not metrics:
        # A period with nothing else ("and last month?") is a summary; with words that name
        # nothing here ("the magic number for 2025") it is no question about this data.
        if spans and not _unknown_words(words, ctx.vocabulary):
            return Reading("bridge", span=_as_range(spans[0], ctx), filters=filters)
        return Reading("help", message="I couldn't tell which metric you mean.")

    reading = Reading("metrics", metrics=metrics, filters=filters, group_by=group_by, grain=grain, compare=compare,
                      versus=versus)
    reading.span, reading.notes = _main_span(metrics, spans or kept, ctx)
    reading.warnings += missing + _unmatched_names(question, ctx.vocabulary, words, used)
    reading.warnings += _outside_data(reading.span, ctx)
    if compare is None and len(spans) > 1:
        reading.compare = spans[1]
    if compare is None and _asks_change(text) and len(spans) <= 1:
        reading.compare = "previous_period"
    reading.compare = _on_a_day(reading.span, reading.compare, text)
    if dim_rank is not None:
        reading.rank = dim_rank
    _fit_grain(reading, text)
    return reading


def _on_a_day(span: TimeSpan, compare, text: str):
    """A day compared with "the previous period" is no day before it: MRR today against the end of
    the previous quarter or month named ("vs the previous quarter", QoQ), else a month earlier."""
    if compare != "previous_period" or not span.point:
        return compare
    named = re.search(r"\b(previous|prior|last|preceding)\s+(quarter|month|week|year)\b", text)
    back = re.search(r"\ban? (month|quarter|week) (earlier|ago|before)\b", text)
    unit = named.group(2) if named else "quarter" if re.search(r"\b(qoq|q/q|quarter over quarter)\b", text) else None
    if unit:
        day = unit_span(unit, 1, span.end).end
    elif back and back.group(1) == "week":
        day = span.end - timedelta(days=7)
    else:
        day = add_months(span.end, -3 if back and back.group(1) == "quarter" else -1)
        day = month_end(day) if span.end == month_end(span.end) else day
    return TimeSpan(day, day, day.isoformat(), point=True, unit="day")


# ---- metrics -------------------------------------------------------------------------------
GENERIC_MRR = {"mrr", "monthly recurring revenue", "recurring revenue", "total mrr"}
JOINERS = {"and", "plus", "with", "vs", "versus", "also", "both"}
MONEY = re.compile(r"\b(mrr|arr|revenue|dollars?|usd|eur|gbp|money|how much|amount|value|worth|booked)\b|\$")
# Counts that become their money counterpart when money is asked ("MRR from new customers").
MONEY_OF_COUNT = {"new_customers": "new_mrr", "churned_customers": "churned_mrr", "reactivated_customers": "reactivation_mrr"}
# Verbs that name a movement when no metric phrase did: (pattern, count metric, money metric).
VERBS = [
    (r"\b(churned|churning|cancel\w+|lost|lose|losing|left|leave|leaving|quit)\b", "churned_customers", "churned_mrr"),
    (r"\b(came back|come back|coming back|returned|reactivat\w*|won back|win back|winbacks?)\b", "reactivated_customers", "reactivation_mrr"),
    (r"\b(signed|sign up|signups?|acquired|won|landed|joined|onboarded|added)\b", "new_customers", "new_mrr"),
    (r"\b(expanded|expanding|upsold|grew their)\b", None, "expansion_mrr"),
    (r"\b(contracted|shrank|shrunk|downgraded|downsized)\b", None, "contraction_mrr"),
]


def _metrics(text: str, words: list[str], matches: list[Match], catalog: Catalog) -> tuple[list[str], str | None, bool]:
    """Metric names asked for, most specific first; or an ambiguous word ('churn'); and whether
    a specific metric phrase was found (not only loose words like 'customers')."""
    described = next((metric for pattern, metric in DESCRIBED if pattern.search(text)), None)
    if described:
        return [described], None, True
    counted = _count_metric(text)
    strong_matches = [m for m in matches if not m.weak]
    listed = lambda m: (m.start > 0 and words[m.start - 1] in JOINERS) or (m.end < len(words) and words[m.end] in JOINERS)
    # A bare "MRR" next to a more specific metric ("MRR lost to downgrades") is not asked for itself;
    # nor is one set aside ("setting expansion aside", "excluding any expansion").
    negated = lambda m: (words[m.start - 1:m.start] and words[m.start - 1] in SET_ASIDE) or words[m.end:m.end + 1] == ["aside"] \
        or (m.start > 1 and words[m.start - 2] in SET_ASIDE and words[m.start - 1] in ("any", "the", "all", "our"))
    strong = [m.key for m in strong_matches
              if not (m.key == "mrr" and m.phrase in GENERIC_MRR and any(o.key != "mrr" for o in strong_matches) and not listed(m))
              and not negated(m)]
    weak = [m.key for m in matches if m.weak]
    if counted == "reactivated_customers":
        strong = [k for k in strong if k != "churned_customers"]  # "previously churned customers who returned"
    if counted == "churned_customers" and "customer_churn_rate" in strong and not RATE_WORDS.search(text):
        strong = [k for k in strong if k != "customer_churn_rate"]  # "how many logos churned": a count, not the rate
    if counted and counted != "customers" and not any(k in strong for k in ("new_customers", "churned_customers", "reactivated_customers", "customer_churn_rate")):
        strong = [k for k in strong if k not in ("new_mrr", "churned_mrr", "reactivation_mrr", "customers")] + [counted]
    elif counted == "customers" and not strong:
        strong = ["customers"]
    metrics = list(dict.fromkeys(strong))
    if re.search(r"\b(percentage|percent|share|proportion|rate) of (our |the |all )?(customers|accounts|logos)\b", text) and \
            re.search(r"\b(lose|lost|churn\w*|cancel\w*|leave|left)\b", text):
        return ["customer_churn_rate"], None, True
    share_of_new = re.search(r"\b(?P<word>share|percentage|percent|proportion|fraction|portion|part|how much) of "
                             r"(our |the |all )?(total )?new (mrr|revenue|arr|business)\b", text)
    # "how big a part of new revenue was expansion"; loose words ("part", "how much") need expansion named
    if share_of_new and (share_of_new.group("word") not in ("part", "how much") or "expansion_mrr" in metrics):
        return ["expansion_share"], None, True
    if "expansion_mrr" in metrics and re.search(r"\b(percent|percentage|share|proportion|ratio|fraction) of (the |our )?"
                                                r"(starting|opening|beginning|start) (mrr|revenue|arr)\b", text):
        return ["expansion_rate"], None, True
    money = bool(MONEY.search(text)) and not re.search(r"\b(how many|fewest|most) (new |lost |churned )?(customers|accounts|logos)\b|\bhow many\b", text)
    if money:
        metrics = list(dict.fromkeys(MONEY_OF_COUNT.get(m, m) for m in metrics))
    generic_mrr = all(m.phrase in GENERIC_MRR and not listed(m) for m in strong_matches if m.key == "mrr")
    if "mrr" in metrics and len(metrics) > 1 and generic_mrr:
        metrics.remove("mrr")  # "the total MRR of customers who churned" is the churned MRR
    generic_only = bool(metrics) and set(metrics) <= {"mrr"} and generic_mrr
    if not metrics or generic_only:
        for pattern, count, cash in VERBS:
            if re.search(pattern, text):
                chosen = cash if (money or count is None) else count
                if chosen:
                    return [chosen], None, True
        if generic_only and "?churn" in weak:
            return ["churned_mrr"], None, True
    specific = bool(metrics)
    if not metrics:
        if re.search(r"\b(mrr|arr|revenue)\b", text) and re.search(r"\b(grow|grew|grown|growth|growing|increase[ds]?)\b", text):
            return ["mrr_growth_rate"], None, True
        if "?churn" in weak and re.search(r"\b(customers?|accounts?|logos?)\b", text):
            return (["customer_churn_rate"] if re.search(r"\brate\b|%|percent", text) else ["churned_customers"]), None, True
        if "?churn" in weak and re.search(r"\b(mrr|revenue|arr|dollars?|usd|money|amount)\b|\$", text):
            return ["churned_mrr"], None, True
        for key in ("?churn", "?retention"):
            if key in weak:
                return [], key, False
        return [k for k in weak if not k.startswith("?")][:1], None, False
    if LOSS_WORDS.search(text):
        metrics = list(dict.fromkeys(LOST_COUNTERPART.get(m, m) for m in metrics))
    if RATE_WORDS.search(text) and "churned_mrr" in metrics:
        # "revenue churn %": the share of MRR lost, gross unless net is said
        rate = "net_mrr_churn_rate" if re.search(r"\bnet\b", text) else "gross_mrr_churn_rate"
        metrics = [rate if m == "churned_mrr" else m for m in metrics]
    if metrics == ["mrr"] and STARTED_WITH.search(text):
        return ["opening_mrr"], None, True
    if {"mrr", "arr"} & set(metrics) and re.search(r"\b(grow|grew|grown|growth|growing)\b", text) and "net_new_mrr" not in metrics:
        metrics = list(dict.fromkeys("mrr_growth_rate" if m in ("mrr", "arr") else m for m in metrics))  # ARR grows as MRR does
    # "expansion ... from upgrades": the component is what is asked.
    parts = [m for m in metrics if m in EXPANSION_PARTS]
    if "expansion_mrr" in metrics and parts and not re.search(r"\bexpansion (mrr )?and\b|\band (total )?expansion\b", text):
        metrics = [m for m in metrics if m != "expansion_mrr"]
    # A metric named only as a part of another one asked for ("share of new revenue from expansion").
    if not any(w in JOINERS for w in words):
        used = {d for m in metrics for d in _depends_on(catalog, m)}
        metrics = [m for m in metrics if m not in used] or metrics
    return metrics, None, specific


RATE_WORDS = re.compile(r"\b(rate|rates|percent|percentage|share|ratio|proportion)\b|%")
# "add-ons being removed", "seats we lost": the same item words name the contraction component.
LOSS_WORDS = re.compile(r"\b(lost|lose|losing|removed|remove|removing|removal|removals|dropped|drop|dropping|"
                        r"cancel+ed|cancel+ing|cut|cuts|reduced|reduce|reduction|fewer)\b")
LOST_COUNTERPART = {"cross_sell_mrr": "item_removed_mrr", "seat_expansion_mrr": "seat_contraction_mrr"}
ITEM_REMOVAL = re.compile(r"\b(items?|addons?|products?|modules?|line items?)\b( \w+){0,2} (removed|dropped|cancel+ed|taken off)\b|"
                          r"\b(removed|dropped|cancel+ed|removal of|removing) (\w+ ){0,2}(items?|addons?|products?|modules?)\b")
# "What MRR did we start 2026 with?": where the period began.
STARTED_WITH = re.compile(r"\b(start|started|starting|begin|began|beginning|enter|entered|entering|open|opened|"
                          r"go into|went into|going into|come into|came into)\b.*\bwith\b|"
                          r"\bwith (how much|what) (mrr|revenue)\b.*\b(start|began|begin|enter)")


# Where a message's context ends and its question may begin: a sentence's end, or a comma before a
# question word ("Since we launched the bundle last month, what was expansion in May?").
CLAUSE_BREAK = re.compile(r"(?<=[.!?])\s+(?=[A-Z])|(?<=[:;])\s+|,\s+(?:so\s+|but\s+|and\s+)?(?=(?i:what|how|which|who|can|"
                          r"could|would|please|give|show|tell|pull|did|do|does|was|were|is|i|i'd|i'm|we|we'd|we're|"
                          r"let's|compare)\b)")


# Context that sets the scope ("For Enterprise:", "Looking only at Germany.") rather than telling a
# story that happens to name a product ("Because we introduced the SSO add-on, ...").
CONTEXT_SCOPE = re.compile(r"^(for|in|among|within|only|just|looking( only)? at|focus(ing)? on|considering|regarding|about|"
                           r"outside|excluding|except|without|ex|apart from|other than|besides|not)\b")


SET_ASIDE = {"not", "excluding", "exclude", "excl", "without", "except", "ex", "ignoring", "ignore", "setting", "minus"}
_RATE = r"(percent|percentage|share|proportion|fraction|ratio)"
_EXISTING = r"(existing|current|already paying|were already|installed base|who stayed|that stayed|but stayed|" \
            r"stayed but|remained|kept paying|still paying|instead of leaving|without leaving|rather than leaving)"
# Metrics described by what they measure rather than named; a description outranks the single
# metric words it contains ("extra revenue from existing customers" is expansion, not MRR).
DESCRIBED = [(re.compile(p), metric) for p, metric in [
    (r"\b(twelve|12) ?(times|x) (the )?(mrr|monthly recurring revenue)\b|\bmrr (times|x) (twelve|12)\b|"
     r"\bannuali[sz]ed (recurring )?revenue\b", "arr"),
    (r"\b(mean|average|avg|typical)\b( \w+){0,3} (mrr|monthly recurring revenue|recurring revenue|revenue) per\b|"
     r"\b(mrr|revenue) (did |does |do )?(the |an? )?(average|typical|mean) (paying )?(account|customer|client)|"
     r"\b(average|typical|mean) (paying )?(account|customer|client) (bring|pay|generate|spend)", "arpa"),
    (rf"\b{_RATE} of (all )?(the )?(mrr|revenue|recurring revenue|arr) (we )?(added|gained|won|brought in)\b.*\bexpansion\b|"
     rf"\b(newly|all) added (mrr|revenue|recurring revenue)\b.*\bexpansion\b|"
     rf"\b(recurring revenue|mrr) added\b.*\b(new logos|new customers)\b.*\b{_RATE}\b.*\bexpansion\b", "expansion_share"),
    (rf"\bexpansion\b.*\b{_RATE} of (the )?(mrr|revenue) (we )?(started|began|opened|entered)\b", "expansion_rate"),
    (r"\bnew\b.*\bexpansion\b.*\breactivation\b.*\b(minus|less|subtract\w*|net of|once|after)\b.*\b(churn|contraction)\b|"
     r"\bnet (amount of )?(mrr|revenue|recurring revenue) (added|gained)\b", "net_new_mrr"),
    (r"\b(gained|added|won)\b.*\b(for every|per|for each) (dollar|euro|pound|unit)\b.*\blost\b|"
     r"\badded (mrr )?divided by lost (mrr)?\b", "quick_ratio"),
    (rf"\b{_RATE}\b.*\b(lost|lose|losing)\b.*\bnet basis\b|\b(lost|lose|losing)\b.*\bnet of expansion\b", "net_mrr_churn_rate"),
    (rf"\b{_RATE}\b.*\b(opening|starting|start|beginning) mrr\b.*\blost to churn and contraction\b|"
     rf"\b{_RATE}\b.*\blost to (churn and contraction|contraction and churn)\b", "gross_mrr_churn_rate"),
    (rf"\b{_RATE}\b.*\bretained\b.*\b(excluding|ignoring|without|not counting)( any)? expansion\b|"
     rf"\bretained\b.*\b{_RATE}\b.*\b(excluding|ignoring|without|not counting)( any)? expansion\b", "grr"),
    (rf"\b(customers|accounts) (who were |that were )?(paying|active) at the (start|beginning)\b.*\b{_RATE}\b|"
     rf"\b{_RATE}\b.*\bretained\b.*\b(including|counting|with)( any)? expansion\b", "nrr"),
    (ITEM_REMOVAL.pattern, "item_removed_mrr"),  # "MRR lost from items being removed": not customers churning
    (r"\b(add|adds|adding|added|buying|bought|more|extra|additional|increas\w*|grow\w*|expand\w*) (\w+ )?"
     r"(seats|seat counts?|licen[cs]es|user seats)\b", "seat_expansion_mrr"),
    (r"\b(remov\w*|cut|cutting|fewer|reduc\w*|dropp\w*|drop|decreas\w*) (\w+ )?(seats|seat counts?|licen[cs]es|user seats)\b",
     "seat_contraction_mrr"),
    (rf"\b(additional|extra|incremental|more|added)\b( \w+){{0,4}} (mrr|revenue|recurring revenue)\b.*\b{_EXISTING}|"
     r"\b(existing|current) (customers|accounts) (increasing|raising|growing) (what they pay|their spend|spend)", "expansion_mrr"),
    (rf"\b(lost|lose|losing|less|reduc\w*|cut\w*|trimm\w*|downgrad\w*|shr\w*)\b.*\b{_EXISTING}|"
     rf"\b{_EXISTING}\b.*\b(reduc\w*|cut\w*|trimm\w*|downgrad\w*|shr\w*|paid less|pay less)\b", "contraction_mrr"),
]]


def _split_context(question: str, vocab: Vocabulary) -> tuple[str, str]:
    """The asked part of a message (from the last clause that names a metric on) and the
    context before it."""
    clauses = [c for c in CLAUSE_BREAK.split(question.strip()) if c]
    for i in range(len(clauses) - 1, 0, -1):
        context = " ".join(clauses[:i])
        if context.rstrip().endswith("?"):
            break  # a question before it ("What was NRR in 2025? And GRR?") is part of what is asked
        # A short lead-in ("def:", "For Enterprise:") is part of the question, not context.
        asked = [m for m in vocab.metrics(normalize(clauses[i]).split()) if not m.weak]
        # ... and a question that only says "how much MRR?" keeps the metric its lead-in named.
        specific = any(m.key != "mrr" or m.phrase not in GENERIC_MRR for m in asked)
        told = any(not m.weak for m in vocab.metrics(normalize(context).split()))
        if len(context.split()) >= 3 and asked and (specific or not told):
            return " ".join(clauses[i:]), context
    return question, ""


def _depends_on(catalog: Catalog, name: str) -> set[str]:
    found = set()
    for column in catalog.get(name).expression().find_all(exp.Column):
        if column.name in catalog.metrics:
            found |= {column.name} | _depends_on(catalog, column.name)
    return found


def _count_metric(text: str) -> str | None:
    if not re.search(r"\b(how many|number of|count|counts|# of|no of|total)\b", text):
        return None
    if not re.search(r"\b(customers?|accounts?|logos?|clients?|subscribers?|companies|businesses)\b", text):
        return None
    # Coming back first: "previously churned customers who returned" are reactivations.
    if re.search(r"\b(came back|come back|return\w*|reactivat\w*|won back|win back|resurrect\w*)\b", text):
        return "reactivated_customers"
    if re.search(r"\b(churn\w*|cancel\w*|lost|lose|leave|left|drop\w*|quit)\b", text):
        return "churned_customers"
    if re.search(r"\b(new|first time|sign\w*|win|won|acquir\w*|add(ed)?|gain\w*|land\w*|join\w*|got|get|onboard\w*)\b", text):
        return "new_customers"
    return "customers"


# ---- periods -------------------------------------------------------------------------------
def _comparison(text: str) -> tuple[str | None, str]:
    """A relative comparison ("vs the previous quarter", "year over year") and the text without it."""
    joiner = r"(vs\.?|versus|compared (to|with)|against|relative to|than|over)"
    patterns = [
        (r"\b(year[\s-]over[\s-]year|yoy|y/y|(vs\.?|versus|compared (to|with)|against) (the )?same (period|quarter|month|time) "
         r"(last|a|the previous|the prior|one) year|(vs\.?|versus|compared (to|with)|than) a year (earlier|ago|before))\b", "previous_year"),
        (rf"\b{joiner}\s+(the\s+)?(previous|prior|preceding|last)\s+year\b", "previous_year"),
        (rf"\b{joiner}\s+(the\s+)?(previous|prior|preceding|last)\s+(period|month|quarter|week|half)\b", "previous_period"),
        (rf"\b{joiner}\s+(the\s+)?(previous|prior|preceding)( one| period)?\b", "previous_period"),
        (rf"\b{joiner}\s+(the\s+)?(one|period|month|quarter|week) before\b", "previous_period"),
        (r"\b(vs\.?|versus|compared (to|with)|against|than) an? (month|quarter|week) (earlier|ago|before)\b", "previous_period"),
        (r"\b(quarter[\s-]over[\s-]quarter|qoq|q/q|period[\s-]over[\s-]period|sequential(ly)?)\b", "previous_period"),
    ]
    for pattern, how in patterns:
        m = re.search(pattern, text)
        # "NRR over last year" and "how much did MRR grow over the previous quarter" name a period;
        # "expansion up over last quarter" compares with it.
        if m and m.group(0).startswith("over") and (re.match(r"over\s+the\s+last", m.group(0)) or not CHANGE_WORDS.search(text)):
            continue
        if m:
            return how, (text[:m.start()] + " " + text[m.end():]).strip()
    return None, text


CHANGE_WORDS = re.compile(r"\b(increase\w*|decrease\w*|chang\w*|up|down|better|worse|improv\w*|declin\w*|"
                          r"rise|rose|fell|fall|drop\w*)\b")  # growth is a metric of its own (mrr_growth_rate)


def _asks_change(text: str) -> bool:
    return bool(re.search(r"\bhow (did|has|have) .* (change|changed|move|moved|develop|evolve|trend)|\b(change|changes|changed) in\b|"
                          r"\b(go|went|gone) (up|down)\b|\b(increase|decrease|rise|fall|drop|improve|worsen)(d|s)?\b.*\b(compared|vs|from)", text))


def _default_flow_span(ctx: Context) -> TimeSpan:
    """With no period given: the most recent complete month."""
    as_of = ctx.as_of
    if as_of == month_end(as_of):
        return unit_span("month", 0, as_of)
    return unit_span("month", 1, as_of)


def _main_span(metrics: list[str], spans: list[TimeSpan], ctx: Context) -> tuple[TimeSpan, list[str]]:
    as_of = ctx.as_of
    only_points = all(m in POINT_METRICS for m in metrics)
    if spans:
        span = spans[0]
        if span.point and span.unit == "day" and not only_points and not all(m in RETENTION for m in metrics):
            return span, []  # an explicit date: that day's movements
        if span.point and not only_points:
            if all(m in RETENTION for m in metrics):
                return trailing(12, "month", span.end), [f"NRR-style rates need a period: used the trailing 12 months to {span.end}"]
            return (_month_containing(span.end, ctx),
                    [f"{', '.join(metrics)} needs a period: used the month to {span.end.isoformat()}"])
        return span, []
    if only_points:
        return TimeSpan(as_of, as_of, as_of.isoformat(), point=True, unit="day"), []
    if all(m in RETENTION for m in metrics):
        span = trailing(12, "month", as_of)
        return span, [f"no period given: used {describe(span)}"]
    span = _default_flow_span(ctx)
    return span, [f"no period given: used {describe(span)}"]


def _month_containing(day: date, ctx: Context) -> TimeSpan:
    start = day.replace(day=1)
    return TimeSpan(start, day, unit_label(start, day, "month") if day == month_end(day) else f"{start.isoformat()} to {day.isoformat()}",
                    unit="month")


def _as_range(span: TimeSpan, ctx: Context) -> TimeSpan:
    """A summary of a single day means the month up to it."""
    return _month_containing(span.end, ctx) if span.point else span


def _frame_span(frame: Frame | None, ctx: Context) -> TimeSpan | None:
    if not frame or "start" not in frame.args:
        return None
    start, end = date.fromisoformat(str(frame.args["start"])), date.fromisoformat(str(frame.args["end"]))
    unit = unit_of(start, end)
    return TimeSpan(start, end, unit_label(start, end, unit), point=start == end, unit=unit)


def _outside_data(span: TimeSpan, ctx: Context) -> list[str]:
    if ctx.first_date and span.end < ctx.first_date:
        return [f"the data starts on {ctx.first_date.isoformat()}, after this period, so there is nothing to count yet"]
    if ctx.first_date and span.start < ctx.first_date:
        return [f"the data starts on {ctx.first_date.isoformat()}; earlier days count as no revenue"]
    return []


KNOWN_CAPITALS = {"mrr", "arr", "nrr", "grr", "ltv", "arpa", "arpu", "cac", "ttm", "ltm", "ytd", "mtd", "qtd", "usd", "eur",
                  "gbp", "fx", "saas", "fy", "what", "how", "which", "who", "show", "give", "list", "i", "we", "our"}


def _unmatched_names(question: str, vocab: Vocabulary, words: list[str], used: set[int]) -> list[str]:
    """Capitalised words after "for", "in", "from" that name nothing in the data ("MRR for Acme"):
    the answer covers everyone, so say so instead of answering as if they had been found."""
    found = []
    taken = {words[i] for i in used}  # words read as a value, misspelt or not ("Germny" as DE)
    for m in re.finditer(r"\b(?:for|in|from|at|of|by)\s+((?:[A-Z][\w&'.-]*\s?){1,4})", question):
        name = m.group(1).strip()
        tokens = normalize(name).split()
        if not tokens or all(t in KNOWN_CAPITALS or t in MONTH_WORDS or t in vocab.metric_words or t in vocab.known_words
                             or t in taken or re.fullmatch(r"q[1-4]|h[12]|fy\d*|\d+|[a-z]", t) for t in tokens):
            continue
        found.append(f"nothing in the data is called '{name}', so this is for all customers")
    return found


# ---- breakdowns, filters, grain, ranking -------------------------------------------------------
def _group_by(text: str, words: list[str], vocab: Vocabulary, metric_matches: list[Match]) -> tuple[list[str], tuple | None]:
    dims: list[str] = []
    rank = None
    for m in vocab.dimensions(words):
        before = " ".join(words[max(0, m.start - 4):m.start])
        if m.key == "name":
            continue  # customers are listed by the customers tool
        if re.search(r"\b(by|per|across|each|every|split|broken down|break(ing)? (it |that |this )?down|segmented|grouped|group|"
                     r"breakdown|within|for all|for the different|between)( the| our| their| all)?$", before):
            dims.append(m.key)
        elif re.search(r"\bwhich( is| are| was| were)?( the| our)?( \w+)?$", before) or \
                re.search(r"\bwhat$", before) or \
                (re.search(r"\bwhat( is| are| was| were)?( the| our)?( \w+)?$", before) and re.search(rf"\b({MORE[1:-1]}|{LESS[1:-1]})\b", text)) or \
                re.search(r"\b(top|bottom)( \w+)?$", before) or re.search(rf"\b({MORE[1:-1]}|{LESS[1:-1]})( \w+ing)?$", before):
            dims.append(m.key)
            descending = not re.search(rf"\b{LESS}\b", text) or (re.search(r"\bworst\b", text) and _bad_metric(metric_matches))
            limit = _top_n(text)
            rank = (bool(descending), limit)
    if rank is None and dims and re.search(rf"\b(rank|ranked|ranking|sort|sorted)\b|\b{MORE}\b|\b{LESS}\b", text) and \
            re.search(r"\b(which|what|top|bottom|rank)\b", text):
        descending = not re.search(rf"\b{LESS}\b", text)
        rank = (bool(descending), _top_n(text))
    return list(dict.fromkeys(dims)), rank


def _missing_breakdown(words: list[str], vocab: Vocabulary) -> list[str]:
    """"MRR by segment" on data without a segment column: say so rather than answer as if split."""
    said = []
    named = {i for m in vocab.dimensions(words) for i in range(m.start, m.end)}  # words the data's columns answer to
    for i, word in enumerate(words[1:], 1):
        dim = DIMENSION_OF_WORD.get(word)
        if words[i - 1] in ("by", "per", "across", "each") and dim and dim not in vocab.dimension_phrases and i not in named:
            columns = ", ".join(d for d in vocab.dimension_phrases if d != "name") or "none"
            said.append(f"this data has no {dim} column, so this is not split by {dim} (the columns it has: {columns})")
    return said


def _bad_metric(matches: list[Match]) -> bool:
    return any(m.key in BAD_WHEN_HIGH or m.key == "?churn" for m in matches)


def _top_n(text: str) -> int | None:
    m = re.search(r"\b(top|bottom|best|worst|largest|biggest|smallest)\s+(\d+|" + "|".join(NUMBER_WORDS) + r")\b", text)
    if m:
        return int(m.group(2)) if m.group(2).isdigit() else NUMBER_WORDS[m.group(2)]
    return None


TIME_WORDS = set(MONTH_WORDS) | set(GRAIN_WORDS) | {
    "last", "this", "next", "previous", "prior", "current", "quarters", "months", "years", "weeks", "days", "today",
    "yesterday", "ytd", "qtd", "mtd", "ttm", "ltm", "q1", "q2", "q3", "q4", "h1", "h2", "fy", "trailing", "since", "to", "date"}
NEGATION = re.compile(
    r"\b(excluding|exclude|excludes|excl|except|without|not|non|other than|outside( of)?|apart from|besides|ex|"
    r"leaving out|leave out|minus|ignoring|ignore|but not)( \w+){0,2}$")


def _filters(words: list[str], original: str, vocab: Vocabulary) -> tuple[list[dict], tuple | None, set[int]]:
    """Filters named in the question, a comparison of two values of one dimension ("Enterprise
    vs SMB"), and the word positions the values took."""
    text = " ".join(words)
    chosen: dict[tuple[str, str], list[str]] = {}
    used: set[int] = set()
    dims_named = {m.key: m for m in vocab.dimensions(words)}
    matches = best_values(vocab.values(words, original))
    kept = []
    for m in matches:
        dim, value = m.key.split("=", 1)
        if dim == "name" and all(w in vocab.metric_words or w in TIME_WORDS or w.isdigit() for w in m.phrase.split()):
            continue  # a customer called "Expansion Revenue" or "Last Quarter" never changes what is asked
        if m.weak:
            # A common word ("paid") is a value only next to its dimension ("the paid channel"),
            # or, if it can't describe a customer's state, before a word for customers ("software companies").
            named = dims_named.get(dim)
            beside_dimension = named and (0 <= named.start - m.end <= 1 or 0 <= m.start - named.end <= 2)
            kind_word = m.phrase not in STATE_WORDS and m.phrase not in vocab.metric_words
            before_customers = kind_word and m.end < len(words) and words[m.end] in CUSTOMER_NOUNS
            # Written as the data writes it after "for"/"in" ("NRR for Software"): a name, not a word.
            as_named = kind_word and re.search(rf"\b(for|in|from|among|within)\s+(the\s+)?{re.escape(value)}\b", original)
            if not (beside_dimension or before_customers or as_named):
                continue
        kept.append(m)
        used |= set(range(m.start, m.end))
        before = " ".join(words[max(0, m.start - 4):m.start])
        chosen.setdefault((dim, "ne" if NEGATION.search(before) else "eq"), []).append(value)
    versus = None
    for a, b in zip(kept, kept[1:]):
        between = " ".join(words[a.end:b.start])
        if a.key.split("=")[0] == b.key.split("=")[0] and re.fullmatch(r"(customers |accounts )?(vs|versus|compared (to|with)|against|or)", between):
            dim = a.key.split("=")[0]
            versus = (dim, [a.key.split("=", 1)[1], b.key.split("=", 1)[1]])
            chosen.pop((dim, "eq"), None)
    for first, plans in vocab.plan_families.items():
        m = re.search(rf"\b{re.escape(first)} (plan|plans|tier|customers on)\b|\b(plan|tier) {re.escape(first)}\b|\bon (the )?{re.escape(first)}\b", text)
        if m and not any(d == "plan" for d, _ in chosen):
            chosen[("plan", "eq")] = plans
            position = len(text[:m.start()].split())
            used |= set(range(position, position + len(m.group(0).split())))
    filters = []
    for (dim, op), values in chosen.items():
        values = list(dict.fromkeys(values))
        if len(values) > 1:
            op = "in" if op == "eq" else "not_in"
        filters.append({"dimension": dim, "op": op, "values": values})
    return filters, versus, used


CUSTOMER_NOUNS = {"customers", "customer", "companies", "company", "businesses", "business", "firms", "firm", "clients",
                  "client", "accounts", "account", "logos", "players", "brands", "organisations", "organizations"}
# Words that say what state a customer is in rather than what kind it is ("paid customers" are paying ones).
STATE_WORDS = {"paid", "free", "new", "active", "trial", "other", "none", "unknown", "all", "any", "monthly", "annual",
               "yearly", "quarterly", "basic", "standard", "premium", "pro", "plus"}


def best_values(matches: list[Match]) -> list[Match]:
    """Non-overlapping value mentions, longest and most exact first."""
    chosen: list[Match] = []
    for m in sorted(matches, key=lambda m: (-(m.end - m.start), -m.score, m.start)):
        if all(m.end <= c.start or m.start >= c.end for c in chosen):
            chosen.append(m)
    return sorted(chosen, key=lambda m: m.start)


def _grain(text: str) -> str | None:
    m = re.search(r"\b(by|per|each|every|for each|for every)\s+(day|week|month|quarter|year)\b", text)
    if m:
        return GRAIN_WORDS[m.group(2)]
    m = re.search(r"\b(daily|weekly|monthly|quarterly|yearly|annually)\b(?!\s+(recurring|plan|billing|price|subscription|churn|revenue))", text)
    if m and not re.search(r"\bmonthly (customer )?churn\b", text):
        return GRAIN_WORDS[m.group(1)]
    if re.search(r"\b(month over month|month by month|mom)\b", text):
        return "month"
    if re.search(r"\b(over time|trend|trends|trending|history|historical|time series|evolution|evolve)\b", text):
        return "auto"
    return None


def _fit_grain(reading: Reading, text: str) -> None:
    """A grain is kept only when the period spans more than one of its units."""
    span = reading.span
    if reading.grain == "auto":
        days = (span.end - span.start).days
        reading.grain = "week" if days <= 62 else "month" if days <= 800 else "quarter"
    if reading.grain and span:
        if len(split(span.start, span.end, reading.grain)) <= 1:
            reading.grain = None


# ---- other intents -------------------------------------------------------------------------
def _customers(text, ctx, frame, metrics, spans, filters) -> Reading:
    movement = None
    for pattern, kind in CUSTOMER_MOVEMENTS:
        if re.search(pattern, text):
            movement = kind
            break
    by_metric = re.search(r"\bby (\w+ ){0,2}(mrr|arr|revenue|size|spend)\b|\b(biggest|largest|top|smallest)\b", text) and not movement
    if metrics and not movement:
        movement = MOVEMENT_OF.get(metrics[0])
    if movement is None and frame:
        previous = frame.args.get("metrics", [frame.args.get("metric")])[0] if frame.tool != "list_customers" else None
        movement = frame.args.get("movement") or MOVEMENT_OF.get(previous or "", None)
    if by_metric or movement is None:
        movement = "mrr"
    present = movement == "mrr" and _asks_for_now(text, ["mrr"])  # "who is our largest customer?": today
    span = spans[0] if spans else (_frame_span(frame, ctx) if frame and not present else None)
    if span is None:
        span = TimeSpan(ctx.as_of, ctx.as_of, ctx.as_of.isoformat(), point=True) if movement == "mrr" else _default_flow_span(ctx)
    if movement != "mrr":
        span = _as_range(span, ctx)
    if not filters and frame and frame.args.get("filters"):
        filters = [dict(f) for f in frame.args["filters"]]
    single = bool(TOP_CUSTOMER.search(text)) and _top_n(text) is None
    limit = 1 if single else _top_n(text) or (10 if movement == "mrr" else 20)
    descending = not re.search(rf"\b{LESS}\b", text)
    return Reading("customers", movement=movement, span=span, filters=filters, limit=limit, rank=(descending, limit),
                   single=single)


def _calculator(text: str, ctx: Context) -> Reading | None:
    if not re.search(r"\b(if|would|suppose|supposing|assum\w+|hypothetical\w*|calculate|with|at)\b", text):
        return None
    numbers = [float(n.replace(",", "")) for n in re.findall(r"\$?\b(\d[\d,]*(?:\.\d+)?)\b", text)]
    if re.search(r"\b(ltv|lifetime value|clv|cltv)\b", text) or re.search(r"\b(arpa|arpu)\b", text) and re.search(r"\bchurn", text):
        arpa = re.search(r"\b(arpa|arpu|arpc|average revenue per \w+)\b\D{0,20}?\$?(\d[\d,]*(?:\.\d+)?)|\$?(\d[\d,]*(?:\.\d+)?)\s*(usd|dollars)?\s*(arpa|arpu)", text)
        churn = re.search(r"(\d+(?:\.\d+)?)\s*(%|percent)\s*(monthly\s+)?(customer\s+|logo\s+)?churn|churn\D{0,25}?(\d+(?:\.\d+)?)\s*(%|percent)", text)
        margin = re.search(r"(\d+(?:\.\d+)?)\s*(%|percent)\s*(gross\s+)?margin|margin\D{0,15}?(\d+(?:\.\d+)?)\s*(%|percent)?", text)
        # What the user gives; what they leave out ("if churn dropped to 2%") is the data's own.
        args = {"on": ctx.as_of.isoformat()}
        if arpa:
            args["arpa"] = float((arpa.group(2) or arpa.group(3)).replace(",", ""))
        if churn:
            args["monthly_churn_rate"] = float(churn.group(1) or churn.group(5))
        if margin:
            value = float(margin.group(1) or margin.group(4))
            args["gross_margin"] = value / 100 if value > 1 else value
        if len(args) > 1:
            return Reading("calculate_ltv", calc=args)
    if re.search(r"\b(mrr|arr|revenue)\b", text) and re.search(r"\b(customers?|accounts?|seats?|users?)\b", text) and len(numbers) >= 2:
        count = re.search(r"(\d[\d,]*)\s+(new\s+)?(customers?|accounts?)", text)
        price = re.search(r"(?:\$|at\s+|paying\s+|for\s+)(\d[\d,]*(?:\.\d+)?)", text)
        if count and price:
            interval = "year" if re.search(r"\b(a|per|/) ?year|annual|yearly\b", text) else \
                "quarter" if re.search(r"\b(a|per) quarter|quarterly\b", text) else "month"
            seats = re.search(r"(\d+)\s+(seats?|users?|licenses?)", text)
            args = {"price": float(price.group(1).replace(",", "")), "customers": int(count.group(1).replace(",", "")),
                    "interval": interval, "report": "arr" if re.search(r"\barr\b|annual recurring", text) else "mrr"}
            if seats:
                args["quantity"] = float(seats.group(1))
            return Reading("calculate_mrr", calc=args)
    return None


def _clarify(ambiguous: str, ctx: Context, spans: list[TimeSpan], filters: list[dict]) -> Reading:
    options = AMBIGUOUS[ambiguous]
    span = spans[0] if spans else None
    when = (f" {_span_phrase(span)}" if span else "") + scope(filters)  # each option is a question of its own
    labels = [ctx.catalog.get(m).label for m in options]
    word = ambiguous.strip("?")
    question = f"Which {word} do you mean{when}?"
    return Reading("clarify", clarification=(question, [f"{label}{when}" for label in labels]))


def scope(filters: list[dict] | None) -> str:
    """The filters an answer is limited to, in words (" for segment Enterprise and country DE")."""
    if not filters:
        return ""
    parts = []
    for f in filters:
        values = ", ".join(f["values"])
        f = {**f, "dimension": "customer" if f["dimension"] == "name" else f["dimension"]}
        parts.append({"eq": f"{f['dimension']} {values}", "in": f"{f['dimension']} in {values}",
                      "ne": f"{f['dimension']} other than {values}", "not_in": f"{f['dimension']} not in {values}"}[f["op"]])
    return " for " + " and ".join(parts)


def _span_phrase(span: TimeSpan) -> str:
    if span.unit in ("month", "quarter", "year", "half") and "to date" not in span.label:
        return f"in {span.label}"
    if span.point:
        return f"on {span.start.isoformat()}"
    return f"from {span.start.isoformat()} to {span.end.isoformat()}"


# ---- follow-ups ----------------------------------------------------------------------------
def _answer_to_clarification(question: str, ctx: Context, frame: Frame) -> Reading:
    """A reply to a clarifying question: an option's number, an option, or a short answer that
    keeps the period and filters of the question that was asked."""
    options = frame.args.get("options", [])
    choice = question.strip().rstrip(".)")
    if choice.isdigit() and 1 <= int(choice) <= len(options):
        return read(options[int(choice) - 1], ctx)
    # The clarifying question states the period and filters it was asked for ("Which churn do you
    # mean in Q1 2026 for segment Enterprise?"); the question before it may not ("and churn?").
    asked = frame.args.get("question") or frame.args.get("asked", "")
    reading = read(question, ctx)
    if reading.intent != "metrics":
        return reading
    merged = read(f"{question} {asked}", ctx)
    if merged.intent == "metrics" and merged.metrics and set(reading.metrics) <= set(merged.metrics):
        merged.metrics = reading.metrics
        return merged
    return reading



FOLLOW_UP_START = re.compile(
    r"^(and|what about|how about|same|now|ok|okay|also|then|but|break|split|show|only|just|compare|vs|versus|"
    r"for|in|by|per|which|who|why|what drove|drill|zoom|excluding|without|except|the (quarter|month|year|week|period)|"
    r"previous|prior|last|monthly|quarterly|weekly|over time|as a)\b"
)


def _is_follow_up(text: str, metrics: list[str], ambiguous: str | None, carries: bool) -> bool:
    """Whether the question builds on the previous one. A question with no metric must carry
    something to change (a period, filter, breakdown, grain, comparison) or point back to the
    last answer: anything else ("asdf", "what is 2+2") is not about the last answer at all."""
    if re.search(r"\b(that|it|this|those|these|same|them|the previous one)\b", text) and not metrics:
        return True
    if FOLLOW_UP_START.search(text) and (not metrics or len(text.split()) <= 5):
        return True
    return not metrics and not ambiguous and carries


# "who were they?", "who drove it?": the customers behind the last answer.
WHO_WERE_THEY = re.compile(
    r"\b(which|what|who) (customers|accounts|clients|companies)\b|\bwho (were|are|was|is) (they|them|those|these|it|that)\b|"
    r"\bwho\b.*\b(drove|drive|driving|behind|responsible|contributed|caused)\b|\bdr[io]ve (it|that|this)\b|\bwhat drove\b")
HOW_MANY_OF_THAT = re.compile(
    r"\bhow many( \w+)?( customers| accounts| logos| clients| companies)? (was|were|is|are|did|does) (that|those|they|it|this|these)\b|"
    r"\bhow many (customers|accounts|logos|clients|companies) (was|were|is) (that|those|it|this)\b|"
    r"\b(number|count) of (customers|accounts|logos)( behind| in)? (that|those|it|this)\b")
COUNT_OF = {"new_mrr": "new_customers", "new": "new_customers", "churned_mrr": "churned_customers", "churn": "churned_customers",
            "customer_churn_rate": "churned_customers", "reactivation_mrr": "reactivated_customers",
            "reactivation": "reactivated_customers"}


def _count_of_previous(text: str, frame: Frame | None) -> str | None:
    """"How many customers was that?" after a movement: that movement's count (after a count,
    the same count)."""
    previous = _previous_subject(text, frame)
    return previous if previous in COUNT_OF.values() else COUNT_OF.get(previous or "")


def _previous_subject(text: str, frame: Frame | None) -> str | None:
    """What "that" in "how many customers was that?" points at: the last metric or movement."""
    if frame is None or not HOW_MANY_OF_THAT.search(text):
        return None
    return frame.args.get("movement") if frame.tool == "list_customers" else (frame.args.get("metrics") or [None])[0]


# Words any question may hold; with the data's own words, what is left of a question is off the subject.
PLAIN_WORDS = set("""
a about above across after again against all also am an and any are around as at be been before being below between both
but by can could did do does doing done down during each either else ever every few for from get gets getting give go
going got had has have having he her here how i if in into is it its just know let like many me more most much my need
no not now of off on once one only or other our ours out over own please per same say see she should show so some such
tell than thank thanks that the their them then there these they this those through to too under until up us very want
was we were what when where which while who whom why will with would you your yours
customer customers account accounts client clients company companies business businesses logo logos user users
subscriber subscribers subscription subscriptions money dollars revenue recurring monthly annual total amount number
count much many sum value big biggest large largest small top bottom best worst most least high highest low lowest
increase decrease change changed grow grew lose lost win won gain gained add added sign signed signup join joined left
leave return returned come came back doing done overall rate percent percentage share ratio average mean
compare compared comparison versus previous prior preceding next following period periods earlier later ago since
last past trailing rolling current today yesterday date break breakdown split drill zoom only just exclude excluding
except without instead again repeat same
""".split())


def _unknown_words(words: list[str], vocab: Vocabulary) -> list[str]:
    return [w for w in words if len(w) >= 3 and not w.isdigit() and w not in PLAIN_WORDS and w not in vocab.metric_words
            and w not in vocab.known_words and w not in MONTH_WORDS and w not in GRAIN_WORDS
            and w.rstrip("s") not in GRAIN_WORDS]


def _asks_for_now(text: str, metrics: list[str]) -> bool:
    """A stock asked in the present tense ("what is our MRR?") means today, whatever came before."""
    return bool(metrics) and all(m in STOCKS for m in metrics) and \
        bool(re.search(r"\b(is|are|do|does|have|has)\b", text)) and not re.search(r"\b(was|were|did|had|then)\b", text)


def _follow_up(text, shift_text, ctx, frame, metrics, spans, filters, group_by, grain, compare) -> Reading | None:
    args = frame.args
    if frame.tool == "describe_metric":
        if not metrics and not spans:
            return None
        metrics = metrics or [args["metric"]]
        frame_metrics = metrics
    else:
        frame_metrics = list(args.get("metrics") or [])
    if frame.tool == "mrr_bridge" and not metrics:
        span = spans[0] if spans else _shifted(shift_text, _frame_span(frame, ctx)) or _frame_span(frame, ctx)
        return Reading("bridge", span=_as_range(span, ctx), filters=filters or [dict(f) for f in args.get("filters", [])])
    if frame.tool == "list_customers" and not metrics:
        movement = args["movement"]
        frame_metrics = [next((m for m, mv in MOVEMENT_OF.items() if mv == movement and not m.endswith("customers")), "mrr")]
    if not frame_metrics and not metrics:
        return None
    base = _frame_span(frame, ctx)
    shifted = _shifted(shift_text, base)
    if not (metrics or spans or filters or group_by or grain or compare or shifted or _top_n(text) or
            re.search(r"\b(all|every|overall|total|whole|entire|everyone|everything|again|repeat|same|compare|compared|"
                      r"comparison|vs|versus|change|that|it|this)\b", text)):
        return None  # nothing in it builds on the last answer
    reading = Reading("metrics", metrics=metrics or frame_metrics)
    if spans:
        reading.span = spans[0]
        if len(spans) > 1:
            reading.compare = spans[1]
    else:
        reading.span = shifted or base
    if reading.span is None:
        reading.span, reading.notes = _main_span(reading.metrics, [], ctx)
    elif reading.span.point and not all(m in POINT_METRICS for m in reading.metrics):
        reading.span, reading.notes = _main_span(reading.metrics, [reading.span], ctx)
    keep_filters = [dict(f) for f in args.get("filters", []) if f["dimension"] not in {g["dimension"] for g in filters}]
    if re.search(r"\b(all|every|overall|total|whole|entire|everyone|everything)\b", text) and not filters:
        keep_filters = []
    reading.filters = keep_filters + filters
    reading.group_by = group_by or ([] if re.search(r"\b(overall|total|in total|altogether)\b", text) else list(args.get("group_by", [])))
    reading.grain = grain or (None if spans else args.get("grain"))
    reading.compare = compare or reading.compare
    if reading.compare is None and re.search(r"\b(compare|compared|comparison|vs|versus|change)\b", text):
        reading.compare = "previous_year" if re.search(r"\byear\b", text) else "previous_period"
    reading.compare = _on_a_day(reading.span, reading.compare, text)
    if reading.group_by and (_top_n(text) or re.search(rf"\b{MORE}\b|\b{LESS}\b", text)):
        reading.rank = (not re.search(rf"\b{LESS}\b", text), _top_n(text))  # "top 3", "and the least?"
    elif args.get("order_by") and reading.group_by:
        reading.rank = (args.get("descending", True), args.get("limit"))
    _fit_grain(reading, text)
    return reading


def _shifted(text: str, base: TimeSpan | None) -> TimeSpan | None:
    """'the quarter before', 'the previous one', 'a year earlier' relative to the previous period."""
    if base is None:
        return None
    if re.search(r"\b(year (before|earlier|ago|prior)|same (period|quarter|month) (last|a) year|previous year|prior year|a year ago)\b", text):
        return shift(base, "previous_year")
    if re.search(r"\b(before|previous|prior|preceding|earlier)\b", text):
        return shift(base, "previous_period")
    if re.search(r"\b(after|next|following|later)\b", text):
        moved = shift(base, "previous_period")
        length = base.start - moved.start
        start, end = base.start + length, base.end + length
        return TimeSpan(start, end, unit_label(start, end, base.unit), point=base.point, unit=base.unit)
    return None
