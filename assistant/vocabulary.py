"""What the offline planner can recognise in a question: metric phrases from the catalog,
dimension names and the dimension values of the loaded data (with country names and common
aliases), matched exactly or, for longer phrases, despite misspellings (rapidfuzz)."""

import re
from dataclasses import dataclass, field

import pycountry
from rapidfuzz import fuzz
from rapidfuzz.distance import OSA

from semantic_layer.catalog import Catalog

# Words that name a metric only loosely; they count when nothing more specific matched.
WEAK_PHRASES = {
    "customers": ["customers", "customer", "accounts", "logos", "clients", "subscribers", "customer base"],
    "mrr": ["revenue", "recurring revenue", "monthly revenue", "income"],
    "mrr_growth_rate": ["growth", "grow", "grew", "growing"],
    "?churn": ["churn", "churned", "attrition", "cancellations", "churning"],
    "?retention": ["retention", "retained", "retain"],
}
# Ambiguous words and the metrics a clarifying question offers for them.
AMBIGUOUS = {
    "?churn": ["churned_mrr", "customer_churn_rate", "churned_customers"],
    "?retention": ["nrr", "grr", "customer_churn_rate"],
}

DIMENSION_WORDS = {
    "country": ["country", "countries", "nation", "nations", "geo", "geography", "geographies", "market", "markets",
                "region", "regions", "location", "locations"],
    "segment": ["segment", "segments", "customer segment", "customer segments", "company size", "customer size", "size"],
    "channel": ["channel", "channels", "acquisition channel", "acquisition channels", "source", "sources",
                "lead source", "lead sources", "marketing channel", "marketing channels", "acquisition source"],
    "industry": ["industry", "industries", "vertical", "verticals", "sector", "sectors"],
    "plan": ["plan", "plans", "pricing plan", "pricing plans", "price plan", "tier", "tiers", "package", "packages"],
    "product": ["product", "products", "product line", "product lines"],
    "currency": ["currency", "currencies", "billing currency"],
    "name": ["customer", "customers", "account", "accounts", "client", "clients", "company", "companies", "logo", "logos"],
}
COUNTRY_ALIASES = {
    "US": ["usa", "america", "united states", "the states"],
    "GB": ["uk", "u k", "britain", "great britain", "england", "united kingdom"],
    "DE": ["germany", "german"], "FR": ["france", "french"], "CA": ["canada", "canadian"],
    "AU": ["australia", "australian"], "NL": ["netherlands", "holland", "dutch"], "ES": ["spain", "spanish"],
    "IT": ["italy", "italian"], "IE": ["ireland", "irish"], "JP": ["japan", "japanese"], "IN": ["india", "indian"],
    "BR": ["brazil", "brazilian"], "MX": ["mexico", "mexican"], "SE": ["sweden", "swedish"],
    "CH": ["switzerland", "swiss"], "IL": ["israel", "israeli"], "SG": ["singapore", "singaporean"],
}
# Shorthand for common segment names, used where the data has such a value.
VALUE_ALIASES = {
    "enterprise": ["ent", "enterprises", "large enterprise", "large enterprises"],
    "mid market": ["mm", "midmarket", "mid mkt", "mid size", "midsize", "mid sized", "midsized", "mid tier"],
    "smb": ["smbs", "small business", "small businesses", "sme", "smes", "small and medium businesses"],
}
# Plans named with their billing term ("Growth annual") also form a family by that term ("annual plans").
BILLING_TERMS = {"monthly": ["monthly"], "annual": ["annual", "yearly"], "yearly": ["yearly", "annual"],
                 "quarterly": ["quarterly"]}
CURRENCY_ALIASES = {"USD": ["us dollars", "us dollar"], "EUR": ["euro", "euros"],
                    "GBP": ["pound", "pounds", "sterling", "british pounds"]}
# Common words that, as a dimension value, need their dimension named next to them ("paid channel").
COMMON_WORDS = {
    "paid", "free", "new", "other", "none", "unknown", "active", "basic", "pro", "plus", "standard", "team",
    "scale", "growth", "starter", "premium", "business", "monthly", "annual", "yearly", "quarterly", "trial",
    "direct", "online", "media", "software", "travel", "energy", "us", "in", "it", "at", "no", "be", "me", "is",
    "to", "do", "so", "an", "as", "by", "of", "on", "or", "we", "my", "go", "id", "if", "up", "all", "any",
}


CONTRACTIONS = {"what's": "what is", "how's": "how is", "it's": "it is", "that's": "that is", "who's": "who is",
                "where's": "where is", "we've": "we have", "didn't": "did not", "don't": "do not", "isn't": "is not",
                "wasn't": "was not", "aren't": "are not", "haven't": "have not"}


# Question words typed in a hurry; read as meant so that "wat is NRR" asks for a definition.
QUESTION_SLIPS = {"whats": "what is", "wats": "what is", "wat": "what", "wht": "what", "waht": "what", "whta": "what",
                  "hw": "how", "hwo": "how", "hows": "how is", "whos": "who is", "wich": "which", "whcih": "which",
                  # and business shorthand
                  "biz": "business", "rev": "revenue", "cust": "customer", "custs": "customers", "acct": "account",
                  "accts": "accounts", "avg": "average", "num": "number", "pct": "percent", "amt": "amount",
                  "exp": "expansion", "seg": "segment", "ent": "enterprise"}


def normalize(text: str) -> str:
    """Lower case, contractions and hurried question words expanded, punctuation out, hyphens
    and slashes to spaces, "add-on" as one word."""
    text = text.lower().replace("’", "'")
    for short, long in CONTRACTIONS.items():
        text = text.replace(short, long)
    text = text.replace("'s ", " ").replace("s' ", "s ").replace("%", " percent ")
    text = re.sub(r"[-/_]", " ", text)
    text = re.sub(r"\badd ons?\b", lambda m: "addons" if m.group(0).endswith("s") else "addon", text)
    text = re.sub(r"[^a-z0-9%.$€£ ]+", " ", text)
    text = re.sub(r"(?<![0-9])\.|\.(?![0-9])", " ", text)
    return " ".join(QUESTION_SLIPS.get(word, word) for word in text.split())


def tokens(text: str) -> list[str]:
    return normalize(text).split()


@dataclass(frozen=True)
class Match:
    key: str  # metric name, "?churn", dimension name or "dim=value"
    start: int  # token span in the question
    end: int
    score: float
    phrase: str
    weak: bool = False


def _stem(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") else word


def token_score(window: list[str], phrase: list[str]) -> float:
    """The weakest word-by-word similarity: a misspelt word passes, a different word does not.
    Words of four letters allow one slip, shorter ones none (plural -s aside); a longer form
    of a word ("organically" for "organic") passes."""
    worst = 100.0
    for got, want in zip(window, phrase):
        if got == want:
            continue
        if _stem(got) == _stem(want):
            worst = min(worst, 99.0)  # the same word in another number
            continue
        if got[:1] != want[:1] or len(want) < 4 or len(got) < 3:
            return 0.0
        if len(want) == 4:
            if OSA.distance(got, want) > 1:
                return 0.0
            worst = min(worst, 80.0)
        elif len(want) >= 5 and got.startswith(want) and len(got) - len(want) <= 4:
            worst = min(worst, 90.0)
        elif len(want) >= 5 and OSA.distance(got, want) == 1:
            worst = min(worst, 92.0)  # one slip or two letters swapped ("Germnay", "untied")
        else:
            worst = min(worst, fuzz.ratio(got, want))
    return worst


def find_phrases(words: list[str], phrases: dict[str, list[tuple[str, bool]]], cutoff: float = 80) -> list[Match]:
    """Every occurrence of a phrase in the token list, word by word exact or (long words) fuzzy."""
    found = []
    for key, entries in phrases.items():
        for phrase, weak in entries:
            wanted = phrase.split()
            size = len(wanted)
            for i in range(len(words) - size + 1):
                window = words[i:i + size]
                score = 100.0 if window == wanted else token_score(window, wanted)
                if score >= cutoff:
                    found.append(Match(key, i, i + size, score, phrase, weak))
    return found


def best_non_overlapping(matches: list[Match]) -> list[Match]:
    """Longest (then most exact, then strong over weak) matches first, no two overlapping."""
    chosen: list[Match] = []
    for m in sorted(matches, key=lambda m: (m.weak, -(m.end - m.start), -m.score, -len(m.phrase), m.start)):
        if all(m.end <= c.start or m.start >= c.end for c in chosen):
            chosen.append(m)
    return sorted(chosen, key=lambda m: m.start)


@dataclass
class Vocabulary:
    metric_phrases: dict[str, list[tuple[str, bool]]]
    joined_phrases: dict[str, list[tuple[str, bool]]]
    dimension_phrases: dict[str, list[tuple[str, bool]]]
    value_phrases: dict[str, list[tuple[str, bool]]]  # "dim=value" -> phrases (weak = needs its dimension named)
    plan_families: dict[str, list[str]] = field(default_factory=dict)  # first word or billing term -> plans
    metric_words: set[str] = field(default_factory=set)
    known_words: set[str] = field(default_factory=set)  # every word of a dimension name or value

    @classmethod
    def build(cls, catalog: Catalog, dimension_values: dict[str, list[str]]) -> "Vocabulary":
        metric_phrases: dict[str, list[tuple[str, bool]]] = {}
        joined: dict[str, list[tuple[str, bool]]] = {}
        loose = {normalize(p) for phrases in WEAK_PHRASES.values() for p in phrases}
        for metric in catalog.metrics.values():
            phrases = {normalize(metric.name), normalize(metric.label), *(normalize(s) for s in metric.synonyms)}
            if metric.unit == "currency":
                # "seat expansion revenue", "upgrade mrr": money words after a money metric's name.
                phrases |= {f"{p} {tail}" for p in phrases for tail in ("mrr", "revenue", "arr")
                            if p.split()[-1] not in ("mrr", "revenue", "arr", "value")}
            metric_phrases[metric.name] = [(p, False) for p in sorted(phrases - loose) if p]
            # Two-word names typed as one ("crosssell", "netnew"); nearly exact only, as a loose
            # match of a glued word ("customerswon") finds plain words.
            joined[metric.name] = [(p.replace(" ", ""), False) for p, _ in metric_phrases[metric.name]
                                   if len(p.split()) == 2 and len(p) >= 7]
        for key, phrases in WEAK_PHRASES.items():
            metric_phrases.setdefault(key, []).extend((normalize(p), True) for p in phrases)
        metric_words = {w for entries in metric_phrases.values() for p, _ in entries for w in p.split()}

        dimension_phrases = {}
        for dim in dimension_values:
            words = DIMENSION_WORDS.get(dim, [dim, dim + "s"])
            dimension_phrases[dim] = [(normalize(w), False) for w in dict.fromkeys([normalize(dim), *words])]

        value_phrases: dict[str, list[tuple[str, bool]]] = {}
        plan_families: dict[str, list[str]] = {}
        for dim, values in dimension_values.items():
            for value in values:
                key = f"{dim}={value}"
                phrase = normalize(value)
                if not phrase:
                    continue
                weak = len(phrase.split()) == 1 and phrase in (metric_words | COMMON_WORDS)
                entries = [(phrase, weak)]
                if dim == "country" or dim.endswith("country"):
                    entries += [(normalize(a), False) for a in _country_names(value)]
                if dim == "currency":
                    entries += [(normalize(a), False) for a in CURRENCY_ALIASES.get(value.upper(), [])]
                entries += [(a, False) for a in VALUE_ALIASES.get(phrase, [])]
                value_phrases[key] = list(dict.fromkeys(entries))
                if dim == "plan" and len(phrase.split()) > 1:
                    plan_families.setdefault(phrase.split()[0], []).append(value)
                    for term in BILLING_TERMS.get(phrase.split()[-1], []):
                        plan_families.setdefault(term, []).append(value)
        known = {w for entries in list(dimension_phrases.values()) + list(value_phrases.values()) for p, _ in entries
                 for w in p.split()}
        return cls(metric_phrases, joined, dimension_phrases, value_phrases, plan_families, metric_words, known)

    def metrics(self, words: list[str]) -> list[Match]:
        return best_non_overlapping(find_phrases(words, self.metric_phrases) + find_phrases(words, self.joined_phrases, 90))

    def dimensions(self, words: list[str]) -> list[Match]:
        return best_non_overlapping(find_phrases(words, self.dimension_phrases, cutoff=88))

    def values(self, words: list[str], original: str) -> list[Match]:
        """Dimension values named in the question (a stricter fuzzy cut than metric words). A short
        code that is also an English word ("US", "IT") counts in the data's own case, and then
        needs no dimension named next to it."""
        raw_tokens = re.sub(r"[^A-Za-z0-9 ]+", " ", original).split()
        found = []
        for m in find_phrases(words, self.value_phrases, cutoff=88):
            dim, value = m.key.split("=", 1)
            if len(m.phrase) <= 3 and m.phrase == normalize(value) and m.phrase in COMMON_WORDS:
                if value not in raw_tokens:
                    continue
                m = Match(m.key, m.start, m.end, m.score, m.phrase, weak=False)
            found.append(m)
        return found


def _country_names(code: str) -> list[str]:
    names = list(COUNTRY_ALIASES.get(code.upper(), []))
    if len(code) in (2, 3):
        country = pycountry.countries.get(alpha_2=code.upper()) if len(code) == 2 else pycountry.countries.get(alpha_3=code.upper())
        if country:
            names += [n for n in (country.name, getattr(country, "common_name", None)) if n]
    return names
