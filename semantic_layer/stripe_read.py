"""Reading Stripe API exports: JSON documents, JSON Lines, or several JSON values in one file.

A file may hold list objects ({"object": "list", "data": [...]}), search results, plain arrays or
single objects, in any mix. Objects are collected by type and de-duplicated by id: of two copies
the one further in its life wins (a paid invoice over its draft), else the one read last (files in
the order given, folders sorted by name). Nothing else is interpreted here; the converter in
`stripe.py` decides what the objects mean.
"""

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ImportProblem, ImportRejected, not_utf8
from .stripe_shape import shape_problems

JSON_SUFFIXES = (".json", ".jsonl", ".ndjson")
LIST_OBJECTS = ("list", "search_result")
# Object types the importer maps, and reference objects that only help it resolve ids.
MAPPED_TYPES = ("invoice", "line_item", "invoiceitem", "subscription", "customer", "credit_note")
REFERENCE_TYPES = ("price", "plan", "product", "coupon", "discount", "tax_rate")

_BLANK = re.compile(r"\s*")
_LINES_URL = re.compile(r"/v1/invoices/([^/?]+)/lines")
_STAGES = {
    "invoice": {"draft": 0, "open": 1, "uncollectible": 2, "paid": 3, "void": 3},
    "subscription": {"incomplete": 0, "trialing": 1, "active": 2, "past_due": 2, "unpaid": 2, "paused": 2,
                     "canceled": 3, "incomplete_expired": 3},
}


@dataclass
class Found:
    obj: dict
    file: str
    line: int  # line of the file where the JSON value holding the object starts
    invoice: str | None = None  # for a line item listed on its own: the invoice its page belongs to


@dataclass
class StripeObjects:
    by_type: dict[str, dict[str, Found]] = field(default_factory=dict)
    duplicates: int = 0
    pages_with_more: int = 0
    last_line_pages: set[str] = field(default_factory=set)  # invoices whose last page of lines was read
    files: list[str] = field(default_factory=list)
    problems: list[ImportProblem] = field(default_factory=list)  # the converter adds its own, then refuses

    def of(self, kind: str) -> dict[str, Found]:
        return self.by_type.get(kind, {})


def read_objects(paths: list[Path]) -> StripeObjects:
    """All Stripe objects in `paths` (files). What cannot be read is collected in `problems`
    (file, line, field), so that one report lists every problem of the import."""
    found = StripeObjects()
    problems = found.problems
    unreadable = False
    for path in paths:
        found.files.append(str(path))
        try:
            values = _json_values(path)
        except ImportRejected as exc:
            problems.extend(exc.problems)
            unreadable = True
            continue
        for value, line in values:
            for obj, invoice in _flatten(value, path.name, line, problems, found):
                unreadable |= not _add(obj, Found(obj, path.name, line, invoice), found, problems)
    if unreadable:
        raise ImportRejected(problems)  # what an unreadable or misshapen object meant is unknown: stop here
    return found


def _json_values(path: Path) -> list[tuple[object, int]]:
    """Every top-level JSON value in the file with the line it starts on: one document, JSON
    Lines, or documents written one after another (e.g. several CLI pages appended)."""
    name = path.name
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise not_utf8(name, exc)
    except OSError as exc:
        raise ImportRejected([ImportProblem(name, None, None, f"cannot be read: {exc.strerror}")])
    decoder = json.JSONDecoder()
    values: list[tuple[object, int]] = []
    pos, line, counted = 0, 1, 0
    while True:
        pos = _BLANK.match(text, pos).end()
        if pos >= len(text):
            break
        line += text.count("\n", counted, pos)
        counted = pos
        try:
            value, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise ImportRejected([ImportProblem(
                name, f"line {exc.lineno}", None,
                f"not valid JSON ({exc.msg} at column {exc.colno}); nothing was imported",
            )])
        values.append((value, line))
    if not values:
        raise ImportRejected([ImportProblem(name, None, None, "the file is empty")])
    return values


def _flatten(value, name: str, line: int, problems: list[ImportProblem], found: StripeObjects,
             invoice: str | None = None):
    """(object, invoice) for every object in a JSON value; `invoice` is set inside a page of an
    invoice's lines (/v1/invoices/{id}/lines), whose URL names the invoice."""
    if isinstance(value, list):
        for item in value:
            yield from _flatten(item, name, line, problems, found, invoice)
        return
    if not isinstance(value, dict):
        problems.append(ImportProblem(name, f"line {line}", None, "expected Stripe objects or lists of them"))
        return
    kind = value.get("object")
    if kind in LIST_OBJECTS:
        data = value.get("data")
        if not isinstance(data, list):
            problems.append(ImportProblem(name, f"line {line}", "data", f"a {kind} object without a data array"))
            return
        page_of = _LINES_URL.fullmatch(value.get("url") or "") if isinstance(value.get("url"), str) else None
        if value.get("has_more"):
            found.pages_with_more += 1
        elif page_of:
            found.last_line_pages.add(page_of[1])
        for item in data:
            yield from _flatten(item, name, line, problems, found, page_of[1] if page_of else invoice)
        return
    yield value, invoice


def _add(obj: dict, where_found: Found, found: StripeObjects, problems: list[ImportProblem]) -> bool:
    """Collect one object; False when its shape is not what the importer reads."""
    name, line = where_found.file, where_found.line
    kind = obj.get("object")
    oid = obj.get("id")
    where = f"line {line}" + (f", {kind} {oid}" if isinstance(kind, str) and isinstance(oid, str) else "")
    if not isinstance(kind, str):
        problems.append(ImportProblem(name, where, "object", "not a Stripe object (it has no 'object' field)"))
        return True
    if not isinstance(oid, str) or not oid:
        problems.append(ImportProblem(name, where, "id", f"a {kind} object without an id"))
        return True
    if kind not in MAPPED_TYPES + REFERENCE_TYPES:
        problems.append(ImportProblem(
            name, where, "object",
            f"unknown object type '{kind}': the importer maps {', '.join(MAPPED_TYPES)} objects "
            f"(and reads {', '.join(REFERENCE_TYPES)} objects to resolve ids)",
        ))
        return True
    misshapen = shape_problems(kind, obj)
    problems.extend(ImportProblem(name, where, field, message) for field, message in misshapen)
    if misshapen:
        return False
    bucket = found.by_type.setdefault(kind, {})
    if oid in bucket:
        found.duplicates += 1
        if _stage(obj) < _stage(bucket[oid].obj):
            return True  # an older copy (say a draft of an invoice since paid) from a stale page
    bucket[oid] = where_found
    return True


def _stage(obj: dict) -> int:
    """How far an object has come in its life, as far as its status tells (invoices and
    subscriptions only move forward through these); between copies at the same stage, the one
    read last wins."""
    return _STAGES.get(obj.get("object"), {}).get(obj.get("status"), 0)
