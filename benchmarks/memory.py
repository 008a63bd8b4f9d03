"""Memory: peak resident memory of the running app, idle, with one and with four training sessions.

Each session is its own `gradio_client.Client` (one Client = one browser tab's session) that
presses Train (`/train`) with the mnist-dcgan preset. Stages follow each other in one app process:
idle, then one session training, then three more joining it. For each stage we sample the
resident memory of the app's process tree every 50 ms (from /proc) and keep the peak; the four
sessions are sampled only once all four are training. Then every session is paused (`/pause`).
Bar: <= 1,500 MB with four sessions.
"""
from __future__ import annotations

import time
from typing import Any, Callable

from .app_process import AppProcess, MemorySampler, run_summary
from .streaming import form_fields

BAR_MB = 1500.0
MB = 1e6


def _step_of(outputs: Any) -> int | None:
    """The step of a /train update; None until the run is training."""
    summary = run_summary(outputs)
    return int(summary["step"]) if summary and summary["state"] == "training" else None


def _start_training(client: Any, fields: dict[str, Any]) -> Any:
    return client.submit(api_name="/train", **{**fields, "steps": 20_000})  # GP_MAX_STEPS


def _wait_training(jobs: list[Any], timeout_s: float = 240.0) -> None:
    """Until every job has streamed a view past step 0 (its model is built and training)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        steps = []
        for job in jobs:
            outputs = job.outputs()
            steps.append(_step_of(outputs[-1]) if outputs else None)
            if job.done():
                job.result()  # raises the app's error, if any
                raise RuntimeError("a training session ended before it was measured")
        if all(s is not None and s > 0 for s in steps):
            return
        time.sleep(0.1)
    raise TimeoutError("the training sessions did not start within the time limit")


def measure(app: AppProcess, new_client: Callable[[], Any], *, seconds: float,
            preset: str = "mnist-dcgan") -> dict[str, Any]:
    fields = form_fields(preset)
    with MemorySampler(app.pid) as idle:
        time.sleep(min(seconds, 2.0))
    clients = [new_client() for _ in range(4)]
    jobs: list[Any] = []
    try:
        jobs.append(_start_training(clients[0], fields))
        _wait_training(jobs)
        with MemorySampler(app.pid) as one:
            time.sleep(seconds)
        jobs += [_start_training(c, fields) for c in clients[1:]]
        _wait_training(jobs)
        with MemorySampler(app.pid) as four:
            time.sleep(seconds)
    finally:
        for client in clients[:len(jobs)]:
            client.predict(api_name="/pause")
        for job in jobs:
            try:
                job.result(timeout=60)
            except Exception:  # a paused or failed job: its memory was measured already
                pass
    peak = four.peak / MB
    return {"preset": preset, "seconds_per_stage": seconds,
            "idle_mb": idle.peak / MB, "one_session_mb": one.peak / MB, "four_sessions_mb": peak,
            "bar_mb": BAR_MB, "pass": peak <= BAR_MB}
