"""One app server shared by the reliability tests (bad input, security, concurrency, faults).

Starting `python app.py` costs tens of seconds on a busy machine, so these four test files share
one process: started on first use, stopped when the test session ends (and restarted if a test
left it dead). It runs with small hosting limits, tiny bundled checkpoints, its own Gradio cache
folder and a fast heartbeat, so a closed `gradio_client.Client` frees its session within a second.
`restricted_server()` is a second app behind a login with a queue of one. Also: `clear(message)`
checks that an error is one clear, short sentence.
"""
from __future__ import annotations

import atexit
import re
import shutil
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from app_server import START_TIMEOUT_S, AppServer, make_checkpoints

LIMITS = {"GP_MAX_STEPS": "10000", "GP_MAX_BATCH": "512", "GP_MAX_WIDTH": "512",
          "GP_MAX_UPLOAD_MB": "2", "GP_MAX_IMAGES": "64", "GP_QUEUE_SIZE": "64",
          "GP_MAX_SESSIONS": "40"}
OPAQUE = ("upstream Gradio app has raised an exception", "Traceback", "Error(", "object at 0x")

AUTH = ("alice", "s3cret:with-colon")  # GP_AUTH splits at the first colon only
_server: AppServer | None = None
_restricted: AppServer | None = None
_folder: Path | None = None


def shared_server() -> AppServer:
    """The shared app (started on first call); its checkpoints and cache live in `_folder`."""
    global _server, _folder
    if _server is not None and _server.proc.poll() is None:
        return _server
    if _folder is None:
        _folder = Path(tempfile.mkdtemp(prefix="gp-reliability-"))
        (_folder / "checkpoints").mkdir()
        make_checkpoints(_folder / "checkpoints")
        atexit.register(_shutdown)
    env = {**LIMITS, "GRADIO_TEMP_DIR": str(_folder / "gradio"),
           "GRADIO_HEARTBEAT_INTERVAL": "0.5", "GP_AUTH": ""}  # no login, whatever CI sets
    _server = AppServer(env=env, args=("--checkpoints", str(_folder / "checkpoints")))
    return _server


def restricted_server() -> AppServer:
    """A second app behind a login (GP_AUTH) with a queue of one and one training at a time."""
    global _restricted
    if _restricted is not None and _restricted.proc.poll() is None:
        return _restricted
    shared_server()  # makes the folders and the checkpoints
    assert _folder is not None
    env = {**LIMITS, "GP_AUTH": f"{AUTH[0]}:{AUTH[1]}", "GP_QUEUE_SIZE": "1",
           "GP_TRAIN_CONCURRENCY": "1", "GP_QUICK_CONCURRENCY": "1",
           "GRADIO_TEMP_DIR": str(_folder / "gradio-restricted")}
    _restricted = _LoginServer(env=env, args=("--checkpoints", str(_folder / "checkpoints")))
    return _restricted


class _LoginServer(AppServer):
    """An AppServer behind a login: up once /gradio_api/info answers at all (401 without it)."""

    def _wait(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"app.py exited with {self.proc.returncode}:\n{self.output()}")
            try:
                urllib.request.urlopen(self.url + "gradio_api/info", timeout=5).close()
                return
            except urllib.error.HTTPError:
                return  # it answered: the login is in the way, as it should be
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                time.sleep(0.5)
        raise TimeoutError(f"app.py did not answer within {START_TIMEOUT_S}s:\n{self.output()}")


def checkpoints_folder() -> Path:
    """The shared app's bundled checkpoints (tiny models made by `make_checkpoints`)."""
    shared_server()
    assert _folder is not None
    return _folder / "checkpoints"


def gradio_cache() -> Path:
    """Where the shared app keeps uploads and served files."""
    shared_server()
    assert _folder is not None
    return _folder / "gradio"


def _shutdown() -> None:
    for server in (_server, _restricted):
        if server is not None:
            server.stop()
    if _folder is not None:
        shutil.rmtree(_folder, ignore_errors=True)


def clear(message: str, pattern: str) -> None:
    """`message` is one short line, matches `pattern`, and is not a stack trace or a stock text."""
    assert re.search(pattern, message), f"{message!r} does not match {pattern!r}"
    assert "\n" not in message.strip() and len(message) < 400, f"not one short line: {message!r}"
    assert not any(bad in message for bad in OPAQUE), f"not a clear message: {message!r}"
