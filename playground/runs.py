"""The runs folder: every live run saved by itself, so that no run is lost to a reload or a restart.

`RunStore.save(run)` writes a `LiveRun` (weights, optimiser state, history, curves' marks,
timelapse, quality measurements) as one checkpoint, `<run id>.safetensors`, atomically: a kill
mid-write leaves the previous save whole. The app saves every run every GP_AUTOSAVE_S seconds,
when it stops, and when its session closes or the server shuts down. A run id is a capability:
22 random characters that only the visitor's browser holds; the store never lists its runs to
anyone, and `load` opens a run only by its exact id. The folder is kept under GP_RUNS_MB (the
runs saved longest ago go first); a full disk is a `RunStoreError` with one sentence.
No gradio here.
"""
from __future__ import annotations

import errno
import os
import re
import secrets
import threading
import time
from pathlib import Path
from typing import Any

from .checkpoint import load_run, read_metadata, save_checkpoint
from .checkpoint_check import CheckpointError

RUN_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
SUFFIX = ".safetensors"


class RunStoreError(OSError):
    """A run could not be saved (the disk is full, the folder is not writable); str() is the
    one sentence for people, without the errno."""

    def __str__(self) -> str:
        return str(self.strerror)


def default_folder() -> Path:
    """A per-user cache folder: $XDG_CACHE_HOME/gan-playground/runs, else ~/.cache/..."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "gan-playground" / "runs"


class RunStore:
    """Saved runs by id, in one folder, within a size budget."""

    def __init__(self, folder: str | os.PathLike, max_mb: int = 1024):
        self.folder = Path(folder)
        self.max_bytes = int(max_mb) * 2**20
        self._lock = threading.Lock()

    def secret(self) -> str:
        """A random key kept in the folder (created once, readable by its owner only): the app
        encrypts what each browser remembers with it, so a restarted server still reads it."""
        path = self.folder / ".browser-secret"
        try:
            return path.read_text().strip()
        except OSError:
            pass
        self.folder.mkdir(parents=True, exist_ok=True)
        value = secrets.token_urlsafe(24)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(value)
        return value

    def path(self, run_id: Any) -> Path | None:
        """Where a run is saved, or None for anything that is not a run id."""
        if not isinstance(run_id, str) or not RUN_ID.match(run_id):
            return None
        return self.folder / f"{run_id}{SUFFIX}"

    def save(self, run: Any) -> Path:
        """Save a LiveRun now (call with its lock held, or while it is quiet)."""
        path = self.path(run.run_id)
        if path is None:
            raise ValueError(f"not a run id: {run.run_id!r:.40}")
        extra = {"name": run.name, "saved_at": time.time(), "measure_every": run.measure_every,
                 "metrics": run.metrics[-50:]}
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            save_checkpoint(run.trainer, path, extra=extra, timelapse=run.timelapse.snapshot())
        except OSError as e:
            if e.errno in (errno.ENOSPC, errno.EDQUOT):
                raise RunStoreError(e.errno, "the runs folder's disk is full: this run could not "
                                    "be saved (free some space, or lower GP_RUNS_MB)") from None
            raise RunStoreError(e.errno or errno.EIO, "the run could not be saved in the runs "
                                f"folder ({e.strerror or e})") from None
        self.trim(keep=path)
        return path

    def trim(self, keep: Path | None = None) -> None:
        """Remove the runs saved longest ago until the folder is within its budget."""
        with self._lock:
            files = []
            for p in self.folder.glob(f"*{SUFFIX}"):
                try:
                    files.append((p.stat().st_mtime, p.stat().st_size, p))
                except OSError:
                    continue
            total = sum(size for _, size, _ in files)
            for _, size, p in sorted(files):
                if total <= self.max_bytes:
                    break
                if p == keep:
                    continue
                p.unlink(missing_ok=True)
                total -= size

    def info(self, run_id: Any) -> dict[str, Any] | None:
        """{"name", "step", "target", "saved_at"} of a saved run, or None (no such run, or an
        unreadable one)."""
        path = self.path(run_id)
        if path is None or not path.is_file():
            return None
        try:
            meta = read_metadata(path, tensors=False)
        except CheckpointError:
            return None
        extra = meta["extra"]
        return {"name": str(extra.get("name", ""))[:40] or meta["config"].data.dataset,
                "step": meta["step"], "target": meta["config"].train.steps,
                "saved_at": float(extra.get("saved_at", 0) or 0)}

    def load(self, run_id: Any, device: Any = None) -> tuple[Any, list, dict[str, Any]]:
        """(trainer, timelapse frames, metadata) of a saved run, checked as any checkpoint is."""
        path = self.path(run_id)
        if path is None or not path.is_file():
            raise CheckpointError("this run is no longer saved on the server (it was removed "
                                  "to make room): start a new one")
        return load_run(path, device)

    def remove(self, run_id: Any) -> None:
        path = self.path(run_id)
        if path is not None:
            path.unlink(missing_ok=True)
