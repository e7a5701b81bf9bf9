"""The DuckDB database file that holds one data set, its settings and its ledger.

An import validates everything first, then replaces the data set, its settings and the ledger in
one transaction: a rejected or failed import leaves the file exactly as it was.
"""

import json
import os
import shutil
import threading
import uuid
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path

import duckdb

from .canonical import TABLES, last_day_sql
from .errors import ImportRejected, QueryError
from .ledger import build_ledger
from .reader import RawTable
from .settings import Settings
from .sources import load_paths
from .validate import Validator

DEFAULT_DB = "analyst.duckdb"
_ALIAS_LOCK = threading.Lock()


def default_db_path() -> Path:
    return Path(os.environ.get("ANALYST_DB") or DEFAULT_DB)


@dataclass
class ImportSummary:
    customers: int
    subscription_rows: int
    fx_rates: int
    first_date: date | None
    last_date: date | None
    currencies: list[str]
    sources: list[str]
    notes: list[str] = field(default_factory=list)  # what the user should know about this import


def connect(path: Path | str, read_only: bool = True) -> duckdb.DuckDBPyConnection:
    path = Path(path)
    if read_only:
        if not path.exists():
            raise QueryError(f"No database at {path}: run `analyst import PATH --db {path}` first.")
        con = _open_current_file(path)
        if not _has_table(con, "movements"):
            con.close()
            raise QueryError(f"{path} holds no imported data set: run `analyst import PATH --db {path}` first.")
        return con
    return duckdb.connect(str(path))


def _open_current_file(path: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the file now at `path`.

    DuckDB shares one instance per path within a process, so after an import replaced the file
    a plain connect would return the old data set while an old connection is still open. A
    hard link named after the file's inode gives each version of the file its own instance; the
    link is removed at once (the open file stays readable)."""
    alias = path.with_name(f".{path.name}.{os.stat(path).st_ino}.{os.getpid()}.read")
    with _ALIAS_LOCK:
        try:
            os.link(path, alias)
        except OSError:  # no hard links here: the plain path (a reopen after an import may then be stale)
            return duckdb.connect(str(path), read_only=True)
        try:
            return duckdb.connect(str(alias), read_only=True)
        finally:
            alias.unlink(missing_ok=True)


def import_paths(db_path: Path | str, paths: list[Path], settings: Settings | None = None,
                 source_name: Callable[[str], str] = str) -> ImportSummary:
    """Import canonical tables, Stripe API exports or a Stripe Dashboard CSV (the format is
    detected from the files, sources.py); the summary's notes say what the user should know.
    source_name says how the import log names each file read (an upload is not its temp path)."""
    loaded = load_paths([Path(p) for p in paths])
    result = import_tables(db_path, loaded.raws, settings, sources=[source_name(s) for s in loaded.sources])
    result.notes = loaded.notes
    return result


def import_tables(
    db_path: Path | str, raws: list[RawTable], settings: Settings | None = None, sources: list[str] | None = None
) -> ImportSummary:
    """Validate raw tables and, only if all is well, replace the stored data set with them.

    The new data set is built in a file of its own and then moved over the old one, so a
    running app that reads the old file is never disturbed and a failure leaves it untouched."""
    db_path = Path(db_path)
    settings = settings or settings_of(db_path)
    # The files are read in the currency the data set is quoted in (fx_rates per unit of it, and
    # blank currencies); a different reporting currency is reached through cross rates.
    quote = settings.fx_quote_currency or settings.reporting_currency
    settings = settings.model_copy(update={"fx_quote_currency": quote})
    with _replacement(db_path) as con:
        for raw in raws:
            con.register(f"raw_{raw.kind}", raw.table)
        columns = {raw.kind: raw.columns for raw in raws}
        problems = Validator(con, columns, quote).run()
        if problems:
            raise ImportRejected(problems)
        _replace_data(con, columns)
        _write_settings(con, settings)
        build_ledger(con, settings)
        _log_import(con, sources or [raw.file for raw in raws])
        result = summary(con)
    return result


@contextmanager
def _replacement(db_path: Path, copy_from: Path | None = None):
    """A connection to a new database file that replaces `db_path` if the block succeeds."""
    temporary = db_path.with_name(f".{db_path.name}.{uuid.uuid4().hex[:8]}.tmp")
    if copy_from is not None:
        shutil.copyfile(copy_from, temporary)
    con = duckdb.connect(str(temporary))
    try:
        yield con
        con.close()
        os.replace(temporary, db_path)
    except BaseException:
        con.close()
        temporary.unlink(missing_ok=True)
        raise


def _replace_data(con: duckdb.DuckDBPyConnection, columns: dict[str, list[str]]) -> None:
    for kind in TABLES:
        if kind in columns:
            con.execute(f"CREATE OR REPLACE TABLE {kind} AS SELECT * FROM typed_{kind} ORDER BY row_id")
        elif kind == "fx_rates":
            con.execute(
                "CREATE OR REPLACE TABLE fx_rates (row_id BIGINT, _file VARCHAR, _loc VARCHAR, "
                "month DATE, currency VARCHAR, rate DOUBLE)"
            )


def rebuild(db_path: Path | str, settings: Settings) -> None:
    """Apply new settings: rebuild the ledger in a copy of the file, then replace it."""
    db_path = Path(db_path)
    if not db_path.exists():
        raise QueryError(f"No database at {db_path}.")
    with _replacement(db_path, copy_from=db_path) as con:
        if not _has_table(con, "subscriptions"):
            raise QueryError(f"{db_path} holds no imported data set.")
        stored = stored_settings(con)
        settings = settings.model_copy(update={"fx_quote_currency": stored.fx_quote_currency or stored.reporting_currency})
        _write_settings(con, settings)
        build_ledger(con, settings)


def settings_of(db_path: Path) -> Settings:
    """The settings stored with a data set (defaults when there is none yet)."""
    if not Path(db_path).exists():
        return Settings()
    try:
        con = duckdb.connect(str(db_path), read_only=True)
    except duckdb.Error as exc:
        raise QueryError(f"{db_path} is not a database this tool can read ({exc}).".replace("\n", " "))
    try:
        return stored_settings(con)
    finally:
        con.close()


def stored_settings(con: duckdb.DuckDBPyConnection) -> Settings:
    if not _has_table(con, "settings"):
        return Settings()
    stored = dict(con.execute("SELECT key, value FROM settings").fetchall())
    return Settings(**{k: json.loads(v) for k, v in stored.items() if k in Settings.model_fields})


def _write_settings(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    con.execute("CREATE OR REPLACE TABLE settings (key VARCHAR PRIMARY KEY, value VARCHAR)")
    con.executemany(
        "INSERT INTO settings VALUES (?, ?)", [(k, json.dumps(v)) for k, v in settings.model_dump().items()]
    )


def _log_import(con: duckdb.DuckDBPyConnection, sources: list[str]) -> None:
    con.execute(
        "CREATE TABLE IF NOT EXISTS imports (imported_at TIMESTAMPTZ, sources VARCHAR, customers BIGINT, rows BIGINT)"
    )
    con.execute(
        "INSERT INTO imports SELECT ?, ?, (SELECT count(*) FROM customers), (SELECT count(*) FROM subscriptions)",
        [datetime.now(timezone.utc), json.dumps(sources)],
    )


def _has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(
        con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = ? AND table_schema = 'main'", [name]
        ).fetchall()[0][0]
    )


def summary(con: duckdb.DuckDBPyConnection) -> ImportSummary:
    customers, rows = con.execute("SELECT (SELECT count(*) FROM customers), (SELECT count(*) FROM subscriptions)").fetchall()[0]
    first, last = data_range(con)
    currencies = [r[0] for r in con.execute("SELECT DISTINCT currency FROM subscriptions ORDER BY 1").fetchall()]
    fx = con.execute("SELECT count(*) FROM fx_rates").fetchall()[0][0]
    sources = con.execute("SELECT sources FROM imports ORDER BY imported_at DESC LIMIT 1").fetchall()
    return ImportSummary(customers, rows, fx, first, last, currencies, json.loads(sources[0][0]) if sources else [])


def data_range(con: duckdb.DuckDBPyConnection) -> tuple[date | None, date | None]:
    """First and last date in the data; the last one is the default as-of date (rulebook §5)."""
    return con.execute(f"SELECT (SELECT min(start_date) FROM subscriptions), ({last_day_sql('subscriptions')})").fetchall()[0]
