"""Streaming overhead: training through the running app, with its live view, against headless.

App side: a `gradio_client` call to `/train` (the Train button's endpoint) with a preset's
settings; the app trains in chunks and streams the whole view (progress, status, the progress
picture, two charts) after each. We time the updates as they arrive: steps/s = steps advanced
between the first update (step 0, after the model is built) and the last, over that time.
Headless side: the same config trained by `Trainer.step` in this process, in chunks of 50 steps
as the command line does, with the same number of torch threads as the app. Rounds alternate
app, headless, headless, app, ... and we report the median ratio app / headless. Bar: >= 0.90.
"""
from __future__ import annotations

import re
import statistics
import time
from typing import Any

from playground.presets import get_preset
from playground.train import Trainer

BAR = 0.90
HEADLESS_CHUNK = 50  # the command line's default --chunk
_STEP = re.compile(r'data-step="(\d+)"')


def form_fields(preset: str) -> dict[str, Any]:
    """A preset's settings as /train takes them (every config field by name), on the CPU."""
    config = get_preset(preset).replace(device="cpu")
    skip = ("path", "data_root", "download")
    return {k: v for group in config.to_dict().values() for k, v in group.items()
            if k not in skip}


def _step_of(output: Any) -> int | None:
    for item in output if isinstance(output, (list, tuple)) else [output]:
        if isinstance(item, str):
            m = _STEP.search(item)
            if m:
                return int(m.group(1))
    return None


def app_round(client: Any, fields: dict[str, Any], steps: int) -> dict[str, float]:
    """Train a new run of `steps` steps through /train; steps/s between first and last update."""
    job = client.submit(api_name="/train", **{**fields, "steps": steps})
    marks: list[tuple[float, int]] = []
    for output in job:
        step = _step_of(output)
        if step is not None:
            marks.append((time.perf_counter(), step))
    job.result()  # raises if the app reported an error
    if len(marks) < 2 or marks[-1][1] <= marks[0][1]:
        raise RuntimeError(f"/train streamed no progress: {marks}")
    t0, s0 = marks[0]
    t1, s1 = next(m for m in marks if m[1] == marks[-1][1])  # first update at the final step
    shown = sum(1 for m in marks if m[0] <= t1) - 1
    return {"steps_per_s": (s1 - s0) / (t1 - t0), "updates_per_s": shown / (t1 - t0)}


def headless_round(preset: str, steps: int = 0, seconds: float = 0.0) -> float:
    """Steps/s of a new run trained by `Trainer.step` in this process, for `steps` steps
    (or, with steps=0, for about `seconds`)."""
    trainer = Trainer(get_preset(preset).replace(device="cpu"))
    _ = trainer.dataset  # load the data before the clock starts, as the app does
    start = time.perf_counter()
    done = 0
    while (done < steps) if steps else (done == 0 or time.perf_counter() - start < seconds):
        n = min(HEADLESS_CHUNK, steps - done) if steps else 1
        trainer.step(n)
        done += n
    return done / (time.perf_counter() - start)


def measure(client: Any, preset: str, *, rounds: int, seconds: float,
            verbose: bool = False) -> dict[str, Any]:
    """Interleaved app/headless rounds of about `seconds` each for `preset`."""
    fields = form_fields(preset)
    warm = headless_round(preset, seconds=min(seconds, 1.5))  # warm-up, and a speed guess
    app_round(client, fields, 3)
    steps = max(4, round(seconds * warm))
    app_rates, head_rates, updates = [], [], []
    for i in range(rounds):
        order = ("app", "headless") if i % 2 == 0 else ("headless", "app")
        for side in order:
            if side == "app":
                r = app_round(client, fields, steps)
                app_rates.append(r["steps_per_s"])
                updates.append(r["updates_per_s"])
            else:
                head_rates.append(headless_round(preset, steps))
        if verbose:
            print(f"  streaming {preset} round {i}: app {app_rates[-1]:.2f} steps/s, "
                  f"headless {head_rates[-1]:.2f} steps/s", flush=True)
    ratios = [a / h for a, h in zip(app_rates, head_rates)]
    ratio = statistics.median(ratios)
    return {"preset": preset, "rounds": rounds, "steps_per_round": steps,
            "app_steps_per_s": statistics.median(app_rates),
            "headless_steps_per_s": statistics.median(head_rates),
            "updates_per_s": statistics.median(updates),
            "median_ratio": ratio, "ratios": ratios, "bar": BAR, "pass": ratio >= BAR}


def main(client: Any, quick: bool = False, verbose: bool = False) -> list[dict[str, Any]]:
    rounds, seconds = (2, 2.0) if quick else (5, 4.0)
    return [measure(client, p, rounds=rounds, seconds=seconds, verbose=verbose)
            for p in ("ring8", "mnist-dcgan")]
