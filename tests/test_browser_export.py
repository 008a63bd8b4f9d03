"""Show the code, in a real browser: the page gives the run as one Python file, the file trains
on its own, and the page opens the checkpoint it writes."""
from __future__ import annotations

import pytest

from browser_helpers import field, live, screenshot, type_into
from conftest import wait_for
from test_export import run_script

pytestmark = pytest.mark.browser


def test_show_the_code_gives_a_script_whose_checkpoint_the_page_opens(page, tmp_path):
    type_into(page, "g_lr", "0.003")
    page.click("#code-btn")
    wait_for(lambda: page.locator("#code-view").is_visible() and
             "A GAN, as one file: ring8" in page.locator("#code-view").inner_text(), 30,
             "the code")
    link = wait_for(lambda: (a := page.locator("#train-download a").first.get_attribute("href"))
                    and a.endswith(".py") and a, 30, "the script's download")
    code = page.request.get(link).body().decode()
    assert "'g_lr': 0.003" in code and "def train(" in code  # the form's settings, no run yet
    screenshot(page, "show-the-code")
    saved = run_script(code, tmp_path, "--steps", "40", "--log-every", "0")

    page.locator("#load-box").get_by_text("Continue from a checkpoint file").click()
    page.locator("#ckpt-in input[type=file]").set_input_files(str(saved))
    wait_for(lambda: "run.safetensors" in page.locator("#ckpt-in").inner_text(), 60, "the upload")
    page.click("#load-btn")
    wait_for(lambda: live(page)["step"] == 40, 60, "the exported run, loaded")
    assert field(page, "g_lr").input_value() == "0.003"
    assert "Loaded a checkpoint at step 40" in page.locator("#train-status").inner_text()
