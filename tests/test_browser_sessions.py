"""Sessions in a real browser: two people at once, a closed tab, a reload, a restart, a phone."""
from __future__ import annotations

import time

import pytest

from browser_helpers import choose_preset, live, pause, screenshot, train
from conftest import PHONE, open_page, wait_for

pytestmark = pytest.mark.browser


def test_two_browser_sessions_train_at_once_without_interfering(browser, app):
    (ctx_a, a), (ctx_b, b) = open_page(browser, app), open_page(browser, app)
    try:
        choose_preset(b, "grid25")
        train(a, until_step=5)
        train(b, until_step=5)
        pause(b)
        b_step, a_step = live(b)["step"], live(a)["step"]
        time.sleep(1.5)
        assert live(b)["step"] == b_step, "B kept training after its own Pause"
        assert live(a)["step"] > a_step, "B's Pause stopped A's run"
        assert "ring8" in a.locator("#train-status").inner_text()
        assert "grid25" in b.locator("#train-status").inner_text()
        pause(a)
        a.check()
        b.check()
    finally:
        ctx_a.close()
        ctx_b.close()


def test_a_reload_offers_the_run_and_continues_it_where_it_was(page):
    train(page, until_step=100)
    before = live(page)
    page.reload()
    text = wait_for(lambda: page.locator("#continue-btn").is_visible() and
                    page.locator("#continue-text").inner_text(), 60, "the offer to continue")
    assert "**" not in text and "ring8" in text and "continue" in text.lower()
    page.click("#continue-btn")
    wait_for(lambda: live(page)["state"] == "training" and live(page)["step"] >= before["step"],
             60, "the run to go on from where it was")
    assert live(page)["run"] == before["run"]  # the same run, not a new one
    assert not page.locator("#continue-btn").is_visible()
    pause(page)


def test_after_a_restart_the_saved_run_continues_with_its_curves(browser, tmp_path):
    from app_server import AppServer

    srv = AppServer(env={"GP_AUTOSAVE_S": "1", "GP_RUNS_DIR": str(tmp_path / "runs")})
    try:
        context, page = open_page(browser, srv)
        train(page, until_step=150)
        time.sleep(2.5)  # an autosave
        srv.proc.kill()  # no time to save anything more: kill -9
        srv.proc.wait(30)
        srv2 = AppServer(env={"GP_AUTOSAVE_S": "1", "GP_RUNS_DIR": str(tmp_path / "runs")},
                         port=srv.port)  # the same address: the browser remembers its run there
        try:
            # The killed server's page lost its connections mid-request: expected, not a fault.
            page.errors.clear()
            page.navigating_until = time.monotonic() + 10
            page.goto(srv2.url)
            page.wait_for_selector("#train-btn")
            wait_for(lambda: page.locator("#continue-btn").is_visible(), 60, "the offer")
            saved = int(page.locator("#continue-text").inner_text().split("step ")[1]
                        .split(" ")[0].replace(",", ""))
            assert saved >= 100
            page.click("#continue-btn")
            wait_for(lambda: live(page)["step"] > saved and live(page)["state"] == "training",
                     60, "training from the saved step")
            points = page.evaluate("""() => document.querySelector('#live-view .gp-chart-loss')
                .querySelectorAll('canvas').length""")
            assert points >= 1
            pause(page)
            page.check()
        finally:
            srv2.stop()
        context.close()
    finally:
        if srv.proc.poll() is None:
            srv.stop()


def test_on_a_phone_the_buttons_and_the_view_come_first(phone):
    train_box = phone.locator("#train-btn").bounding_box()
    assert train_box["y"] < PHONE["height"], "the Train button is below the first screen"
    view = phone.locator("#live-view canvas.gp-view").bounding_box()
    settings = phone.locator("#train-settings").bounding_box()
    assert view["y"] < settings["y"]  # the view before the settings
    assert view["width"] <= PHONE["width"]
    screenshot(phone, "phone-train-before")
    train(phone, until_step=20)
    pause(phone)
    screenshot(phone, "phone-train")
    phone.get_by_role("tab", name="Sample").click()
    phone.click("#sample-btn")
    wait_for(lambda: "sample(s)" in phone.locator("#sample-info").inner_text(), 60)
    screenshot(phone, "phone-sample")
    phone.get_by_role("tab", name="Discriminator").click()
    screenshot(phone, "phone-discriminator")


def test_closing_the_tab_frees_its_session(browser, monkeypatch, tmp_path):
    """In-process app, so the test can see the session registry; fast heartbeats."""
    from app_server import free_port
    from playground.ui import Limits, build_app, launch_options
    from playground.ui.session import REGISTRY

    monkeypatch.setenv("GRADIO_HEARTBEAT_INTERVAL", "1")
    demo = build_app(device="cpu", limits=Limits(), checkpoints_dir=tmp_path,
                     runs_dir=tmp_path / "runs")
    port = free_port()
    demo.launch(server_port=port, prevent_thread_lock=True, quiet=True, **launch_options())
    try:
        before = set(REGISTRY._sessions)
        context = browser.new_context()
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(f"http://127.0.0.1:{port}/")
        page.wait_for_selector("#step-both-btn")
        page.click("#step-both-btn")
        wait_for(lambda: live(page)["step"] == 1, what="one step")
        new = wait_for(lambda: [s for k, s in REGISTRY._sessions.items() if k not in before],
                       what="the new session")
        session = new[0]
        assert session.trainer is not None and session.trainer.step_count == 1
        context.close()
        wait_for(lambda: session.closed and session.trainer is None, 30,
                 "the closed tab's session to be freed")
        assert session.id not in REGISTRY._sessions
        wait_for(lambda: list((tmp_path / "runs").glob("*.safetensors")), 30,
                 "its run to be saved as it closed")
    finally:
        demo.close()
