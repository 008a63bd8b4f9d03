"""The live view, drawn in the browser from frames: it moves, it stops, it can be read and zoomed.

Counters on the view's root element say what the page did (data-frames: fresh frames drawn,
data-paints: canvas paints). How many per second is a figure for `make bench`; here the view
must draw fresh frames and paint between them, freeze on Pause, and show the right numbers.
"""
from __future__ import annotations

import re
import time

import pytest

from browser_helpers import (canvas_colours, chart_span, choose_preset, live, pause, screenshot,
                             train)
from conftest import wait_for

pytestmark = pytest.mark.browser


def test_the_view_draws_fresh_frames_paints_between_them_and_freezes_on_pause(page):
    train(page, until_step=5)
    first = live(page)
    wait_for(lambda: live(page)["frames"] > first["frames"] + 5, 30, "fresh frames")
    later = live(page)
    assert later["paints"] > later["frames"]  # painted in between frames: the motion
    assert later["step"] > first["step"]
    screenshot(page, "train-2d-training")
    paused = pause(page)
    time.sleep(0.5)  # the last transition ends
    frozen = live(page)
    time.sleep(1.5)
    still = live(page)
    assert still["run"] == paused["run"]
    assert still["step"] == frozen["step"] == paused["step"], "the step moved after Pause"
    assert still["paints"] == frozen["paints"], "the view kept painting after Pause"
    assert still["frames"] == frozen["frames"]


def test_the_layer_toggles_hide_and_show_each_layer(page):
    train(page, until_step=200)
    pause(page)
    time.sleep(0.5)
    base = canvas_colours(page)
    assert base["green"] > 0 and base["purple"] > 0
    for layer, colour in (("real", "green"), ("heatmap", "heat")):
        box = page.locator(f"#live-view input[data-layer={layer}]")
        box.uncheck()
        wait_for(lambda: layer not in (live(page)["layers"] or "").split(","), 10)
        time.sleep(0.3)
        without = canvas_colours(page)
        assert without[colour] < base[colour] * 0.5, f"{layer} still drawn: {without}"
        box.check()
        time.sleep(0.3)
        assert canvas_colours(page)[colour] > base[colour] * 0.7
    page.locator("#live-view input[data-layer=fake]").uncheck()
    time.sleep(0.3)
    assert canvas_colours(page)["purple"] < base["purple"]
    page.locator("#live-view input[data-layer=fake]").check()
    screenshot(page, "train-2d-layers")


def test_hovering_a_point_and_the_charts_reads_out_the_numbers(page):
    train(page, until_step=150)
    last = pause(page)["step"]  # the run may have gone on a little past 150 before it paused
    time.sleep(0.5)
    canvas = page.locator("#live-view canvas.gp-view")
    box = canvas.bounding_box()
    found = ""
    for fx in (0.5, 0.75, 0.93, 0.25, 0.07):  # ring8's modes sit on the unit circle
        for fy in (0.5, 0.25, 0.07, 0.75, 0.93):
            page.mouse.move(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy)
            time.sleep(0.05)
            found = live(page)["hover"] or ""
            if found:
                break
        if found:
            break
    assert found.startswith("generated point ") and "D says" in found and "pushes it" in found
    chart = page.locator("#live-view .gp-chart-loss .u-over")
    cb = chart.bounding_box()
    page.mouse.move(cb["x"] + cb["width"] * 0.5, cb["y"] + cb["height"] * 0.5)
    legend = wait_for(lambda: (t := page.locator("#live-view .gp-chart-loss .u-legend")
                               .inner_text()) and "–" not in t.split("loss D")[1][:12] and t,
                      10, "the read-out at the cursor")
    step = int(re.search(r"step:?\s*([\d,]+)", legend).group(1).replace(",", ""))
    assert 0.25 * last < step < 0.75 * last  # the middle of the run's steps
    page.click("#csv-btn")  # the run's own numbers, to check the read-out against
    link = wait_for(lambda: (a := page.locator("#train-download a").first.get_attribute("href"))
                    and a.endswith(".csv") and a, 60, "the curves")
    rows = {int(r.split(",")[0]): r.split(",") for r in
            page.request.get(link).body().decode().splitlines()[1:]}
    for name, column in (("loss D", 1), ("loss G", 2)):
        shown = float(re.search(rf"{name}:?\s*(-?[\d.]+(?:e-?\d+)?)", legend).group(1))
        assert shown == pytest.approx(float(rows[step][column]), rel=2e-3), name


def test_drag_zooms_the_charts_and_a_double_click_zooms_out(page):
    train(page, until_step=150)
    paused = pause(page)["step"]
    time.sleep(0.5)
    host = page.locator("#live-view .gp-chart-loss")
    whole = chart_span(page)
    over = host.locator(".u-over")
    b = over.bounding_box()
    page.mouse.move(b["x"] + b["width"] * 0.3, b["y"] + b["height"] * 0.5)
    page.mouse.down()
    page.mouse.move(b["x"] + b["width"] * 0.5, b["y"] + b["height"] * 0.5, steps=8)
    page.mouse.up()
    page.click("#step-both-btn")  # new data arrives: the zoom stays
    wait_for(lambda: live(page)["step"] > paused, 30)
    time.sleep(0.5)
    zoomed = chart_span(page)
    assert zoomed < whole * 0.4
    over.dblclick()
    step = live(page)["step"]
    page.click("#step-both-btn")
    wait_for(lambda: live(page)["step"] > step, 30)
    wait_for(lambda: chart_span(page) > whole * 0.9, 10, "the whole run again")


def test_the_digit_grid_is_drawn_pixel_exact_and_each_digit_reads_its_seed(page):
    choose_preset(page, "mnist-dcgan")
    train(page, until_step=2)
    pause(page)
    time.sleep(0.5)
    canvas = page.locator("#live-view canvas.gp-view")
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + 12, box["y"] + 12)
    wait_for(lambda: (live(page)["hover"] or "").startswith("seed 0 · D says"), 10)
    distinct = page.evaluate("""() => {
        const c = document.querySelector('#live-view canvas.gp-view');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        const seen = new Set();
        for (let i = 0; i < d.length; i += 4) seen.add(d[i] + ',' + d[i + 1] + ',' + d[i + 2]);
        return seen.size;
    }""")
    # Nearest-neighbour enlargement of 8-bit grey pixels: at most 256 greys (a blur would add
    # colours between neighbours; a grey image has no more than 256 shades, plus white gaps).
    assert distinct <= 257
    screenshot(page, "train-digits")
