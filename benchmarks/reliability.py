"""Reliability: what hostile requests cost the running app, and what a crash costs a visitor.

    python -m benchmarks.reliability [--quick] [--out PATH]     (also `make bench`'s section)

Three parts, each against `python app.py` with its default hosting limits (`AppProcess`):

attacks   Every request of `benchmarks/attacks.py` (the bounded-server issue's list), replayed
          one after another from fresh sessions. For each: refused or served, its message, and
          the growth of the app's peak resident memory while it ran (sampled every 50 ms from
          /proc) over the memory just before it. The same for a normal session first (mnist-dcgan
          built and trained a few steps), the baseline. Goal: no request adds more than 300 MB
          beyond a normal session. Then 20 sessions by plain HTTP (new session hashes, as a
          script sends), each with an mnist-dcgan run: the memory they hold (GP_MAX_SESSIONS
          bounds how many hold a run at once).
flood     Four visitors train ring8 (`/train`) while a fifth floods the API from 6 threads with
          refusable requests (over-budget settings, a 36-megapixel drawing, deep JSON, 49 MB
          uploads), from an address of its own, against the app's default call budget
          (GP_CALLS_PER_MIN). Windows with and without the flood alternate; the four runs' steps
          per second in each (read from their live views' frames), and the fifth's answers
          counted ("served": uploads within its quota). The flood's client runs on this same
          2-core machine, so part of any slowdown is its own CPU, not the server's.
kills     `kill -9` of the app while mnist-dcgan trains, 10 times: restart, `/continue_run` with
          the browser's run key, and compare the step it continues from with the step the live
          view showed just before the kill. Bar: steps lost <= GP_AUTOSAVE_S x steps/s (the
          autosave interval's worth), every time. GP_AUTOSAVE_S is 5 here, to keep it short.
"""
from __future__ import annotations

import argparse
import json
import random
import secrets
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable

from . import attacks as A
from .app_process import (AppProcess, FrameClient, MemorySampler, api_params, api_stream, run_now,
                          run_summary)
from .streaming import form_fields

MB = 1e6
GOAL_MB = 300.0
AUTOSAVE_S = 5


# ------------------------------------------------------------------------ helpers
def _train(url: str, session: str, values: dict[str, Any],
           api: str = "train") -> tuple[threading.Thread, dict[str, Any]]:
    """Call `api` (its inputs by name) in a thread; the dict it fills holds the run's first
    summary ("first"), the last outputs ("out") and any error ("error")."""
    seen: dict[str, Any] = {}
    data = [values.get(name) for name in api_params(url, api)]

    def run() -> None:
        try:
            for out in api_stream(url, api, data, session):
                seen["out"] = out
                if "first" not in seen and run_summary(out) is not None:
                    seen["first"] = run_summary(out)
        except Exception as e:  # the app killed under it, or an app error: reported by the caller
            seen["error"] = str(e)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, seen


def _wait(predicate: Callable[[], Any], what: str, timeout: float = 180.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except Exception:  # e.g. the server not answering yet
            value = None
        if value:
            return value
        time.sleep(0.2)
    raise TimeoutError(f"timed out waiting for {what}")


def _measured(app: AppProcess, fn: Callable[[], Any]) -> tuple[Any, float]:
    """fn()'s result and how far the app's peak memory rose above its memory just before."""
    before = app.rss_bytes()
    with MemorySampler(app.pid) as sampler:
        result = fn()
    return result, (sampler.peak - before) / MB


# ------------------------------------------------------------------------ attacks
def _normal_session(url: str) -> None:
    """What a visitor does: a new mnist-dcgan run, trained a few steps."""
    session = secrets.token_hex(8)
    for api, values in (("/new_run", {"preset": "mnist-dcgan", "settings": {}}),
                        ("/train_steps", {"n": 5, "which": "both"})):
        refused, message, _ = A.call_with(url, api, values, session)
        if refused:
            raise RuntimeError(f"a normal session was refused: {message}")


def _sessions(url: str, count: int) -> None:
    for _ in range(count):
        _normal_session(url)


def attacks_part(work: Path, log: Path, quick: bool) -> dict[str, Any]:
    import re

    rows = []
    with AppProcess(work, log) as app:
        idle_mb = app.rss_bytes() / MB
        _, baseline = _measured(app, lambda: _normal_session(app.url))
        for attack in A.attacks():
            folder = Path(tempfile.mkdtemp(prefix=f"gp-attack-{attack.name}-", dir=work))
            start = time.perf_counter()
            (refused, message), growth = _measured(app, lambda: attack.send(app.url, folder))
            rows.append({"name": attack.name, "item": attack.item, "what": attack.what,
                         "refused": refused, "message": message[:300],
                         "sentence_ok": bool(re.search(attack.pattern, message, re.S)),
                         "growth_mb": round(growth, 1),
                         "seconds": round(time.perf_counter() - start, 2)})
            print(f"  attack {attack.name}: {'refused' if refused else 'SERVED'}, "
                  f"+{growth:.0f} MB", flush=True)
        count = 5 if quick else 20
        before = app.rss_bytes() / MB
        _, growth20 = _measured(app, lambda: _sessions(app.url, count))
        after = app.rss_bytes() / MB
        peak = max(r["growth_mb"] for r in rows)
    return {"idle_mb": round(idle_mb, 1), "normal_session_mb": round(baseline, 1),
            "goal_mb": GOAL_MB, "attacks": rows, "worst_attack_mb": peak,
            "all_refused": all(r["refused"] for r in rows),
            "all_sentences": all(r["sentence_ok"] for r in rows),
            "pass": all(r["refused"] and r["sentence_ok"] for r in rows)
            and peak <= baseline + GOAL_MB,
            "sessions": {"count": count, "peak_growth_mb": round(growth20, 1),
                         "held_mb": round(after - before, 1)}}


# ------------------------------------------------------------------------ flood
def _flood_requests(url: str, folder: Path) -> list[Callable[[], tuple[bool, str]]]:
    by_name = {a.name: a for a in A.attacks(upload_count=1, upload_mb=49)}
    return [lambda a=by_name[n]: a.send(url, folder) for n in
            ("step-compute", "sketch-36mp", "deep-json-900", "huge-number", "upload-flood")]


def flood_part(work: Path, log: Path, quick: bool) -> dict[str, Any]:
    fields = {**form_fields("ring8"), "steps": 20_000}
    window = 4.0 if quick else 8.0
    rounds = 1 if quick else 3
    # The app's own call budget (GP_CALLS_PER_MIN); the flood comes from an address of its own
    # (X-Forwarded-For, which uvicorn believes from 127.0.0.1), the visitors from 127.0.0.1.
    with AppProcess(work, log, env={"GP_CALLS_PER_MIN": ""}) as app:
        A.HEADERS["X-Forwarded-For"] = "203.0.113.66"
        sessions = [secrets.token_hex(8) for _ in range(4)]
        views = [FrameClient(app.url, s) for s in sessions]  # before the sessions' other calls
        trains = [_train(app.url, s, fields) for s in sessions]
        _wait(lambda: all(v.step() > 0 for v in views), "four runs to train")
        answers = {"refused": 0, "served": 0, "failed": 0, "over_call_budget": 0}
        flooding = threading.Event()
        stop = threading.Event()
        requests = _flood_requests(app.url, Path(tempfile.mkdtemp(prefix="gp-flood-", dir=work)))

        def flooder(i: int) -> None:
            n = i
            while not stop.is_set():
                if not flooding.wait(0.1):
                    continue
                try:
                    refused, message = requests[n % len(requests)]()
                    answers["refused" if refused else "served"] += 1
                    if "HTTP 429: Too many requests" in message:
                        answers["over_call_budget"] += 1
                except Exception:
                    answers["failed"] += 1
                n += 1

        threads = [threading.Thread(target=flooder, args=(i,), daemon=True) for i in range(6)]
        for t in threads:
            t.start()

        def rate() -> float:
            first = [v.step() for v in views]
            start, cpu = time.perf_counter(), time.process_time()
            time.sleep(window)
            last = [v.step() for v in views]
            elapsed = time.perf_counter() - start
            client_cpu.append((time.process_time() - cpu) / elapsed)
            return sum(b - a for a, b in zip(first, last)) / elapsed

        quiet, flood, client_cpu = [], [], []
        try:
            for _ in range(rounds):
                quiet.append(rate())
                flooding.set()
                time.sleep(0.5)  # the flood under way
                flood.append(rate())
                flooding.clear()
                time.sleep(1.0)  # its last requests answered
            quiet.append(rate())
        finally:
            stop.set()
            flooding.set()
            for t in threads:
                t.join(60)
            for s in sessions:
                run_now(app.url, "pause", [None], s)
            for t, _ in trains:
                t.join(60)
            A.HEADERS.pop("X-Forwarded-For", None)
        errors = [seen["error"] for _, seen in trains if "error" in seen]
    q, f = statistics.median(quiet), statistics.median(flood)
    return {"window_s": window, "quiet_steps_per_s": round(q, 1),
            "flood_steps_per_s": round(f, 1), "ratio": round(f / q, 3),
            "quiet_rounds": [round(x, 1) for x in quiet],
            "flood_rounds": [round(x, 1) for x in flood], "flood_answers": answers,
            # This process's CPU per second in the flood windows (the flood's own client: CPU
            # the 2-core machine's server did not get); the quiet windows' is near 0.
            "flood_client_cpu": round(statistics.median(client_cpu[1::2]), 2),
            "visitor_errors": errors}


# ------------------------------------------------------------------------ kills
def kills_part(work: Path, log: Path, quick: bool, seed: int = 0) -> dict[str, Any]:
    fields = {**form_fields("mnist-dcgan"), "steps": 20_000}
    env = {"GP_AUTOSAVE_S": str(AUTOSAVE_S)}
    rnd = random.Random(seed)
    session = secrets.token_hex(8)
    kills = 3 if quick else 10
    key = None
    rows: list[dict[str, Any]] = []
    for i in range(kills + 1):  # the last start only reads where the run continues from
        app = AppProcess(work, log.with_name(f"{log.stem}-{i}.log"), env=env)
        try:
            view = FrameClient(app.url, session)  # before the session's other calls
            values, api = (fields, "train") if key is None else ({"key": key}, "continue_run")
            _, seen = _train(app.url, session, values, api)
            first = _wait(lambda: seen.get("first") or seen.get("error"), "the run to start")
            if isinstance(first, str):
                raise RuntimeError(f"/{api}: {first}")
            key = key or next(v for v in seen["out"] if isinstance(v, dict) and "run_id" in v)
            if rows:
                rows[-1]["continued_from"] = first["step"]
                rows[-1]["lost"] = rows[-1]["step_at_kill"] - first["step"]
            if i == kills:
                run_now(app.url, "pause", [None], session)
                break
            _wait(lambda: view.step() > first["step"], "training to go on")
            t0, s0 = time.perf_counter(), view.step()
            time.sleep(rnd.uniform(2 * AUTOSAVE_S, 3 * AUTOSAVE_S))
            t1, s1 = time.perf_counter(), view.step()
            app.proc.kill()  # kill -9, mid-training
            app.proc.wait(30)
            speed = (s1 - s0) / (t1 - t0)
            # One autosave interval of steps, and one chunk more: a save lands between chunks.
            rows.append({"step_at_kill": s1, "steps_per_s": round(speed, 2),
                         "allowed": int(AUTOSAVE_S * speed * 1.1) + 2})
        finally:
            app.stop()
    return {"autosave_s": AUTOSAVE_S, "kills": rows,
            "max_lost": max(r["lost"] for r in rows),
            "median_lost": statistics.median(r["lost"] for r in rows),
            "pass": all(0 <= r["lost"] <= r["allowed"] for r in rows)}


# ------------------------------------------------------------------------ all
def main(quick: bool = False, work: Path | None = None) -> dict[str, Any]:
    """Every part, each against its own app, whose checkpoints folder is a copy of the bundled
    one (the digits models the Draw tab scores with), its runs folder inside it."""
    import shutil

    from .app_process import ROOT

    work = Path(work or tempfile.mkdtemp(prefix="gp-reliability-"))
    work.mkdir(parents=True, exist_ok=True)
    for path in (ROOT / "checkpoints").glob("*.safetensors"):
        shutil.copy(path, work / path.name)
    results: dict[str, Any] = {}
    for name, part in (("attacks", attacks_part), ("flood", flood_part), ("kills", kills_part)):
        print(f"  reliability: {name} ...", flush=True)
        results[name] = part(work, work / f"app-{name}.log", quick)
    return results


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--out", default=str(Path(tempfile.gettempdir()) / "gp-reliability.json"))
    args = p.parse_args()
    out = main(args.quick)
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps(out, indent=1))
    sys.exit(0)
