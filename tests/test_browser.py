"""A real browser: Playwright drives Debian's chromium (installed by `make setup`) headless
through the app: ask, read the number, open the computation, click a follow-up, export a PDF."""

import shutil
from pathlib import Path

import pytest

from pypdf import PdfReader

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
def page(acme_db, tmp_path_factory):
    sync_api = pytest.importorskip("playwright.sync_api")
    demo, url = start(acme_db)
    OUTPUT.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        page = context.new_page()
        page.set_default_timeout(30_000)
        page.goto(url)
        yield page
        browser.close()
    demo.close()


def test_ask_read_open_follow_up_and_export(page):
    box = page.locator("textarea").first  # the chat input (its placeholder goes after the first message)
    box.fill("What was expansion MRR last quarter?")
    box.press("Enter")
    page.get_by_text("19,419.55 USD").first.wait_for()
    page.get_by_text("How this was computed").first.click()
    page.get_by_text("FROM movements").first.wait_for()
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
