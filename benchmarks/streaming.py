"""Streaming overhead: training through the running app, watched live, against headless.

App side: a call to `/train` (the Train button's endpoint) through Gradio's HTTP API, with a
preset's settings, while a client pulls the live view's frames as fast as the app serves them,
one request after another, as the page does (`FrameClient`; it draws nothing: a visitor's browser
runs on the visitor's machine). The app trains in the run's worker thread and makes each frame
beside it (`playground/live.py`, `playground/frames.py`). We time the frames as they arrive:
steps/s = steps advanced between the first frame after training began and the first frame at the
last step, over that time. (A run's start, building the model and a 1-step probe that sizes the
chunks, is left out, as the headless side leaves out building its model.)
Headless side: the same config trained by `Trainer.step` in this process, in chunks of 50 steps
as the command line does, with the same number of torch threads and the same allocator settings
(`playground.allocator`) as the app. Rounds go headless, app, headless, app, ..., headless; each
app round is divided by the mean of the headless rounds on either side of it, and we report the
median of those ratios. Bar: >= 0.95. We also report the frames per second the client received
and their size in bytes (as JSON, before the server's Brotli compression).

We also report the ratio of steps per CPU-second (the app's whole process, every thread: the
server's encoding and sending of each view counts; this process's for headless): on a shared,
busy machine it is the figure that time spent waiting for a core distorts least.
"""
from __future__ import annotations

import secrets
import statistics
import threading
import time
from typing import Any

from playground.presets import get_preset
from playground.train import Trainer

from .app_process import FrameClient, api_params, api_stream, cpu_seconds

BAR = 0.95
HEADLESS_CHUNK = 50  # the command line's default --chunk


def form_fields(preset: str) -> dict[str, Any]:
    """A preset's settings as /train takes them (every config field by name), on the CPU."""
    config = get_preset(preset).replace(device="cpu")
    skip = ("path", "data_root", "download")
    return {k: v for group in config.to_dict().values() for k, v in group.items()
            if k not in skip}


def app_round(base_url: str, fields: dict[str, Any], steps: int, pid: int) -> dict[str, float]:
    """Train a new run of `steps` steps through /train (app process `pid`) while pulling its
    frames; steps per second and per CPU-second between the first frame after step 0 and the
    first at the final step, frames per second and bytes per frame."""
    session = secrets.token_hex(8)
    frames = FrameClient(base_url, session)
    values = {**fields, "steps": steps}
    data = [values.get(name) for name in api_params(base_url, "train")]  # images_zip: None
    done = threading.Event()

    def train() -> None:
        try:
            for _ in api_stream(base_url, "train", data, session):
                pass
        finally:
            done.set()

    thread = threading.Thread(target=train, daemon=True)
    thread.start()
    marks: list[tuple[float, float, int, int]] = []  # (wall time, app CPU time, step, bytes)
    while True:
        frame, size = frames.next()
        if frame.get("run") and not frame.get("same"):
            marks.append((time.perf_counter(), cpu_seconds(pid), frame["step"], size))
            if frame["step"] >= steps and frame["state"] != "training":
                break
        if done.is_set() and frame.get("same"):
            break
    thread.join(60)
    marks = [m for m in marks if m[2] > 0]  # from the first frame after training began
    if len(marks) < 2 or marks[-1][2] <= marks[0][2]:
        raise RuntimeError(f"too few frames to time: {marks}")
    t0, c0, s0, _ = marks[0]
    t1, c1, s1, _ = next(m for m in marks if m[2] == marks[-1][2])  # first frame at the last step
    shown = [m for m in marks if m[0] <= t1]
    return {"steps_per_s": (s1 - s0) / (t1 - t0), "steps_per_cpu_s": (s1 - s0) / max(c1 - c0, 1e-9),
            "frames_per_s": (len(shown) - 1) / (t1 - t0),
            "bytes_per_frame": statistics.median(m[3] for m in shown[1:])}


def headless_round(preset: str, steps: int = 0, seconds: float = 0.0) -> dict[str, float]:
    """Steps per second and per CPU-second of a new run trained by `Trainer.step` in this
    process, for `steps` steps (or, with steps=0, for about `seconds`)."""
    trainer = Trainer(get_preset(preset).replace(device="cpu"))
    _ = trainer.dataset  # load the data before the clock starts, as the app does
    start, cpu = time.perf_counter(), time.process_time()
    done = 0
    while (done < steps) if steps else (done == 0 or time.perf_counter() - start < seconds):
        n = min(HEADLESS_CHUNK, steps - done) if steps else 1
        trainer.step(n)
        done += n
    return {"steps_per_s": done / (time.perf_counter() - start),
            "steps_per_cpu_s": done / max(time.process_time() - cpu, 1e-9)}


def measure(base_url: str, pid: int, preset: str, *, rounds: int, seconds: float,
            verbose: bool = False) -> dict[str, Any]:
    """Interleaved app/headless rounds of about `seconds` each for `preset` (app process `pid`)."""
    fields = form_fields(preset)
    warm = headless_round(preset, seconds=min(seconds, 1.5))  # warm-up, and a speed guess
    steps = max(4, round(seconds * warm["steps_per_s"]))
    app_round(base_url, fields, steps, pid)  # a whole round to warm the app up, not counted
    # Headless, app, headless, app, ..., headless: each app round is compared with the mean of
    # the headless rounds just before and just after it, so a drift in the machine's speed
    # over the pair cancels out.
    head = [headless_round(preset, steps)]
    app = []
    for i in range(rounds):
        app.append(app_round(base_url, fields, steps, pid))
        head.append(headless_round(preset, steps))
        if verbose:
            print(f"  streaming {preset} round {i}: app {app[-1]['steps_per_s']:.2f} steps/s, "
                  f"headless {head[-2]['steps_per_s']:.2f} and {head[-1]['steps_per_s']:.2f} "
                  "steps/s", flush=True)

    def around(i: int, key: str) -> float:
        return (head[i][key] + head[i + 1][key]) / 2

    ratios = [a["steps_per_s"] / around(i, "steps_per_s") for i, a in enumerate(app)]
    cpu_ratios = [a["steps_per_cpu_s"] / around(i, "steps_per_cpu_s") for i, a in enumerate(app)]
    ratio = statistics.median(ratios)
    return {"preset": preset, "rounds": rounds, "steps_per_round": steps,
            "app_steps_per_s": statistics.median(a["steps_per_s"] for a in app),
            "headless_steps_per_s": statistics.median(h["steps_per_s"] for h in head),
            "frames_per_s": statistics.median(a["frames_per_s"] for a in app),
            "bytes_per_frame": statistics.median(a["bytes_per_frame"] for a in app),
            "median_ratio": ratio, "ratios": ratios,
            "cpu_median_ratio": statistics.median(cpu_ratios),
            "bar": BAR, "pass": ratio >= BAR}


def main(base_url: str, pid: int, quick: bool = False,
         verbose: bool = False) -> list[dict[str, Any]]:
    # Many short rounds rather than a few long ones: this shared machine's speed drifts over
    # seconds, by up to +-25 %, and rounds close in time see the same drift (5 rounds of 4 and
    # 8 s gave single rounds of 0.77-1.03 and medians 0.89-1.00 for the same code).
    # A DCGAN round still holds dozens of frames (a frame after every chunk of ~1 step).
    plan = [("ring8", 3.0), ("mnist-dcgan", 5.0)]
    return [measure(base_url, pid, p, rounds=3 if quick else 9,
                    seconds=seconds / 2 if quick else seconds, verbose=verbose)
            for p, seconds in plan]
