"""Lessons in a real browser: open one from the menu or a link, set up its runs, train one."""
from __future__ import annotations

import pytest

from browser_helpers import choose, field, open_advanced, pause, screenshot, train
from conftest import wait_for
from playground.lessons import LESSONS
from test_browser_links import opened, saved_config, url_params

pytestmark = pytest.mark.browser


def card(page) -> str:
    return page.locator("#lesson-card").inner_text()


def open_lessons(page) -> None:
    if not page.locator("#lesson-menu input").is_visible():
        page.locator("#lessons").get_by_text("Lessons: guided experiments").first.click()
        wait_for(lambda: page.locator("#lesson-menu input").is_visible(), 10, "the lessons")


def test_a_lesson_link_opens_its_card_and_a_setup_trains_that_run(browser, app, tmp_path):
    lesson = LESSONS["mode-collapse"]
    with opened(browser, app, "?lesson=mode-collapse") as page:
        wait_for(lambda: lesson.title in card(page), 30, "the lesson's card")
        text = card(page)
        assert "What you will see." in text and "Question." in text
        assert lesson.shows not in text or not page.get_by_text(lesson.shows).is_visible()
        buttons = [f"Set up {r.label}" for r in lesson.runs]
        for i, words in enumerate(buttons):
            assert page.locator(f"#lesson-setup-{i}").inner_text() == words
        assert not page.locator(f"#lesson-setup-{len(buttons)}").is_visible()
        screenshot(page, "lesson-link-opened")
        page.click("#lesson-setup-1")  # B: packed (pack=4)
        wait_for(lambda: "Set up **" not in page.locator("#lesson-note").inner_text() and
                 "B: packed" in page.locator("#lesson-note").inner_text(), 20, "the setup's note")
        open_advanced(page)
        wait_for(lambda: field(page, "pack").input_value() == "4", 20, "pack=4 in the form")
        assert field(page, "g_lr").input_value() == "0.01"
        assert field(page, "ema_decay").input_value() == "0"
        wait_for(lambda: url_params(page).get("pack") == "4", 20, "the setup in the URL")
        assert url_params(page)["lesson"] == "mode-collapse"  # the card stays with the link
        train(page, until_step=5)
        pause(page)
        got = saved_config(page, tmp_path)
        want = lesson.runs[1].config()
        assert (got["pack"], got["g_lr"], got["d_lr"], got["ema_decay"], got["steps"],
                got["seed"]) == (want.model.pack, want.train.g_lr, want.train.d_lr,
                                 want.train.ema_decay, want.train.steps, want.train.seed)


def test_every_lesson_is_one_click_away_in_the_menu(page):
    open_lessons(page)
    for name, lesson in LESSONS.items():
        choose(page, "lesson-menu", lesson.title)
        wait_for(lambda: lesson.title in card(page), 20, f"the card of {name}")
        wait_for(lambda: url_params(page).get("lesson") == name, 20, f"lesson={name} in the URL")
        assert page.locator("#lesson-setup-0").inner_text() == f"Set up {lesson.runs[0].label}"
        page.locator("#lesson-card summary").click()  # "What it shows", folded until asked
        wait_for(lambda: page.get_by_text("checked by").first.is_visible(), 10, "the claims")
        screenshot(page, f"lesson-{name}")
    page.click("#lesson-setup-0")  # the last lesson's first run
    last = list(LESSONS.values())[-1]
    wait_for(lambda: page.locator("#field-preset input").input_value() == last.runs[0].preset,
             20, "the setup's preset")
    assert field(page, "steps").input_value() == str(last.runs[0].changes["steps"])


def test_a_bad_lesson_in_a_link_is_named_and_nothing_else_changes(browser, app):
    with opened(browser, app, "?lesson=nope&g_lr=0.003") as page:
        wait_for(lambda: page.locator("#link-note").is_visible(), 30, "the link's note")
        assert "lesson='nope' is not one of" in page.locator("#link-note").inner_text()
        assert field(page, "g_lr").input_value() == "0.003"
        assert not page.locator("#lesson-menu input").is_visible()  # no card was opened


def compare_rows(page) -> list[str]:
    return page.locator("#compare-table tr").all_inner_texts()[1:]


def test_a_lessons_two_runs_side_by_side_and_a_kept_run_sampled(page):
    lesson = LESSONS["d-balance"]
    open_lessons(page)
    choose(page, "lesson-menu", lesson.title)
    wait_for(lambda: lesson.title in card(page), 20, "the lesson's card")
    page.locator("#compare").get_by_text("Runs side by side").first.click()
    for i, run in enumerate(lesson.runs[:2]):
        page.click(f"#lesson-setup-{i}")
        wait_for(lambda: page.locator("#keep-name input, #keep-name textarea").first
                 .input_value() == run.label, 20, "the run's name offered for keeping")
        train(page, until_step=20)
        pause(page)
        page.click("#keep-btn")
        wait_for(lambda: len(compare_rows(page)) == i + 1, 30, f"{run.label} kept")
        assert f"Kept {run.label} as run {i + 1}" in page.locator("#compare-note").inner_text()
    rows = compare_rows(page)
    assert [r.split("\t")[0] for r in rows] == [f"{i}. {r.label}" for i, r in
                                               enumerate(lesson.runs[:2], 1)]
    page.click("#compare-btn")  # measures the kept runs
    wait_for(lambda: all("modes" in r for r in compare_rows(page)), 60, "their quality")
    wait_for(lambda: page.locator("#compare-plot canvas, #compare-plot svg").count() > 0, 30,
             "the overlaid curves")
    wait_for(lambda: page.locator("#compare-plot").get_by_text("Kept run 2").count(), 30,
             "the runs in the legend")
    page.mouse.move(0, 0)  # a pointer over the plot highlights one run and fades the others
    page.wait_for_timeout(1000)  # the plot's drawing settles
    screenshot(page, "compare-runs")
    page.locator("#compare-plot").screenshot(path="test-artifacts/compare-plot.png")
    # The Sample tab draws from a kept run and says which.
    page.get_by_role("tab", name="Sample").click()
    choose(page, "sample-model", "Kept run 2 (Train tab, Runs side by side)")
    page.click("#sample-btn")
    wait_for(lambda: "kept run 2, “B: D too strong”" in page.locator("#sample-info").inner_text(),
             60, "the sample's words")
    page.get_by_role("tab", name="Train").click()
    page.click("#forget-btn")  # kept run 1
    wait_for(lambda: len(compare_rows(page)) == 1, 30, "run 1 forgotten")
    assert compare_rows(page)[0].startswith("1. B: D too strong")
