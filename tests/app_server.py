"""Start the app (`python app.py`) in a subprocess on a free port, for the API and browser tests.

`AppServer(env=...)` launches it with the given GP_* limits, waits until /gradio_api/info
answers, and `stop()` ends that one process (and only it). `make_checkpoints` writes tiny models
for the app's checkpoints folder.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT_S = 180  # importing torch and gradio on a busy 2-core machine can take a while


def make_checkpoints(folder: Path) -> None:
    """Tiny bundled-style checkpoints: an MLP on digits, a conditional DCGAN, an MLP on ring8."""
    from playground.checkpoint import save_checkpoint
    from playground.presets import PRESETS
    from playground.train import Trainer

    tiny = {
        "tiny-mnist": PRESETS["mnist-mlp"].replace(g_width=16, d_width=16, batch_size=16),
        "tiny-cgan": PRESETS["mnist-cgan"].replace(g_width=4, d_width=4, batch_size=8),
        "tiny-ring8": PRESETS["ring8"].replace(g_width=16, d_width=16, batch_size=32),
    }
    for name, config in tiny.items():
        trainer = Trainer(config.replace(device="cpu"))
        trainer.step(3)
        save_checkpoint(trainer, folder / f"{name}.safetensors")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class AppServer:
    def __init__(self, env: dict[str, str] | None = None, args: tuple[str, ...] = (),
                 log_path: Path | None = None, port: int | None = None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.runs_dir = Path(tempfile.mkdtemp(prefix="gp-runs-"))  # never the user's own cache
        full_env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "PYTHONUNBUFFERED": "1",
                    "OMP_NUM_THREADS": "1", "GP_RUNS_DIR": str(self.runs_dir),
                    # every test client is one visitor (127.0.0.1): no call budget, unless a
                    # test sets one
                    "GP_CALLS_PER_MIN": "1000000", **(env or {})}
        self.log_path = log_path or Path(os.environ.get("TMPDIR", "/tmp")) / f"gp-app-{self.port}.log"
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "app.py"), "--port", str(self.port), "--device", "cpu",
             *args], cwd=ROOT, env=full_env, stdout=self.log, stderr=subprocess.STDOUT)
        try:
            self._wait()
        except BaseException:
            self.stop()
            raise

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
