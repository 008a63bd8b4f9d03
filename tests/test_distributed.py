"""Data-parallel training with torchrun (playground/distributed.py): 2 CPU processes on gloo.

The 2-process run with global batch B is the 1-process run with batch B up to float rounding,
and every rank holds the same state. Not exactly: the all-reduce adds two partial gradients
where one process sums the whole batch in another order, and the losses average two shards'
means; float addition is not associative, so the last bits differ from the first step."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from playground.checkpoint import load_checkpoint, read_metadata
from playground.cli import main
from playground.presets import get_preset
from playground.train import Trainer

TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node",
            "2"]
ROOT = Path(__file__).parents[1]
pytestmark = pytest.mark.skipif(not torch.distributed.is_available(),
                                reason="torch.distributed is not built in")


def torchrun(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([*TORCHRUN, *args], capture_output=True, text=True, timeout=timeout,
                          cwd=ROOT, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def _worst(one, other) -> list[float]:
    """Each step's largest relative difference between two runs' losses and D outputs."""
    return [max(abs(getattr(a, n) - getattr(b, n)) / max(1.0, abs(getattr(a, n)))
                for n in ("loss_d", "loss_g", "d_real", "d_fake"))
            for a, b in zip(one.history, other.history, strict=True)]


def _weights_apart(one: dict, other: dict) -> float:
    return max((one[k] - other[k]).abs().max().item() for k in one
               if k.startswith(("G.", "D.", "EMA.")))


def test_two_processes_train_the_one_process_run(tmp_path):
    """Rounding apart, the runs are one: a GAN amplifies a rounding difference step by step (a
    weight nudged by 1e-7 of itself moves the losses by ~1e-4 after 50 ring8 steps), so the
    first ten steps agree to 1e-5 (measured 5e-7) and the fiftieth to 1e-2 (measured: losses
    1.2e-3, weights 1.8e-3), where a run with another global batch is 0.2 and 8e-2 apart."""
    out = tmp_path / "ddp.safetensors"
    torchrun("-m", "playground", "train", "--preset", "ring8", "--steps", "50", "--quiet",
             "--out", str(out))
    torch.set_num_threads(1)
    alone = Trainer(get_preset("ring8").replace(device="cpu", steps=50))
    alone.step(50)
    both = load_checkpoint(out, device="cpu")
    assert both.step_count == 50 and read_metadata(out)["world_size"] == 2
    worst, mine = _worst(alone, both), alone.state_tensors()
    assert max(worst[:10]) <= 1e-5 and max(worst) <= 1e-2, worst
    assert _weights_apart(mine, both.state_tensors()) <= 1e-2
    # The same recipe: a different global batch would be a different run altogether.
    other = Trainer(get_preset("ring8").replace(device="cpu", steps=50, batch_size=128))
    other.step(50)
    assert max(_worst(alone, other)) > 1e-1
    assert _weights_apart(mine, other.state_tensors()) > 4e-2


@pytest.mark.parametrize("changes", [
    ["spectral_norm=true", "ema_decay=0.9"],  # u/v and the EMA, the same on both ranks
    ["loss=\"wgan-gp\"", "d_steps=2", "pack=2"],  # the penalty's autograd.grad, packed groups
])
def test_every_rank_holds_the_same_state(tmp_path, changes):
    torchrun(str(ROOT / "tests" / "ddp_worker.py"), str(tmp_path), "ring8", "20", *changes)
    zero, one = (load_file(str(tmp_path / f"rank{r}.safetensors")) for r in (0, 1))
    assert zero.keys() == one.keys()
    if "spectral_norm=true" in changes:
        assert any(k.endswith("_u") for k in zero) and any(k.startswith("EMA.") for k in zero)
    for key in zero:
        assert torch.equal(zero[key], one[key]), key


def test_a_batch_that_does_not_split_is_refused_on_every_rank(tmp_path):
    done = subprocess.run([*TORCHRUN, "-m", "playground", "train", "--preset", "ring8",
                           "--batch-size", "255", "--steps", "5", "--out",
                           str(tmp_path / "x.safetensors")], capture_output=True, text=True,
                          timeout=300, cwd=ROOT, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode != 0
    assert "batch_size=255 must split evenly across 2 processes" in done.stderr
    assert not (tmp_path / "x.safetensors").exists()


def test_its_checkpoint_resumes_on_one_process_or_two(tmp_path, capsys):
    first = tmp_path / "first.safetensors"
    torchrun("-m", "playground", "train", "--preset", "ring8", "--steps", "30", "--quiet",
             "--out", str(first))
    assert main(["eval", "--checkpoint", str(first)]) == 0
    assert "trained_world_size: 2" in capsys.readouterr().out
    again = tmp_path / "again.safetensors"
    shutil.copy(first, again)
    torchrun("-m", "playground", "train", "--resume", str(again), "--steps", "60", "--quiet",
             "--out", str(again))
    assert load_checkpoint(again, device="cpu").step_count == 60
    alone = tmp_path / "alone.safetensors"
    assert main(["train", "--resume", str(first), "--steps", "45", "--quiet", "--out",
                 str(alone)]) == 0
    assert load_checkpoint(alone, device="cpu").step_count == 45
    assert read_metadata(alone)["world_size"] == 1


def test_ctrl_c_stops_every_rank_and_rank_zero_saves(tmp_path):
    out = tmp_path / "long.safetensors"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([*TORCHRUN, "-m", "playground", "train", "--preset", "ring8",
                             "--steps", "200000", "--log-every", "100", "--chunk", "20",
                             "--out", str(out)], cwd=ROOT, env=env, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)  # a terminal of its own
    try:
        for line in proc.stderr:  # wait until both ranks train
            if line.startswith("step 100:"):
                break
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C in that terminal: every process gets it
        rest = proc.communicate(timeout=120)[1]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert "interrupted at step" in rest, rest[-2000:]
    step = load_checkpoint(out, device="cpu").step_count
    assert 100 <= step < 200000 and f"interrupted at step {step}" in rest
