"""The analyst CLI: import, metrics, query (table, JSON, SQL, dialects)."""

import json
import shutil

import pytest
from click.testing import CliRunner

from analyst.cli import main
from semantic_layer.engine import DIALECTS

from conftest import ACME


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "acme.duckdb"
    result = CliRunner().invoke(main, ["import", str(ACME), "--db", str(path)])
    assert result.exit_code == 0, result.output
    assert "Imported 1,500 customers" in result.output
    return path


def run(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result


def test_metrics_lists_catalog_with_formulas():
    result = run("metrics")
    assert result.exit_code == 0
    assert "expansion_mrr" in result.output and "upgrade + cross_sell + seat_expansion" in result.output
    listed = json.loads(run("metrics", "--json").output)
    assert {m["name"] for m in listed} >= {"mrr", "arr", "nrr", "grr", "ltv", "quick_ratio"}


def test_query_json_shape(db):
    result = run("query", "mrr,customers,nrr", "--start", "2026-01-01", "--end", "2026-06-30", "--grain", "quarter",
                 "--group-by", "segment", "--db", db, "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert set(payload) == {"rows", "sql", "formulas"}
    assert len(payload["rows"]) == 6
    row = payload["rows"][0]
    assert set(row) == {"period_start", "period_end", "segment", "mrr", "customers", "nrr"}
    assert row["period_start"] == "2026-01-01" and row["period_end"] == "2026-03-31"
    assert isinstance(row["customers"], int)
    assert "customer_mrr" in payload["sql"]
    assert set(payload["formulas"]) == {"mrr", "customers", "nrr"}


def test_query_where_and_table(db):
    result = run("query", "expansion_mrr", "--start", "2026-01-01", "--end", "2026-03-31", "--where", "segment=Enterprise",
                 "--db", db)
    assert result.exit_code == 0, result.output
    assert "4,696.26 USD" in result.output
    assert "expansion MRR = upgrade" in result.output


def test_query_in_and_not_equal_filters(db):
    both = json.loads(run("query", "mrr", "--start", "2026-06-30", "--end", "2026-06-30", "--where", "segment=SMB",
                          "--where", "segment=Enterprise", "--db", db, "--json").output)["rows"][0]["mrr"]
    other = json.loads(run("query", "mrr", "--start", "2026-06-30", "--end", "2026-06-30", "--where", "segment!=Mid-Market",
                           "--db", db, "--json").output)["rows"][0]["mrr"]
    assert both == pytest.approx(other)
    assert both == pytest.approx(394413.66114833334 - 154911.87, abs=0.01)


@pytest.mark.parametrize("dialect", [d for d in DIALECTS if d != "duckdb"])
def test_dialects(db, dialect):
    result = run("query", "nrr,ltv", "--start", "2025-01-01", "--end", "2025-12-31", "--group-by", "plan", "--db", db,
                 "--dialect", dialect)
    assert result.exit_code == 0, result.output
    assert "WITH periods AS" in result.output
    assert "-- reads the ledger tables analyst builds" in result.output  # they must be there in that warehouse too


def test_json_numbers_carry_no_binary_residue(db):
    result = run("query", "expansion_mrr", "--start", "2026-01-01", "--end", "2026-03-31", "--where", "segment=Enterprise",
                 "--db", db, "--json")
    value = json.loads(result.output)["rows"][0]["expansion_mrr"]
    assert value == round(value, 9) and len(repr(value)) < 16, value


@pytest.mark.parametrize("args, message", [
    (["nope", "--start", "2025-01-01", "--end", "2025-01-31"], "unknown metric 'nope'"),
    (["mrr", "--start", "2025-02-01", "--end", "2025-01-31"], "is before start"),
    (["mrr", "--start", "2025-01-01", "--end", "2025-01-31", "--group-by", "colour"], "unknown dimension 'colour'"),
    (["mrr", "--start", "2025-1-1x", "--end", "2025-01-31"], "is not a date"),
])
def test_query_errors_are_plain(db, args, message):
    result = run("query", *args, "--db", db)
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output


def test_missing_database(tmp_path):
    result = run("query", "mrr", "--start", "2025-01-01", "--end", "2025-01-31", "--db", tmp_path / "none.duckdb")
    assert result.exit_code == 1
    assert "analyst import" in result.output


@pytest.fixture
def own_db(db, tmp_path):
    """A copy of acme whose settings a test may change."""
    copy = tmp_path / "own.duckdb"
    shutil.copyfile(db, copy)
    return copy


def test_settings_are_shown_with_what_they_take(own_db):
    result = run("settings", "--db", own_db)
    assert result.exit_code == 0, result.output
    assert "reactivation_window_days = none" in result.output and "None" not in result.output
    assert "gross_margin = 1.0\n    a share greater than 0" in result.output
    assert "fx_quote_currency" not in result.output and "fx_rates are read as USD per unit" in result.output


@pytest.mark.parametrize("assignment, words", [
    ("gross_margin=80", "gross_margin = 80 is not allowed; it takes a share greater than 0 and less than or equal to 1"),
    ("churn_recognition=foo", "churn_recognition = foo is not allowed; it takes end_date"),
    ("reactivation_window_days=soon", "reactivation_window_days = soon is not allowed; it takes a number of days"),
    ("fx_quote_currency=EUR", "use KEY=VALUE with KEY one of churn_recognition"),
])
def test_settings_errors_are_plain_and_change_nothing(own_db, assignment, words):
    result = run("settings", assignment, "--db", own_db)
    assert result.exit_code == 1
    assert words in result.output
    assert "pydantic" not in result.output and "Traceback" not in result.output
    assert "gross_margin = 1.0" in run("settings", "--db", own_db).output


def test_settings_take_a_lower_case_currency(own_db):
    result = run("settings", "reporting_currency=eur", "--db", own_db)
    assert result.exit_code == 0, result.output
    assert "reporting_currency = EUR" in result.output


def test_report_names_the_data_it_was_computed_on(db, tmp_path):
    output = tmp_path / "report.md"
    result = run("report", "What is our MRR?", "--db", db, "--format", "md", "--output", output)
    assert result.exit_code == 0, result.output
    subtitle = output.read_text().splitlines()[2]
    assert "from acme/customers.csv, acme/fx_rates.csv, acme/subscriptions.csv imported" in subtitle
    assert "(1,500 customers, 2022-01-02 to 2026-06-30, amounts in USD), as of 2026-06-30" in subtitle
