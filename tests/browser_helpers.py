"""What the browser tests do on the page, as a user would: pick, type, click, read, look."""
from __future__ import annotations

from conftest import wait_for
from app_server import ROOT

ARTIFACTS = ROOT / "test-artifacts"


def live(page) -> dict:
    """The live view's counters and state (its root element's data attributes), read in one go:
    read one by one, the step could come from one frame and the state from the next (a view
    "paused" at a step it had already passed)."""
    out = page.evaluate("""() => {
        const d = document.querySelector('#live-view .gp-live').dataset;
        const keys = ['frames', 'paints', 'step', 'state', 'run', 'kind', 'seq', 'layers', 'hover'];
        return Object.fromEntries(keys.map((k) => [k, d[k] ?? null]));
    }""")
    for k in ("frames", "paints", "step"):
        out[k] = int(out[k] or 0)
    return out


def chart_span(page, kind: str = "loss") -> float:
    """How many steps a chart's x axis spans now (both ends read in one go)."""
    return page.evaluate("""(kind) => {
        const d = document.querySelector(`#live-view .gp-chart-${kind}`).dataset;
        return parseFloat(d.xmax) - parseFloat(d.xmin);
    }""", kind)


def status(page) -> str:
    """What the live view's status line says (as a user reads it)."""
    return page.locator("#live-view .gp-status").inner_text()


def progress_text(page) -> str:
    return page.locator("#live-view .gp-progress-text").inner_text()


def choose(page, elem_id: str, option: str) -> None:
    """Pick `option` from the menu `elem_id`, as a user does."""
    page.locator(f"#{elem_id} input").click()
    page.get_by_role("option", name=option, exact=True).first.click()


def choose_preset(page, name: str) -> None:
    """Pick a preset and wait until the form holds its settings (the server fills them in: a
    Train pressed before that trains the form's old settings, as it would for a person)."""
    from playground.presets import PRESETS

    choose(page, "field-preset", name)
    wait_for(lambda: page.locator("#field-preset input").input_value() == name, 20,
             f"the preset menu to show {name}")
    steps = f"{PRESETS[name].train.steps}"
    wait_for(lambda: page.locator("#field-dataset input").input_value().startswith(
        PRESETS[name].data.dataset) and field(page, "steps").input_value() == steps, 30,
        f"the form to hold {name}'s settings")


def open_advanced(page) -> None:
    box = page.locator("#advanced")
    if not page.locator("#field-z_dim input").is_visible():
        box.get_by_text("Advanced", exact=True).first.click()
        wait_for(lambda: page.locator("#field-z_dim input").is_visible(), 10, "Advanced to open")


def field(page, name: str):
    return page.locator(f"#field-{name} input").first


def type_into(page, name: str, value: str, enter: bool = True) -> None:
    """Type into a field key by key, as a person does, and press Enter (a live edit applies
    then). (Playwright's instant `fill` followed by Enter can beat the page's own update of the
    value; typing cannot.)"""
    box = field(page, name)
    box.fill("")
    box.press_sequentially(value, delay=20)
    if enter:
        box.press("Enter")


def hint(page, name: str) -> str:
    """The line under a field: its hint, or the sentence of an error about it."""
    return page.locator(f"#field-{name}").inner_text()


def train(page, until_step: int = 1, timeout: float = 120) -> dict:
    page.click("#train-btn")
    return wait_for(lambda: (v := live(page))["step"] >= until_step and v["state"] == "training"
                    and v, timeout, f"training past step {until_step}")


def pause(page) -> dict:
    page.click("#pause-btn")
    return wait_for(lambda: (v := live(page))["state"] in ("paused", "done") and v, 30,
                    "the run to pause")


def img_src(page, selector: str) -> str | None:
    loc = page.locator(f"{selector} img")
    return loc.first.get_attribute("src") if loc.count() else None


def screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True, timeout=120_000)


def canvas_pixel(page, x: float, y: float) -> list[int]:
    """The RGBA of the live view's canvas at (x, y) in CSS pixels."""
    return page.evaluate("""([x, y]) => {
        const c = document.querySelector('#live-view canvas.gp-view');
        const s = c.width / c.getBoundingClientRect().width;
        return Array.from(c.getContext('2d').getImageData(Math.round(x * s), Math.round(y * s),
                                                          1, 1).data);
    }""", [x, y])


def canvas_colours(page) -> dict[str, int]:
    """How many pixels of the live view's canvas are greenish, purplish, dark (a coarse look)."""
    return page.evaluate("""() => {
        const c = document.querySelector('#live-view canvas.gp-view');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        const out = {green: 0, purple: 0, dark: 0, heat: 0};
        for (let i = 0; i < d.length; i += 16) {
            const [r, g, b] = [d[i], d[i + 1], d[i + 2]];
            if (g > r + 40 && g > b + 10 && g < 200) out.green++;
            if (b > g + 60 && r > g + 30) out.purple++;
            if (r + g + b < 150) out.dark++;
            if ((r === 167 && g < 150) || (b > 240 && r > 160 && g > 130 && g < 250)) out.heat++;
        }
        return out;
    }""")


def download_checkpoint(page, path):
    """Press Save checkpoint and write the file the page offers to `path`, as a user does."""
    page.click("#save-btn")
    link = wait_for(lambda: (a := page.locator("#train-download a").first.get_attribute("href"))
                    and a.endswith(".safetensors") and a, 60, "the checkpoint link")
    path.write_bytes(page.request.get(link).body())
    return path


JOIN = "**/gradio_api/queue/join*"  # where the page sends each queued event


def hold_first_event(page) -> list:
    """Hold back the next queued event the page sends (a slow server's late answer, made sure
    of); the returned list receives its route: `continue_()` it to let it go. Later events pass.
    Playwright runs the handler only while this thread is inside one of its calls: poll with
    one (`page.wait_for_timeout`), not with a bare sleep."""
    held: list = []

    def hold_first(route):
        if not held:
            held.append(route)
        else:
            route.continue_()

    page.route(JOIN, hold_first)
    return held
