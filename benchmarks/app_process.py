"""The running app for the benchmarks: `python app.py` on a free port, its memory, and a test model.

`AppProcess` starts the app in a subprocess (the way a user does, `--device cpu`), waits until it
answers, and stops that one process. `api_stream` / `api_call` use Gradio's plain HTTP API (POST
the inputs, then read the event stream) with blocking reads, so the client costs no CPU while it
waits (gradio_client's Job polls every millisecond, CPU a busy 2-core machine takes from the
app). `rss_bytes()` is the resident memory of the app and any child processes it started, read
from /proc; `MemorySampler` keeps the peak of it over a stretch of time. `write_checkpoint`
saves a briefly trained model for the app's checkpoints folder, so the Sample tab has a bundled
`mnist-dcgan` to draw from (latency does not depend on quality).
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Iterator

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT_S = 240  # importing torch and gradio on a busy 2-core machine can take a while
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_checkpoint(folder: Path, preset: str = "mnist-dcgan", steps: int = 2) -> Path:
    """A `preset` model trained for `steps` steps, saved as folder/<preset>.safetensors."""
    from playground.checkpoint import save_checkpoint
    from playground.presets import get_preset
    from playground.train import Trainer

    trainer = Trainer(get_preset(preset).replace(device="cpu"))
    trainer.step(steps)
    return save_checkpoint(trainer, Path(folder) / f"{preset}.safetensors")


def api_params(base_url: str, api_name: str) -> list[str]:
    """The input names of endpoint `api_name`, in the order its HTTP API takes them."""
    with urllib.request.urlopen(f"{base_url}gradio_api/info", timeout=60) as r:
        info = json.load(r)
    return [p["parameter_name"] for p in info["named_endpoints"][f"/{api_name}"]["parameters"]]


def api_stream(base_url: str, api_name: str, data: list[Any],
               session_hash: str | None = None) -> Iterator[list[Any]]:
    """Call `api_name` with `data` (in session `session_hash`, when given) and yield each output
    as it arrives; raises on an app error."""
    body = {"data": data, **({"session_hash": session_hash} if session_hash else {})}
    req = urllib.request.Request(f"{base_url}gradio_api/call/{api_name}",
                                 data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        event_id = json.load(r)["event_id"]
    with urllib.request.urlopen(f"{base_url}gradio_api/call/{api_name}/{event_id}",
                                timeout=600) as r:
        event = ""
        for raw in r:
            line = raw.decode().rstrip("\n")
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:"):
                payload = line.split(":", 1)[1].strip()
                if event == "error":
                    raise RuntimeError(f"/{api_name} failed: {payload[:300]}")
                if event in ("generating", "complete"):
                    yield json.loads(payload)
                if event == "complete":
                    return


def api_call(base_url: str, api_name: str, data: list[Any],
             session_hash: str | None = None) -> list[Any]:
    """One call through Gradio's HTTP API: its final outputs."""
    outputs: list[Any] = []
    for outputs in api_stream(base_url, api_name, data, session_hash):
        pass
    return outputs


def run_summary(outputs: Any) -> dict[str, Any] | None:
    """The run summary among a run event's outputs (/train, /continue_run: the dict with a
    "step" and a "state"), or None."""
    values = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    return next((v for v in values if isinstance(v, dict) and "step" in v and "state" in v), None)


def run_now(base_url: str, api_name: str, data: list[Any], session_hash: str) -> list[Any]:
    """Call an endpoint that is not queued (Pause: `queue=False`), as the page does."""
    req = urllib.request.Request(f"{base_url}gradio_api/run/{api_name}",
                                 data=json.dumps({"data": data,
                                                  "session_hash": session_hash}).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.load(r)["data"]


def cancel(base_url: str, api_name: str, event_id: str, session_hash: str) -> None:
    """Cancel a queued call, as the page's Stop does (POST /gradio_api/cancel)."""
    with urllib.request.urlopen(f"{base_url}config", timeout=60) as r:
        index = next(d["id"] for d in json.load(r)["dependencies"]
                     if d.get("api_name") == api_name)
    body = {"session_hash": session_hash, "fn_index": index, "event_id": event_id}
    req = urllib.request.Request(f"{base_url}gradio_api/cancel", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req, timeout=60).close()


class FrameClient:
    """Pulls the live view's frames as the page does (`playground/ui/js/live.js`): one request
    at a time to the component's server function, the next as soon as one is answered. It
    draws nothing: on a real deployment the browser runs on the visitor's machine.

    Make it before the session's other calls start: Gradio's `/gradio_api/call` answers two calls
    of one session that run at once on each other's streams (seen with gradio 6.31), and this
    asks for the view's token with one. `step()` is the session's step now."""

    def __init__(self, base_url: str, session_hash: str):
        import http.client
        from urllib.parse import urlparse

        self.base_url, self.session_hash = base_url, session_hash
        self.token = api_call(base_url, "view_token", [], session_hash)[0]
        url = urlparse(base_url)
        self.http = http.client.HTTPConnection(url.hostname, url.port, timeout=60)  # kept alive
        self.seq, self.since, self.run = -1, -1, None
        self.alerts_key = None
        self.last_step = 0

    def step(self) -> int:
        """The run's step now (the last frame's, when nothing changed since)."""
        self.next()
        return self.last_step

    def next(self) -> tuple[dict[str, Any], int]:
        """The next frame (or {"same": True}) and the response's size in bytes."""
        body = json.dumps({"token": self.token, "run": self.run, "seq": self.seq,
                           "since": self.since, "real": self.run is None,
                           "alerts_key": self.alerts_key}).encode()
        headers = {"Content-Type": "application/json", "Accept-Encoding": "br"}
        try:
            self.http.request("POST", "/gradio_api/gp/frame", body=body, headers=headers)
            response = self.http.getresponse()
        except (ConnectionError, OSError):  # the server closed an idle connection: again
            self.http.close()
            self.http.request("POST", "/gradio_api/gp/frame", body=body, headers=headers)
            response = self.http.getresponse()
        raw = response.read()  # as it crossed the wire: the size a browser downloads
        if response.getheader("content-encoding") == "br":
            import brotli

            frame = json.loads(brotli.decompress(raw))
        else:
            frame = json.loads(raw)
        self.alerts_key = frame.get("alerts_key", self.alerts_key) if isinstance(frame, dict) \
            else self.alerts_key
        if isinstance(frame, dict) and "seq" in frame and not frame.get("same"):
            self.seq, self.run = frame["seq"], frame["run"]
            self.last_step = int(frame.get("step") or 0)
            steps = (frame.get("curves") or {}).get("step") or []
            if steps:
                self.since = steps[-1]
        return frame, len(raw)


def _children(pid: int) -> list[int]:
    found = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                found += [int(c) for c in f.read().split()]
    except OSError:
        pass
    return found


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * PAGE_SIZE
    except (OSError, IndexError, ValueError):
        return 0


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by process `pid`, all its threads (0 without /proc)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def tree_rss_bytes(pid: int) -> int:
    """Resident memory of `pid` and its descendants (0 where /proc is not available)."""
    total, todo, seen = 0, [pid], set()
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        total += _rss(p)
        todo += _children(p)
    return total


class MemorySampler:
    """Samples a process tree's resident memory every `period_s` in a thread; keeps the peak."""

    def __init__(self, pid: int, period_s: float = 0.05):
        self.pid, self.period_s = pid, period_s
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, tree_rss_bytes(self.pid))
            self._stop.wait(self.period_s)

    def __enter__(self) -> "MemorySampler":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, tree_rss_bytes(self.pid))


class AppProcess:
    """`python app.py --port P --device cpu`; `stop()` ends it. With `threads`, the app gets
    OMP_NUM_THREADS=threads; without, it picks its own (app.cpu_threads)."""

    def __init__(self, checkpoints: Path, log_path: Path, threads: int | None = None,
                 env: dict[str, str] | None = None, root: Path = ROOT):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        runs = Path(checkpoints) / "runs"  # never the user's own runs folder
        full_env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "PYTHONUNBUFFERED": "1",
                    "GP_RUNS_DIR": str(runs),
                    # every client here is one visitor (127.0.0.1): no call budget, unless `env`
                    # sets one ("" for the app's default)
                    "GP_CALLS_PER_MIN": "1000000",
                    **({"OMP_NUM_THREADS": str(threads)} if threads else {}), **(env or {})}
        self.log_path = log_path
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen(
            [sys.executable, str(root / "app.py"), "--port", str(self.port), "--device", "cpu",
             "--checkpoints", str(checkpoints)],
            cwd=root, env=full_env, stdout=self.log, stderr=subprocess.STDOUT)
        try:
            self._wait()
        except BaseException:
            self.stop()
            raise

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _wait(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"app.py exited with {self.proc.returncode}:\n{self.output()}")
            try:
                with urllib.request.urlopen(self.url + "gradio_api/info", timeout=5) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            time.sleep(0.5)
        raise TimeoutError(f"app.py did not answer within {START_TIMEOUT_S}s:\n{self.output()}")

    def rss_bytes(self) -> int:
        return tree_rss_bytes(self.pid)

    def output(self) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)
        self.log.close()

    def __enter__(self) -> "AppProcess":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
