"""The Train tab's loop without the server: how much the live view itself costs the training.

    python -m benchmarks.live_loop [--preset mnist-dcgan] [--steps 120] [--rounds 3]

Runs `playground.ui.train_loop.stream` in this process, the way the Train tab's event does
(worker thread, snapshots, pictures drawn and written as PNGs), but drops the views instead of
sending them through Gradio; alternates with headless `Trainer.step` on the same config, one
torch thread each. A diagnostic beside `benchmarks/streaming.py`: the gap between the two
figures is what Gradio's serving and the page add. Not part of `make bench`.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

from playground.allocator import keep_freed_memory
from playground.presets import get_preset
from playground.train import Trainer
from playground.ui.session import Session
from playground.ui.train_loop import stream
from playground.ui.train_tab import view_file


def _trainer(preset: str, steps: int) -> Trainer:
    trainer = Trainer(get_preset(preset).replace(steps=steps, device="cpu"))
    _ = trainer.dataset  # load the data before the clock starts
    return trainer


def headless(preset: str, steps: int) -> float:
    trainer = _trainer(preset, steps)
    start = time.perf_counter()
    while trainer.step_count < steps:
        trainer.step(min(50, steps - trainer.step_count))
    return steps / (time.perf_counter() - start)


def live(preset: str, steps: int, folder: Path) -> tuple[float, float]:
    """(steps/s, views/s) of the Train tab's loop, views drawn and written but not sent."""
    session = Session("benchmark", "cpu")
    session.trainer = _trainer(preset, steps)

    def written(_: Session, view) -> None:
        for kind in ("picture", "losses", "scores"):
            view_file(getattr(view, kind), folder, kind)

    start, views = time.perf_counter(), 0
    for _ in stream(session, written):
        views += 1
    seconds = time.perf_counter() - start
    return steps / seconds, views / seconds


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--preset", default="mnist-dcgan")
    p.add_argument("--steps", type=int, default=120, help="steps per round")
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    keep_freed_memory()  # as app.py does
    folder = Path(tempfile.mkdtemp(prefix="live-loop-"))
    ratios = []
    for i in range(args.rounds):
        head = headless(args.preset, args.steps)
        steps_s, views_s = live(args.preset, args.steps, folder)
        ratios.append(steps_s / head)
        print(f"round {i}: live {steps_s:.1f} steps/s ({views_s:.1f} views/s), headless "
              f"{head:.1f} steps/s, ratio {ratios[-1]:.3f}", flush=True)
    print(f"median ratio {statistics.median(ratios):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
