"""Time to quality: seconds of training, from scratch with the default presets, to each bar.

    python -m benchmarks.time_to_quality [--quick] [--only ring8,grid25,mnist-dcgan]
                                         [--threads 2] [--limit-factor 2] [--out PATH]

Issue 4's targets on a 2-core CPU: ring8 reaches 8/8 modes and >= 90 % high-quality samples in
<= 30 s; grid25 25/25 and >= 90 % in <= 90 s; mnist-dcgan FD <= 3x the real-vs-real baseline with
10/10 digits (each >= 5 % of samples) in <= 180 s.

Method: a fresh `Trainer` on the preset as it stands (its own seed), trained in chunks; after each
chunk the sampler (G's EMA when the preset has one) is measured exactly as `playground eval` does
(`metrics.evaluate_generator`, its default sample count, seed 0). The time quoted is the trainer's
own clock (`Trainer.elapsed_s`: training only, the measurements excluded), at the first chunk
that meets the bar, so it overstates the true time by at most one chunk. A run stops at the bar,
at the preset's own step count, or at `limit_factor` times the target (default 2, to see how far
off a miss is; `make bench` passes 1). Other work on the machine slows training: the load average
before and after each run is recorded next to it. `benchmarks/run.py` calls `main(...)`.
"""
from __future__ import annotations

import argparse
import json
import os
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


# preset -> (bar in words, test on `playground eval` metrics, target seconds, steps per chunk)
TARGETS: dict[str, tuple[str, Callable[[dict[str, Any]], bool], float, int]] = {
    "ring8": ("8/8 modes, >= 90 % high quality", _ring8, 30.0, 100),
    "grid25": ("25/25 modes, >= 90 % high quality", _grid25, 90.0, 200),
    "mnist-dcgan": ("FD <= 3x baseline, 10/10 digits", _dcgan, 180.0, 100),
}


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else []


def _summary(m: dict[str, Any]) -> dict[str, Any]:
    keys = ("modes_captured", "high_quality_pct", "fd_ratio", "digits_covered",
            "mean_confidence", "label_accuracy")
    return {k: m[k] for k in keys if k in m}


def measure(name: str, quick: bool = False, verbose: bool = True,
            limit_factor: float = 2.0) -> dict[str, Any]:
    """Train preset `name` from scratch until its bar is met or time runs out; the row to report."""
    bar, test, target, chunk = TARGETS[name]
    limit = target / 6 if quick else limit_factor * target
    config = get_preset(name)
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
        if verbose:
            print(f"  {name} step {trainer.step_count:6d}  {trainer.elapsed_s:6.1f} s  "
                  f"{_summary(metrics)}", flush=True)
        if test(metrics):
            seconds = trainer.elapsed_s
            break
    return {"preset": name, "bar": bar, "target_s": target, "seconds": seconds,
            "steps": trainer.step_count if seconds is not None else None,
            "pass": None if quick else (seconds is not None and seconds <= target),
            "steps_per_s": round(trainer.step_count / max(trainer.elapsed_s, 1e-9), 1),
            "wall_s": round(time.perf_counter() - wall_start, 1), "seed": config.train.seed,
            "final": _summary(metrics), "curve": curve, "threads": torch.get_num_threads(),
            "load_before": load_before, "load_after": _load(), "quick": quick}


def main(quick: bool = False, only: tuple[str, ...] = tuple(TARGETS), verbose: bool = True,
         limit_factor: float = 2.0) -> list[dict[str, Any]]:
    """One row per preset (the shape `benchmarks/run.py` prints); quick = a short smoke run."""
    return [measure(name, quick, verbose, limit_factor) for name in only]


def print_table(rows: list[dict[str, Any]]) -> None:
    head = ("preset", "bar", "time to bar", "target", "steps", "steps/s", "load before/after", "")
    lines = [head]
    for r in rows:
        time_s = "not reached" if r["seconds"] is None else f"{r['seconds']:.1f} s"
        verdict = "" if r["pass"] is None else ("PASS" if r["pass"] else "MISS")
        lines.append((r["preset"], r["bar"], time_s, f"<= {r['target_s']:.0f} s",
                      str(r["steps"] or "-"), f"{r['steps_per_s']:.0f}",
                      f"{r['load_before'][:1]} / {r['load_after'][:1]}", verdict))
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
    p.add_argument("--limit-factor", type=float, default=2.0,
                   help="give up at this many times each target (default 2)")
    p.add_argument("--out", default=None, help=f"JSON file (default {DEFAULT_OUT.relative_to(ROOT)})")
    args = p.parse_args(argv)
    only = tuple(s.strip() for s in args.only.split(",") if s.strip())
    unknown = sorted(set(only) - set(TARGETS))
    if unknown:
        p.error(f"unknown preset(s) {', '.join(unknown)}: choose from {', '.join(TARGETS)}")
    if args.threads < 1:
        p.error(f"--threads={args.threads} must be at least 1")
    torch.set_num_threads(args.threads)
    rows = main(args.quick, only, limit_factor=args.limit_factor)
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
