"""GPU figures, when CUDA is present: trainer overhead, steps/s with and without bf16 autocast and
channels-last, sampling latency, and the GPU/CPU steps/s ratio. Without CUDA: "no GPU".

Variants of the same `Trainer` run interleaved (plain, autocast, channels-last, both), several
rounds, medians. Autocast and channels-last are applied from outside the trainer (a context
manager around `step`, `Module.to(memory_format=...)`), which is what a user would try first.
"""
from __future__ import annotations

import contextlib
import statistics
import time
from typing import Any

import torch

from playground.presets import get_preset
from playground.train import Trainer

from . import trainer_overhead
from .sampling import core_call

VARIANTS = ("fp32", "bf16-autocast", "channels-last", "bf16+channels-last")


def _variant(preset: str, variant: str, device: str) -> tuple[Trainer, Any]:
    """A trainer for one variant: bf16 through the `precision` setting (the trainer's own
    autocast), channels-last by converting the networks."""
    kind = "bf16" if "bf16" in variant else "fp32"
    trainer = Trainer(get_preset(preset).replace(device=device, precision=kind))
    if "channels-last" in variant:
        for net in (trainer.G, trainer.D):
            net.to(memory_format=torch.channels_last)
    return trainer, contextlib.nullcontext


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def steps_per_s(preset: str, *, steps: int, rounds: int,
                device: str = "cuda") -> dict[str, float]:
    """Median steps/s of each variant on `preset` (image presets: all four; 2D: fp32, bf16)."""
    variants = VARIANTS if get_preset(preset).model.arch == "dcgan" else VARIANTS[:2]
    runs = {v: _variant(preset, v, device) for v in variants}
    for trainer, autocast in runs.values():  # warm-up: cuDNN autotuning, allocator
        with autocast():
            trainer.step(5)
    times: dict[str, list[float]] = {v: [] for v in variants}
    for i in range(rounds):
        for v in (variants if i % 2 == 0 else variants[::-1]):
            trainer, autocast = runs[v]
            _sync(device)
            start = time.perf_counter()
            with autocast():
                trainer.step(steps)  # one device sync per call, at its end
            times[v].append(time.perf_counter() - start)
    return {v: steps / statistics.median(t) for v, t in times.items()}


def sampling_ms(rounds: int, device: str = "cuda") -> dict[str, float]:
    trainer = Trainer(get_preset("mnist-dcgan").replace(device=device))
    trainer.step(2)
    core_call(trainer)
    g, total = zip(*(core_call(trainer) for _ in range(rounds)))
    return {"core_generate_ms": statistics.median(g), "core_ms": statistics.median(total)}


def main(cpu_steps_per_s: dict[str, float], quick: bool = False) -> dict[str, Any]:
    """GPU figures; `cpu_steps_per_s` (preset -> the CPU trainer's steps/s) gives the ratio."""
    if not torch.cuda.is_available():
        return {"status": "no GPU"}
    rows = []
    for preset in ("ring8", "mnist-dcgan"):
        row: dict[str, Any] = {"preset": preset}
        try:
            row["overhead"] = trainer_overhead.measure(
                preset, steps=50 if quick else 200, rounds=3 if quick else 7, chunk=10,
                device="cuda")
            row["steps_per_s"] = steps_per_s(preset, steps=50 if quick else 200,
                                             rounds=3 if quick else 5)
            cpu = cpu_steps_per_s.get(preset)
            row["gpu_cpu_ratio"] = row["steps_per_s"]["fp32"] / cpu if cpu else None
        except Exception as e:  # report, never hide: a GPU failure must not lose the CPU figures
            row["error"] = f"{type(e).__name__}: {e}"
        rows.append(row)
    out: dict[str, Any] = {"status": "ok", "device": torch.cuda.get_device_name(0), "rows": rows}
    try:
        out["sampling"] = sampling_ms(5 if quick else 15)
    except Exception as e:
        out["sampling"] = {"error": f"{type(e).__name__}: {e}"}
    return out
