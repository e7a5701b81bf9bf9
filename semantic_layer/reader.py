"""Reading canonical CSV / Parquet files into text tables that remember where each row came from.

Every value is kept as text (empty -> null) so that the validator, not the reader, decides what
is a bad date or number, and every row carries `_file` and `_loc` ("line 12", "row 3") for
error messages.
"""

import csv
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .canonical import TABLES
from .errors import ImportProblem, ImportRejected

SUFFIXES = (".csv", ".parquet")


@dataclass
class RawTable:
    kind: str
    file: str
    table: pa.Table  # text columns plus _file and _loc
    columns: list[str] = field(default_factory=list)  # the file's own columns, in order


def find_files(paths: list[Path]) -> dict[str, Path]:
    """Map each canonical table kind to its file among `paths` (folders or files)."""
    found: dict[str, Path] = {}
    for path in paths:
        if not path.exists():
            raise ImportRejected([ImportProblem(str(path), None, None, "no such file or folder")])
        candidates = sorted(path.iterdir()) if path.is_dir() else [path]
        for candidate in candidates:
            if candidate.suffix.lower() not in SUFFIXES or candidate.stem not in TABLES:
                continue
            if candidate.stem in found:
                raise ImportRejected([ImportProblem(
                    str(candidate), None, None,
                    f"two files for {candidate.stem}: {found[candidate.stem].name} and {candidate.name}",
                )])
            found[candidate.stem] = candidate
    missing = [kind for kind in ("customers", "subscriptions") if kind not in found]
    if missing:
        where = ", ".join(str(p) for p in paths)
        raise ImportRejected([ImportProblem(
            where, None, None,
            "missing " + " and ".join(f"{kind}.csv (or .parquet)" for kind in missing),
        )])
    return found


def read_file(kind: str, path: Path) -> RawTable:
    if path.suffix.lower() == ".parquet":
        return _read_parquet(kind, path)
    return _read_csv(kind, path)


def _read_csv(kind: str, path: Path) -> RawTable:
    name = path.name
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            try:
                header = [h.strip() for h in next(reader)]
            except StopIteration:
                raise ImportRejected([ImportProblem(name, "line 1", None, "the file is empty")])
            _check_header(name, header)
            columns: list[list[str | None]] = [[] for _ in header]
            locs: list[str] = []
            problems = []
            width = len(header)
            for values in reader:
                if not values or values == [""]:
                    continue  # blank line
                if len(values) != width:
                    problems.append(ImportProblem(
                        name, f"line {reader.line_num}", None,
                        f"{len(values)} fields where the header has {width}",
                    ))
                    continue
                locs.append(f"line {reader.line_num}")
                for column, value in zip(columns, values):
                    value = value.strip()
                    column.append(value if value else None)
    except UnicodeDecodeError as exc:
        raise ImportRejected([ImportProblem(name, None, None, f"not UTF-8 text ({exc.reason})")])
    except csv.Error as exc:
        raise ImportRejected([ImportProblem(name, f"line {reader.line_num}", None, f"unreadable CSV: {exc}")])
    if problems:
        raise ImportRejected(problems)
    data = {h: pa.array(col, type=pa.string()) for h, col in zip(header, columns)}
    return RawTable(kind, name, _with_origin(pa.table(data) if data else pa.table({}), name, locs), header)


def _read_parquet(kind: str, path: Path) -> RawTable:
    name = path.name
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise ImportRejected([ImportProblem(name, None, None, f"unreadable Parquet file: {exc}")])
    header = list(table.column_names)
    _check_header(name, header)
    text_columns = {}
    for column_name, column in zip(header, table.columns):
        if pa.types.is_timestamp(column.type):
            column = pc.cast(column, pa.date32())
        text = pc.cast(column, pa.string())
        text_columns[column_name] = pc.if_else(pc.equal(pc.utf8_trim_whitespace(text), ""), None, text)
    locs = [f"row {i + 1}" for i in range(table.num_rows)]
    return RawTable(kind, name, _with_origin(pa.table(text_columns), name, locs), header)


def _check_header(name: str, header: list[str]) -> None:
    problems = []
    seen = set()
    for position, column in enumerate(header, start=1):
        if not column:
            problems.append(ImportProblem(name, "line 1", f"#{position}", "empty column name"))
        elif column in seen:
            problems.append(ImportProblem(name, "line 1", column, "column appears twice"))
        elif column.startswith("_"):
            problems.append(ImportProblem(name, "line 1", column, "column names may not start with '_'"))
        seen.add(column)
    if problems:
        raise ImportRejected(problems)


def _with_origin(table: pa.Table, name: str, locs: list[str]) -> pa.Table:
    n = len(locs)
    if table.num_columns == 0:
        table = pa.table({"_loc": pa.array(locs, type=pa.string())})
    else:
        table = table.append_column("_loc", pa.array(locs, type=pa.string()))
    table = table.append_column("_file", pa.array([name] * n, type=pa.string()))
    return table.append_column("_row", pa.array(range(1, n + 1), type=pa.int64()))
