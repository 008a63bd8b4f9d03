"""Faults: a process killed mid-write, a run that diverges, a dataset that cannot be had.

- A child process writes checkpoints in a loop and is SIGKILLed at random moments, many times:
  the file on disk is always the previous checkpoint or the new one, whole, never a torn one.
- lr 10 with SGD blows up within a few steps: the run stops with a message, its weights are
  bit-identical to the last good state, and the same session trains on after a lower lr.
- A torchvision set whose files are missing (or whose download fails) falls back to the bundled
  digits with a message, and the app keeps serving.
"""
from __future__ import annotations

import os
import random
import signal
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from reliability_app import clear, shared_server

from gradio_client import Client
from playground.checkpoint import load_checkpoint, save_checkpoint
from playground.config import DataConfig
from playground.data import DatasetUnavailable, load_dataset
from playground.presets import get_preset
from playground.train import Trainer

KILLS = 30


# ---------------------------------------------------------------------------------- SIGKILL
def _write_forever(trainers: list[Trainer], path: Path) -> None:
    """The child: overwrite `path` with each trainer in turn until killed."""
    try:
        i = 0
        while True:
            save_checkpoint(trainers[i % 2], path)
            i += 1
    finally:
        os._exit(0)  # never return into pytest inside the child


def test_sigkill_while_writing_leaves_the_old_or_the_new_checkpoint(tmp_path):
    # Two runs, big enough that a write takes a while (optimiser moments included).
    runs = [Trainer(get_preset("mnist-mlp").replace(device="cpu", batch_size=16, seed=s))
            for s in (1, 2)]
    for steps, trainer in zip((1, 2), runs):
        trainer.step(steps)
    expected = {t.step_count: t.state_tensors() for t in runs}
    path = tmp_path / "run.safetensors"
    save_checkpoint(runs[1], path)  # an old file exists from the start
    rng = random.Random(0)
    torn_writes = 0
    for _ in range(KILLS):
        pid = os.fork()
        if pid == 0:
            _write_forever(runs, path)
        time.sleep(rng.uniform(0.01, 0.25))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        # What a crash leaves: hidden temp files (ours, and safetensors' own), never the name.
        leftovers = [p for p in tmp_path.iterdir() if p.name != path.name]
        assert all(p.name.startswith((".run.safetensors.", ".tmp")) for p in leftovers)
        torn_writes += bool(leftovers)
        for temp in leftovers:
            temp.unlink()
        trainer = load_checkpoint(path)  # whole, and a checkpoint the child really wrote
        assert trainer.step_count in expected
        on_disk = load_file(path)
        assert on_disk.keys() == expected[trainer.step_count].keys()
        for key, tensor in expected[trainer.step_count].items():
            assert torch.equal(on_disk[key], tensor), key
    print(f"{torn_writes} of {KILLS} kills landed in the middle of a write")
    assert torn_writes >= KILLS // 3, f"only {torn_writes} kills landed in the middle of a write"
    assert [p.name for p in tmp_path.iterdir()] == ["run.safetensors"]


# ---------------------------------------------------------------------------------- divergence
@pytest.fixture(scope="module")
def server():
    return shared_server()


DIVERGING = {"g_optimizer": "sgd", "d_optimizer": "sgd", "g_lr": 10.0, "d_lr": 10.0,
             "g_width": 16, "d_width": 16, "batch_size": 8, "steps": 500}


def test_divergence_stops_restores_the_last_good_weights_and_the_session_goes_on(server):
    client = Client(server.url, verbose=False)
    try:
        client.predict("ring8", DIVERGING, api_name="/new_run")
        for _ in range(50):  # one step per call: the last good state is the previous call's
            summary = client.predict(1, "both", api_name="/train_steps")
            if summary["diverged"]:
                break
        assert summary["diverged"], "lr 10 with SGD never diverged"
        good = summary["step"]
        clear(summary["event"], rf"diverged at step {good + 1}: .*non-finite; restored the "
                                rf"last good state \(step {good}\)\. Try a lower learning rate")
        # The weights on the server are exactly the run's after `good` steps.
        alone = Trainer(get_preset("ring8").replace(device="cpu", **DIVERGING))
        for _ in range(good):
            alone.step(1)
        saved = {k: v for k, v in load_file(client.predict(api_name="/save_checkpoint")).items()
                 if not k.startswith("timelapse.")}  # the run's frames travel with it too
        for key, tensor in alone.state_tensors().items():
            if not key.startswith("rng."):
                assert torch.equal(saved[key], tensor), key
        assert all(torch.isfinite(t).all() for t in saved.values() if t.is_floating_point())
        # The same session keeps working: a sane learning rate, more steps, a sample.
        client.predict(g_lr=2e-4, d_lr=2e-4, g_optimizer="adam", d_optimizer="adam",
                       api_name="/edit")
        summary = client.predict(5, "both", api_name="/train_steps")
        assert not summary["diverged"] and summary["step"] == good + 5
        client.predict(model="session", seeds="0-7", api_name="/sample_grid")
    finally:
        client.close()


def test_divergence_while_streaming_shows_a_warning(server):
    client = Client(server.url, verbose=False)
    try:
        form = {k: v for k, v in DIVERGING.items()}
        job = client.submit(dataset="ring8", api_name="/train", **form)
        job.result(timeout=120)
        status, _, summary = job.outputs()[-1][:3]
        assert summary["state"] == "diverged" and "⚠️" in status
        clear(summary["warning"], r"diverged at step \d+: .*restored the last good state")
        assert 0 <= summary["step"] < DIVERGING["steps"]  # it stopped short of the target
    finally:
        client.close()


# ---------------------------------------------------------------------------------- datasets
def test_a_failed_download_is_one_clear_message(tmp_path, monkeypatch):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("network is unreachable (simulated)")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(DatasetUnavailable) as info:
        load_dataset(DataConfig(dataset="kmnist", data_root=str(tmp_path), download=True))
    clear(str(info.value), r"kmnist \(Kuzushiji-MNIST\) could not be downloaded .*network "
                           r"connection, or use dataset='mnist', the bundled")


def test_a_missing_torchvision_set_falls_back_to_the_bundled_digits(server):
    client = Client(server.url, verbose=False)
    try:
        client.predict("ring8", {"steps": 100, "g_width": 16, "d_width": 16}, api_name="/new_run")
        client.predict(4, "both", api_name="/train_steps")
        summary = client.predict("mnist-mlp", {"dataset": "kmnist", "g_width": 16,
                                               "d_width": 16, "batch_size": 16, "steps": 50},
                                 api_name="/new_run")
        clear(summary["note"], r"kmnist is not available on this server .* bundled MNIST digits")
        assert summary["dataset"] == "mnist" and summary["settings"]["dataset"] == "mnist"
        assert client.predict(3, "both", api_name="/train_steps")["step"] == 3
        view = client.predict(dataset="cifar10", arch="dcgan", g_width=8, d_width=8,
                              batch_size=8, steps=20, api_name="/reset")
        assert "bundled MNIST" in view[0]  # the status line names the data it really uses
    finally:
        client.close()
    fresh = Client(server.url, verbose=False)  # and the app serves everyone as before
    try:
        assert fresh.predict("ring8", {"steps": 10}, api_name="/new_run")["step"] == 0
    finally:
        fresh.close()
