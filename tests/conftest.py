"""Shared pytest set-up: small, deterministic, CPU-only by default; the browser tests' fixtures.

The browser fixtures (Playwright driving Debian's Chromium) are here so that every browser test
module shares one Chromium and one app server. Every page a test opens fails the test on any
request that leaves localhost, and on any error toast, page error or console error that the
test did not say it expects (`page.expect_error(...)`). Without /usr/bin/chromium (or the
playwright package) the browser tests skip with the reason on a developer machine, and fail in
CI (when the CI environment variable is set), where .ci/run installs Chromium first.
"""
from __future__ import annotations

import os
import re
import time
from contextlib import contextmanager
from urllib.parse import urlparse

import pytest
import torch

# Two cores here; one intra-op thread keeps tests deterministic and leaves room for the app server.
torch.set_num_threads(1)
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # for apps built in this process

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
DESKTOP = {"width": 1400, "height": 1000}
PHONE = {"width": 390, "height": 844}
# Gradio's own console noise when a page goes away mid-request (a reload, a closed tab).
NAVIGATION_NOISE = ("AbortError", "Connection errored out", "Failed to fetch",
                    "signal is aborted", "ERR_INCOMPLETE_CHUNKED_ENCODING", "network error")
# Gradio groups toasts of one kind into one box ("Error (3)"): every message line that shows
# up in a toast is logged once per time it appears there.
TOASTS = """
window.__gpToasts = [];
const gpCounts = new WeakMap();
new MutationObserver(() => {
  document.querySelectorAll('[data-testid="toast-body"]').forEach((el) => {
    const kind = ['error', 'warning', 'info', 'success'].find((k) => el.classList.contains(k));
    const seen = gpCounts.get(el) || {};
    const now = {};
    el.querySelectorAll('.toast-text, .toast-message, [data-testid="toast-text"]').forEach((m) => {
      const text = m.innerText.trim();
      now[text] = (now[text] || 0) + 1;
    });
    if (!Object.keys(now).length) now[el.innerText.trim()] = 1;
    for (const [text, n] of Object.entries(now)) {
      for (let i = seen[text] || 0; i < n; i++) window.__gpToasts.push({kind: kind || 'info', text});
    }
    gpCounts.set(el, {...seen, ...now});
  });
}).observe(document, {childList: true, subtree: true, characterData: true});
"""


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"browser tests cannot run in CI: {reason}", pytrace=False)
    pytest.skip(f"browser tests skipped: {reason}")


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        _unavailable(f"{CHROMIUM} is missing (install it with `apt-get install chromium`)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed (pip install playwright)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def app(browser, tmp_path_factory):
    """The app (`python app.py`) the browser tests share, with tiny bundled checkpoints."""
    from app_server import AppServer, make_checkpoints

    folder = tmp_path_factory.mktemp("checkpoints")
    make_checkpoints(folder)
    srv = AppServer(env={"GP_AUTOSAVE_S": "2"}, args=("--checkpoints", str(folder)))
    yield srv
    srv.stop()


class Watched:
    """A page and what happened on it: toasts, console errors, page errors, foreign requests."""

    def __init__(self, page, base: str):
        self.page, self.base = page, base
        self.errors: list[str] = []
        self.toasts_seen = 0
        self.expected: list[re.Pattern] = []
        self.navigating_until = 0.0

    def __getattr__(self, name):  # page.click, page.locator, ... as on a Playwright page
        return getattr(self.page, name)

    def console(self, msg) -> None:
        if msg.type == "error":
            self.errors.append(f"console error: {msg.text}")

    def page_error(self, error) -> None:
        self.errors.append(f"page error: {error}")

    def toasts(self) -> list[dict]:
        return self.page.evaluate("window.__gpToasts || []")

    @contextmanager
    def expect_error(self, pattern: str, toast: bool = True):
        """A block in which an error toast (and its console echo) matching `pattern` is
        expected; with `toast`, the block fails unless one appears."""
        compiled = re.compile(pattern)
        self.expected.append(compiled)
        before = len(self.toasts())
        yield
        if toast:
            wait_for(lambda: any(compiled.search(t["text"]) for t in self.toasts()[before:]),
                     30, f"an error toast matching {pattern!r}")

    def reload(self) -> None:
        self.navigating_until = time.monotonic() + 5
        self.page.reload()
        self.page.wait_for_selector("#train-btn")

    def check(self) -> None:
        """Fail on what went wrong and was not expected."""
        problems = [e for e in self.errors if not any(p.search(e) for p in self.expected)]
        for t in self.toasts():
            if t["kind"] == "error" and not any(p.search(t["text"]) for p in self.expected):
                problems.append(f"error toast: {t['text']}")
        assert not problems, "unexpected errors on the page:\n" + "\n".join(problems)


def open_page(browser, app, viewport=DESKTOP, query: str = "", **options) -> tuple:
    """A fresh context's page on the app (at `query`, e.g. "?preset=grid25"), watched."""
    context = browser.new_context(viewport=viewport, **options)
    context.add_init_script(TOASTS)
    base = urlparse(app.url)
    foreign: list[str] = []

    def only_localhost(route):
        host = urlparse(route.request.url).hostname
        if host not in ("127.0.0.1", "localhost", base.hostname):
            foreign.append(route.request.url)
            route.abort()
        else:
            route.continue_()

    context.route("**/*", only_localhost)
    raw = context.new_page()
    raw.set_default_timeout(60_000)
    page = Watched(raw, app.url)

    def on_console(msg) -> None:
        reloading = time.monotonic() < page.navigating_until
        if not (reloading and any(noise in msg.text for noise in NAVIGATION_NOISE)):
            page.console(msg)

    raw.on("console", on_console)
    raw.on("pageerror", page.page_error)
    raw.goto(app.url.rstrip("/") + "/" + query)
    raw.wait_for_selector("#train-btn", state="attached")  # a link may open another tab
    wait_for(lambda: raw.locator("#live-view .gp-live").get_attribute("data-frames") not in
             (None, "0"), 60, "the live view's first frame")
    page.foreign = foreign
    return context, page


def _watched(browser, app, viewport, query: str = "", **options):
    context, page = open_page(browser, app, viewport, query, **options)
    yield page
    try:
        page.check()
        assert not page.foreign, f"requests left localhost: {page.foreign}"
    finally:
        context.close()


@pytest.fixture
def page(browser, app):
    yield from _watched(browser, app, DESKTOP)


@pytest.fixture
def phone(browser, app):
    yield from _watched(browser, app, PHONE)


def wait_for(condition, timeout: float = 60.0, what: str = "condition"):
    """Poll until `condition()` is truthy and return its value. `timeout` only bounds a hang (a
    state that never comes); it is not a speed check: how soon the state comes is not asserted."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"never saw {what} (a state that never came, not a speed check)")
