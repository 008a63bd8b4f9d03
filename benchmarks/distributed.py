"""1 process against 2 (torchrun, gloo): steps and images per second for mnist-dcgan on the CPU.

    python -m benchmarks.distributed [--quick]

Each round trains `playground train --preset mnist-dcgan` for `steps` steps with the same global
batch (the preset's 64): once as one process with every core's thread, once as torchrun's two
processes with one thread each (torchrun sets OMP_NUM_THREADS=1), alternating, and reads the
training time the checkpoint records (`elapsed_s`: the steps only, not start-up). We report the
medians and the ratio. On this 2-core machine both sides use the same two cores, so the figure
says what the split costs or gains on one machine; on N GPUs each process has its own.
`benchmarks/run.py` calls `main(quick)`.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from playground.checkpoint import read_metadata

ROOT = Path(__file__).parents[1]
PRESET = "mnist-dcgan"


def _train(processes: int, steps: int, folder: Path) -> float:
    out = folder / f"p{processes}.safetensors"
    train = ["-m", "playground", "train", "--preset", PRESET, "--steps", str(steps), "--quiet",
             "--out", str(out)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if processes == 1:
        cmd = [sys.executable, *train]
    else:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               "--nproc_per_node", str(processes), *train]
        env["OMP_NUM_THREADS"] = "1"
    subprocess.run(cmd, check=True, capture_output=True, cwd=ROOT, env=env, timeout=1800)
    meta = read_metadata(out, tensors=False)
    assert meta["world_size"] == processes and meta["step"] == steps
    return steps / meta["elapsed_s"]


def main(quick: bool = False) -> dict[str, Any]:
    steps, rounds = (60, 1) if quick else (400, 3)
    one, two = [], []
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(rounds):
            one.append(_train(1, steps, Path(folder)))
            two.append(_train(2, steps, Path(folder)))
    batch = 64
    s1, s2 = statistics.median(one), statistics.median(two)
    return {"preset": PRESET, "steps": steps, "batch": batch, "cores": os.cpu_count(),
            "one": {"steps_per_s": s1, "images_per_s": s1 * batch, "rounds": one},
            "two": {"steps_per_s": s2, "images_per_s": s2 * batch, "rounds": two},
            "ratio": s2 / s1}


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true")
    args = p.parse_args()
    print(json.dumps(main(args.quick), indent=1))
