"""The chat page in a real browser (Debian's chromium through Playwright), with the fakes."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
QUESTION = "Combien OpenAI devrait-elle perdre cette année ?"
GOOD_FR = "Selon The Information, OpenAI perdra environ 5 milliards de dollars cette année [1]."
OPENAI_DOC = "004_f51b68045130b9a9.txt"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore:.*(no_silent_downcasting|copy keyword).*"),
    pytest.mark.skipif(not CHROMIUM.exists(),
                       reason="needs Debian's chromium: apt-get install chromium chromium-driver"),
]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def page_url(make_assistant):
    from ui.app import build_app, launch

    assistant = make_assistant(GOOD_FR)
    assistant.data  # noqa: B018 -- index before the page loads
    settings = assistant.settings.with_(host="127.0.0.1", port=free_port(), share=False)
    demo = build_app(assistant, settings)
    url = launch(demo, settings, quiet=True)
    yield url
    demo.close()


@pytest.fixture
def page(page_url):
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 950})
            page.goto(page_url)
            yield page
        finally:
            browser.close()


def test_chat_streams_answer_and_shows_cited_quote(page):
    box = page.locator("#question textarea")
    box.wait_for(timeout=30_000)
    box.fill(QUESTION)
    box.press("Enter")

    mark = page.locator("#sources mark", has_text="5 milliards")
    mark.first.wait_for(timeout=30_000)
    assert "5 milliards" in mark.first.inner_text()
    assert OPENAI_DOC in page.locator("#sources").inner_text()

    # The answer's [1] is a link to the source entry, which exists in the panel.
    link = page.locator("#chat a.cite").first
    link.wait_for(timeout=10_000)
    assert link.get_attribute("href") == "#src-1-1"
    assert page.locator("#src-1-1").count() == 1
    assert "first token" in page.locator("#chat").inner_text()
    link.click()
    page.locator("#src-1-1.flash").wait_for(timeout=5_000)

    ARTIFACTS.mkdir(exist_ok=True)
    page.wait_for_timeout(800)  # let the scroll and the highlight settle
    page.screenshot(path=str(ARTIFACTS / "chat.png"), full_page=True)


def test_documents_tab_lists_articles_and_indexes_an_upload(page, tmp_path):
    page.get_by_role("tab", name="Documents").click()
    page.locator("#documents").get_by_text(OPENAI_DOC).wait_for(timeout=30_000)
    article = tmp_path / "Nouvel article.md"
    article.write_text("# Zorglub lève des fonds\n\nLa start-up Zorglub a levé 42 millions d'euros mardi.\n",
                       encoding="utf-8")
    page.locator("#upload input[type=file]").set_input_files(str(article))
    page.locator("#documents").get_by_text("uploads/Nouvel_article.md").wait_for(timeout=30_000)
    assert "indexed" in page.locator("#docs-status").inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "documents.png"), full_page=True)
