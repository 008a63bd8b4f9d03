"""bf16 against fp32 (the `precision` setting): steps per second, and quality at equal steps.

    python -m benchmarks.precision [--quick]

Speed: a fresh `Trainer` per round on the preset (CPU), warmed up by 5 steps, then timed over
`steps` steps; rounds alternate fp32, bf16, fp32, ..., fp32, and each bf16 round is divided by
the mean of the fp32 rounds on either side of it (a drift in the machine's speed cancels); we
report the median. mnist-dcgan's bar: >= 1.4x. ring8 is reported too: its small MLPs are
bound by per-operation overhead, which autocast's casts add to.
Quality: mnist-dcgan trained from the same seed to QUALITY_STEPS steps in each precision, then
measured as `playground eval` does (`metrics.evaluate_generator`): bf16's FD ratio (FD over the
real-vs-real baseline) must be within 10 % of fp32's. One seed each: a different seed moves the
FD ratio by a few percent too. Skipped, saying why, on a CPU without bf16.
`benchmarks/run.py` calls `main(quick)`.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from typing import Any

import torch

from playground import precision
from playground.metrics import evaluate_generator
from playground.presets import get_preset
from playground.train import Trainer

SPEED_BAR = 1.4
FD_TOLERANCE = 0.10
QUALITY_STEPS = 3000


def _trainer(preset: str, kind: str, steps: int = 10**6) -> Trainer:
    trainer = Trainer(get_preset(preset).replace(device="cpu", precision=kind, steps=steps))
    _ = trainer.dataset  # loaded before any clock starts
    return trainer


def steps_per_s(preset: str, kind: str, steps: int) -> float:
    trainer = _trainer(preset, kind)
    trainer.step(5)
    start = time.perf_counter()
    trainer.step(steps)
    return steps / (time.perf_counter() - start)


def speed(preset: str, rounds: int, steps: int) -> dict[str, Any]:
    fp32 = [steps_per_s(preset, "fp32", steps)]
    bf16 = []
    for _ in range(rounds):
        bf16.append(steps_per_s(preset, "bf16", steps))
        fp32.append(steps_per_s(preset, "fp32", steps))
    ratios = [b / ((fp32[i] + fp32[i + 1]) / 2) for i, b in enumerate(bf16)]
    return {"preset": preset, "median_ratio": statistics.median(ratios), "ratios": ratios,
            "fp32_steps_per_s": statistics.median(fp32),
            "bf16_steps_per_s": statistics.median(bf16), "steps_per_round": steps}


def quality(steps: int) -> dict[str, Any]:
    out: dict[str, Any] = {"preset": "mnist-dcgan", "steps": steps}
    for kind in ("fp32", "bf16"):
        trainer = _trainer("mnist-dcgan", kind, steps)
        while trainer.step_count < steps:
            trainer.step(min(100, steps - trainer.step_count))
        m = evaluate_generator(trainer.sampler(), trainer.dataset, trainer.config.model,
                               device=trainer.device)
        out[kind] = {"fd_ratio": m["fd_ratio"], "digits_covered": m["digits_covered"],
                     "train_s": trainer.elapsed_s}
    out["fd_change"] = out["bf16"]["fd_ratio"] / out["fp32"]["fd_ratio"] - 1
    out["pass"] = abs(out["fd_change"]) <= FD_TOLERANCE
    return out


def main(quick: bool = False) -> dict[str, Any]:
    why = precision.bf16_support(torch.device("cpu"))
    if why:
        return {"status": f"skipped: {why}"}
    rows = [speed("mnist-dcgan", 3 if quick else 5, 20 if quick else 60),
            speed("ring8", 3 if quick else 5, 100 if quick else 400)]
    rows[0]["bar"] = SPEED_BAR
    rows[0]["pass"] = rows[0]["median_ratio"] >= SPEED_BAR
    return {"status": "ok", "speed": rows, "quality": quality(300 if quick else QUALITY_STEPS),
            "fd_tolerance": FD_TOLERANCE, "threads": torch.get_num_threads()}


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true")
    args = p.parse_args()
    print(json.dumps(main(args.quick), indent=1))
    sys.exit(0)
