"""Browser: the live view as a visitor's headless Chromium draws it, while a preset trains.

The page is opened in Debian's Chromium (`/usr/bin/chromium`, through Playwright), the preset is
picked from its menu and Train is pressed, as a user does. Figures, from the counters the view
keeps on its root element (`playground/ui/js/live.js`) and from Chromium's network events:
  frames/s   fresh frames drawn (data-frames)                     bars: ring8 >= 10, digits >= 3
  paints/s   canvas paints, the motion between frames (data-paints)          bar: >= 30
  bytes/s    bytes received by the page while ring8 trains (Network.dataReceived, as sent:
             compressed), everything included: frames, the run events' updates   bar: <= 60 KB/s
  calls/min  the page's POSTs over the whole visit (those GP_CALLS_PER_MIN counts: every event,
             not the frame requests), to compare with that budget
  first frame  from the Train click to the first drawn frame of the new run, timed in the page
             (performance.now, a MutationObserver on the counters); median of 5 presses
                                                                     bar: ring8 <= 0.5 s
Chromium runs on the same 2-core machine as the app (on a real deployment it runs on the
visitor's), so these figures are what this machine can do with both on it.
"""
from __future__ import annotations

import statistics
import time
from typing import Any

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
BARS = {"ring8": {"frames_per_s": 10.0}, "mnist-dcgan": {"frames_per_s": 3.0}}
PAINTS_BAR, BYTES_BAR, FIRST_FRAME_BAR_S = 30.0, 60 * 1024, 0.5
EXTRA_LAYERS = ("contour", "manifold", "dstar")

# Press Train and resolve with the seconds until a frame of a new run is drawn.
FIRST_FRAME_JS = """() => new Promise((resolve, reject) => {
  const root = document.querySelector('#live-view .gp-live');
  const before = root.dataset.run || '';
  const t0 = performance.now();
  const seen = new MutationObserver(() => {
    if ((root.dataset.run || '') !== before) {
      seen.disconnect();
      resolve((performance.now() - t0) / 1000);
    }
  });
  seen.observe(root, {attributes: true});
  setTimeout(() => { seen.disconnect(); reject(new Error('no frame within 30 s')); }, 30000);
  document.querySelector('#train-btn').click();
})"""


def _counters(page: Any) -> dict[str, Any]:
    return page.evaluate("""() => {
      const d = document.querySelector('#live-view .gp-live').dataset;
      return {frames: +d.frames || 0, paints: +d.paints || 0, step: +d.step || 0,
              state: d.state || '', run: d.run || ''};
    }""")


def _wait(page: Any, predicate, what: str, timeout: float = 120.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        c = _counters(page)
        if predicate(c):
            return c
        time.sleep(0.05)
    raise TimeoutError(f"timed out waiting for {what}")


def _choose_preset(page: Any, name: str) -> None:
    """Pick the preset from its menu, and wait until the form shows its settings (Train sends
    what the form shows)."""
    dataset = page.locator("#field-dataset input")
    before = dataset.input_value()
    page.locator("#field-preset input").click()
    page.get_by_role("option", name=name, exact=True).first.click()
    deadline = time.monotonic() + 20
    while page.locator("#field-preset input").input_value() != name:
        if time.monotonic() > deadline:
            raise TimeoutError(f"the preset menu did not show {name}")
        time.sleep(0.05)
    while name != "ring8" and dataset.input_value() == before:
        if time.monotonic() > deadline:
            raise TimeoutError(f"the form did not fill in {name}'s settings")
        time.sleep(0.05)


def _pause(page: Any) -> None:
    page.click("#pause-btn")
    _wait(page, lambda c: c["state"] in ("paused", "done"), "the run to pause", 30)


def _layers(page: Any, on: bool) -> None:
    """Switch the 2D view's extra layers (issue 14: contour, G's manifold, D*) on or off."""
    for layer in EXTRA_LAYERS:
        box = page.locator(f"#live-view input[data-layer={layer}]")
        box.check() if on else box.uncheck()


def measure_preset(page: Any, received: list[int], preset: str, seconds: float,
                   presses: int, layers: bool = False) -> dict[str, Any]:
    _choose_preset(page, preset)
    firsts, rounds = [], []
    for _ in range(presses):
        firsts.append(page.evaluate(FIRST_FRAME_JS))
        _wait(page, lambda c: c["state"] == "training" and c["step"] > 0, "training")
        if layers:
            _layers(page, True)
        time.sleep(1.0)  # past the run's start
        a, bytes_a, t_a = _counters(page), received[0], time.perf_counter()
        time.sleep(seconds)
        b, bytes_b, t_b = _counters(page), received[0], time.perf_counter()
        _pause(page)
        if layers:
            _layers(page, False)
        if b["run"] != a["run"] or b["state"] != "training":
            raise RuntimeError(f"{preset}: the run stopped while it was measured ({b})")
        dt = t_b - t_a
        rounds.append({"frames": (b["frames"] - a["frames"]) / dt,
                       "paints": (b["paints"] - a["paints"]) / dt,
                       "bytes": (bytes_b - bytes_a) / dt, "steps": (b["step"] - a["step"]) / dt})

    def median(key: str) -> float:
        return statistics.median(r[key] for r in rounds)
    frames, paints, bps = median("frames"), median("paints"), median("bytes")
    elapsed = seconds
    bar = BARS[preset]["frames_per_s"]
    first = statistics.median(firsts)
    if layers:  # a figure to compare with the plain row, no bar of its own
        return {"preset": preset, "layers": list(EXTRA_LAYERS), "frames_per_s": round(frames, 2),
                "paints_per_s": round(paints, 1), "bytes_per_s": round(bps),
                "steps_per_s": round(median("steps"), 1), "presses": presses}
    return {"preset": preset, "seconds_per_press": elapsed, "frames_per_s": round(frames, 2),
            "paints_per_s": round(paints, 1), "bytes_per_s": round(bps),
            "steps_per_s": round(median("steps"), 1), "presses": presses,
            "first_frame_s": round(first, 3), "first_frame_all_s": [round(x, 3) for x in firsts],
            "frames_bar": bar, "paints_bar": PAINTS_BAR,
            "bytes_bar": BYTES_BAR if preset == "ring8" else None,
            "first_frame_bar_s": FIRST_FRAME_BAR_S if preset == "ring8" else None,
            "pass": frames >= bar and paints >= PAINTS_BAR
            and (preset != "ring8" or (bps <= BYTES_BAR and first <= FIRST_FRAME_BAR_S))}


def main(url: str, quick: bool = False) -> list[dict[str, Any]]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            cdp = context.new_cdp_session(page)
            cdp.send("Network.enable")
            received = [0]

            def on_data(event: dict[str, Any]) -> None:
                received[0] += int(event.get("encodedDataLength") or 0)
            cdp.on("Network.dataReceived", on_data)
            calls: list[float] = []  # the POSTs GP_CALLS_PER_MIN counts (not the frames)
            page.on("request", lambda r: r.method == "POST" and "/gp/frame" not in r.url
                    and calls.append(time.monotonic()))
            start = time.monotonic()
            page.goto(url)
            page.wait_for_selector("#train-btn")
            _wait(page, lambda c: c["frames"] > 0, "the live view's first frame")
            seconds = 3.0 if quick else 8.0
            rows = [measure_preset(page, received, "ring8", seconds, 2 if quick else 5),
                    measure_preset(page, received, "ring8", seconds, 1 if quick else 3,
                                   layers=True),
                    measure_preset(page, received, "mnist-dcgan", seconds, 1)]
            minutes = (time.monotonic() - start) / 60
            for r in rows:  # the whole visit: page load, preset picks, Train, Pause
                r["page_calls_per_min"] = round(len(calls) / minutes, 1)
            return rows
        finally:
            browser.close()
