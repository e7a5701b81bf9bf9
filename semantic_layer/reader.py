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
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from .canonical import TABLES
from .errors import ImportProblem, ImportRejected, not_utf8

SUFFIXES = (".csv", ".parquet")
# The system allocator gives freed memory back; pyarrow's default one keeps it, which would add
# a CSV file's untrimmed text (hundreds of MB for a large file) to the import's peak memory.
_POOL = pa.system_memory_pool()


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
    _check_delimiter(kind, path)
    return _read_csv_fast(kind, path) or _read_csv(kind, path)


OTHER_DELIMITERS = {";": "semicolons (;)", "\t": "tabs", "|": "vertical bars (|)"}


def _check_delimiter(kind: str, path: Path) -> None:
    """A file separated by semicolons or tabs (a spreadsheet's export in many locales) reads as
    one column; say so instead of naming every required column as missing."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            line = handle.readline()
    except (UnicodeDecodeError, OSError):
        return  # the readers report these
    required = {c.name for c in TABLES[kind] if c.required}

    def fields(delimiter: str) -> set[str]:
        return {f.strip() for f in next(csv.reader([line], delimiter=delimiter), [])}

    missing = [c.name for c in TABLES[kind] if c.required and c.name not in fields(",")]
    if not missing:
        return
    for delimiter, words in OTHER_DELIMITERS.items():
        if len(required & fields(delimiter)) > len(required) - len(missing):
            raise ImportRejected([ImportProblem(
                path.name, "line 1", missing[0],
                f"required column is missing: the columns look separated by {words}, not commas; "
                "save the file as comma-separated CSV (in a spreadsheet: CSV, comma delimited)",
            )])


def _read_csv_fast(kind: str, path: Path) -> RawTable | None:
    """pyarrow's CSV reader, about ten times faster than the csv module and without a Python
    object per value, for a well-formed file whose every line is one record: there a record's
    line number is its position + 1, as the careful reader counts. None for anything else
    (blank lines, values spanning lines, lone carriage returns, ragged rows, bad text or
    header), which the careful reader then reads and reports on line by line."""
    name = path.name
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            header = [h.strip() for h in next(csv.reader(handle))]
        _check_header(name, header)
        table = pa_csv.read_csv(
            path,
            read_options=pa_csv.ReadOptions(column_names=header, skip_rows=1),
            parse_options=pa_csv.ParseOptions(newlines_in_values=True, ignore_empty_lines=True),
            convert_options=pa_csv.ConvertOptions(column_types={h: pa.string() for h in header},
                                                  strings_can_be_null=False, quoted_strings_can_be_null=False),
            memory_pool=_POOL,
        )
    except (StopIteration, UnicodeDecodeError, csv.Error, ImportRejected, pa.ArrowException, OSError):
        return None
    if any("\n" in h or "\r" in h for h in header) or _physical_lines(path) != table.num_rows + 1:
        return None
    columns = {}
    for column_name, column in zip(header, table.columns):
        trimmed = pc.utf8_trim_whitespace(column, memory_pool=_POOL)  # the characters str.strip() removes, every one
        columns[column_name] = pc.if_else(pc.equal(trimmed, ""), None, trimmed, memory_pool=_POOL)
    locs = _numbered("line", pc.add(_row_numbers(table.num_rows), 1))
    return RawTable(kind, name, _with_origin(pa.table(columns), name, locs), header)


def _physical_lines(path: Path) -> int | None:
    """Lines in the file as the csv module counts them; None when a carriage return ends a line
    on its own (the csv module counts that as a line end, pyarrow's reader too)."""
    newlines = returns = pairs = 0
    previous = b""
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 24):
            newlines += chunk.count(b"\n")
            if b"\r" in chunk or previous == b"\r":
                returns += chunk.count(b"\r")
                pairs += chunk.count(b"\r\n") + (previous == b"\r" and chunk[:1] == b"\n")
            previous = chunk[-1:]
    if returns != pairs:
        return None
    return newlines + (previous not in (b"", b"\n"))


def _read_csv(kind: str, path: Path) -> RawTable:
    """The careful reader: the csv module, record by record, naming every ragged line."""
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
        raise not_utf8(name, exc)
    except csv.Error as exc:
        raise ImportRejected([ImportProblem(name, f"line {reader.line_num}", None, f"unreadable CSV: {exc}")])
    if problems:
        raise ImportRejected(problems)
    data = {h: pa.array(col, type=pa.string()) for h, col in zip(header, columns)}
    return RawTable(kind, name, _with_origin(pa.table(data) if data else pa.table({}), name, pa.array(locs, pa.string())),
                    header)


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
        try:
            text = pc.cast(column, pa.string())
        except pa.ArrowException:
            raise ImportRejected([ImportProblem(name, None, column_name,
                                                f"a {column.type} column can't be read; store text, numbers or dates")])
        text_columns[column_name] = pc.if_else(pc.equal(pc.utf8_trim_whitespace(text), ""), None, text)
    locs = _numbered("row", _row_numbers(table.num_rows))
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


def _row_numbers(n: int) -> pa.Array:
    """1, 2, ..., n (a running sum of ones: no Python object per row)."""
    return pc.cumulative_sum(pa.repeat(pa.scalar(1, pa.int64()), n))


def _numbered(word: str, numbers: pa.Array) -> pa.Array:
    """"line 12", "row 3": where each row came from."""
    return pc.binary_join_element_wise(word, pc.cast(numbers, pa.string()), " ")


def _with_origin(table: pa.Table, name: str, locs: pa.Array) -> pa.Table:
    n = len(locs)
    if table.num_columns == 0:
        table = pa.table({"_loc": locs})
    else:
        table = table.append_column("_loc", locs)
    table = table.append_column("_file", pa.repeat(name, n).cast(pa.string()))
    return table.append_column("_row", _row_numbers(n))
