"""What `analyst import PATH...` was given, found out from the files themselves.

Three formats, never mixed in one import:
  canonical  customers.csv + subscriptions.csv (+ fx_rates.csv), CSV or Parquet (rulebook §1)
  stripe     Stripe API exports: .json / .jsonl / .ndjson files of invoices, subscriptions,
             customers, credit notes (stripe.py)
  dashboard  the Stripe Dashboard's subscriptions CSV export (stripe_csv.py)
An fx_rates.csv (or .parquet) among the paths goes with any of them, and the Dashboard's customers
export with the Dashboard's subscriptions export. Paths may be files or folders (their files, not
sub-folders). Files in a folder that fit none of the formats are passed over (a .json that holds no
Stripe objects, say an export tool's settings, with a note); a file named on the command line that
fits none is an error.
"""

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

from .canonical import TABLES
from .errors import ImportProblem, ImportRejected
from .reader import RawTable, find_files, read_file
from .stripe_read import JSON_SUFFIXES
from .stripe_csv import looks_like_dashboard_customers, looks_like_dashboard_export

CANONICAL_SUFFIXES = (".csv", ".parquet")
_STRIPE_OBJECT = re.compile(r'"object"\s*:\s*"')
_SNIFFED = 65536  # bytes: a Stripe file names an object type within its first object


@dataclass
class Loaded:
    format: str
    raws: list[RawTable]
    sources: list[str]
    notes: list[str] = field(default_factory=list)


@dataclass
class _Seen:
    canonical: list[Path] = field(default_factory=list)  # customers / subscriptions
    fx: list[Path] = field(default_factory=list)
    stripe: list[Path] = field(default_factory=list)
    dashboard: list[Path] = field(default_factory=list)
    dashboard_customers: list[Path] = field(default_factory=list)
    passed_over: list[Path] = field(default_factory=list)  # .json in a folder without Stripe objects
    explicit: dict[Path, str] = field(default_factory=dict)  # named on the command line -> kind


def load_paths(paths: list[Path]) -> Loaded:
    seen = _Seen()
    for path in paths:
        if not path.exists():
            raise ImportRejected([ImportProblem(str(path), None, None, "no such file or folder")])
        if path.is_dir():
            for candidate in sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith(".")):
                _classify(candidate, seen, explicit=False)
        else:
            _classify(path, seen, explicit=True)

    if seen.canonical:
        others = [p for p, kind in seen.explicit.items() if kind in ("stripe", "dashboard")]
        if others:
            raise ImportRejected([ImportProblem(
                str(others[0]), None, None,
                "canonical tables (customers / subscriptions) and Stripe exports cannot be imported together",
            )])
        files = find_files(paths)
        raws = [read_file(kind, p) for kind, p in files.items()]
        return Loaded("canonical", raws, [str(p) for p in files.values()])

    fx = _fx(seen)
    if seen.stripe:
        if seen.dashboard or seen.dashboard_customers:
            raise ImportRejected([ImportProblem(
                str((seen.dashboard or seen.dashboard_customers)[0]), None, None,
                "Stripe API exports and a Dashboard CSV export cannot be imported together; "
                "the API export holds the full history, so leave the Dashboard CSV out",
            )])
        from .stripe import convert_paths

        conversion = convert_paths(seen.stripe)
        raws = [conversion.customers, conversion.subscriptions] + fx
        return Loaded("stripe", raws, conversion.sources + [str(p) for p in seen.fx],
                      conversion.notes + _passed_over(seen))

    if seen.dashboard:
        from .stripe_csv import convert_csv

        customers_export = _at_most_one(seen.dashboard_customers, "customers")
        customers, subscriptions, notes = convert_csv(_at_most_one(seen.dashboard, "subscriptions"), customers_export)
        read = [seen.dashboard[0]] + seen.dashboard_customers + seen.fx
        return Loaded("dashboard", [customers, subscriptions] + fx, [str(p) for p in read], notes + _passed_over(seen))

    # Named by the files in it: a folder may be the app's temporary copy of an upload.
    found = sorted(f.name for p in paths for f in (sorted(p.iterdir()) if p.is_dir() else [p]) if f.is_file())
    raise ImportRejected([ImportProblem(
        ", ".join(found[:5]) + (", ..." if len(found) > 5 else "") if found else ", ".join(str(p) for p in paths),
        None, None,
        "found nothing to import: expected customers.csv and subscriptions.csv (or .parquet), "
        "Stripe API exports (.json / .jsonl), or a Stripe Dashboard subscriptions CSV export",
    )])


def _classify(path: Path, seen: _Seen, explicit: bool) -> None:
    suffix = path.suffix.lower()
    kind = None
    header = _header(path) if suffix == ".csv" else []
    if suffix in JSON_SUFFIXES and (explicit or _holds_stripe_objects(path)):
        kind = "stripe"  # named on the command line, the reader says precisely what is wrong with it
        seen.stripe.append(path)
    elif suffix in JSON_SUFFIXES:
        seen.passed_over.append(path)
    elif looks_like_dashboard_export(header):
        kind = "dashboard"
        seen.dashboard.append(path)
    elif looks_like_dashboard_customers(header):  # it may well be named customers.csv
        kind = "dashboard"
        seen.dashboard_customers.append(path)
    elif suffix in CANONICAL_SUFFIXES and path.stem in TABLES:
        kind = "fx" if path.stem == "fx_rates" else "canonical"
        (seen.fx if kind == "fx" else seen.canonical).append(path)
    if explicit:
        if kind is None:
            raise ImportRejected([ImportProblem(
                str(path), None, None,
                "not a file analyst import reads: expected customers / subscriptions / fx_rates "
                "(.csv or .parquet), Stripe API exports (.json / .jsonl), or a Stripe Dashboard "
                "subscriptions CSV export",
            )])
        seen.explicit[path] = kind


def _at_most_one(exports: list[Path], what: str) -> Path | None:
    if len(exports) > 1:
        raise ImportRejected([ImportProblem(
            str(exports[1]), None, None, f"a second Dashboard {what} export (first: {exports[0].name}); import one",
        )])
    return exports[0] if exports else None


def _holds_stripe_objects(path: Path) -> bool:
    """Whether a .json file of a folder is for the Stripe reader. One that is not UTF-8 (PowerShell's
    `>` writes UTF-16) goes to the reader too, which says what is wrong, rather than being passed over."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(_SNIFFED)
    except OSError:
        return True  # let the reader say why it cannot be read
    if raw.startswith((b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf")) or b"\x00" in raw:
        return True
    return bool(_STRIPE_OBJECT.search(raw.decode("utf-8", errors="replace")))


def _passed_over(seen: _Seen) -> list[str]:
    if not seen.passed_over:
        return []
    return [f"Passed over (no Stripe objects in them): {', '.join(p.name for p in seen.passed_over)}."]


def _header(path: Path) -> list[str]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            return next(csv.reader(handle), [])
    except (UnicodeDecodeError, csv.Error, OSError):
        return []


def _fx(seen: _Seen) -> list[RawTable]:
    if len(seen.fx) > 1:
        raise ImportRejected([ImportProblem(
            str(seen.fx[1]), None, None, f"two files for fx_rates: {seen.fx[0].name} and {seen.fx[1].name}",
        )])
    return [read_file("fx_rates", p) for p in seen.fx]
