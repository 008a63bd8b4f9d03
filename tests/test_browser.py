"""Each tab's main flow, clicked in a real browser (Playwright driving Debian's Chromium).

Screenshots of the three tabs go to test-artifacts/. Without /usr/bin/chromium (or the
playwright package) these tests skip with the reason on a developer machine, and fail in CI
(when the CI environment variable is set), where .ci/run installs Chromium first.
"""
from __future__ import annotations

import os
import time

import pytest

from app_server import ROOT, AppServer, make_checkpoints

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"browser tests cannot run in CI: {reason}", pytrace=False)
    pytest.skip(f"browser tests skipped: {reason}")


@pytest.fixture(scope="module")
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


@pytest.fixture(scope="module")
def server(browser, tmp_path_factory):
    folder = tmp_path_factory.mktemp("checkpoints")
    make_checkpoints(folder)
    srv = AppServer(args=("--checkpoints", str(folder)))
    yield srv
    srv.stop()


def open_app(browser, server):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(server.url)
    page.wait_for_selector("#train-btn")
    return context, page


@pytest.fixture
def page(browser, server):
    context, page = open_app(browser, server)
    yield page
    context.close()


def screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True, timeout=120_000)


def progress(page) -> tuple[int, str]:
    """(step, state) from the Train tab's progress bar."""
    el = page.locator("#train-progress .gp-progress")
    return int(el.get_attribute("data-step")), el.get_attribute("data-state")


def img_src(page, selector: str) -> str | None:
    loc = page.locator(f"{selector} img")
    return loc.first.get_attribute("src") if loc.count() else None


def choose(page, dropdown_id: str, text: str) -> None:
    page.locator(f"#{dropdown_id} input").click()
    page.get_by_role("option").filter(has_text=text).first.click()


def wait_for(condition, timeout: float = 60.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_train_2d_live_then_pause_and_resume(page):
    page.click("#train-btn")
    wait_for(lambda: progress(page)[0] > 0, what="the first training steps")
    picture, losses = img_src(page, "#train-picture"), img_src(page, "#loss-plot")
    # Watch the page for 3 s and count the refreshes of the step counter.
    steps, start = [], time.monotonic()
    while time.monotonic() - start < 3.0:
        steps.append(progress(page)[0])
        time.sleep(0.05)
    refreshes = sum(1 for a, b in zip(steps, steps[1:]) if b != a)
    rate = refreshes / (time.monotonic() - start)
    print(f"\nbrowser refresh rate while training: {rate:.1f} per second")
    # The refresh rate is a figure for `make bench` (benchmarks/streaming.py), not a timed test:
    # here the page must keep refreshing, and the pictures must move.
    assert refreshes >= 2, f"the page refreshed only {refreshes} times in 3 s"
    assert steps[-1] > steps[0]
    assert img_src(page, "#train-picture") != picture, "the 2D view did not change"
    assert img_src(page, "#loss-plot") != losses, "the loss curves did not change"

    # A live edit while training: applied at the next step and marked on the curves.
    lr = page.get_by_label("G learning rate")
    lr.fill("0.0005")
    lr.press("Enter")
    wait_for(lambda: "g_lr → 0.0005" in page.locator("#train-changes").inner_text(), 30,
             "the live edit to be applied")

    page.click("#pause-btn")
    clicked = time.monotonic()
    wait_for(lambda: progress(page)[1] == "paused", 10, "the run to pause")
    print(f"pause took effect in {time.monotonic() - clicked:.2f} s")
    paused_step = progress(page)[0]
    time.sleep(1.0)
    assert progress(page) == (paused_step, "paused"), "training went on after Pause"
    screenshot(page, "train-tab")

    page.click("#resume-btn")
    wait_for(lambda: progress(page)[0] > paused_step + 5, 30, "training to resume")
    resumed_step = progress(page)[0]
    assert resumed_step > paused_step  # continued from the same state, not from zero
    page.click("#train-btn")  # Train while training: a new run from step 0
    wait_for(lambda: 0 < progress(page)[0] < resumed_step and progress(page)[1] == "training",
             30, "a new run to start")
    page.click("#pause-btn")
    wait_for(lambda: progress(page)[1] == "paused", 10, "the new run to pause")


def test_sample_a_seed_twice_gives_the_same_image(page):
    page.get_by_role("tab", name="Sample").click()
    choose(page, "sample-model", "tiny-mnist")

    def generate(seeds: str) -> bytes:
        old = img_src(page, "#sample-grid")
        page.locator("#sample-seeds textarea").fill(seeds)
        page.click("#sample-btn")
        src = wait_for(lambda: (s := img_src(page, "#sample-grid")) and s != old and s,
                       what=f"the grid for seeds {seeds}")
        return page.request.get(src).body()

    first = generate("7")
    other = generate("8")
    again = generate("7")
    assert first == again, "seed 7 gave two different images"
    assert first != other
    page.click("#interp-btn")
    wait_for(lambda: img_src(page, "#interp-gif"), what="the interpolation GIF")
    screenshot(page, "sample-tab")


def test_upload_an_image_and_draw_a_digit_get_scores(page, tmp_path):
    from PIL import Image, ImageDraw

    page.get_by_role("tab", name="Discriminator").click()
    choose(page, "disc-model", "tiny-mnist")
    page.click("#report-btn")
    wait_for(lambda: "ROC AUC" in page.locator("#report-stats").inner_text(),
             what="the discriminator report")

    digit = tmp_path / "digit.png"
    img = Image.new("L", (64, 64), 0)
    ImageDraw.Draw(img).line((32, 8, 32, 56), fill=255, width=8)
    img.save(digit)
    page.get_by_role("tab", name="Upload").click()
    page.locator("#score-upload input[type=file]").set_input_files(str(digit))
    wait_for(lambda: img_src(page, "#score-upload"), what="the uploaded image")
    page.click("#score-image-btn")
    wait_for(lambda: "looks real" in page.locator("#score-label").inner_text(),
             what="a score for the uploaded image")
    uploaded_saliency = wait_for(lambda: img_src(page, "#saliency"), what="a saliency map")

    page.get_by_role("tab", name="Draw").click()
    canvas = page.locator("#sketchpad canvas").first
    page.locator("#sketchpad button[aria-label='Brush']").first.click()
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.8, steps=12)
    page.mouse.up()
    page.click("#score-sketch-btn")
    # A new saliency map (files are named by content) means the drawing was scored.
    wait_for(lambda: (s := img_src(page, "#saliency")) and s != uploaded_saliency,
             what="a score for the drawing")
    wait_for(lambda: "looks real" in page.locator("#score-label").inner_text(),
             what="the drawing's verdict")
    screenshot(page, "discriminator-tab")


def test_two_browser_sessions_train_at_once_without_interfering(browser, server):
    (ctx_a, a), (ctx_b, b) = open_app(browser, server), open_app(browser, server)
    try:
        b.get_by_label("Preset").click()
        b.get_by_role("option").filter(has_text="grid25").first.click()
        wait_for(lambda: b.locator("#tab-train input[aria-label='Dataset']").input_value()
                 .startswith("grid25"), 20, "the grid25 preset")
        a.click("#train-btn")
        b.click("#train-btn")
        wait_for(lambda: progress(a)[0] > 5 and progress(b)[0] > 5, 60, "both runs to train")
        b.click("#pause-btn")
        wait_for(lambda: progress(b)[1] == "paused", 10, "B to pause")
        b_step, a_step = progress(b)[0], progress(a)[0]
        time.sleep(1.5)
        assert progress(b)[0] == b_step, "B kept training after its own Pause"
        assert progress(a)[0] > a_step, "B's Pause stopped A's run"
        assert "ring8" in a.locator("#train-status").inner_text()
        assert "grid25" in b.locator("#train-status").inner_text()
        a.click("#pause-btn")
        wait_for(lambda: progress(a)[1] == "paused", 10, "A to pause")
    finally:
        ctx_a.close()
        ctx_b.close()


def test_closing_the_tab_frees_its_session(browser, monkeypatch, tmp_path):
    """In-process app, so the test can see the session registry; fast heartbeats."""
    from app_server import free_port
    from playground.ui import Limits, build_app, launch_options
    from playground.ui.session import REGISTRY

    monkeypatch.setenv("GRADIO_HEARTBEAT_INTERVAL", "1")
    demo = build_app(device="cpu", limits=Limits(), checkpoints_dir=tmp_path)
    port = free_port()
    demo.launch(server_port=port, prevent_thread_lock=True, quiet=True, **launch_options())
    try:
        before = set(REGISTRY._sessions)
        context = browser.new_context()
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(f"http://127.0.0.1:{port}/")
        page.click("#step-both-btn")
        wait_for(lambda: progress(page)[0] == 1, what="one step")
        new = wait_for(lambda: [s for k, s in REGISTRY._sessions.items() if k not in before],
                       what="the new session")
        session = new[0]
        assert session.trainer is not None and session.trainer.step_count == 1
        context.close()
        wait_for(lambda: session.closed, 30, "the closed tab's session to be freed")
        assert session.trainer is None and session.id not in REGISTRY._sessions
    finally:
        demo.close()
