"""Rulebook §1: every kind of bad input is refused with file, line and column, and the data
already stored stays as it was."""

import shutil
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from analyst.cli import main
from semantic_layer.compiler import MetricQuery
from semantic_layer.engine import Engine
from semantic_layer.errors import ImportRejected
from semantic_layer.store import import_paths

from conftest import write_csv

GOOD_CUSTOMERS = [{"customer_id": "A", "segment": "SMB"}, {"customer_id": "B", "segment": "Enterprise"}]
GOOD_SUBSCRIPTIONS = [
    {"customer_id": "A", "subscription_id": "S1", "start_date": "2025-01-01", "end_date": "", "unit_amount": "100",
     "currency": "USD", "interval": "month", "discount_percent": "0", "quantity": "1"},
    {"customer_id": "B", "subscription_id": "S2", "start_date": "2025-01-01", "end_date": "", "unit_amount": "250",
     "currency": "EUR", "interval": "month", "discount_percent": "0", "quantity": "1"},
]
GOOD_FX = [{"month": f"2025-{m:02}", "currency": "EUR", "rate": "1.1"} for m in range(1, 13)]
GOOD_MRR = 100 + 250 * 1.1


@pytest.fixture
def stored(tmp_path):
    """A database holding the good data set, and a folder to write bad variants into."""
    good = tmp_path / "good"
    good.mkdir()
    write_csv(good / "customers.csv", GOOD_CUSTOMERS)
    write_csv(good / "subscriptions.csv", GOOD_SUBSCRIPTIONS)
    write_csv(good / "fx_rates.csv", GOOD_FX)
    db = tmp_path / "analyst.duckdb"
    import_paths(db, [good])
    bad = tmp_path / "bad"
    shutil.copytree(good, bad)
    return db, bad


def _mrr(db: Path) -> float:
    engine = Engine.open(db)
    try:
        return engine.run(MetricQuery(metrics=["mrr"], start=date(2025, 6, 30), end=date(2025, 6, 30))).rows[0]["mrr"]
    finally:
        engine.close()


def _rejected(db, folder) -> str:
    with pytest.raises(ImportRejected) as caught:
        import_paths(db, [folder])
    assert _mrr(db) == pytest.approx(GOOD_MRR), "the stored data set changed"
    return str(caught.value)


def _bad_subscription(folder: Path, **changes) -> None:
    rows = [dict(r) for r in GOOD_SUBSCRIPTIONS]
    rows.append({**GOOD_SUBSCRIPTIONS[0], "subscription_id": "S9", **changes})
    write_csv(folder / "subscriptions.csv", rows)


@pytest.mark.parametrize("changes, column, words", [
    ({"start_date": "2025-13-01"}, "start_date", '"2025-13-01" is not a date'),
    ({"end_date": "01/02/2026"}, "end_date", '"01/02/2026" is not a date'),
    ({"unit_amount": "12,50"}, "unit_amount", '"12,50" is not a number'),
    ({"quantity": "two"}, "quantity", '"two" is not a number'),
    ({"unit_amount": "inf"}, "unit_amount", "is not a number"),
    ({"end_date": "2024-12-01"}, "end_date", "is not after start date"),
    ({"end_date": "2025-01-01"}, "end_date", "is not after start date"),
    ({"unit_amount": "-5"}, "unit_amount", "is negative"),
    ({"quantity": "-1"}, "quantity", "is negative"),
    ({"discount_amount": "-3"}, "discount_amount", "is negative"),
    ({"discount_percent": "120"}, "discount_percent", "outside 0-100"),
    ({"discount_percent": "-1"}, "discount_percent", "outside 0-100"),
    ({"interval": "fortnight"}, "interval", '"fortnight" is not one of day, week, month, quarter, year'),
    ({"customer_id": "ZZZ"}, "customer_id", 'customer "ZZZ" is not in the customers file'),
    ({"currency": "GBP"}, "currency", "no GBP rate in fx_rates for 2025-01"),
    # Its churn on 1 January 2026 is valued at January's rate, which fx_rates lack.
    ({"currency": "EUR", "end_date": "2026-01-01"}, "currency", "no EUR rate in fx_rates for 2026-01"),
    ({"start_date": ""}, "start_date", "a value is required"),
])
def test_bad_subscription_value(stored, changes, column, words):
    db, folder = stored
    _bad_subscription(folder, **changes)
    message = _rejected(db, folder)
    assert f"subscriptions.csv, line 4, column {column}: " in message
    assert words in message


def test_overlapping_rows_of_one_item(stored):
    db, folder = stored
    rows = GOOD_SUBSCRIPTIONS + [{**GOOD_SUBSCRIPTIONS[0], "start_date": "2025-03-01", "end_date": "2025-04-01"}]
    write_csv(folder / "subscriptions.csv", rows)
    message = _rejected(db, folder)
    assert "subscriptions.csv, line 4, column start_date" in message
    assert "overlaps in time with its row at line 2" in message


@pytest.mark.parametrize("kind, columns, missing", [
    ("subscriptions", ["customer_id", "subscription_id", "unit_amount"], "start_date"),
    ("subscriptions", ["customer_id", "start_date", "unit_amount"], "subscription_id"),
    ("customers", ["segment"], "customer_id"),
    ("fx_rates", ["month", "currency"], "rate"),
])
def test_missing_required_column(stored, kind, columns, missing):
    db, folder = stored
    source = {"subscriptions": GOOD_SUBSCRIPTIONS, "customers": GOOD_CUSTOMERS, "fx_rates": GOOD_FX}[kind]
    write_csv(folder / f"{kind}.csv", [{c: r[c] for c in columns} for r in source])
    message = _rejected(db, folder)
    assert f"{kind}.csv, line 1, column {missing}: required column is missing" in message


def test_every_bad_row_is_reported(stored):
    db, folder = stored
    rows = GOOD_SUBSCRIPTIONS + [
        {**GOOD_SUBSCRIPTIONS[0], "subscription_id": "S7", "start_date": "yesterday"},
        {**GOOD_SUBSCRIPTIONS[0], "subscription_id": "S8", "discount_percent": "150"},
    ]
    write_csv(folder / "subscriptions.csv", rows)
    message = _rejected(db, folder)
    assert "2 problems" in message
    assert "line 4, column start_date" in message and "line 5, column discount_percent" in message


def test_problems_are_listed_line_by_line(stored):
    """The range check runs after the date check, but line 4 is still named before line 5."""
    db, folder = stored
    rows = GOOD_SUBSCRIPTIONS + [
        {**GOOD_SUBSCRIPTIONS[0], "subscription_id": "S7", "discount_percent": "150"},
        {**GOOD_SUBSCRIPTIONS[0], "subscription_id": "S8", "start_date": "yesterday"},
    ]
    write_csv(folder / "subscriptions.csv", rows)
    message = _rejected(db, folder)
    assert message.index("line 4, column discount_percent") < message.index("line 5, column start_date")


def test_a_near_miss_column_name_is_pointed_out(stored):
    db, folder = stored
    write_csv(folder / "customers.csv", [{"Customer ID": c["customer_id"]} for c in GOOD_CUSTOMERS])
    message = _rejected(db, folder)
    assert "customers.csv, line 1, column customer_id: required column is missing" in message
    assert "the file has 'Customer ID'" in message


def test_duplicate_customer_and_bad_fx(stored):
    db, folder = stored
    write_csv(folder / "customers.csv", GOOD_CUSTOMERS + [{"customer_id": "A", "segment": "SMB"}])
    write_csv(folder / "fx_rates.csv", GOOD_FX + [{"month": "2025-14", "currency": "EUR", "rate": "x"}])
    message = _rejected(db, folder)
    assert 'customers.csv, line 4, column customer_id: customer "A" appears twice (first at line 2)' in message
    assert 'fx_rates.csv, line 14, column month: "2025-14" is not a month' in message
    assert 'fx_rates.csv, line 14, column rate: "x" is not a number' in message


def test_ragged_csv_line(stored):
    db, folder = stored
    path = folder / "subscriptions.csv"
    path.write_text(path.read_text() + "A,S5,2025-01-01\n")
    message = _rejected(db, folder)
    assert "subscriptions.csv, line 4: 3 fields where the header has 9" in message


def test_missing_file(stored, tmp_path):
    db, folder = stored
    (folder / "subscriptions.csv").unlink()
    message = _rejected(db, folder)
    assert "missing subscriptions.csv" in message


def test_parquet_rows_are_named_by_row(stored):
    db, folder = stored
    (folder / "subscriptions.csv").unlink()
    rows = GOOD_SUBSCRIPTIONS + [{**GOOD_SUBSCRIPTIONS[0], "subscription_id": "S3", "interval": "decade"}]
    pq.write_table(pa.Table.from_pylist(rows), folder / "subscriptions.parquet")
    message = _rejected(db, folder)
    assert "subscriptions.parquet, row 3, column interval" in message


def test_a_parquet_list_column_is_refused_by_name(stored):
    db, folder = stored
    (folder / "customers.csv").unlink()
    rows = [{**c, "tags": ["a", "b"]} for c in GOOD_CUSTOMERS]
    pq.write_table(pa.Table.from_pylist(rows), folder / "customers.parquet")
    message = _rejected(db, folder)
    assert "customers.parquet, column tags: a list<" in message and "column can't be read" in message


def test_parquet_imports(stored):
    db, folder = stored
    (folder / "subscriptions.csv").unlink()
    typed = [{**r, "start_date": date(2025, 1, 1), "unit_amount": float(r["unit_amount"]), "end_date": None}
             for r in GOOD_SUBSCRIPTIONS]
    pq.write_table(pa.Table.from_pylist(typed), folder / "subscriptions.parquet")
    import_paths(db, [folder])
    assert _mrr(db) == pytest.approx(GOOD_MRR)


def test_reimport_replaces_the_data_set(stored):
    db, folder = stored
    write_csv(folder / "subscriptions.csv", [GOOD_SUBSCRIPTIONS[0]])
    import_paths(db, [folder])
    assert _mrr(db) == pytest.approx(100)


def test_cli_reports_without_traceback(stored):
    db, folder = stored
    _bad_subscription(folder, interval="fortnight")
    result = CliRunner().invoke(main, ["import", str(folder), "--db", str(db)])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "subscriptions.csv, line 4, column interval" in result.output
    assert "the database was left as it was" in result.output
    assert _mrr(db) == pytest.approx(GOOD_MRR)


@pytest.mark.parametrize("delimiter, words", [(";", "semicolons (;)"), ("\t", "tabs")])
def test_a_file_with_another_delimiter_is_named_as_such(stored, delimiter, words):
    db, folder = stored
    path = folder / "subscriptions.csv"
    path.write_text(path.read_text().replace(",", delimiter))
    message = _rejected(db, folder)
    assert (f"subscriptions.csv, line 1, column customer_id: required column is missing: the columns look "
            f"separated by {words}, not commas") in message
    assert "1 problem)" in message  # one hint, not every required column as missing


def test_a_utf16_file_is_named_as_such(stored):
    db, folder = stored
    path = folder / "subscriptions.csv"
    path.write_text(path.read_text(), encoding="utf-16")
    assert "subscriptions.csv: not UTF-8 text (invalid start byte); it looks like UTF-16: save it as UTF-8" in _rejected(db, folder)


def test_a_missing_fx_rates_file_is_said(stored):
    db, folder = stored
    (folder / "fx_rates.csv").unlink()
    message = _rejected(db, folder)
    assert "line 3, column currency: no EUR rate in fx_rates for 2025-01; no fx_rates.csv was imported" in message


def test_a_folder_with_nothing_to_import_is_named_by_its_files(tmp_path, stored):
    db, _ = stored
    folder = tmp_path / "upload"
    folder.mkdir()
    (folder / "bad.csv").write_text("a,b\n1,2\n")
    assert "bad.csv: found nothing to import" in _rejected(db, folder)
