"""The Train tab in a real browser, clicked as a user clicks it: every preset, every button."""
from __future__ import annotations

import re
import time

import pytest
import torch
from PIL import Image

from browser_helpers import (choose, choose_preset, download_checkpoint, field, hint,
                             hold_first_event, live, open_advanced, pause, progress_text,
                             screenshot, status, train, type_into)
from conftest import wait_for
from playground.precision import bf16_support
from playground.presets import PRESETS

pytestmark = pytest.mark.browser


def test_the_first_view_shows_the_presets_real_data_and_says_what_will_appear(page):
    v = live(page)
    assert v["kind"] == "2d" and v["state"] == "idle"  # ring8's real points, before any model
    assert progress_text(page) == "No model yet"
    assert "press Train to start a run on this data" in status(page)
    assert "0 / 1" not in page.locator("#live-view").inner_text()
    assert "real data" in page.locator("#live-view .gp-view-caption").inner_text()
    green = page.evaluate("""() => {
        const c = document.querySelector('#live-view canvas.gp-view');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 0; i < d.length; i += 4) if (d[i + 1] > 120 && d[i] < 60) n++;
        return n;
    }""")
    assert green > 100  # the eight real modes are drawn
    choose_preset(page, "mnist-dcgan")
    wait_for(lambda: live(page)["kind"] == "images", 30, "the digits before training")
    screenshot(page, "train-before-a-run")


@pytest.mark.parametrize("preset", ["ring8", "grid25", "mnist-mlp", "mnist-dcgan", "mnist-cgan"])
def test_every_preset_trains_from_the_page(page, preset):
    choose_preset(page, preset)
    v = train(page, until_step=2)
    assert v["kind"] == ("2d" if preset in ("ring8", "grid25") else "images")
    assert preset in page.locator("#train-status").inner_text()
    pause(page)
    page.click("#step-both-btn")  # Step both too (it failed on beta1 = 0 as well)
    wait_for(lambda: "D step, then G step" in page.locator("#live-view .gp-note").inner_text(),
             30, "the single step's words")


def test_train_during_a_run_always_starts_the_new_run_at_once(page):
    train(page, until_step=5)
    for preset, dataset in (("grid25", None), (None, "moons"), (None, "spiral"), (None, "line")):
        if preset:
            choose_preset(page, preset)
        else:
            choose(page, "field-dataset", next(
                o for o in ("moons (2D: two half circles)", "spiral (2D)",
                            "line (2D: a diagonal segment)") if o.startswith(dataset)))
        before = live(page)["run"]
        page.click("#train-btn")
        wait_for(lambda: (v := live(page))["run"] != before and v["state"] == "training",
                 60, f"a new run on {preset or dataset}")
        assert "Paused" not in status(page)
        wait_for(lambda: (preset or dataset) in page.locator("#train-status").inner_text(), 30)
    run = live(page)["run"]
    page.click("#resume-btn")  # Resume while training, twice: it keeps training
    page.click("#resume-btn")
    time.sleep(1.5)
    v = live(page)
    assert v["state"] == "training" and v["run"] == run
    pause(page)


def test_pause_resume_reset_and_single_steps(page):
    v = train(page, until_step=10)
    at_pause = pause(page)
    time.sleep(1.0)
    now = live(page)
    paused = now["step"]
    assert (now["state"], now["run"], paused) == ("paused", at_pause["run"], at_pause["step"]), \
        f"the view moved after Pause: {at_pause} then {now}"
    assert "Paused" in status(page)
    page.click("#resume-btn")
    wait_for(lambda: live(page)["step"] > paused + 5, 30, "training to resume")
    pause(page)
    page.click("#reset-btn")
    wait_for(lambda: live(page)["step"] == 0 and live(page)["run"] != v["run"], 30, "a reset")
    # Awaited, not read at once: Reset's answer can come a moment after the new run's first
    # frame. The stream that followed the paused run never lands after it (train_events.follow).
    wait_for(lambda: "Reset: a new, untrained model" in
             page.locator("#train-status").inner_text(), 10, "Reset's status line")
    for btn, words, step in (("#step-d-btn", "D step:", 1), ("#step-g-btn", "G step:", 2),
                             ("#step-both-btn", "D step, then G step:", 3)):
        page.click(btn)
        wait_for(lambda: live(page)["step"] == step, 30, f"step {step}")
        note = page.locator("#live-view .gp-note").inner_text()
        assert note.startswith(words) and re.search(r"D\(x\) [0-9.]+ → [0-9.]+", note)
        assert "images/s" not in page.locator("#live-view").inner_text()
    assert progress_text(page).startswith("3 / 3,000 steps")


def test_every_live_setting_applies_to_the_running_model_and_is_marked(page):
    train(page, until_step=5)
    open_advanced(page)
    edits = {"g_lr": "0.001", "d_lr": "0.0015", "batch_size": "128", "d_steps": "2",
             "steps": "4000", "beta1": "0.6", "beta2": "0.95", "g_steps": "2",
             "gp_lambda": "5", "ema_decay": "0.98"}
    for name, value in edits.items():
        type_into(page, name, value)
        wait_for(lambda: f"{name} = " in page.locator("#train-changes").inner_text() or
                 f"{name}={value}" in page.locator("#live-view .gp-marks").inner_text(),
                 30, f"the edit of {name}")
    for name, option in (("loss", "hinge"), ("g_optimizer", "rmsprop"), ("d_optimizer", "sgd")):
        choose(page, f"field-{name}", option)
        wait_for(lambda: f"{name}={option}" in page.locator("#live-view .gp-marks").inner_text(),
                 30, f"the mark of {name}")
    summary = page.locator("#live-view .gp-marks").inner_text()
    assert "Setting changes:" in summary and "d_optimizer=sgd" in summary
    assert progress_text(page).split(" / ")[1].startswith("4,000")
    pause(page)
    screenshot(page, "train-live-edits")


def test_leaving_a_field_after_its_enter_keeps_what_the_edit_said(page):
    """Enter applies an edit and says so; leaving the field then sends it again with nothing new:
    that second answer says nothing, and must not blank the first (nor, on a busy server, the
    answer to the next field's edit when it arrives after it)."""
    train(page, until_step=3)
    type_into(page, "g_lr", "0.001")
    wait_for(lambda: "g_lr = 0.001" in page.locator("#train-changes").inner_text(), 30,
             "the edit of g_lr")
    with page.expect_request(lambda r: "/gradio_api/run/" in r.url, timeout=30_000) as done:
        field(page, "d_lr").click()  # g_lr's blur: the same value again
    done.value.response()  # the edit has answered (this is its success listener's request)
    time.sleep(0.5)
    assert "g_lr = 0.001" in page.locator("#train-changes").inner_text()
    pause(page)


def test_leaving_a_field_applies_it_while_another_is_half_typed(page):
    """A blur (or Enter) sends the form: the field being typed into meanwhile (here cleared, on
    its way to a new number) is not judged half-typed; it applies when it is itself sent."""
    train(page, until_step=3)
    type_into(page, "g_lr", "0.005", enter=False)
    field(page, "d_lr").fill("")  # focus moves on: g_lr's blur; d_lr is empty from here on
    field(page, "g_lr").dispatch_event("blur")  # as when a slow server answers the first late
    wait_for(lambda: "g_lr = 0.005" in page.locator("#train-changes").inner_text(), 30,
             "the edit of g_lr")
    assert "d_lr" not in page.locator("#train-changes").inner_text()
    field(page, "d_lr").press_sequentially("0.003", delay=20)
    field(page, "d_lr").press("Enter")
    wait_for(lambda: "d_lr = 0.003" in page.locator("#train-changes").inner_text(), 30,
             "the edit of d_lr")
    pause(page)  # and no error toast on the way (the page fixture fails on one)


def test_an_edit_sent_while_another_is_still_on_its_way_applies_too(page):
    """On a busy server one field's edit may still be in flight when the next is sent (the last
    CI run's case): the second must apply its own field, not wait and re-send the first's. Here
    the first request is held back until the second field has been sent."""
    train(page, until_step=3)
    held = hold_first_event(page)
    type_into(page, "g_lr", "0.004")  # Enter: its edit is held
    wait_for(lambda: page.wait_for_timeout(50) or held, 30, "the g_lr edit's request")
    type_into(page, "d_lr", "0.003")  # sent while g_lr's is on its way
    held[0].continue_()
    changes = lambda: page.locator("#train-changes").inner_text() + \
        page.locator("#live-view .gp-marks").inner_text()  # noqa: E731
    wait_for(lambda: "d_lr" in changes() and "0.003" in changes(), 30, "the edit of d_lr")
    wait_for(lambda: "g_lr" in page.locator("#live-view .gp-marks").inner_text(), 30,
             "the mark of g_lr")
    pause(page)


@pytest.mark.skipif(bool(bf16_support(torch.device("cpu"))), reason="this CPU has no bf16")
def test_precision_bf16_from_the_advanced_settings_trains_and_a_preset_sets_its_own(page):
    open_advanced(page)
    choose(page, "field-precision", "bf16")
    train(page, until_step=5)
    wait_for(lambda: "bf16 mixed precision" in page.locator("#train-status").inner_text(), 30,
             "the precision in the status")
    pause(page)
    choose_preset(page, "mnist-dcgan")  # the DCGAN presets: bf16 where the hardware has it
    wait_for(lambda: field(page, "precision").input_value() == "auto", 20,
             "the preset's precision in the form")


def test_divergence_is_shown_and_the_last_good_settings_come_back(page):
    open_advanced(page)
    for name, option in (("g_optimizer", "sgd"), ("d_optimizer", "sgd"), ("loss", "lsgan")):
        choose(page, f"field-{name}", option)
    train(page, until_step=3)
    type_into(page, "g_lr", "10")
    type_into(page, "d_lr", "10")
    wait_for(lambda: live(page)["state"] == "diverged", 60, "the divergence")
    assert "Training diverged" in page.locator("#live-view .gp-alerts").inner_text()
    assert "Diverged" in status(page)
    page.click("#good-settings-btn")
    wait_for(lambda: field(page, "d_lr").input_value() == "0.002", 30, "d_lr back")
    assert "Back to the settings before your last change" in \
        page.locator("#train-changes").inner_text()
    page.click("#good-settings-btn")
    wait_for(lambda: field(page, "g_lr").input_value() == "0.002", 30, "g_lr back")
    assert "and the model as it was then" in page.locator("#train-changes").inner_text()
    wait_for(lambda: "diverged" not in page.locator("#train-status").inner_text(), 30,
             "the status line without the divergence")
    wait_for(lambda: live(page)["state"] == "paused", 30, "the model from before the edits")
    assert "Training diverged" not in page.locator("#live-view .gp-alerts").inner_text()
    page.click("#resume-btn")
    step = live(page)["step"]
    wait_for(lambda: (v := live(page))["state"] == "training" and v["step"] > step + 20, 60,
             "training on from there")
    pause(page)
    assert live(page)["state"] == "paused"  # it did not diverge again


def test_measure_quality_says_it_in_a_sentence_with_the_bar(page):
    train(page, until_step=200)
    pause(page)
    page.click("#measure-btn")
    text = wait_for(lambda: (t := page.locator("#train-metrics").inner_text()) and
                    "Quality at step" in t and t, 60, "a measurement")
    assert re.search(r"\d+/8 modes, \d+ % high quality \(a good model: 8/8, ≥ 90 %\)", text)
    assert "metric_set" not in text and "grid_bins" not in text  # the raw dump is folded away
    details = page.locator("#train-metrics details")
    assert details.count() == 1 and details.get_attribute("open") is None


def test_save_load_and_continue_with_its_timelapse_and_preset(page, browser, app, tmp_path):
    from conftest import open_page

    choose_preset(page, "grid25")
    train(page, until_step=150)
    pause(page)
    page.click("#gif-btn")
    wait_for(lambda: page.locator("#timelapse-view img").count(), 60, "the timelapse preview")
    gif = page.locator("#timelapse-view img").first.get_attribute("src")
    animation = Image.open(__import__("io").BytesIO(page.request.get(gif).body()))
    assert animation.format == "GIF" and animation.width == 440 and animation.n_frames >= 3
    assert "Timelapse of the run" in page.locator("#timelapse-view").inner_text()
    saved = download_checkpoint(page, tmp_path / "run.safetensors")
    step = live(page)["step"]

    context, other = open_page(browser, app)
    try:
        assert other.locator("#field-preset input").input_value() == "ring8"
        other.locator("#load-box").get_by_text("Continue from a checkpoint file").click()
        other.locator("#ckpt-in input[type=file]").set_input_files(str(saved))
        wait_for(lambda: "run.safetensors" in other.locator("#ckpt-in").inner_text(), 60,
                 "the upload")
        other.click("#load-btn")
        wait_for(lambda: live(other)["step"] == step, 60, "the loaded run")
        # (the form fills in from the load's answer, which may land after the view's frame)
        wait_for(lambda: other.locator("#field-preset input").input_value() == "grid25", 30,
                 "the preset menu to show grid25")
        assert field(other, "steps").input_value() == str(PRESETS["grid25"].train.steps)
        other.click("#resume-btn")
        wait_for(lambda: live(other)["step"] > step + 10, 60, "training the loaded run")
        pause(other)
        other.click("#gif-btn")
        wait_for(lambda: other.locator("#timelapse-view img").count(), 60, "its timelapse")
        src = other.locator("#timelapse-view img").first.get_attribute("src")
        again = Image.open(__import__("io").BytesIO(other.request.get(src).body()))
        assert again.n_frames > animation.n_frames  # the frames from before the load are kept
        other.check()
    finally:
        context.close()


def test_picture_and_curves_downloads(page):
    train(page, until_step=50)
    pause(page)
    for btn, suffix in (("#picture-btn", ".png"), ("#csv-btn", ".curves.csv")):
        page.click(btn)
        link = wait_for(lambda: (a := page.locator("#train-download a").first.get_attribute(
            "href")) and a.endswith(suffix) and a, 60, f"the {suffix} download")
        body = page.request.get(link).body()
        if suffix == ".png":
            assert Image.open(__import__("io").BytesIO(body)).size == (440, 440)
        else:
            lines = body.decode().splitlines()
            assert lines[0] == "step,loss_d,loss_g,d_real,d_fake" and len(lines) > 50


def test_own_images_field_appears_for_the_images_dataset(page):
    assert not page.locator("#images-zip").is_visible()
    choose(page, "field-dataset", "images (your own .zip of PNG/JPEG)")
    wait_for(lambda: page.locator("#images-zip").is_visible(), 20, "the zip upload")
    assert page.locator("#field-image_size input").is_visible()
    with page.expect_error("needs your images"):
        page.click("#train-btn")
    wait_for(lambda: "needs your images" in hint(page, "dataset"), 30, "the sentence")


def test_alerts_reach_the_train_tab_in_words(page):
    type_into(page, "d_lr", "0.01", enter=False)
    type_into(page, "g_lr", "0.0000001", enter=False)
    type_into(page, "d_steps", "3", enter=False)
    train(page, until_step=2)
    text = wait_for(lambda: "The discriminator is winning outright" in (
        t := page.locator("#live-view .gp-alerts").inner_text()) and t, 120, "the alert")
    assert "Try:" in text and "Lower D's learning rate" in text
    pause(page)
    screenshot(page, "train-alert")
