"""A real browser: Playwright drives Debian's chromium (installed by `make setup`) headless
through the app: ask, read the number, open the computation, click a follow-up, export a PDF."""

import shutil
from pathlib import Path

import pytest

from pypdf import PdfReader

from gradio_client import Client, handle_file

from conftest import write_csv
from helpers import sub
from test_ui import start

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
OUTPUT = Path(__file__).resolve().parents[1] / "test-output" / "browser"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(),
    reason="Debian's chromium is not installed and could not be installed here (make setup installs it with apt-get)",
)


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    OUTPUT.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield browser
        browser.close()


def open_page(browser, url, width=1400, height=1000):
    page = browser.new_context(viewport={"width": width, "height": height}, accept_downloads=True).new_page()
    page.set_default_timeout(30_000)
    page.goto(url)
    return page


@pytest.fixture(scope="module")
def page(acme_db, browser):
    demo, url = start(acme_db)
    yield open_page(browser, url)
    demo.close()


def test_ask_read_open_follow_up_and_export(page):
    box = page.locator("textarea").first  # the chat input (its placeholder goes after the first message)
    box.fill("What was expansion MRR last quarter?")
    box.press("Enter")
    page.get_by_text("19,419.55 USD").first.wait_for()
    page.get_by_text("How this was computed").first.click()
    page.get_by_text("FROM movements").first.wait_for()
    number = page.locator(".chatbot td[align=right]").first  # the inputs' amounts
    assert number.evaluate("cell => getComputedStyle(cell).textAlign") == "right"
    page.screenshot(path=str(OUTPUT / "answer.png"), full_page=True)

    page.get_by_role("button", name="Compared with the previous period").first.click()
    page.get_by_text("17,573.03 USD").first.wait_for()
    page.locator(".js-plotly-plot").first.wait_for()  # the comparison's chart, drawn by the browser
    page.screenshot(path=str(OUTPUT / "follow-up.png"), full_page=True)

    page.get_by_role("button", name="Export", exact=True).click()
    link = page.locator("a[download='revenue-report.pdf']")
    link.wait_for()
    with page.expect_download() as download:
        link.click()
    saved = OUTPUT / "revenue-report.pdf"
    download.value.save_as(saved)
    text = "\n".join(p.extract_text() for p in PdfReader(saved).pages)
    assert "19,419.55" in text and "SELECT" in text
    page.screenshot(path=str(OUTPUT / "export.png"), full_page=True)


def test_a_new_page_shows_the_data_and_currency_another_session_set(browser, acme_db, tmp_path):
    db = tmp_path / "own.duckdb"
    shutil.copyfile(acme_db, db)
    demo, url = start(db)
    try:
        open_page(browser, url).get_by_text("1,500 customers").first.wait_for()
        folder = tmp_path / "new"
        folder.mkdir()
        write_csv(folder / "customers.csv", [{"customer_id": "X1", "segment": "SMB"}])
        write_csv(folder / "subscriptions.csv", [sub("X1", "2026-01-01", amount=10, currency="EUR")])
        write_csv(folder / "fx_rates.csv", [{"month": f"2026-{m:02}", "currency": "EUR", "rate": 1.1} for m in range(1, 7)])
        other = Client(url, verbose=False)  # another session uploads, then reports in EUR
        other.predict([handle_file(folder / name) for name in ("customers.csv", "subscriptions.csv", "fx_rates.csv")],
                      api_name="/import_data")
        other.predict("EUR", api_name="/reporting_currency")
        fresh = open_page(browser, url)
        fresh.get_by_text("reported in EUR").first.wait_for()
        assert "1 customers" in fresh.get_by_text("subscription rows").first.inner_text()
        assert "customers.csv (uploaded)" in fresh.get_by_text("Sources:").first.inner_text()
        assert fresh.get_by_label("Reporting currency (for everyone using this app)").input_value() == "EUR"
        fresh.screenshot(path=str(OUTPUT / "fresh-session.png"), full_page=True)
    finally:
        demo.close()


def test_on_a_phone_the_side_panel_starts_closed(browser, acme_db):
    demo, url = start(acme_db)
    try:
        phone = open_page(browser, url, width=420, height=860)
        phone.wait_for_function("() => document.querySelector('.sidebar')?.classList.contains('open') === false", timeout=10_000)
        phone.wait_for_timeout(500)  # and it stays closed (not a moment before it opens)
        assert "open" not in phone.locator(".sidebar").first.get_attribute("class")
        box = phone.locator("textarea").first
        box.fill("What is our MRR?")
        box.press("Enter")
        phone.get_by_text("394,413.66 USD").first.wait_for()
        phone.screenshot(path=str(OUTPUT / "phone.png"))
        desktop = open_page(browser, url)
        desktop.get_by_text("1,500 customers").first.wait_for()
        assert "open" in desktop.locator(".sidebar").first.get_attribute("class")
    finally:
        demo.close()
