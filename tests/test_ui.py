"""The Gradio app end to end through gradio_client: a started app on 127.0.0.1."""

import csv
import json
import shutil
import socket
import threading
from datetime import date

import pytest
from gradio_client import Client, handle_file
from openpyxl import load_workbook
from pypdf import PdfReader

from assistant.agent import Analyst, Backend
from semantic_layer.store import import_paths
from ui import charts, report
from ui.app import serve
from ui.chart_labels import display_chart
from ui.markdown import computation

from conftest import ACME, write_csv
from helpers import sub

AS_OF = date(2026, 6, 30)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(db, **kwargs):
    port = free_port()
    demo = serve(db, port=port, block=False, as_of=AS_OF, **kwargs)
    return demo, f"http://127.0.0.1:{port}/"


@pytest.fixture(scope="module")
def app(acme_db):
    demo, url = start(acme_db)
    yield url
    demo.close()


def text_of(response) -> str:
    return "\n".join(str(m["content"]) for m in response)


def ask(client, question):
    return client.predict(question, api_name="/chat")


def test_answer_carries_number_formula_and_sql(app):
    response = ask(Client(app, verbose=False), "What was expansion MRR last quarter?")
    text = text_of(response)
    assert "19,419.55 USD" in text and "2026-01-01 to 2026-03-31" in text
    assert "Formula:" in text and "upgrade + cross_sell + seat_expansion" in text
    assert "```sql" in text and "FROM movements" in text
    titles = [m["metadata"].get("title") for m in response]
    assert "Tool call: query_metrics" in titles and "How this was computed" in titles
    assert any(m["options"] for m in response)  # suggested follow-ups


def plain(value) -> bool:
    """JSON data all the way down: what a script can use."""
    if isinstance(value, dict):
        return all(isinstance(k, str) and plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(plain(v) for v in value)
    return value is None or isinstance(value, (str, int, float, bool))


def test_chat_returns_plain_data_with_the_chart(app):
    client = Client(app, verbose=False)
    for question in ("How did we do last month?", "What was expansion MRR last quarter, by segment?"):
        response = ask(client, question)
        assert plain(response)
        assert not any("<gradio." in str(m["content"]) for m in response)
        charts = [m["content"] for m in response if isinstance(m["content"], dict)]
        assert [c["component"] for c in charts] == ["plot"]
        assert json.loads(charts[0]["value"]["plot"])["data"]  # the Plotly figure, as JSON


def chart_of(response) -> dict:
    return next(json.loads(m["content"]["value"]["plot"]) for m in response if isinstance(m["content"], dict))


@pytest.mark.parametrize("question, labels, from_zero", [
    # A flow, labelled by its months (was a date axis ticked "Jan 11, Jan 25" starting at 10,000).
    ("New MRR by month in Q1 2026", ["Jan 2026", "Feb 2026", "Mar 2026"], True),
    # A stock the text names by each quarter's last day (was plotted at the quarter's first day).
    ("NRR by quarter split by segment", ["Q3 2025", "Q4 2025", "Q1 2026", "Q2 2026"], False),
    # Weeks have no calendar name: a stock by its last day, as the text says, a flow by its first.
    ("MRR by week in June 2026", ["2026-06-07", "2026-06-14", "2026-06-21", "2026-06-28", "2026-06-30"], True),
    ("new MRR by week in June 2026", ["2026-06-01", "2026-06-08", "2026-06-15", "2026-06-22", "2026-06-29"], True),
])
def test_period_charts_name_the_periods_the_text_names(app, question, labels, from_zero):
    figure = chart_of(ask(Client(app, verbose=False), question))
    assert figure["layout"]["xaxis"]["type"] == "category"
    assert all(trace["x"] == labels for trace in figure["data"])
    assert (figure["layout"]["yaxis"].get("rangemode") == "tozero") is from_zero


def test_bridge_bars_stand_on_zero(app):
    figure = chart_of(ask(Client(app, verbose=False), "How did we do last month?"))
    assert figure["data"][0]["type"] == "waterfall"
    assert figure["layout"]["yaxis"]["rangemode"] == "tozero" and "range" not in figure["layout"]["yaxis"]


def test_report_charts_use_the_same_labels_and_start_amounts_at_zero():
    computation = {"metric": "new_mrr", "table": [
        {"period_start": "2026-01-01", "period_end": "2026-01-31"}, {"period_start": "2026-02-01", "period_end": "2026-02-28"}],
        "chart": {"kind": "line", "title": "New MRR by month", "x": "period_start", "series": ["new_mrr"], "unit": "USD",
                  "rows": [{"period_start": "2026-01-01", "new_mrr": 13718.87}, {"period_start": "2026-02-01", "new_mrr": 10149.61}]}}
    axes = charts.figure(display_chart(computation)).axes[0]
    assert [t.get_text() for t in axes.get_xticklabels()] == ["Jan 2026", "Feb 2026"]
    assert axes.get_ylim()[0] == 0


def test_follow_up_uses_the_sessions_context_and_sessions_are_apart(app):
    first, second = Client(app, verbose=False), Client(app, verbose=False)
    ask(first, "What was expansion MRR last quarter?")
    assert "17,573.03 USD" in text_of(ask(first, "and the quarter before?"))
    assert "17,573.03 USD" not in text_of(ask(second, "and the quarter before?"))


def test_exports_open(app, tmp_path):
    client = Client(app, verbose=False)
    ask(client, "How did we do last month?")
    ask(client, "What was expansion MRR last quarter by segment?")
    pdf = client.predict("Whole conversation", "pdf", api_name="/export")
    text = "\n".join(page.extract_text() for page in PdfReader(pdf).pages)
    assert "388,549.39" in text and "19,419.55" in text
    assert "SELECT" in text and "Appendix: SQL" in text
    xlsx = client.predict("This answer", "xlsx", api_name="/export")
    book = load_workbook(xlsx)
    assert book["Answers"]["C3"].value == pytest.approx(19419.552876666665)
    sheet = book.worksheets[1]
    header = [c.value for c in sheet[1]]
    values = [row[header.index("expansion_mrr")] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert all(isinstance(v, float) for v in values) and sum(values) == pytest.approx(19419.552876666665)


def test_errors_are_plain_messages(app):
    client = Client(app, verbose=False)
    bad_date = text_of(client.predict("What is our MRR?", "2026-13-45", "offline", "", "", "", api_name="/chat"))
    assert "is not a date (YYYY-MM-DD)" in bad_date
    unreachable = text_of(client.predict("What is our MRR?", "", "openai", "http://127.0.0.1:9/v1", "m", "k", api_name="/chat"))
    assert "could not be reached" in unreachable
    assert "Traceback" not in bad_date + unreachable
    assert "394,413.66 USD" in text_of(ask(client, "What is our MRR?"))  # and the app keeps working


@pytest.fixture
def own_app(tmp_path):
    """An app over a copy of acme, free to be changed by uploads."""
    db = tmp_path / "own.duckdb"
    import_paths(db, [ACME])
    demo, url = start(db)
    yield url, tmp_path
    demo.close()


def test_bad_upload_is_reported_and_changes_nothing(own_app):
    url, folder = own_app
    bad = folder / "bad"
    bad.mkdir()
    shutil.copy(ACME / "customers.csv", bad / "customers.csv")
    write_csv(bad / "subscriptions.csv", [sub("C000001", "2025-01-01", amount=10, interval="fortnight")])
    client = Client(url, verbose=False)
    data, status = client.predict([handle_file(bad / "customers.csv"), handle_file(bad / "subscriptions.csv")],
                                  api_name="/import_data")
    assert "Import rejected" in status and "subscriptions.csv, line 2, column interval" in status
    assert "394,413.66 USD" in text_of(ask(client, "What is our MRR?"))


def one_customer_files(folder) -> list:
    """A one-customer data set (1,234.50 USD MRR from 2026-01-01) as files to upload."""
    new = folder / "new"
    new.mkdir()
    write_csv(new / "customers.csv", [{"customer_id": "X1", "segment": "SMB"}])
    write_csv(new / "subscriptions.csv", [sub("X1", "2026-01-01", amount=1234.5)])
    return [handle_file(new / "customers.csv"), handle_file(new / "subscriptions.csv")]


def test_a_bad_currency_is_refused_in_plain_words(own_app):
    url, _ = own_app
    client = Client(url, verbose=False)
    _, status = client.predict("euro", api_name="/reporting_currency")
    assert "Not changed: reporting_currency = EURO is not allowed; it takes a three-letter currency code" in status
    assert "pydantic" not in status
    assert "394,413.66 USD" in text_of(ask(client, "What is our MRR?"))


def test_upload_while_other_sessions_ask(own_app):
    """Another session's questions keep working while an upload replaces the data set."""
    url, folder = own_app
    failures, answers = [], []

    def asker():
        client = Client(url, verbose=False)
        for _ in range(6):
            try:
                answers.append(text_of(ask(client, "What is our MRR?")))
            except Exception as exc:  # noqa: BLE001 - any failure is what this test looks for
                failures.append(exc)

    threads = [threading.Thread(target=asker) for _ in range(2)]
    for t in threads:
        t.start()
    uploader = Client(url, verbose=False)
    data, status = uploader.predict(one_customer_files(folder), api_name="/import_data")
    for t in threads:
        t.join()
    assert failures == [] and len(answers) == 12
    assert all("⚠" not in a for a in answers)
    assert "Imported 1 customers" in status and "1 customers" in data
    assert "1,234.50 USD" in text_of(ask(Client(url, verbose=False), "What is our MRR?"))


def test_uploaded_data_is_named_by_its_files_in_the_panel_and_reports(own_app):
    url, folder = own_app
    client = Client(url, verbose=False)
    data, _ = client.predict(one_customer_files(folder), api_name="/import_data")
    assert "Sources: customers.csv (uploaded), subscriptions.csv (uploaded)" in data
    ask(client, "What is our MRR?")
    with open(client.predict("This answer", "md", api_name="/export"), encoding="utf-8") as handle:
        subtitle = handle.read().splitlines()[2]
    assert "from customers.csv (uploaded), subscriptions.csv (uploaded) imported" in subtitle
    assert "(1 customers, 2026-01-01 to" in subtitle and "amounts in USD), as of 2026-06-30" in subtitle
    assert "own.duckdb" not in subtitle and "/tmp" not in subtitle


def test_login_is_required_when_configured(acme_db):
    demo, url = start(acme_db, auth="analyst:secret")
    try:
        with pytest.raises(Exception):
            Client(url, verbose=False)
        client = Client(url, auth=("analyst", "secret"), verbose=False)
        assert "394,413.66 USD" in text_of(ask(client, "What is our MRR?"))
    finally:
        demo.close()


@pytest.fixture(scope="module")
def answers(acme):
    analyst = Analyst(acme, as_of=AS_OF, backend=Backend("offline"))
    thread = analyst.new_thread()
    questions = ["How did we do last month?", "Which customers churned last month?", "What is our MRR?",
                 "top 5 customers by MRR"]
    return {q: analyst.ask(q, thread) for q in questions}


def test_pdf_states_each_formula_once_and_right_aligns_numbers(answers, tmp_path):
    pdf = PdfReader(report.write(list(answers.items()), "pdf", tmp_path / "r.pdf"))
    text = "\n".join(page.extract_text() for page in pdf.pages)
    assert text.count("Formula:") == len(answers)
    starts = {}

    def where(text, cm, tm, font, size):
        starts.setdefault(text.strip(), tm[4])

    pdf.pages[0].extract_text(visitor_text=where)  # the bridge's inputs: one column of amounts
    assert starts["49.00"] > starts["378,249.37"] > starts["step"]


def test_csv_rows_of_a_customer_list_carry_its_period(answers, tmp_path):
    path = report.write([("Which customers churned last month?", answers["Which customers churned last month?"])], "csv",
                        tmp_path / "r.csv")
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert rows and all((r["period_start"], r["period_end"]) == ("2026-05-01", "2026-05-31") for r in rows)


def test_customers_behind_mrr_on_a_day_have_no_movement_columns(answers):
    for question in ("What is our MRR?", "top 5 customers by MRR"):
        shown = "\n".join(computation(c) for c in answers[question].computations)
        header = next(line for line in shown.splitlines() if line.startswith("| customer_id"))
        assert "| amount |" in header and "changes" not in header and "first_date" not in header
    churned = "\n".join(computation(c) for c in answers["Which customers churned last month?"].computations)
    assert "| changes | first_date | last_date |" in churned  # a movement keeps them
