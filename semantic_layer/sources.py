"""What `analyst import PATH...` was given, found out from the files themselves.

Three formats, never mixed in one import:
  canonical  customers.csv + subscriptions.csv (+ fx_rates.csv), CSV or Parquet (rulebook §1)
  stripe     Stripe API exports: .json / .jsonl / .ndjson files of invoices, subscriptions,
             customers, credit notes (stripe.py)
  dashboard  the Stripe Dashboard's subscriptions CSV export (stripe_csv.py)
An fx_rates.csv (or .parquet) among the paths goes with any of them. Paths may be files or
folders (their files, not sub-folders). Files in a folder that fit none of the formats are
passed over; a file named on the command line that fits none is an error.
"""

import csv
from dataclasses import dataclass, field
from pathlib import Path

from .canonical import TABLES
from .errors import ImportProblem, ImportRejected
from .reader import RawTable, find_files, read_file
from .stripe_read import JSON_SUFFIXES
from .stripe_csv import looks_like_dashboard_export

CANONICAL_SUFFIXES = (".csv", ".parquet")


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
        if seen.dashboard:
            raise ImportRejected([ImportProblem(
                str(seen.dashboard[0]), None, None,
                "Stripe API exports and a Dashboard subscriptions CSV cannot be imported together; "
                "the API export holds the full history, so leave the Dashboard CSV out",
            )])
        from .stripe import convert_paths

        conversion = convert_paths(seen.stripe)
        raws = [conversion.customers, conversion.subscriptions] + fx
        return Loaded("stripe", raws, conversion.sources + [str(p) for p in seen.fx], conversion.notes)

    if seen.dashboard:
        if len(seen.dashboard) > 1:
            raise ImportRejected([ImportProblem(
                str(seen.dashboard[1]), None, None,
                f"a second Dashboard subscriptions export (first: {seen.dashboard[0].name}); import one",
            )])
        from .stripe_csv import convert_csv

        customers, subscriptions, notes = convert_csv(seen.dashboard[0])
        return Loaded("dashboard", [customers, subscriptions] + fx,
                      [str(seen.dashboard[0])] + [str(p) for p in seen.fx], notes)

    where = ", ".join(str(p) for p in paths)
    raise ImportRejected([ImportProblem(
        where, None, None,
        "found nothing to import: expected customers.csv and subscriptions.csv (or .parquet), "
        "Stripe API exports (.json / .jsonl), or a Stripe Dashboard subscriptions CSV export",
    )])


def _classify(path: Path, seen: _Seen, explicit: bool) -> None:
    suffix = path.suffix.lower()
    kind = None
    if suffix in JSON_SUFFIXES:
        kind = "stripe"
        seen.stripe.append(path)
    elif suffix == ".csv" and looks_like_dashboard_export(_header(path)):
        kind = "dashboard"
        seen.dashboard.append(path)
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
