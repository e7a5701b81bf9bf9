"""Checking that every number an LLM writes comes from a tool result (or the question)."""

import math
import re
from collections.abc import Iterable

NUMBER = re.compile(r"(?<![\w.])[-+]?\$?(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?\s*(k|K|m|M|bn|%)?(?![\w])")
SCALE = {"k": 1e3, "K": 1e3, "m": 1e6, "M": 1e6, "bn": 1e9}


def numbers_in(value) -> Iterable[float]:
    """Every number inside a tool artifact or argument (dates give their parts)."""
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, (int, float)):
        if math.isfinite(value):
            yield float(value)
    elif isinstance(value, str):
        for m in re.finditer(r"\d+(?:\.\d+)?", value):
            yield float(m.group(0))
    elif isinstance(value, dict):
        for v in value.values():
            yield from numbers_in(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from numbers_in(v)


def ungrounded(text: str, sources: list) -> list[str]:
    """Numbers in `text` that match no number of the sources at the precision they are written."""
    known = sorted(set(numbers_in(sources)))
    flagged = []
    for m in NUMBER.finditer(text):
        whole, decimals, suffix = m.group(1).replace(",", ""), m.group(2) or "", m.group(3)
        value = float(whole + decimals)
        if value <= 31 and not decimals and suffix is None:
            continue  # days, months, small counts and list numbers
        scale = SCALE.get(suffix, 1)
        shown = value * scale
        step = (10 ** -(len(decimals) - 1) if decimals else 1) * scale
        if not any(abs(abs(k) - shown) <= step / 2 + 1e-9 * max(1, abs(k)) for k in known):
            flagged.append(m.group(0).strip())
    return flagged
