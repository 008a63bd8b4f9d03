"""The Train tab's run engine without the server: how much watching costs the training.

    python -m benchmarks.live_loop [--preset ring8] [--seconds 3] [--rounds 5]

Runs a `playground.live.LiveRun` in this process, as the Train tab does (its worker thread trains
in chunks), while a watcher thread asks for frames one after another and encodes each as the
live-view route does (`playground.ui.live_view`: JSON, then Brotli), and alternates with headless
`Trainer.step` on the same config, one torch thread each. A diagnostic beside
`benchmarks/streaming.py`: the gap between the two figures is what HTTP and Gradio's server add.
Not part of `make bench`.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time

import torch

from playground.allocator import keep_freed_memory
from playground.live import LiveRun
from playground.turns import Slots
from playground.presets import get_preset
from playground.train import Trainer
from playground.ui.live_view import _encoded


def _trainer(preset: str) -> Trainer:
    trainer = Trainer(get_preset(preset).replace(steps=10**6, device="cpu"))
    _ = trainer.dataset  # load the data before the clock starts
    return trainer


def headless(preset: str, seconds: float) -> float:
    trainer = _trainer(preset)
    trainer.step(5)  # warm up
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        trainer.step(50)
        steps += 50
    return steps / (time.perf_counter() - start)


def live(preset: str, seconds: float, watched: bool = True) -> tuple[float, float, float]:
    """(steps/s, frames/s, compressed bytes per frame) of a LiveRun, watched by one client."""
    run = LiveRun(_trainer(preset), "b" * 16, preset, Slots(1))
    run.step_once("both")  # builds and sizes the chunks, as the page's first frame does
    stop = threading.Event()
    sizes: list[int] = []

    def watch() -> None:
        seq, since, alerts = -1, -1, None
        while not stop.is_set():
            frame = run.frame(seq, since, seq < 0, timeout=1.0)
            if frame is None:
                continue
            steps = (frame.get("curves") or {}).get("step") or []
            seq, since = frame["seq"], steps[-1] if steps else since
            alerts = frame.get("alerts_key", alerts)
            sizes.append(len(_encoded(frame, alerts, True)[0]))

    watcher = threading.Thread(target=watch, daemon=True)
    if watched:
        watcher.start()
    run.start()
    time.sleep(0.5)  # past the start
    s0, t0, n0 = run.trainer.step_count, time.perf_counter(), len(sizes)
    time.sleep(seconds)
    s1, t1, n1 = run.trainer.step_count, time.perf_counter(), len(sizes)
    stop.set()
    run.close()
    if watched:
        watcher.join(5)
    per_frame = statistics.median(sizes) if sizes else 0.0
    return (s1 - s0) / (t1 - t0), (n1 - n0) / (t1 - t0), per_frame


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--preset", default="ring8")
    p.add_argument("--seconds", type=float, default=3.0, help="seconds per round")
    p.add_argument("--rounds", type=int, default=5)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    keep_freed_memory()  # as app.py does
    ratios = []
    for i in range(args.rounds):
        before = headless(args.preset, args.seconds)
        steps_s, frames_s, size = live(args.preset, args.seconds)
        after = headless(args.preset, args.seconds)
        ratios.append(steps_s / ((before + after) / 2))
        print(f"round {i}: live {steps_s:.1f} steps/s ({frames_s:.1f} frames/s, {size:.0f} B "
              f"a frame), headless {before:.1f} and {after:.1f} steps/s, ratio {ratios[-1]:.3f}",
              flush=True)
    print(f"median ratio {statistics.median(ratios):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
