"""GAN Lab's teaching layers and the ones it lacks, in the page, as a user meets them: the layer
toggles (contour, G's manifold, D* beside D), the overview graph with the run's numbers, Step
slowly through its stages, a drawn data set trained, CSV files good and bad, a point's read-out
and its trail. Screenshots of each go to test-artifacts/ (issue 14)."""
from __future__ import annotations

import math
import re
import time

import pytest

from browser_helpers import (ARTIFACTS, canvas_colours, choose, live, open_advanced, pause,
                             screenshot, train, type_into)
from conftest import wait_for

pytestmark = pytest.mark.browser
POINTS_OPTION = "points (2D: your own, drawn or from a CSV)"


def view_data(page) -> dict:
    return page.evaluate("() => ({...document.querySelector('#live-view .gp-live').dataset})")


def view_shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator("#live-view .gp-view-panel").screenshot(path=str(ARTIFACTS / f"{name}.png"))


def dark_green(page) -> int:
    """Pixels of the contour lines' dark green (rgb(6,95,40)) on the view."""
    return page.evaluate("""() => {
        const c = document.querySelector('#live-view canvas.gp-view');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 0; i < d.length; i += 4) {
            if (d[i] < 60 && d[i + 1] > 70 && d[i + 1] < 130 && d[i + 2] < 80) n++;
        }
        return n;
    }""")


def canvas_sum(page, selector: str) -> int:
    return page.evaluate("""(sel) => {
        const c = document.querySelector(sel);
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let s = 0; for (let i = 0; i < d.length; i += 4) s += d[i] + d[i + 1] + d[i + 2];
        return s;
    }""", selector)


def toggle(page, layer: str, on: bool) -> None:
    box = page.locator(f"#live-view input[data-layer={layer}]")
    box.check() if on else box.uncheck()
    wait_for(lambda: (layer in (view_data(page).get("layers") or "").split(",")) == on, 10,
             f"the {layer} layer to turn {'on' if on else 'off'}")


def draw_s(page) -> None:
    """Draw an "S" on the view, as a hand does, then drop a small cluster with a click."""
    box = page.locator("#live-view canvas.gp-view").bounding_box()
    cx, cy, r = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, box["width"] * 0.22
    page.mouse.move(cx + r, cy - r * 1.2)
    page.mouse.down()
    for i in range(40):
        t = math.pi * (0.1 + 1.3 * i / 39)
        page.mouse.move(cx + r * math.cos(t), cy - r * 0.6 - r * 0.6 * math.sin(t))
    for i in range(40):
        t = math.pi * (0.5 - 1.3 * i / 39)
        page.mouse.move(cx + r * math.cos(t), cy + r * 0.6 - r * 0.6 * math.sin(t))
    page.mouse.up()


# ------------------------------------------------------------------ the layers
def test_each_new_layer_switches_on_and_off_and_d_star_sits_beside_d(page):
    choose(page, "field-dataset", "moons (2D: two half circles)")  # long contour lines
    train(page, until_step=300)
    pause(page)
    time.sleep(0.6)
    base = canvas_colours(page)
    without = dark_green(page)  # the real points' own edges, before any contour
    # The real density's contour: dark green lines along the data.
    toggle(page, "contour", True)
    wait_for(lambda: dark_green(page) > without + 300, 20, "the contour lines")
    view_shot(page, "layer-contour")
    assert "enclosing 50, 90 and 99 % of the data" in page.locator(
        "#live-view .gp-view-caption").inner_text()
    toggle(page, "contour", False)
    time.sleep(0.3)
    assert dark_green(page) < without + 50
    # G's arrows: dark strokes.
    toggle(page, "arrows", False)
    time.sleep(0.3)
    assert canvas_colours(page)["dark"] < base["dark"] * 0.8
    toggle(page, "arrows", True)
    # G's manifold: purple cells over the view, and the caption says which slice.
    toggle(page, "manifold", True)  # (a slice through 16-D noise may be small: its pixels are
    wait_for(lambda: view_data(page).get("manifold") == "16:0,1", 20, "G's manifold drawn")
    #                                  checked with 2-D noise, below)
    caption = page.locator("#live-view .gp-view-caption").inner_text()
    assert "2D slice of the 16-D noise (z1 and z2 in [-2, 2], every other coordinate 0)" in caption
    view_shot(page, "layer-manifold")
    # Another slice: z3 x z5.
    page.locator("#live-view .gp-axis-a").fill("3")
    page.locator("#live-view .gp-axis-a").press("Enter")
    page.locator("#live-view .gp-axis-b").fill("5")
    page.locator("#live-view .gp-axis-b").press("Enter")
    wait_for(lambda: "z3 and z5" in page.locator("#live-view .gp-view-caption").inner_text()
             and view_data(page).get("manifold") == "16:2,4", 20, "the z3 x z5 slice")
    toggle(page, "manifold", False)
    # D* beside D's own map, with how far D is from it.
    assert not page.locator("#live-view .gp-dstar").is_visible()
    toggle(page, "dstar", True)
    wait_for(lambda: page.locator("#live-view .gp-dstar").is_visible() and
             view_data(page).get("dstarGap"), 20, "the D* maps")
    gap = float(view_data(page)["dstarGap"])
    assert 0 < gap < 1
    assert canvas_sum(page, "#live-view canvas.gp-dstar-opt") > 0
    assert canvas_sum(page, "#live-view canvas.gp-dstar-own") > 0
    words = page.locator("#live-view .gp-dstar-text").inner_text()
    assert f"{gap:.3f}" in words and "D* is 1/2" in words
    view_shot(page, "layer-dstar")
    toggle(page, "dstar", False)
    assert not page.locator("#live-view .gp-dstar").is_visible()


def test_uniform_noise_in_two_dimensions_shows_the_whole_noise_square(page):
    open_advanced(page)
    choose(page, "field-noise", "uniform")
    type_into(page, "z_dim", "2")
    toggle(page, "manifold", True)
    train(page, until_step=400)
    pause(page)
    wait_for(lambda: "the noise square [-1, 1]² mapped by G" in
             page.locator("#live-view .gp-view-caption").inner_text(), 20, "the manifold")
    assert page.locator("#live-view .gp-axes").is_hidden()  # no slice to choose in 2D
    assert view_data(page)["manifold"] == "2:0,1"
    shaded = canvas_sum(page, "#live-view canvas.gp-view")
    toggle(page, "manifold", False)
    time.sleep(0.3)
    assert canvas_sum(page, "#live-view canvas.gp-view") > 1.01 * shaded  # its cells shade it
    toggle(page, "manifold", True)
    time.sleep(0.3)
    assert "U[-1, 1]" in page.locator("#live-view [data-ov=noise]").text_content()
    view_shot(page, "layer-manifold-uniform-2d")


def test_the_kl_and_js_chart_follows_a_2d_run(page):
    train(page, until_step=400)
    chart = page.locator("#live-view .gp-chart-quality")
    wait_for(lambda: chart.is_visible() and int(chart.get_attribute("data-points") or 0) >= 3,
             30, "points of the KL/JS chart")
    assert float(chart.get_attribute("data-kl")) > 0 and float(chart.get_attribute("data-js")) > 0
    note = page.locator("#live-view .gp-quality-note").inner_text()
    assert re.match(r"Step [\d,]+: KL \d+\.\d{3}, JS \d\.\d{3} nats · \d/8 modes · \d+ % high "
                    r"quality", note), note
    pause(page)
    chart.screenshot(path=str(ARTIFACTS / "chart-kl-js.png"))


# ------------------------------------------------------------------ the overview graph
def test_the_overview_graph_shows_the_numbers_of_the_status_line(page):
    train(page, until_step=100)
    wait_for(lambda: view_data(page).get("ovPath") in ("d", "g"), 10, "a lit path while training")
    paused = pause(page)
    step = paused["step"]
    status = wait_for(lambda: (t := page.locator("#train-status").inner_text()) and
                      f"Step {step:,}:" in t and t, 30, "the status line's numbers")
    wait_for(lambda: view_data(page).get("ovStep") == str(step), 10, "the graph's step")
    found = dict(re.findall(r"(loss_D|loss_G|D\(x\)|D\(G\(z\)\)) (-?[0-9.]+)", status))
    shown = {key: page.locator(f"#live-view [data-ov={key}]").text_content()
             for key in ("loss_d", "loss_g", "d_real", "d_fake")}
    assert shown == {"loss_d": found["loss_D"], "loss_g": found["loss_G"],
                     "d_real": found["D(x)"], "d_fake": found["D(G(z))"]}
    assert view_data(page)["ovPath"] == ""  # nothing runs, nothing lit
    # A single step lights its own path for a moment.
    page.click("#step-d-btn")
    wait_for(lambda: view_data(page).get("ovPath") == "d", 20, "the D step's path lit")
    wait_for(lambda: view_data(page).get("ovPath") == "", 10, "the light to go out")
    page.click("#step-g-btn")
    wait_for(lambda: view_data(page).get("ovPath") == "g", 20, "the G step's path lit")
    # Hovering G plays noise turning into samples: the paused view paints again for a while.
    before = live(page)["paints"]
    page.locator("#live-view [data-node=G]").hover()
    wait_for(lambda: live(page)["paints"] > before + 10, 10, "the animation from noise")
    page.locator("#live-view .gp-overview").screenshot(path=str(ARTIFACTS / "overview-graph.png"))


# ------------------------------------------------------------------ slow motion
def test_step_slowly_walks_through_every_stage_one_click_at_a_time_or_by_itself(page):
    train(page, until_step=200)
    paused = pause(page)
    page.click("#step-slow-btn")
    panel = page.locator("#live-view .gp-slowmo")
    wait_for(lambda: panel.is_visible() and view_data(page).get("slowStage") == "z", 30,
             "slow motion's first stage")
    assert live(page)["step"] == paused["step"] + 1
    keys = ["z", "fake", "scores", "d_loss", "d_update", "g_loss", "g_grad", "g_update"]
    for i, key in enumerate(keys):
        wait_for(lambda: view_data(page).get("slowStage") == key, 10, f"stage {key}")
        data = view_data(page)
        assert data["ovPath"] == ("d" if i < 5 else "g")
        title = panel.locator(".gp-slowmo-title").inner_text()
        assert title.startswith(f"{i + 1}. ")
        if key == "d_loss":
            assert panel.locator(".gp-slowmo-text").inner_text().startswith(
                "loss_D = −E[log D(x)] − E[log(1 − D(G(z)))] = −(")
        time.sleep(1.0)  # the animated stages finish
        view_shot(page, f"slowmo-{i + 1}-{key}")
        if i < len(keys) - 1:
            panel.locator(".gp-slowmo-next").click()
    assert panel.locator(".gp-slowmo-next").is_disabled()
    panel.locator(".gp-slowmo-back").click()
    wait_for(lambda: view_data(page).get("slowStage") == "g_grad", 10, "one stage back")
    # Play: the stages go by themselves, about a second each.
    panel.locator(".gp-slowmo-back").click()
    panel.locator(".gp-slowmo-play").click()
    wait_for(lambda: view_data(page).get("slowStage") == "g_update", 10, "playing to the end")
    panel.locator(".gp-slowmo-leave").click()
    wait_for(lambda: panel.is_hidden(), 10, "slow motion to close")
    assert view_data(page)["ovPath"] == ""


# ------------------------------------------------------------------ your own data
def test_draw_a_data_set_on_the_view_and_train_it(page):
    page.click("#live-view .gp-draw-btn")
    wait_for(lambda: view_data(page).get("drawing") == "1", 10, "drawing mode")
    draw_s(page)
    page.mouse.click(*(lambda b: (b["x"] + 30, b["y"] + b["height"] - 30))(
        page.locator("#live-view canvas.gp-view").bounding_box()))
    wait_for(lambda: page.locator("#field-dataset input").input_value() == POINTS_OPTION, 20,
             "the dataset to become your points")
    drawn = int(view_data(page)["drawn"])
    assert drawn > 100
    wait_for(lambda: f"Your points: {drawn:,} (drawn on the view)" in
             page.locator("#points-note").inner_text(), 20, "the form to count every point")
    view_shot(page, "draw-your-data")
    page.locator("#live-view .gp-draw-undo").click()  # the cluster goes again
    wait_for(lambda: int(view_data(page)["drawn"]) == drawn - 12, 10, "undo")
    wait_for(lambda: f"Your points: {drawn - 12:,}" in page.locator("#points-note").inner_text(),
             20, "the form to follow")
    page.click("#live-view .gp-draw-btn")  # done drawing
    train(page, until_step=300)
    assert "Run **points**" in page.locator("#train-status").inner_html() or \
        "Run points" in page.locator("#train-status").inner_text()
    assert f"your {drawn - 12} points" in page.locator("#train-status").inner_text()
    pause(page)
    view_shot(page, "draw-your-data-trained")


def test_csv_files_of_points_good_and_bad(page, tmp_path):
    choose(page, "field-dataset", POINTS_OPTION)
    wait_for(lambda: page.locator("#points-note").is_visible(), 20, "the points box")
    assert "none yet" in page.locator("#points-note").inner_text()
    good = tmp_path / "ring.csv"
    good.write_text("x,y\n" + "\n".join(f"{math.cos(a / 10):.4f},{math.sin(a / 10):.4f}"
                                        for a in range(63)))
    with page.expect_file_chooser() as chooser:
        page.click("#points-upload")
    chooser.value.set_files(str(good))
    wait_for(lambda: "Your points: 63 (from ring.csv)" in page.locator("#points-note").inner_text(),
             30, "the CSV's points")
    # A bad file: one sentence naming the line, next to the dataset; the points stay.
    bad = tmp_path / "bad.csv"
    bad.write_text("x,y\n1,2\n3,three\n")
    with page.expect_error("bad.csv, line 3: 'three' is not a number"):
        with page.expect_file_chooser() as chooser:
            page.click("#points-upload")
        chooser.value.set_files(str(bad))
    wait_for(lambda: "'three' is not a number" in page.locator("#field-dataset").inner_text(), 20,
             "the sentence next to the dataset")
    assert "Your points: 63 (from ring.csv)" in page.locator("#points-note").inner_text()
    binary = tmp_path / "picture.csv"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    with page.expect_error("picture.csv is not a text file"):
        with page.expect_file_chooser() as chooser:
            page.click("#points-upload")
        chooser.value.set_files(str(binary))
    train(page, until_step=50)
    assert "your 63 points" in page.locator("#train-status").inner_text()


# ------------------------------------------------------------------ one point, closely
def test_hover_a_generated_point_for_its_z_and_click_it_to_follow_it(page):
    train(page, until_step=100)
    pause(page)
    time.sleep(0.6)
    spot = page.evaluate("""() => {
        const c = document.querySelector('#live-view canvas.gp-view');
        const r = c.getBoundingClientRect();
        return [r.left, r.top, r.width];
    }""")
    # Find a generated point: sweep the view until the read-out names one.
    found = None
    for i in range(0, 400):
        x = spot[0] + (i % 20 + 0.5) * spot[2] / 20
        y = spot[1] + (i // 20 + 0.5) * spot[2] / 20
        page.mouse.move(x, y)
        words = view_data(page).get("hover") or ""
        if words.startswith("generated point"):
            found = (x, y, words)
            break
    assert found, "no generated point under the pointer"
    assert re.search(r"z = \((-?\d\.\d\d, ){3}-?\d\.\d\d, …\) \(16 numbers\)", found[2])
    assert "D says" in found[2] and "G's gradient pushes it" in found[2]
    page.mouse.click(found[0], found[1])
    wait_for(lambda: int(view_data(page).get("follow", -1)) >= 0, 10, "following the point")
    page.click("#resume-btn")
    wait_for(lambda: int(view_data(page).get("trail", 0)) >= 5, 30, "the point's trail")
    words = page.locator("#live-view .gp-follow").inner_text()
    assert words.startswith("Following point") and "moved" in words
    pause(page)
    view_shot(page, "follow-a-point")
