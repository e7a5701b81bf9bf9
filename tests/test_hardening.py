"""Safety and robustness: settings and currency changes, secrets, escaping, refusals."""

from datetime import date

import pytest
from click.testing import CliRunner

from analyst.cli import main
from assistant import llm
from assistant.agent import Analyst, Backend
from assistant.answer import Answer
from semantic_layer.compiler import Filter
from semantic_layer.engine import Engine
from semantic_layer.errors import QueryError
from semantic_layer.store import import_paths, rebuild, settings_of
from ui import report
from ui.app import serve

from conftest import write_csv
from helpers import sub


def test_reimport_after_a_currency_switch_reads_files_in_their_quote_currency(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    write_csv(folder / "customers.csv", [{"customer_id": "us"}, {"customer_id": "eu"}])
    write_csv(folder / "subscriptions.csv", [sub("us", "2025-01-01", amount=110), sub("eu", "2025-01-01", amount=50, currency="EUR")])
    write_csv(folder / "fx_rates.csv", [{"month": "2025-01", "currency": "EUR", "rate": 1.10}])
    db = tmp_path / "x.duckdb"
    import_paths(db, [folder])
    rebuild(db, settings_of(db).model_copy(update={"reporting_currency": "EUR"}))
    import_paths(db, [folder])  # the same USD-quoted files again
    engine = Engine.open(db)
    try:
        from semantic_layer.compiler import MetricQuery
        mrr = engine.run(MetricQuery(metrics=["mrr"], start=date(2025, 1, 31), end=date(2025, 1, 31))).rows[0]["mrr"]
    finally:
        engine.close()
    assert engine.settings.reporting_currency == "EUR"
    assert mrr == pytest.approx(150)  # 110 USD = 100 EUR, plus 50 EUR


@pytest.mark.parametrize("args, words", [
    (["import", "X", "--reporting-currency", "US"], "invalid setting"),
    (["import", "X", "--reactivation-window-days", "-1"], "invalid setting"),
    (["query", "ltv", "--start", "2025-01-01", "--end", "2025-01-31", "--gross-margin", "7"], "less than or equal to 1"),
])
def test_cli_option_errors_are_plain(tmp_path, acme_db, args, words):
    args = [str(tmp_path) if a == "X" else a for a in args]
    result = CliRunner().invoke(main, args + ["--db", str(acme_db)])
    assert result.exit_code != 0
    assert words in result.output and "Traceback" not in result.output


def test_a_file_that_is_no_database(tmp_path):
    bogus = tmp_path / "notes.duckdb"
    bogus.write_text("not a database")
    result = CliRunner().invoke(main, ["import", str(tmp_path), "--db", str(bogus)])
    assert result.exit_code != 0 and "Traceback" not in result.output


def test_an_empty_data_set_still_answers(tmp_path):
    folder = tmp_path / "empty"
    folder.mkdir()
    write_csv(folder / "customers.csv", [{"customer_id": "a"}])
    (folder / "subscriptions.csv").write_text("customer_id,subscription_id,start_date,unit_amount\n")
    db = tmp_path / "empty.duckdb"
    import_paths(db, [folder])
    engine = Engine.open(db)
    answer = Analyst(engine, backend=Backend("offline")).ask("What is our MRR?")
    assert answer.value == 0
    engine.close()


def test_the_servers_key_goes_only_to_its_own_endpoint(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-server-secret")
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    elsewhere = llm.chat_model(base_url="http://attacker.example/v1", model="m")
    assert elsewhere.openai_api_key.get_secret_value() != "sk-server-secret"
    assert llm.chat_model(model="m").openai_api_key.get_secret_value() == "sk-server-secret"
    assert llm.chat_model(base_url="http://mine/v1", model="m", api_key="sk-user").openai_api_key.get_secret_value() == "sk-user"


def test_serving_beyond_this_machine_needs_a_login(acme_db, monkeypatch):
    monkeypatch.delenv("ANALYST_AUTH", raising=False)
    with pytest.raises(ValueError, match="needs a login"):
        serve(acme_db, host="0.0.0.0", port=1, block=False)


def test_reports_keep_data_as_text(tmp_path):
    evil = "<img src=x onerror=alert(1)>"
    answer = Answer(answer=f"Largest customer: {evil}", computations=[{
        "tool": "list_customers", "title": "Customers by MRR", "sql": [],
        "table": [{"customer_id": "C1", "name": evil, "amount": 10.0}, {"customer_id": "C2", "name": "=HYPERLINK(1)", "amount": 5.0}],
    }])
    html = report.write([(f"who is {evil}?", answer)], "html", tmp_path / "r.html").read_text()
    assert "<img" not in html and "&lt;img" in html
    csv_text = report.write([("q", answer)], "csv", tmp_path / "r.csv").read_text()
    assert "'=HYPERLINK" in csv_text


def test_a_bridge_filtered_by_plan_adds_up(dataset):
    ds = dataset([sub("c", "2025-01-01", "2025-03-10", 10, plan="Basic"), sub("c", "2025-03-10", "", 30, plan="Pro")])
    analyst = Analyst(ds.engine, as_of=date(2025, 6, 30), backend=Backend("offline"))
    answer = analyst.ask("How did we do in March 2025 on the Basic plan?")
    steps = {s["step"].strip(): s["amount"] for s in answer.computations[0]["inputs"]}
    assert steps["MRR at start"] == pytest.approx(10) and steps["MRR at end"] == 0
    assert steps["Moved between groups"] == pytest.approx(-10)


def test_not_filters_keep_customers_without_a_value(dataset):
    """segment != Enterprise is everyone else, the customer with no segment included."""
    from semantic_layer.compiler import Filter
    ds = dataset([sub("e", "2025-01-01", "", 100), sub("s", "2025-01-01", "", 10), sub("n", "2025-01-01", "", 1)],
                 customers=[{"customer_id": "e", "segment": "Enterprise"}, {"customer_id": "s", "segment": "SMB"},
                            {"customer_id": "n", "segment": ""}])
    for f in (Filter(dimension="segment", op="ne", values=["Enterprise"]),
              Filter(dimension="segment", op="not_in", values=["Enterprise"])):
        assert ds.value("mrr", "2025-01-31", "2025-01-31", filters=[f]) == pytest.approx(11)


def test_a_filter_value_the_data_lacks_is_named(dataset):
    from semantic_layer.compiler import Filter
    from semantic_layer.errors import QueryError
    ds = dataset([sub("e", "2025-01-01", "", 100)], customers=[{"customer_id": "e", "segment": "Enterprise"}])
    with pytest.raises(QueryError, match="no data has segment = 'Enterprize'; the values of segment are: Enterprise"):
        ds.value("mrr", "2025-01-31", "2025-01-31", filters=[Filter(dimension="segment", values=["Enterprize"])])


def test_filter_values_are_matched_as_the_data_writes_them(dataset):
    data = dataset([sub("a", "2025-01-01", amount=100), sub("b", "2025-01-01", amount=50)],
                   customers=[{"customer_id": "a", "segment": "SMB"}, {"customer_id": "b", "segment": "Enterprise"}])
    assert data.value("mrr", "2025-01-31", "2025-01-31", filters=[Filter(dimension="segment", op="eq", values=["smb"])]) == 100
    with pytest.raises(QueryError, match="no data has segment = 'smbx'; the values of segment are: Enterprise, SMB"):
        data.value("mrr", "2025-01-31", "2025-01-31", filters=[Filter(dimension="segment", op="ne", values=["smbx"])])
