"""Time to quality: seconds of training, from scratch with the default presets, to each bar,
as the median over SEEDS seeds (with the spread).

    python -m benchmarks.time_to_quality [--quick] [--only ring8,grid25,mnist-dcgan]
                                         [--threads 2] [--seeds 0,1,2,3,4] [--out PATH]

The bars on a 2-core CPU (issue 16, raised from issue 4's 30/90/180 s): ring8 reaches 8/8 modes
and >= 90 % high-quality samples in <= 4 s; grid25 25/25 and >= 90 % in <= 12 s; mnist-dcgan
FD <= 3x the real-vs-real baseline with 10/10 digits in <= 45 s; each a median over seeds 0-4.

Method: a fresh `Trainer` on the preset as it stands, with each seed in turn, trained in chunks; after each
chunk the sampler (G's EMA when the preset has one) is measured exactly as `playground eval` does
(`metrics.evaluate_generator`, its default sample count, seed 0). The time quoted is the trainer's
own clock (`Trainer.elapsed_s`: training only, the measurements excluded), at the first chunk
that meets the bar, so it overstates the true time by at most one chunk. A run stops at the bar,
at the preset's own step count, or at its give-up time (issue 4's old bar, so a miss still says
how far off it is); a seed that gives up counts as "not reached" (infinite) in the median.
Other work on the machine slows training: the load average before and after each run is
recorded next to it. `benchmarks/run.py` calls `main(...)`.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import torch

from playground.metrics import evaluate_generator
from playground.presets import get_preset
from playground.train import Trainer

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "time_to_quality.json"


def _ring8(m: dict[str, Any]) -> bool:
    return m["modes_captured"] == 8 and m["high_quality_pct"] >= 90


def _grid25(m: dict[str, Any]) -> bool:
    return m["modes_captured"] == 25 and m["high_quality_pct"] >= 90


def _dcgan(m: dict[str, Any]) -> bool:
    return m["fd_ratio"] <= 3 and m["digits_covered"] == 10


# preset -> (bar in words, test on `playground eval` metrics, target seconds (of the median),
# steps per chunk, give-up seconds per run)
TARGETS: dict[str, tuple[str, Callable[[dict[str, Any]], bool], float, int, float]] = {
    "ring8": ("8/8 modes, >= 90 % high quality", _ring8, 4.0, 100, 30.0),
    "grid25": ("25/25 modes, >= 90 % high quality", _grid25, 12.0, 200, 90.0),
    "mnist-dcgan": ("FD <= 3x baseline, 10/10 digits", _dcgan, 45.0, 100, 180.0),
}
SEEDS = (0, 1, 2, 3, 4)


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else []


def _summary(m: dict[str, Any]) -> dict[str, Any]:
    keys = ("modes_captured", "high_quality_pct", "fd_ratio", "digits_covered",
            "mean_confidence", "label_accuracy")
    return {k: m[k] for k in keys if k in m}


def measure(name: str, seed: int, quick: bool = False, verbose: bool = True) -> dict[str, Any]:
    """Train preset `name` with `seed` from scratch until its bar is met or it gives up."""
    bar, test, target, chunk, give_up = TARGETS[name]
    limit = give_up / 6 if quick else give_up
    config = get_preset(name).replace(seed=seed)
    load_before = _load()
    trainer = Trainer(config, device="cpu")
    trainer.dataset  # load the data before the clock starts
    wall_start = time.perf_counter()
    seconds, metrics, curve = None, {}, []
    while trainer.elapsed_s < limit and trainer.step_count < config.train.steps:
        records = trainer.step(min(chunk, config.train.steps - trainer.step_count))
        if records[-1].event:  # diverged: the run is over
            break
        metrics = evaluate_generator(trainer.sampler(), trainer.dataset, config.model,
                                     device=trainer.device)
        curve.append({"step": trainer.step_count, "train_s": round(trainer.elapsed_s, 2),
                      **_summary(metrics)})
        if test(metrics):
            seconds = trainer.elapsed_s
            break
    if verbose:
        print(f"  {name} seed {seed}: {'not reached' if seconds is None else f'{seconds:.1f} s'}"
              f" at step {trainer.step_count}  {_summary(metrics)}", flush=True)
    return {"seed": seed, "seconds": seconds,
            "steps": trainer.step_count if seconds is not None else None,
            "steps_per_s": round(trainer.step_count / max(trainer.elapsed_s, 1e-9), 1),
            "wall_s": round(time.perf_counter() - wall_start, 1), "final": _summary(metrics),
            "curve": curve, "load_before": load_before, "load_after": _load()}


def over_seeds(name: str, seeds: tuple[int, ...] = SEEDS, quick: bool = False,
               verbose: bool = True) -> dict[str, Any]:
    """The preset's row: the median time to its bar over `seeds`, the spread, every run."""
    bar, _, target, _, give_up = TARGETS[name]
    runs = [measure(name, seed, quick, verbose) for seed in (seeds[:1] if quick else seeds)]
    times = [math.inf if r["seconds"] is None else r["seconds"] for r in runs]
    median = statistics.median(times)
    return {"preset": name, "bar": bar, "target_s": target, "give_up_s": give_up,
            "seeds": [r["seed"] for r in runs],
            "seconds": None if math.isinf(median) else median,
            "min_s": min(times), "max_s": None if math.isinf(max(times)) else max(times),
            "reached": sum(not math.isinf(t) for t in times),
            "pass": None if quick else median <= target,
            "steps_per_s": statistics.median(r["steps_per_s"] for r in runs),
            "threads": torch.get_num_threads(), "runs": runs, "quick": quick}


def main(quick: bool = False, only: tuple[str, ...] = tuple(TARGETS), verbose: bool = True,
         seeds: tuple[int, ...] = SEEDS) -> list[dict[str, Any]]:
    """One row per preset (the shape `benchmarks/run.py` prints); quick = a short smoke run."""
    return [over_seeds(name, seeds, quick, verbose) for name in only]


def print_table(rows: list[dict[str, Any]]) -> None:
    head = ("preset", "bar", "median time", "spread", "reached", "target", "steps/s", "")
    lines = [head]
    for r in rows:
        time_s = "not reached" if r["seconds"] is None else f"{r['seconds']:.1f} s"
        top = "not reached" if r["max_s"] is None else f"{r['max_s']:.1f}"
        verdict = "" if r["pass"] is None else ("PASS" if r["pass"] else "MISS")
        lines.append((r["preset"], r["bar"], time_s, f"{r['min_s']:.1f}-{top}",
                      f"{r['reached']}/{len(r['seeds'])}", f"<= {r['target_s']:.0f} s",
                      f"{r['steps_per_s']:.0f}", verdict))
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    for i, line in enumerate(lines):
        print("  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))


def cli(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Seconds of training to each preset's quality bar.")
    p.add_argument("--quick", action="store_true", help="stop at 1/6 of each target (smoke run)")
    p.add_argument("--only", default=",".join(TARGETS), help=f"from: {', '.join(TARGETS)}")
    p.add_argument("--threads", type=int, default=2, help="torch threads (default 2: the 2 cores)")
    p.add_argument("--seeds", default=",".join(map(str, SEEDS)), help="the seeds, e.g. 0,1,2")
    p.add_argument("--out", default=None, help=f"JSON file (default {DEFAULT_OUT.relative_to(ROOT)})")
    args = p.parse_args(argv)
    only = tuple(s.strip() for s in args.only.split(",") if s.strip())
    unknown = sorted(set(only) - set(TARGETS))
    if unknown:
        p.error(f"unknown preset(s) {', '.join(unknown)}: choose from {', '.join(TARGETS)}")
    if args.threads < 1:
        p.error(f"--threads={args.threads} must be at least 1")
    torch.set_num_threads(args.threads)
    seeds = tuple(int(x) for x in args.seeds.split(",") if x.strip())
    rows = main(args.quick, only, seeds=seeds)
    out = Path(args.out) if args.out else (
        Path(tempfile.gettempdir()) / "time_to_quality-quick.json" if args.quick else DEFAULT_OUT)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                               "cores": os.cpu_count(), "rows": rows}, indent=1) + "\n")
    print()
    print_table(rows)
    print(f"\nJSON: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(cli())
