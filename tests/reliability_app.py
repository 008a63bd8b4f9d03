"""One app server shared by the reliability tests (bad input, security, concurrency, faults).

Starting `python app.py` costs tens of seconds on a busy machine, so these four test files share
one process: started on first use, stopped when the test session ends (and restarted if a test
left it dead). It runs with small hosting limits, tiny bundled checkpoints, its own Gradio cache
folder and a fast heartbeat, so a closed `gradio_client.Client` frees its session within a second.
Also: `clear(message)` checks that an error is one clear, short sentence.
"""
from __future__ import annotations

import atexit
import re
import shutil
import tempfile
from pathlib import Path

from app_server import AppServer, make_checkpoints

LIMITS = {"GP_MAX_STEPS": "3000", "GP_MAX_BATCH": "512", "GP_MAX_WIDTH": "512",
          "GP_MAX_UPLOAD_MB": "2", "GP_MAX_IMAGES": "64", "GP_QUEUE_SIZE": "64"}
OPAQUE = ("upstream Gradio app has raised an exception", "Traceback", "Error(", "object at 0x")

_server: AppServer | None = None
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
           "GRADIO_HEARTBEAT_INTERVAL": "0.5"}
    _server = AppServer(env=env, args=("--checkpoints", str(_folder / "checkpoints")))
    return _server


def gradio_cache() -> Path:
    """Where the shared app keeps uploads and served files."""
    shared_server()
    assert _folder is not None
    return _folder / "gradio"


def _shutdown() -> None:
    if _server is not None:
        _server.stop()
    if _folder is not None:
        shutil.rmtree(_folder, ignore_errors=True)


def clear(message: str, pattern: str) -> None:
    """`message` is one short line, matches `pattern`, and is not a stack trace or a stock text."""
    assert re.search(pattern, message), f"{message!r} does not match {pattern!r}"
    assert "\n" not in message.strip() and len(message) < 400, f"not one short line: {message!r}"
    assert not any(bad in message for bad in OPAQUE), f"not a clear message: {message!r}"
