"""Links that carry a setup, in a real browser: open one, see the form, train it, copy it."""
from __future__ import annotations

from contextlib import contextmanager
from urllib.parse import parse_qs, urlparse

import pytest

from browser_helpers import (choose_preset, download_checkpoint, field, open_advanced, pause,
                             screenshot, train, type_into)
from conftest import DESKTOP, _watched, wait_for
from playground.checkpoint import read_metadata
from playground.presets import PRESETS

pytestmark = pytest.mark.browser


@contextmanager
def opened(browser, app, query: str, **options):
    """A page opened at `query`, checked for errors and foreign requests when the block ends."""
    pages = _watched(browser, app, DESKTOP, query, **options)
    page = next(pages)
    try:
        yield page
    finally:
        pages.close()  # runs the checks of _watched (no unexpected error, nothing foreign)


def href(page) -> str:
    """The page's address as it is now (Playwright's page.url lags behind replaceState)."""
    return page.evaluate("window.location.href")


def url_params(page) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(urlparse(href(page)).query).items()}


def saved_config(page, tmp_path) -> dict:
    """The config of the page's run, as its checkpoint download says."""
    config = read_metadata(download_checkpoint(page, tmp_path / "run.safetensors"))["config"]
    return {**vars(config.data), **vars(config.model), **vars(config.train)}


def test_a_link_fills_the_form_and_the_run_trains_exactly_those_settings(browser, app, tmp_path):
    query = "?preset=grid25&g_lr=0.0007&loss=hinge&seed=3&tab=train"
    with opened(browser, app, query) as page:
        wait_for(lambda: field(page, "g_lr").input_value() == "0.0007", 30, "the link's g_lr")
        assert page.locator("#field-preset input").input_value() == "grid25"
        assert field(page, "loss").input_value() == "hinge"
        assert field(page, "seed").input_value() == "3"
        assert field(page, "dataset").input_value().startswith("grid25")
        assert not page.locator("#link-note").is_visible()  # nothing to complain about
        screenshot(page, "link-opened")
        train(page, until_step=5)
        pause(page)
        got = saved_config(page, tmp_path)
        want = {**vars(PRESETS["grid25"].data), **vars(PRESETS["grid25"].model),
                **vars(PRESETS["grid25"].train), "g_lr": 0.0007, "loss": "hinge", "seed": 3}
        for name in ("dataset", "g_lr", "d_lr", "loss", "seed", "batch_size", "ema_decay",
                     "g_width", "z_dim", "steps"):
            assert got[name] == want[name], name


def test_the_url_follows_the_form_and_copy_link_gives_it(browser, app):
    with opened(browser, app, "", permissions=["clipboard-read", "clipboard-write"]) as page:
        assert href(page).endswith("/")  # a bare address stays bare on the default settings
        choose_preset(page, "grid25")
        wait_for(lambda: url_params(page) == {"preset": "grid25"}, 20, "preset=grid25 in the URL")
        type_into(page, "g_lr", "0.001")
        wait_for(lambda: url_params(page).get("g_lr") == "0.001", 20, "g_lr in the URL")
        assert url_params(page) == {"preset": "grid25", "g_lr": "0.001"}  # only what differs
        page.get_by_role("tab", name="Sample").click()
        wait_for(lambda: url_params(page).get("tab") == "sample", 20, "tab=sample in the URL")
        page.get_by_role("tab", name="Train").click()
        wait_for(lambda: url_params(page).get("tab") == "train", 20, "tab=train in the URL")
        page.click("#copy-link-btn")
        box = page.locator("#link-box textarea, #link-box input").first
        link = href(page)
        wait_for(lambda: box.is_visible() and box.input_value() == link, 20,
                 "the link beside the button")
        assert page.evaluate("navigator.clipboard.readText()") == link
    with opened(browser, app, "?" + urlparse(link).query) as again:  # the link opens the setup
        wait_for(lambda: field(again, "g_lr").input_value() == "0.001", 30, "the copied g_lr")
        assert field(again, "dataset").input_value().startswith("grid25")


def test_hide_hides_controls_whose_values_still_apply(browser, app, tmp_path):
    with opened(browser, app, "?preset=ring8&loss=hinge&d_lr=0.001&hide=d_lr,loss") as page:
        wait_for(lambda: not page.locator("#field-loss").is_visible(), 30, "loss hidden")
        assert not page.locator("#field-d_lr").count() or \
            not page.locator("#field-d_lr").is_visible()
        assert field(page, "g_lr").is_visible()  # the rest is there
        screenshot(page, "link-classroom-mode")
        train(page, until_step=3)
        pause(page)
        got = saved_config(page, tmp_path)
        assert (got["loss"], got["d_lr"]) == ("hinge", 0.001)


def test_bad_link_parameters_are_named_and_keep_the_presets_values(browser, app):
    with opened(browser, app, "?preset=ring8&g_lr=99&bogus=1&steps=2500&tab=nowhere") as page:
        note = wait_for(lambda: page.locator("#link-note").is_visible() and
                        page.locator("#link-note").inner_text(), 30, "the link's note")
        assert "g_lr=99" in note and "allowed (0, 10]" in note
        assert "'bogus' is not a setting" in note and "tab='nowhere'" in note
        assert field(page, "g_lr").input_value() == "0.002"  # ring8's own
        assert field(page, "steps").input_value() == "2500"  # the good parameter applies
        screenshot(page, "link-bad-parameters")


def test_a_link_opens_its_tab(browser, app):
    with opened(browser, app, "?preset=ring8&tab=sample") as page:
        wait_for(lambda: page.locator("#tab-sample").is_visible(), 30, "the Sample tab")
        assert not page.locator("#train-btn").is_visible()
        wait_for(lambda: url_params(page).get("tab") == "sample", 20, "tab=sample kept")


EVERY_FIELD = {  # a value other than ring8's for every field a 2D run can change
    "dataset": "moons", "image_size": "32", "channels": "3", "z_dim": "3", "g_width": "64",
    "g_depth": "3", "d_width": "64", "d_depth": "3", "activation": "elu",
    "spectral_norm": "true", "pack": "2", "loss": "hinge", "g_lr": "0.001", "d_lr": "0.003",
    "g_optimizer": "rmsprop", "d_optimizer": "sgd", "beta1": "0.4", "beta2": "0.95",
    "batch_size": "128", "d_steps": "2", "g_steps": "2", "gp_lambda": "5", "ema_decay": "0.98",
    "seed": "11", "steps": "1500", "device": "auto", "precision": "auto"}


def test_every_field_round_trips_through_the_link(browser, app, tmp_path):
    query = "?preset=ring8&" + "&".join(f"{k}={v}" for k, v in EVERY_FIELD.items())
    with opened(browser, app, query) as page:
        open_advanced(page)
        wait_for(lambda: field(page, "g_depth").input_value() == "3", 30, "the link's fields")
        assert not page.locator("#link-note").is_visible()
        # Written back by the page, the link says the same (the test app runs with --device cpu:
        # device=auto differs from its default).
        want = {"preset": "ring8", "tab": "train", **EVERY_FIELD}
        wait_for(lambda: url_params(page) == want, 20, "the same link written back")
        train(page, until_step=3)
        pause(page)
        got = saved_config(page, tmp_path)
        for name, text in EVERY_FIELD.items():
            value = got[name]
            shown = ("true" if value else "false") if isinstance(value, bool) else (
                f"{value:g}" if isinstance(value, float) else str(value))
            assert shown == text, name
