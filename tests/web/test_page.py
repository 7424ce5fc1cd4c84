"""The web page driven in real headless Chromium (Debian's `chromium`) through Playwright:
upload files and watch the job, ask a question answered by the fake model, open a citation,
run a filtered search, and use an API key. Every step leaves a screenshot in the test's
temporary folder; a failure lists them."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.config import Settings, load_settings
from app.main import create_app
from tests.fake_openai import FakeOpenAI, Reply, chat_settings
from tests.servers import ServerThread

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
if not Path(CHROMIUM).exists():
    if os.environ.get("CI"):
        pytest.fail("CI needs Debian's chromium for the browser tests (.ci/run installs it)")
    pytest.skip(
        "Debian's chromium is not installed: apt-get install chromium", allow_module_level=True
    )

from playwright.sync_api import Browser, Page, expect, sync_playwright  # noqa: E402

ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ADMIN_KEY = "web-admin-key-0123456789"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def web_url(settings: Settings, fake_openai_server: FakeOpenAI) -> Iterator[str]:
    """pgask with a model (the fake server) and its ingest worker, for this module only."""
    configured = chat_settings(
        settings, fake_openai_server, pgask_ingest_worker=True, pgask_job_heartbeat_seconds=0.2
    )
    with ServerThread(create_app(configured)) as running:
        yield running.url


class Steps:
    """Screenshots after each step; the failure message names them all."""

    def __init__(self, page: Page, folder: Path) -> None:
        self.page = page
        self.folder = folder
        self.shots: list[Path] = []

    def shot(self, name: str) -> None:
        path = self.folder / f"{len(self.shots) + 1:02d}-{name}.png"
        self.page.screenshot(path=path, full_page=True)
        self.shots.append(path)

    def failed(self, exc: BaseException) -> AssertionError:
        self.shot("failure")
        listing = "\n".join(str(p) for p in self.shots)
        return AssertionError(f"{exc}\nscreenshots:\n{listing}")


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1100, "height": 800})
    opened = context.new_page()
    opened.set_default_timeout(30_000)
    yield opened
    context.close()


def _create_collection(page: Page, web_url: str, name: str) -> None:
    """Open the page and create collection `name` under Upload; it becomes the selected one."""
    page.goto(web_url)
    page.get_by_role("tab", name="Upload").click()
    page.fill("#new-collection", name)
    page.get_by_role("button", name="Create collection").click()
    expect(page.locator("#collection")).to_have_value(name)


def test_upload_ask_cite_and_search(
    page: Page, web_url: str, fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    steps = Steps(page, tmp_path)
    name = f"web-{uuid.uuid4().hex[:8]}"
    widget = tmp_path / "widget.md"
    widget.write_text("# Foo widget\n\nThe Foo widget costs 25 euros and ships in two days.\n")
    notes = tmp_path / "notes.txt"
    notes.write_text("Paris is the capital of France.\n")
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    try:
        _create_collection(page, web_url, name)
        steps.shot("collection-created")

        page.set_input_files("#file-input", [str(widget), str(notes), str(empty)])
        expect(page.locator("#job-status")).to_contain_text(
            "3 of 3 documents processed, 1 failed", timeout=120_000
        )
        expect(page.locator("#job-errors li")).to_have_count(1)
        expect(page.locator("#job-errors")).to_contain_text("empty.txt")
        expect(page.locator("#collection option:checked")).to_contain_text("2 documents")
        steps.shot("uploaded")

        fake_openai.script(Reply(content="The Foo widget costs 25 euros [1].", endpoint="chat"))
        page.get_by_role("tab", name="Ask").click()
        page.fill("#question", "How much is the Foo widget?")
        page.get_by_role("button", name="Ask", exact=True).click()
        answer = page.locator(".turn.assistant .body").last
        expect(answer).to_have_text("The Foo widget costs 25 euros [1].")
        expect(page.locator("#sources li")).not_to_have_count(0)
        steps.shot("answered")

        answer.locator("a.cite[data-n='1']").click()
        expect(page.locator("#passage")).to_be_visible()
        expect(page.locator("#passage-title")).to_contain_text("[1]")
        expect(page.locator("#passage-text")).to_contain_text("25 euros")
        expect(page.locator("#passage-meta")).to_contain_text("widget.md")
        steps.shot("citation-opened")

        page.get_by_role("tab", name="Search").click()
        page.fill("#search-query", "capital France")
        page.select_option("#search-mode", "text")
        page.fill("#search-filter", '{"path": "notes.txt"}')
        page.get_by_role("button", name="Search").click()
        expect(page.locator("#results li")).to_have_count(1)
        expect(page.locator("#results li mark").first).to_have_text("capital")
        steps.shot("filtered-search")

        page.fill("#search-filter", "{not json")
        page.get_by_role("button", name="Search").click()
        expect(page.locator("#error")).to_have_text("The filter is not valid JSON.")
        page.fill("#search-filter", '{"path": {"$regex": "x"}}')
        page.get_by_role("button", name="Search").click()
        expect(page.locator("#error")).to_contain_text("$regex")
        steps.shot("errors-in-plain-words")

        page.set_viewport_size({"width": 390, "height": 844})
        page.get_by_role("tab", name="Ask").click()
        steps.shot("phone")
    except AssertionError as exc:
        raise steps.failed(exc) from exc


def test_api_key_is_asked_for_and_kept_in_the_session(
    browser: Browser, settings: Settings, tmp_path: Path
) -> None:
    keyed = settings.model_copy(
        update={"pgask_api_keys": load_settings(pgask_api_keys=f"web:{ADMIN_KEY}").auth.api_keys}
    )
    context = browser.new_context()
    page = context.new_page()
    steps = Steps(page, tmp_path)
    try:
        with ServerThread(create_app(keyed)) as server:
            page.goto(server.url)
            expect(page.locator("#error")).to_contain_text("needs an API key")
            steps.shot("key-needed")
            page.locator("#key-box summary").click()
            page.fill("#api-key", ADMIN_KEY)
            page.get_by_role("button", name="Use key").click()
            expect(page.locator("#error")).to_be_hidden()
            assert page.evaluate("sessionStorage.getItem('pgask-key')") == ADMIN_KEY
            page.reload()
            expect(page.locator("#api-key")).to_have_value(ADMIN_KEY)
            expect(page.locator("#error")).to_be_hidden()
            steps.shot("key-used")
    except AssertionError as exc:
        raise steps.failed(exc) from exc
    finally:
        context.close()


HOSTILE = (
    'Install it: <img src="x" onerror="window.pwned = 1"> and <script>window.pwned = 2</script>'
    "\n\n```bash\npip install foo\nfoo --help\n```\n\n- **fast** and *small*\n- see "
    "[the docs](https://example.org/docs) or [bad](javascript:window.pwned=3)"
)


def test_markdown_renders_safely_in_answers_and_passages(
    page: Page, web_url: str, fake_openai: FakeOpenAI
) -> None:
    import httpx

    name = f"md-{uuid.uuid4().hex[:8]}"
    with httpx.Client(base_url=web_url, timeout=60) as http:
        assert http.post("/v1/collections", json={"name": name}).status_code == 201
        stored = http.post(
            f"/v1/collections/{name}/documents",
            json={"documents": [{"id": "hostile.txt", "title": "Foo", "text": HOSTILE}]},
        )
        assert stored.status_code == 200, stored.text
    fake_openai.script(Reply(content=HOSTILE + " [1]", endpoint="chat"))
    page.goto(web_url)
    page.select_option("#collection", name)
    page.get_by_role("tab", name="Ask").click()
    page.fill("#question", "How do I install foo?")
    page.get_by_role("button", name="Ask", exact=True).click()
    answer = page.locator(".turn.assistant .body").last
    expect(answer.locator("a.cite[data-n='1']")).to_have_count(1)
    for box in (answer, page.locator("#passage-text")):
        if box is not answer:
            answer.locator("a.cite[data-n='1']").click()
            expect(page.locator("#passage")).to_be_visible()
        expect(box.locator("pre code")).to_have_text("pip install foo\nfoo --help")
        expect(box).to_contain_text('<img src="x" onerror="window.pwned = 1">')
        expect(box).to_contain_text("<script>window.pwned = 2</script>")
        expect(box.locator("img, script")).to_have_count(0)
        expect(box.locator("li strong")).to_have_text("fast")
        expect(box.locator("li em")).to_have_text("small")
        expect(box.locator("a[href='https://example.org/docs']")).to_have_text("the docs")
        expect(box.locator("a[href^='javascript']")).to_have_count(0)
    assert page.evaluate("window.pwned") is None


PLACE = "Backups \u203a Restore a dump"  # title, then section
MANUAL = """# Backups

## Restore a dump

To recreate the database from the dump, run:

```console
$ pg_restore -C -d postgres db.dump
```

| Option | Meaning |
| --- | --- |
| `-C` | create the database first |
| `-c` | clean (drop) objects |
"""


def test_search_results_and_sources_render_markdown_and_name_their_section(
    page: Page, web_url: str, fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    steps = Steps(page, tmp_path)
    name = f"manual-{uuid.uuid4().hex[:8]}"
    manual = tmp_path / "backups.md"
    manual.write_text(MANUAL)
    try:
        _create_collection(page, web_url, name)
        page.set_input_files("#file-input", [str(manual)])
        expect(page.locator("#job-status")).to_contain_text(
            "1 of 1 documents processed, 0 failed", timeout=120_000
        )

        page.get_by_role("tab", name="Search").click()
        page.fill("#search-query", "restore dump")
        page.select_option("#search-mode", "text")
        page.get_by_role("button", name="Search").click()
        hit = page.locator("#results li").first
        expect(hit.locator("strong").first).to_have_text(PLACE)
        expect(hit.locator("pre code")).to_have_text("$ pg_restore -C -d postgres db.dump")
        expect(hit.locator("table th")).to_have_text(["Option", "Meaning"])
        expect(hit.locator("table td code")).to_have_text(["-C", "-c"])
        expect(hit).not_to_contain_text("```")
        expect(hit).not_to_contain_text("| --- |")
        expect(hit.locator("table td").nth(1)).to_have_text("create the database first")
        expect(hit.locator("mark").first).to_have_text("dump")  # query words, outside code
        steps.shot("search-rendered")

        fake_openai.script(Reply(content="Run pg_restore [1].", endpoint="chat"))
        page.get_by_role("tab", name="Ask").click()
        page.fill("#question", "How do I restore a dump?")
        page.get_by_role("button", name="Ask", exact=True).click()
        expect(page.locator("#sources li a.cite").first).to_have_text(PLACE)
        page.locator(".turn.assistant .body a.cite[data-n='1']").click()
        expect(page.locator("#passage-title")).to_have_text(f"[1] {PLACE}")
        expect(page.locator("#passage-text table")).to_have_count(1)
        steps.shot("sources-named")
    except AssertionError as exc:
        raise steps.failed(exc) from exc
