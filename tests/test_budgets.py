"""Nothing a visitor sends costs the server more than its budget, and a refusal changes nothing.

The hostile requests of `benchmarks/attacks.py` (each one once grew the server by gigabytes, or
was refused without a word), sent through the running app's public API: every one is refused
with its one sentence. Then what a refusal must leave alone (the session's run), what must stop
(long calls, at a Pause or a cancellation), and the caps: sessions, upload bytes, saved runs.
"""
from __future__ import annotations

import errno
import os
import secrets
import time

import httpx
import pytest
import torch

from app_server import AppServer, make_checkpoints
from conftest import wait_for
from reliability_app import clear, shared_server

from benchmarks import attacks as A
from gradio_client import Client
from playground.checkpoint import CheckpointError, read_metadata
from playground.checkpoint_check import expected_tensors
from playground.live import LiveRun
from playground.presets import get_preset
from playground.runs import RunStore, RunStoreError
from playground.train import Trainer

FILE_ATTACKS = ("noise-rows", "noise-width", "noise-dtype", "negative-step", "nan-weights",
                "rng-f32", "html-changes", "history-types")
ATTACKS = [a for a in A.attacks() if a.name != "upload-flood"]  # the flood: its own server


@pytest.fixture(scope="module")
def server():
    return shared_server()


@pytest.mark.parametrize("attack", ATTACKS, ids=[a.name for a in ATTACKS])
def test_each_hostile_request_is_refused_with_its_sentence(server, attack, tmp_path):
    refused, message = attack.send(server.url, tmp_path)
    assert refused, f"{attack.what}: served, not refused"
    clear(message, attack.pattern)
    assert str(tmp_path) not in message and "/tmp/" not in message, message  # no server path


def test_a_refused_checkpoint_leaves_the_sessions_run_as_it_was(server, tmp_path):
    """Every bad file through /load_checkpoint, one after another, into one session with a run:
    the run, its step and its settings are untouched, and it trains on from there."""
    client = Client(server.url, verbose=False)
    try:
        client.predict("ring8", {"steps": 500, "g_width": 16, "d_width": 16}, api_name="/new_run")
        before = client.predict(7, "both", api_name="/train_steps")
        assert before["step"] == 7
        src = A.checkpoint(tmp_path, "ring8", g_width=32, d_width=32)  # another model's size
        tensors, _ = A.read(src)
        bad = {
            "rows": A.tampered(src, tmp_path / "rows.safetensors",  # under the 2 MB upload cap
                               {"fixed_noise": torch.zeros(20_000, tensors["fixed_noise"].shape[1])}),
            "nan": A.tampered(src, tmp_path / "nan.safetensors",
                              {"G.net.0.weight": torch.full_like(tensors["G.net.0.weight"],
                                                                 float("nan"))}),
            "step": A.tampered(src, tmp_path / "step.safetensors", step="-5"),
            "history": A.tampered(src, tmp_path / "history.safetensors", history=[{"step": 1}]),
        }
        for name, path in bad.items():
            refused, message, _ = A.call_with(server.url, "/load_checkpoint",
                                              {"checkpoint": A.upload(server.url, path)},
                                              client.session_hash)
            assert refused, f"{name} was loaded"
        after = client.predict(1, "both", api_name="/train_steps")
        assert after["step"] == 8 and after["settings"]["g_width"] == 16
        assert after["settings"] == before["settings"]
    finally:
        client.close()


def test_checkpoint_tensors_are_worked_out_without_allocating_them():
    """The shapes a checkpoint must have come from the meta device: a model too large to build
    is still checked in an instant, and nothing of it is allocated."""
    config = get_preset("ring8").replace(g_width=4096, d_width=4096, g_depth=4, d_depth=4)
    required, optional = expected_tensors(config, (2,), 0)
    assert required["fixed_noise"] == ((1000, config.model.z_dim), torch.float32)
    assert sum(torch.Size(s).numel() for s, _ in required.values()) > 1e9  # > 4 GB as float32
    assert set(optional) and all(k.startswith(("opt_g.", "opt_d.")) for k in optional)


def test_costing_a_run_leaves_other_threads_models_alone():
    """Working out a run's FLOPs (every Train, /new_run and upload does) while another session's
    run trains and its view takes D's gradient: PyTorch's FlopCounterMode hooked every module of
    every thread, and that run stopped ("A leaf node was passed to _will_engine_execute_node")."""
    import threading

    from playground import budget

    trainer = Trainer(get_preset("ring8").replace(device="cpu", steps=100_000))
    errors: list[Exception] = []
    stop = threading.Event()

    def train() -> None:
        try:
            while not stop.is_set():
                trainer.step(1)
                x = torch.randn(64, 2, requires_grad=True)  # as the live view's arrows do
                torch.autograd.grad(trainer.D(x).sum(), x)
        except Exception as e:
            errors.append(e)
    thread = threading.Thread(target=train)
    thread.start()
    config = get_preset("mnist-dcgan")
    try:
        for _ in range(40):
            budget._per_sample.cache_clear()
            cost = budget.run_cost(config.model, config.train, (1, 28, 28), 10)
    finally:
        stop.set()
        thread.join()
    assert not errors, errors
    assert cost.step_gflop > 0


# ------------------------------------------------------------------------ long calls stop
def test_pause_and_a_cancelled_call_both_stop_train_steps_within_a_chunk(server):
    """/train_steps of 9,000 steps (about half a minute of ring8) by plain HTTP: the page's Pause
    ends it within a chunk, with its summary; so does cancelling the call (the page's Stop)."""
    import json
    import threading

    from benchmarks.app_process import FrameClient, cancel, run_now

    session = secrets.token_hex(8)
    view = FrameClient(server.url, session)  # first: see FrameClient on calls that overlap
    refused, message, _ = A.call_with(server.url, "/new_run", {
        "preset": "ring8", "settings": {"steps": 10_000}}, session)
    assert not refused, message

    def steps() -> tuple[threading.Thread, dict]:
        r = httpx.post(f"{server.url}gradio_api/call/train_steps",
                       json={"data": [9_000, "both"], "session_hash": session}, timeout=60)
        event = r.json()["event_id"]
        answer: dict = {"event": event}

        def read() -> None:
            with httpx.stream("GET", f"{server.url}gradio_api/call/train_steps/{event}",
                              timeout=120) as stream:
                for line in stream.iter_lines():
                    if line.startswith("data: ") and line != "data: null":
                        answer["data"] = json.loads(line.removeprefix("data: "))
        thread = threading.Thread(target=read, daemon=True)
        thread.start()
        return thread, answer

    thread, answer = steps()
    wait_for(lambda: view.step() > 0, 60, "steps to start")
    run_now(server.url, "pause", [None], session)
    thread.join(30)
    assert not thread.is_alive(), "/train_steps went on after Pause"
    summary = answer["data"][0]
    assert 0 < summary["step"] < 9_000 and summary["state"] == "paused", summary

    thread, answer = steps()
    wait_for(lambda: view.step() > summary["step"], 60, "steps to start again")
    cancel(server.url, "train_steps", answer["event"], session)
    wait_for(lambda: _still(view), 60, "the cancelled steps to stop")
    assert view.step() < 9_000
    thread.join(30)


def _still(view) -> bool:
    first = view.step()
    time.sleep(1.0)
    return view.step() == first


# ------------------------------------------------------------------------ caps
@pytest.fixture(scope="module")
def capped(tmp_path_factory):
    """An app with three sessions at most and a 5 MB upload quota; runs are saved when they
    stop and when their session is closed, not on a timer."""
    folder = tmp_path_factory.mktemp("capped")
    make_checkpoints(folder)
    server = AppServer(env={"GP_MAX_SESSIONS": "3", "GP_UPLOAD_MB": "5", "GP_AUTOSAVE_S": "3600",
                            "GP_MAX_UPLOAD_MB": "2", "GRADIO_TEMP_DIR": str(folder / "cache"),
                            "GP_AUTH": ""},
                       args=("--checkpoints", str(folder)))
    yield server
    server.stop()


def test_plain_http_sessions_are_capped_and_the_evicted_run_is_saved_first(capped):
    """Five sessions by plain HTTP (new session hashes, no browser): at most three hold a run;
    the one idle longest is saved and closed, and its run can be continued from its key."""
    sessions = [secrets.token_hex(8) for _ in range(5)]
    keys = []
    for i, session in enumerate(sessions):
        refused, message, out = A.call_with(capped.url, "/train", {
            **A._preset_fields("ring8"), "steps": 10, "g_width": 16, "d_width": 16}, session)
        assert not refused, message
        keys.append(next(v for v in out if isinstance(v, dict) and "run_id" in v))
        if i == 0:  # two steps more, by the API: saved only if the eviction saves them
            refused, message, _ = A.call_with(capped.url, "/train_steps",
                                              {"n": 2, "which": "both"}, session)
            assert not refused, message
    refused, message, _ = A.call_with(capped.url, "/train_steps", {"n": 1, "which": "both"},
                                      sessions[0])
    clear(message, r"This session has no run yet")  # its session was closed
    refused, message, out = A.call_with(capped.url, "/continue_run", {"key": keys[0]},
                                        sessions[0])
    assert not refused, message
    summary = next(v for v in out if isinstance(v, dict) and "step" in v)
    assert summary["step"] == 12, summary  # the two API steps were saved at the eviction


def test_uploads_over_the_visitors_quota_get_http_429_and_one_sentence(capped, tmp_path):
    refused, message = A._uploads(3, 2)(capped.url, tmp_path)  # 2 + 2 fit in 5 MB, 6 do not
    assert refused and message.startswith("upload 3 of 3: HTTP 429"), message
    clear(message, r"Uploads over this server's limit of 5 MB in 10 minutes.*GP_UPLOAD_MB")


def test_the_quota_counts_the_visitors_address_and_trusts_forwarded_for_only_behind_a_proxy():
    """X-Forwarded-For is the visitor's own words unless a proxy in front sets it (a Space): a
    new one with each upload must not reset the quota. (Uvicorn itself takes it only from
    127.0.0.1, so this is tested on the middleware, not from this machine.)"""

    from playground.ui.uploads import UploadQuota

    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    def post(quota: UploadQuota, client: str, forwarded: str) -> int:
        scope = {"type": "http", "method": "POST", "path": "/gradio_api/upload",
                 "client": (client, 1234),
                 "headers": [(b"content-length", b"600"), (b"x-forwarded-for", forwarded.encode())]}
        sent = []

        async def send(message):
            sent.append(message)
        _run_async(quota(scope, None, send))
        return sent[0]["status"]

    direct = UploadQuota(app, max_bytes=1000, trust_proxy=False)
    assert [post(direct, "203.0.113.9", f"10.0.0.{i}") for i in range(2)] == [200, 429]
    proxied = UploadQuota(app, max_bytes=1000, trust_proxy=True)  # the proxy adds the last one
    codes = [post(proxied, "10.1.1.1", f"198.51.100.{i}, 203.0.113.{i % 2}") for i in range(4)]
    assert codes == [200, 200, 429, 429]


def test_each_visitor_has_a_budget_of_calls_a_minute_and_frames_do_not_count(monkeypatch):
    """GP_CALLS_PER_MIN=60: bursts of 30 calls, then one a second; another visitor, the live
    view's frame requests and GETs are not held back; the refusal is HTTP 429 and one sentence."""
    import json

    from playground.ui import call_rate
    from playground.ui.call_rate import CallRate

    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    clock = [1000.0]
    monkeypatch.setattr(call_rate.time, "monotonic", lambda: clock[0])
    rate = CallRate(app, per_min=60, trust_proxy=False)

    def request(client: str, path: str = "/gradio_api/queue/join", method: str = "POST"):
        scope = {"type": "http", "method": method, "path": path, "client": (client, 1),
                 "headers": []}
        sent = []

        async def send(message):
            sent.append(message)
        _run_async(rate(scope, None, send))
        return sent[0]["status"], sent[1].get("body", b"")

    assert [request("203.0.113.1")[0] for _ in range(30)] == [200] * 30
    status, body = request("203.0.113.1")
    assert status == 429
    clear(json.loads(body)["detail"], r"over this server's limit of 60 calls a minute.*"
                                      r"GP_CALLS_PER_MIN")
    assert request("198.51.100.2")[0] == 200  # someone else
    assert request("203.0.113.1", "/gradio_api/gp/frame")[0] == 200  # the live view
    assert request("203.0.113.1", "/gradio_api/info", "GET")[0] == 200
    clock[0] += 2.0  # two seconds: two calls more
    assert [request("203.0.113.1")[0] for _ in range(3)] == [200, 200, 429]


def _run_async(coroutine) -> None:
    """Run a coroutine to its end in a thread of its own (the browser tests' Playwright keeps an
    event loop running in this one)."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, coroutine).result()


# ------------------------------------------------------------------------ the runs folder
def _live_run(steps: int = 6, width: int = 16) -> LiveRun:
    trainer = Trainer(get_preset("ring8").replace(device="cpu", g_width=width, d_width=width,
                                                  steps=100))
    run = LiveRun(trainer, secrets.token_urlsafe(16), "ring8")
    for _ in range(steps):
        run.step_once("both")
    return run


def test_a_saved_run_comes_back_whole(tmp_path):
    run = _live_run()
    run.metrics.append({"step": 6, "modes": 3})
    store = RunStore(tmp_path)
    store.save(run)
    trainer, frames, meta = store.load(run.run_id)
    assert trainer.step_count == 6 and meta["extra"]["name"] == "ring8"
    assert meta["extra"]["metrics"] == [{"step": 6, "modes": 3}]
    assert [f.step for f in frames] == [f.step for f in run.timelapse.snapshot()]
    for a, b in zip(trainer.G.state_dict().values(), run.trainer.G.state_dict().values()):
        assert torch.equal(a, b)
    assert store.info(run.run_id)["step"] == 6


def test_a_run_id_is_a_capability(tmp_path):
    store = RunStore(tmp_path)
    store.save(_live_run(1))
    for guess in ("", "../../etc/passwd", "x" * 15, None, 12, "a" * 16):
        assert store.info(guess) is None
        with pytest.raises(CheckpointError, match="no longer saved"):
            store.load(guess)
    secret = store.secret()
    assert store.secret() == secret and len(secret) >= 30
    assert (tmp_path / ".browser-secret").stat().st_mode & 0o077 == 0  # its owner's only


def test_the_runs_folder_keeps_within_its_budget_oldest_first(tmp_path):
    store = RunStore(tmp_path, max_mb=1)
    runs = [_live_run(1, width=96) for _ in range(3)]
    size = None
    for i, run in enumerate(runs):
        path = store.save(run)
        size = path.stat().st_size
        t = 1_000_000 + i
        os.utime(path, (t, t))
    assert size is not None and 3 * size > 2**20 > size, "the test needs runs of ~0.4-1 MB"
    left = {p.stem for p in tmp_path.glob("*.safetensors")}
    assert runs[-1].run_id in left and runs[0].run_id not in left
    assert sum(p.stat().st_size for p in tmp_path.glob("*.safetensors")) <= 2**20


def test_a_full_disk_is_one_sentence_and_the_previous_save_stays(tmp_path, monkeypatch):
    run = _live_run(2)
    store = RunStore(tmp_path)
    path = store.save(run)
    before = path.read_bytes()

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr("playground.runs.save_checkpoint", full)
    run.step_once("both")
    with pytest.raises(RunStoreError, match=r"^the runs folder's disk is full: .*GP_RUNS_MB"):
        store.save(run)
    assert path.read_bytes() == before
    assert read_metadata(path, tensors=False)["step"] == 2
