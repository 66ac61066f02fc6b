"""The chat page in a real browser (Debian's chromium through Playwright): with the fakes,
and (slow) `rag serve` on the real models, timing the first answer against the second."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import stop_process

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
    assert "model ready" in page.locator("#model-status").inner_text()

    ARTIFACTS.mkdir(exist_ok=True)
    page.wait_for_timeout(800)  # let the scroll and the highlight settle
    assert all(quotes_in_view(page)), "a highlighted quote is scrolled out of its passage"
    page.screenshot(path=str(ARTIFACTS / "chat.png"), full_page=True)

    # The conversation downloads as Markdown and JSON, sources and quotes included.
    with page.expect_download(timeout=15_000) as md:
        page.locator("#download-md").click()
    text = Path(md.value.path()).read_text(encoding="utf-8")
    assert QUESTION in text and OPENAI_DOC in text and "5 milliards" in text
    with page.expect_download(timeout=15_000) as js:
        page.locator("#download-json").click()
    turn = json.loads(Path(js.value.path()).read_text(encoding="utf-8"))["turns"][0]
    assert turn["question"] == QUESTION and turn["citations"][0]["doc_id"] == OPENAI_DOC


def quotes_in_view(page) -> list[bool]:
    """For each shown passage of the sources panel: is its highlighted quote inside the
    passage's visible box?"""
    return page.evaluate("""() => [...document.querySelectorAll('#sources details[open] blockquote.passage')]
      .filter((bq) => bq.querySelector('mark'))
      .map((bq) => { const b = bq.getBoundingClientRect(), m = bq.querySelector('mark').getBoundingClientRect();
                     return m.top >= b.top - 1 && m.top < b.bottom; })""")


def ask_and_time(page, question: str, n: int) -> tuple[float, str]:
    """Seconds from pressing Enter to the first answer text of the ``n``-th answer in the page,
    and the timing line shown under the answer."""
    box = page.locator("#question textarea")
    box.fill(question)
    t0 = time.perf_counter()
    box.press("Enter")
    page.wait_for_function(f"document.querySelectorAll('#chat .answer').length >= {n}", polling=50, timeout=300_000)
    first = time.perf_counter() - t0
    page.wait_for_function(f"document.querySelectorAll('#chat .meta').length >= {n}", timeout=300_000)
    return first, page.locator("#chat .meta").last.inner_text()


@pytest.mark.slow
def test_first_answer_starts_about_as_fast_as_the_second_on_the_real_model(tmp_path):
    """`rag serve` warms the model up in the background: the first question's time to
    first token, measured in the page, is close to the second's."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    index = tmp_path / "index"
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    cli = [sys.executable, "-m", "rag.cli"]
    subprocess.run([*cli, "index", str(ROOT / "seeds"), "--index-dir", str(index), "--quiet"], env=env,
                   check=True, capture_output=True, timeout=900)
    port = free_port()
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen([*cli, "serve", "--index-dir", str(index), "--host", "127.0.0.1", "--port", str(port)],
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                urllib.request.urlopen(url, timeout=2).close()
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
                time.sleep(0.5)
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 950})
                page.goto(url)
                status = page.locator("#model-status")
                status.wait_for(timeout=60_000)
                if "loading model" in status.inner_text():
                    page.screenshot(path=str(ARTIFACTS / "chat-loading.png"), full_page=True)
                page.locator("#model-status .ready").wait_for(timeout=600_000)
                first, meta1 = ask_and_time(page, QUESTION, 1)
                page.locator("#clear").click()
                page.wait_for_function("document.querySelectorAll('#chat .answer').length === 0")
                second, meta2 = ask_and_time(page, "Which AI company is said to spend more money than it receives?", 1)
                meta = [meta1, meta2]
                page.wait_for_timeout(800)
                page.screenshot(path=str(ARTIFACTS / "chat-real-model.png"), full_page=True)
            finally:
                browser.close()
    finally:
        stop_process(proc)
        log.close()
    (ARTIFACTS / "ttft.json").write_text(json.dumps({"first_s": round(first, 2), "second_s": round(second, 2), "meta": meta},
                                                      ensure_ascii=False))
    assert first <= 1.5 * second + 1.0, f"first answer {first:.2f} s to first token, second {second:.2f} s"


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
