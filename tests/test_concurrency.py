"""Many users at once: each session's results are its own, a full queue says so, memory is freed.

- Four gradio_client sessions train four different configs at the same time and sample: every
  checkpoint (weights, optimiser moments, random streams, history) and every sample grid is
  bit-identical to what the same config gives when trained alone, here in the test process.
- A server with a queue of one turns the next job away with Gradio's "Queue is full" message,
  and serves again once the queue drains.
- Twenty sessions that loaded the digits, trained and closed leave the server's memory near
  where it started (sessions are freed when their client disconnects).
"""
from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from conftest import wait_for
from reliability_app import AUTH, restricted_server, shared_server

from gradio_client import Client
from playground import plots
from playground.frames import real_points, view_lim
from playground.checkpoint import read_metadata
from playground.presets import get_preset
from playground.sample import generate, parse_seeds
from playground.train import Trainer

SMALL = {"g_width": 16, "d_width": 16, "batch_size": 32, "steps": 300}
CONFIGS = {  # four sessions, four different runs (two differ only in their seed)
    "ring8 seed 0": ("ring8", {**SMALL, "seed": 0}),
    "ring8 seed 1": ("ring8", {**SMALL, "seed": 1}),
    "moons hinge": ("ring8", {**SMALL, "dataset": "moons", "loss": "hinge", "seed": 5}),
    "spiral lsgan rmsprop": ("grid25", {**SMALL, "dataset": "spiral", "loss": "lsgan",
                                         "g_optimizer": "rmsprop", "seed": 9}),
}
CHUNKS = (7, 5, 9)  # /train_steps calls per session
SEEDS = "0-7"


@pytest.fixture(scope="module")
def server():
    return shared_server()


def _session(url: str, name: str, start: threading.Barrier, out: dict, busy: list) -> None:
    preset, settings = CONFIGS[name]
    client = Client(url, verbose=False)
    try:
        start.wait(timeout=120)
        client.predict(preset, settings, api_name="/new_run")
        for n in CHUNKS:
            busy.append(1)
            out.setdefault("overlap", []).append(len(busy))
            client.predict(n, "both", api_name="/train_steps")
            busy.pop()
        out["checkpoint"] = client.predict(api_name="/save_checkpoint")
        out["grid"] = client.predict(model="session", seeds=SEEDS, api_name="/sample_grid")[0]
    except BaseException as e:  # reported by the test, with the session's name
        out["error"] = repr(e)
    finally:
        client.close()


def _alone(name: str) -> Trainer:
    """The same run, trained alone in this process."""
    preset, settings = CONFIGS[name]
    trainer = Trainer(get_preset(preset).replace(**settings, device="cpu"))
    for n in CHUNKS:
        trainer.step(n)
    return trainer


def _grid(trainer: Trainer) -> np.ndarray:
    """The Sample tab's picture for a 2D model, drawn here."""
    seeds = parse_seeds(SEEDS)
    points = generate(trainer.sampler(), seeds, trainer.config.model.z_dim)
    return np.asarray(plots.points_view(points, view_lim(trainer), [str(s) for s in seeds],
                                        real=real_points(trainer)))


def test_four_sessions_at_once_get_exactly_their_own_results(server):
    results: dict[str, dict] = {name: {} for name in CONFIGS}
    start, busy = threading.Barrier(len(CONFIGS)), []
    threads = [threading.Thread(target=_session, args=(server.url, name, start, results[name],
                                                      busy)) for name in CONFIGS]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in threads)
    errors = {name: r["error"] for name, r in results.items() if "error" in r}
    assert not errors, errors
    assert max(n for r in results.values() for n in r["overlap"]) >= 2  # they really overlapped

    weights = {}
    for name, result in results.items():
        alone = _alone(name)
        saved = {k: v for k, v in load_file(result["checkpoint"]).items()
                 if not k.startswith("timelapse.")}  # the run's frames travel with it too
        expected = alone.state_tensors()
        assert saved.keys() == expected.keys(), name
        for key, tensor in expected.items():
            assert torch.equal(saved[key], tensor), f"{name}: {key} differs from the run alone"
        history = read_metadata(result["checkpoint"])["history"]
        assert [(r.step, r.loss_d, r.loss_g) for r in history] == \
            [(r.step, r.loss_d, r.loss_g) for r in alone.history], name
        assert np.array_equal(np.asarray(Image.open(result["grid"]).convert("RGB")),
                              _grid(alone)), f"{name}: the sample grid differs"
        weights[name] = saved["G.net.0.weight"]
    # Same config but the seed: different runs (the seed is not ignored anywhere).
    assert not torch.equal(weights["ring8 seed 0"], weights["ring8 seed 1"])
    assert server.proc.poll() is None


# ---------------------------------------------------------------------------------- a full queue
@pytest.mark.slow
def test_a_full_queue_turns_jobs_away_with_a_busy_message_then_serves_again():
    locked = restricted_server()  # GP_QUEUE_SIZE=1, GP_TRAIN_CONCURRENCY=1, behind a login
    run = {"steps": 9000, "batch_size": 32, "g_width": 16, "d_width": 16}
    first, second, third = (Client(locked.url, auth=AUTH, verbose=False) for _ in range(3))
    try:
        for client in (first, second):
            client.predict("ring8", run, api_name="/new_run")
        training = first.submit(5000, "both", api_name="/train_steps")  # the only slot
        wait_for(lambda: training.status().code.name == "PROCESSING", 30,
                  "the first job take the training slot")
        waiting = second.submit(5000, "both", api_name="/train_steps")  # queued: now full
        wait_for(lambda: waiting.status().code.name in ("IN_QUEUE", "JOINING_QUEUE"), 30,
                  "the second job wait in the queue")
        time.sleep(0.5)
        with pytest.raises(Exception, match="Queue is full"):
            third.predict("ring8", {"steps": 10}, api_name="/new_run")
        # The first user can still stop their steps: Pause is not queued (the browser posts it
        # to /run/pause, as here); the waiting job then gets the training slot.
        paused = httpx.post(f"{locked.url}gradio_api/run/pause", cookies=first.cookies,
                            json={"data": [None], "session_hash": first.session_hash}, timeout=30)
        assert paused.status_code == 200, paused.text
        stopped = training.result(timeout=60)
        assert 0 < stopped["step"] < 5000  # Pause stopped the API's steps, within a chunk
        wait_for(lambda: waiting.status().code.name == "PROCESSING", 60,
                  "the queued job get the slot after Pause")
        second.predict(api_name="/pause")
        assert waiting.result(timeout=60)["step"] < 5000
        # Drained: the user who was turned away is served now, and nothing was mixed up.
        assert third.predict("ring8", {"steps": 10}, api_name="/new_run")["step"] == 0
        assert third.predict(3, "both", api_name="/train_steps")["step"] == 3
    finally:
        for client in (first, second, third):
            client.close()


@pytest.mark.slow
def test_runs_over_the_training_slots_wait_their_turn_and_say_so():
    locked = restricted_server()  # GP_TRAIN_CONCURRENCY=1
    run = dict(dataset="ring8", steps=9000, batch_size=32, g_width=16, d_width=16)
    first, second = (Client(locked.url, auth=AUTH, verbose=False) for _ in range(2))
    try:
        a = first.submit(api_name="/train", **run)
        wait_for(lambda: a.outputs() and a.outputs()[-1][2]["state"] == "training", 60,
                  "the first run training")
        b = second.submit(api_name="/train", **run)
        wait_for(lambda: b.outputs() and b.outputs()[-1][2]["state"] == "waiting", 60,
                  "the second run say it is waiting")
        first.predict(api_name="/pause")
        a.result(timeout=60)
        wait_for(lambda: b.outputs()[-1][2]["state"] == "training", 60,
                  "the second run training once the first paused")  # its turn now
        second.predict(api_name="/pause")
        assert b.result(timeout=60)
    finally:
        for client in (first, second):
            client.close()


# ---------------------------------------------------------------------------------- memory
def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def _settle(pid: int, below: float, timeout: float = 40.0) -> float:
    """Wait (the sessions are freed a heartbeat after their clients close) for RSS < below."""
    deadline = time.monotonic() + timeout
    rss = _rss_mb(pid)
    while rss >= below and time.monotonic() < deadline:
        time.sleep(0.5)
        rss = _rss_mb(pid)
    return rss


def _open_and_train(url: str, clients: list, errors: list) -> None:
    try:
        client = Client(url, verbose=False)
        clients.append(client)
        client.predict("mnist-mlp", {"steps": 50, "g_width": 16, "d_width": 16,
                                     "batch_size": 16}, api_name="/new_run")
        assert client.predict(2, "both", api_name="/train_steps")["step"] == 2
    except BaseException as e:
        errors.append(repr(e))


@pytest.mark.slow
def test_memory_returns_near_its_baseline_after_twenty_sessions_close(server):
    pid = server.proc.pid
    _wave(server.url, 5, [], close=True)  # one-off costs of five at once go into the baseline
    time.sleep(3)
    baseline = _rss_mb(pid)
    clients: list = []
    for _ in range(4):  # 20 sessions, five at a time, all held open
        _wave(server.url, 5, clients)
    assert len(clients) == 20
    held = _rss_mb(pid)
    # Each session holds its own copy of the digits (~16 MB as floats) and two models.
    assert held > baseline, "20 open sessions took no memory?"
    for client in clients:
        client.close()
    # Freed a heartbeat after each client disconnects; what stays is Gradio's small per-session
    # state (kept an hour) and the allocator's fragments, not the sessions' models and data.
    after = _settle(pid, baseline + (held - baseline) / 3)
    assert after - baseline < (held - baseline) / 3, (
        f"RSS {baseline:.0f} MB -> {held:.0f} MB with 20 sessions -> {after:.0f} MB after "
        "they closed")
    assert server.proc.poll() is None


def _wave(url: str, n: int, clients: list, close: bool = False) -> None:
    errors: list = []
    threads = [threading.Thread(target=_open_and_train, args=(url, clients, errors))
               for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors
    if close:
        for client in clients:
            client.close()
