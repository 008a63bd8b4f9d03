"""What two parts of the training step are worth, each switched off and on, side by side.

    python -m benchmarks.step_parts [--rounds 5] [--threads 1] [--only ring8,grid25,mnist-dcgan]

- "short road": `playground.optim.step` and `zero_grad` (a fused Adam's kernel called directly)
  against the optimiser's own `step()` and `zero_grad()`;
- "in place": the models' ReLU and leaky ReLU in place against not.

Both give the same weights bit for bit (tests/test_train.py), so only the time can differ. Each
round trains fresh trainers off, on, off (or on, off, on), `Trainer.step` in one call of N steps
after 5 warm-up steps, and divides the mean steps/s with the part on by the mean with it off;
the median over the rounds is quoted. A diagnostic beside `make bench` (whose trainer row
compares the whole trainer with a bare loop), not part of it.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from typing import Callable

import torch
from torch import nn

from playground import optim
from playground.allocator import keep_freed_memory
from playground.presets import get_preset
from playground.train import Trainer

STEPS = {"ring8": 400, "grid25": 300, "mnist-dcgan": 20}
OWN_STEP, OWN_ZERO = optim.step, optim.zero_grad


def _short_road(trainer: Trainer, on: bool) -> None:
    optim.step = OWN_STEP if on else (lambda opt: opt.step())
    optim.zero_grad = OWN_ZERO if on else (lambda opt: opt.zero_grad(set_to_none=True))


def _in_place(trainer: Trainer, on: bool) -> None:
    for m in (*trainer.G.modules(), *trainer.D.modules()):
        if isinstance(m, (nn.ReLU, nn.LeakyReLU)):
            m.inplace = on


PARTS: dict[str, Callable[[Trainer, bool], None]] = {"short road": _short_road,
                                                      "in place": _in_place}


def steps_per_s(preset: str, part: str, on: bool) -> float:
    trainer = Trainer(get_preset(preset).replace(device="cpu"))
    _ = trainer.dataset
    PARTS[part](trainer, on)
    try:
        trainer.step(5)
        start = time.perf_counter()
        trainer.step(STEPS[preset])
        return STEPS[preset] / (time.perf_counter() - start)
    finally:
        _short_road(trainer, True)


def ratio(preset: str, part: str, rounds: int) -> tuple[float, list[float]]:
    ratios = []
    for r in range(rounds):
        seen: dict[bool, list[float]] = {True: [], False: []}
        for on in ((True, False, True) if r % 2 else (False, True, False)):
            seen[on].append(steps_per_s(preset, part, on))
        ratios.append(statistics.mean(seen[True]) / statistics.mean(seen[False]))
    return statistics.median(ratios), ratios


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--only", default=",".join(STEPS))
    args = p.parse_args(argv)
    presets = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = sorted(set(presets) - set(STEPS))
    if unknown or args.rounds < 1 or args.threads < 1:
        p.error(f"choose presets from {', '.join(STEPS)}, and rounds and threads >= 1")
    torch.set_num_threads(args.threads)
    keep_freed_memory()  # as app.py and `playground train` do
    for preset in presets:
        for part in PARTS:
            median, ratios = ratio(preset, part, args.rounds)
            print(f"{preset:12} {part:10} on/off steps/s {median:.3f}x "
                  f"(rounds: {', '.join(f'{x:.3f}' for x in ratios)})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
