"""What a thread beside the training costs it, by the kind of work that thread does.

    python -m benchmarks.frame_cost [--preset ring8] [--hz 10] [--seconds 2] [--rounds 5]

The live view computes each 2D frame on copies of G and D in a thread beside the training
(`playground/run_frames.py`), on the other core. This trains the preset headless in chunks of
20 steps, one torch thread, while a second thread does, `--hz` times a second, work that lasts
as long as one frame:

  idle     sleeps (the baseline's own noise);
  python   a pure-Python loop: it holds the interpreter lock throughout;
  matmul   300x300 matrix products: long operations that let go of the lock;
  tiny     additions on a 64x2 tensor: many short operations, each letting go of the lock and
           taking it back;
  frame    the live view's frame, as the watcher thread makes it (its quality series
           point at most once a second, as live);
  inline   the same frame computed in the training thread between chunks, with no second thread.

Each variant's rounds alternate with rounds of no thread at all, and each ratio is a variant
round's steps/s over the mean of the plain rounds either side; the median is printed. A
diagnostic beside `benchmarks/streaming.py` and `benchmarks/live_loop.py`, not part of
`make bench`.
"""
from __future__ import annotations

import argparse
import statistics
import threading
import time
from typing import Callable

import torch

from playground.allocator import keep_freed_memory
from playground.live import LiveRun
from playground.presets import get_preset
from playground.train import Trainer
from playground.turns import Slots
from playground.ui.live_view import _encoded

VARIANTS = ("idle", "python", "matmul", "tiny", "frame", "inline")
CHUNK = 20


def _frame_maker(run: LiveRun) -> Callable[[], None]:
    """One frame of `run`, as a watcher gets it: a snapshot under the run's lock (the training
    thread takes it in the app), then the view computed on the run's model copies, the curves
    since the last frame, the alerts, and the JSON and Brotli of the live-view route."""
    since = [-1]

    def make() -> None:
        with run.lock:
            run.state = "training"  # the decision map is reused every other frame, as live
            snap = run._capture()
        frame = run._frame_of(snap, since[0], since[0] < 0)
        steps = (frame.get("curves") or {}).get("step") or []
        since[0] = steps[-1] if steps else since[0]
        _encoded(frame, frame.get("alerts_key"), True)
    return make


def _work(kind: str, seconds: float, frame: Callable[[], None]) -> None:
    start = time.perf_counter()
    if kind == "frame":
        frame()
    elif kind == "python":
        while time.perf_counter() - start < seconds:
            pass
    elif kind == "matmul":
        a = torch.randn(300, 300)
        while time.perf_counter() - start < seconds:
            a @ a
    elif kind == "tiny":
        x = torch.zeros(64, 2)
        while time.perf_counter() - start < seconds:
            x = x + 1
    else:
        time.sleep(seconds)


def _rate(trainer: Trainer, seconds: float, every: float = 0.0,
          inline: Callable[[], None] | None = None) -> float:
    steps, start, last = 0, time.perf_counter(), time.perf_counter()
    while time.perf_counter() - start < seconds:
        trainer.step(CHUNK)
        steps += CHUNK
        if inline is not None and time.perf_counter() - last >= every:
            last = time.perf_counter()
            inline()
    return steps / (time.perf_counter() - start)


def measure(preset: str = "ring8", hz: float = 10.0, seconds: float = 2.0,
            rounds: int = 5) -> dict[str, object]:
    torch.set_num_threads(1)
    trainer = Trainer(get_preset(preset).replace(steps=10**6, device="cpu"))
    run = LiveRun(trainer, "b" * 16, preset, Slots(1))
    run.step_once("both")
    trainer.step(300)  # warm up
    frame = _frame_maker(run)
    lengths = []
    for _ in range(20):
        start = time.perf_counter()
        frame()
        lengths.append(time.perf_counter() - start)
    frame_s = statistics.median(lengths)
    every = 1.0 / hz
    ratios: dict[str, list[float]] = {v: [] for v in VARIANTS}
    plain = [_rate(trainer, seconds)]
    for _ in range(rounds):
        for kind in VARIANTS:
            if kind == "inline":
                rate = _rate(trainer, seconds, every, frame)
            else:
                stop = threading.Event()

                def beside(kind: str = kind) -> None:
                    while not stop.is_set():
                        start = time.perf_counter()
                        _work(kind, frame_s, frame)
                        stop.wait(max(0.0, every - (time.perf_counter() - start)))
                thread = threading.Thread(target=beside, daemon=True)
                thread.start()
                rate = _rate(trainer, seconds)
                stop.set()
                thread.join()
            plain.append(_rate(trainer, seconds))
            ratios[kind].append(rate / ((plain[-2] + plain[-1]) / 2))
    run.close()
    return {"preset": preset, "frame_ms": round(frame_s * 1e3, 2), "hz": hz,
            "plain_steps_per_s": round(statistics.median(plain), 1),
            "ratios": {k: round(statistics.median(v), 3) for k, v in ratios.items()},
            "spread": {k: [round(min(v), 3), round(max(v), 3)] for k, v in ratios.items()}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="ring8")
    parser.add_argument("--hz", type=float, default=10.0)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    keep_freed_memory()
    result = measure(args.preset, args.hz, args.seconds, args.rounds)
    print(f"{result['preset']}: one frame {result['frame_ms']} ms, {result['hz']} a second; "
          f"training alone {result['plain_steps_per_s']} steps/s")
    for kind in VARIANTS:
        low, high = result["spread"][kind]
        print(f"  {kind:7s} {result['ratios'][kind]:.3f} of the steps/s ({low:.3f}-{high:.3f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
