"""The Sample and Discriminator tabs in a real browser: every control, as a user uses it."""
from __future__ import annotations

import io
import re

import numpy as np
import pytest
from PIL import Image

from browser_helpers import choose, img_src, screenshot
from conftest import wait_for

pytestmark = pytest.mark.browser


def image_at(page, selector: str) -> Image.Image:
    src = wait_for(lambda: img_src(page, selector), 60, f"the picture in {selector}")
    return Image.open(io.BytesIO(page.request.get(src).body()))


def generate(page, seeds: str) -> bytes:
    old = img_src(page, "#sample-grid")
    page.locator("#sample-seeds textarea").fill(seeds)
    page.click("#sample-btn")
    src = wait_for(lambda: (s := img_src(page, "#sample-grid")) and s != old and s,
                   60, f"the grid for seeds {seeds}")
    return page.request.get(src).body()


def test_a_seed_gives_the_same_image_and_random_seeds_fill_the_box(page):
    page.get_by_role("tab", name="Sample").click()
    choose(page, "sample-model", "tiny-mnist: mlp on mnist, 3 steps")
    first, other, again = generate(page, "7"), generate(page, "8"), generate(page, "7")
    assert first == again and first != other
    page.click("#random-seeds-btn")
    seeds = wait_for(lambda: (t := page.locator("#sample-seeds textarea").input_value()) and
                     t.count(",") == 15 and t, 30, "16 random seeds")
    assert all(s.strip().isdigit() for s in seeds.split(","))
    page.click("#sample-btn")
    wait_for(lambda: "16 sample(s)" in page.locator("#sample-info").inner_text(), 60)


def test_truncation_says_why_strong_truncation_fades_a_plain_gan(page):
    page.get_by_role("tab", name="Sample").click()
    choose(page, "sample-model", "tiny-mnist: mlp on mnist, 3 steps")
    slider = page.locator("#sample-truncation input[type=number]")
    slider.fill("0.3")
    slider.press("Enter")
    page.click("#sample-btn")
    info = wait_for(lambda: (t := page.locator("#sample-info").inner_text()) and "ψ = 0.3" in t
                    and t, 60, "samples at ψ 0.3")
    assert "fade towards one blurry average" in info and "|z|" in info
    assert "lower = more typical" not in page.locator("#tab-sample").inner_text()


def test_conditional_class_and_interpolation_strip_and_gif(page):
    page.get_by_role("tab", name="Sample").click()
    choose(page, "sample-model", "tiny-cgan: conditional dcgan on mnist, 3 steps")
    choose(page, "sample-class", "7")
    seven = generate(page, "0-3")
    choose(page, "sample-class", "2")
    assert generate(page, "0-3") != seven  # the class changes the samples
    page.click("#interp-btn")
    strip = image_at(page, "#interp-strip")
    # 8 frames, one row, each enlarged to at least 84 px with its caption below.
    assert strip.width >= 8 * 84 and strip.height >= 84
    gif = image_at(page, "#interp-gif")
    assert gif.format == "GIF" and gif.n_frames >= 8
    label = page.locator("#interp-strip [data-testid=block-label]")
    assert label.count() == 0 or not label.first.is_visible()  # no label over the frames
    screenshot(page, "sample-tab")


def test_a_2d_model_draws_its_samples_over_the_real_data_without_overprinted_labels(page):
    page.get_by_role("tab", name="Sample").click()
    choose(page, "sample-model", "tiny-ring8: mlp on ring8, 3 steps")
    generate(page, "0-63")
    info = page.locator("#sample-info").inner_text()
    assert "pale green: real data" in info
    match = re.search(r"(\d+) seed label\(s\) are left out", info)
    assert match is None or 0 < int(match.group(1)) < 64
    grid = image_at(page, "#sample-grid").convert("RGB")
    pale = int((np.asarray(grid) == (150, 210, 170)).all(axis=2).sum())
    assert pale > 50  # the real points are drawn under the samples
    screenshot(page, "sample-2d")


def test_upload_a_checkpoint_and_sample_it(page, tmp_path):
    from app_server import make_checkpoints

    make_checkpoints(tmp_path)
    page.get_by_role("tab", name="Sample").click()
    page.locator("#sample-upload input[type=file]").set_input_files(
        str(tmp_path / "tiny-cgan.safetensors"))
    wait_for(lambda: "Uploaded: dcgan on mnist" in page.locator("#sample-upload-note")
             .inner_text(), 60, "the uploaded model")
    assert "uploaded" in page.locator("#sample-model input").input_value().lower()
    generate(page, "0-3")


def test_discriminator_report_draw_upload_and_switching_models(page, tmp_path):
    page.get_by_role("tab", name="Discriminator").click()
    choose(page, "disc-model", "tiny-mnist: mlp on mnist, 3 steps")
    page.click("#report-btn")
    stats = wait_for(lambda: (t := page.locator("#report-stats").inner_text()) and
                     "ROC AUC" in t and t, 60, "the report")
    assert re.search(r"Accuracy at 0.5: [0-9.]+%", stats)
    hist = image_at(page, "#report-hist")
    assert hist.width > 300
    fakes, reals = image_at(page, "#gallery-fakes"), image_at(page, "#gallery-reals")
    assert fakes.width > 4 * 84 and reals.width > 4 * 84  # captions below the digits
    # Draw at once: the brush is active on load, no tool to pick first.
    pad = page.locator("#sketchpad canvas").bounding_box()
    page.mouse.move(pad["x"] + 140, pad["y"] + 40)
    page.mouse.down()
    page.mouse.move(pad["x"] + 140, pad["y"] + 240, steps=12)
    page.mouse.up()
    assert page.locator("#sketchpad .gp-sketch-host").get_attribute("data-strokes") == "1"
    page.click("#score-sketch-btn")
    wait_for(lambda: "looks real" in page.locator("#score-label").inner_text(), 60)
    assert "(red = where a small change" in page.locator("#tab-discriminator").inner_text()
    r, g, b = np.asarray(image_at(page, "#saliency").convert("RGB"), dtype=int).transpose(2, 0, 1)
    reddish = int(((r > g + 50) & (abs(g - b) < 30)).sum())
    yellowish = int(((r > 200) & (g > 150) & (b < g - 80)).sum())
    assert reddish > 0 and yellowish == 0  # red, as the legend says
    colour = tmp_path / "photo.png"
    Image.new("RGB", (300, 200), (200, 40, 40)).save(colour)
    page.get_by_role("tab", name="Upload").click()
    page.locator("#score-upload input[type=file]").set_input_files(str(colour))
    wait_for(lambda: img_src(page, "#score-upload"), 60, "the uploaded image")
    page.click("#score-image-btn")
    note = wait_for(lambda: (t := page.locator("#score-conversion").inner_text()) and
                    "turned grey" in t and t, 60, "the conversion note")
    assert "cropped to its centre square" in note and "300x200 to 28x28" in note
    screenshot(page, "discriminator-tab")
    choose(page, "disc-model", "tiny-ring8: mlp on ring8, 3 steps")  # the old verdict goes
    wait_for(lambda: "looks real" not in page.locator("#score-label").inner_text(), 30)
    assert "turned grey" not in page.locator("#score-conversion").inner_text()
    page.click("#report-btn")
    decision = image_at(page, "#report-map")
    assert decision.size == (440, 440)
    assert not page.locator("#gallery-fakes").is_visible()
    screenshot(page, "discriminator-2d")
