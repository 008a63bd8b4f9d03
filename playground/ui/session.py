"""Per-browser-session state: each visitor's own run (a `playground.live.LiveRun`), upload and view.

A `Session` is created on a visitor's first contact (the page's load, or an API call) and found
again by Gradio's session hash, so clicks in the page and `gradio_client` calls (one hash per
`Client`) reach the same object; the page's live view finds it by an unguessable `token` instead
(its frame requests carry no session hash). Sessions are freed when the tab closes
(`demo.unload` -> `REGISTRY.release`), when Gradio drops the state, or after `GP_SESSION_TTL_S`
idle seconds; `Registry` also caps how many sessions may hold a run at once (`GP_MAX_SESSIONS`)
by closing the one idle the longest. A closing session's run is saved first (`on_save_run`). No
gradio import here.
"""
from __future__ import annotations

import asyncio
import ctypes
import gc
import secrets
import threading
import time
import uuid
from typing import Any, Callable

from ..config import DataConfig
from ..live import LiveRun
from ..train import Trainer

MAX_KEPT = 3  # runs a session keeps for comparison beside its current one: 4 runs in all
MEASURE_EVERY = 1000  # the Train tab measures quality every this many steps by default: ~1 s
# for digits (~1 % of the training time of a DCGAN on a CPU), ~0.1 s for 2D


class Session:
    """One visitor: their run, their uploaded model, what their live view shows."""

    def __init__(self, session_id: str, device: str = "auto"):
        self.id = session_id
        self.device = device  # the app's default device (--device)
        self.token = secrets.token_urlsafe(18)  # the live view's key to this session's frames
        self.lock = threading.RLock()  # guards the fields below (a run has its own lock)
        self.run: LiveRun | None = None
        self.kept: list[LiveRun] = []  # runs kept for comparison (paused; they never train)
        self.uploaded: Trainer | None = None  # a checkpoint uploaded in the Sample/Disc. tabs
        self.uploaded_name = ""
        # The data the live view shows before any run exists (your own points included).
        self.preview = DataConfig(dataset="ring8")
        self.preview_seq = 1
        self.changed = threading.Condition()  # notified when `run` or `preview` changes
        # Held by a stream following a run while one of its updates is being sent, and by an
        # event replacing the run while it does so: a replaced run's last words always reach the
        # page before the answer of the event that replaced it (train_events.follow).
        self.answering = asyncio.Lock()
        self.measure_every = MEASURE_EVERY  # steps between automatic measurements (0 = off)
        self.upload_bytes = 0  # bytes of uploads this session has had checked
        # Live fields whose value, sent from the page, was refused: the field's blur sends it
        # again after its Enter, and that is not said twice (at most one entry per field).
        self.refused_edits: dict[str, Any] = {}
        self.last_used = time.monotonic()
        self.closed = False
        self.on_save_run: Callable[[LiveRun], None] | None = None  # saves a closing run

    def touch(self) -> None:
        self.last_used = time.monotonic()

    @property
    def trainer(self) -> Trainer | None:
        run = self.run
        return run.trainer if run is not None else None

    @property
    def running(self) -> bool:
        run = self.run
        return run is not None and run.state in ("waiting", "training")

    def set_run(self, run: LiveRun | None) -> LiveRun | None:
        """Replace the session's run (a new run, a reset, a loaded checkpoint); the old one is
        stopped and closed (its watchers wake up and find the new one)."""
        with self.lock:
            old, self.run = self.run, run
        if old is not None and old is not run:
            self._save(old)
            old.close()
            return_memory_soon()  # the old run's tensors (and data) back to the system
        self._notify()
        return old

    def _save(self, run: LiveRun) -> None:
        """Save a run that is closing (through `on_save_run`, when set; a run with no steps has
        nothing to keep). Saving must never keep a session, or its memory, alive."""
        if self.on_save_run is None or not run.trainer.step_count:
            return
        try:
            run.pause()
            run.wait_stopped()
            self.on_save_run(run)
        except Exception:
            pass

    def keep_run(self, name: str) -> LiveRun:
        """Move the current run, paused, to the runs kept for comparison, under `name`; the
        next Train starts a new run. A ValueError (and nothing changed) when there is no run,
        when MAX_KEPT are kept already, or when the name is taken."""
        name = " ".join(str(name or "").split())[:40]
        with self.lock:
            run = self.run
            if run is None:
                raise ValueError("No run to keep yet: train one first.")
            if len(self.kept) >= MAX_KEPT:
                raise ValueError(f"This session keeps at most {MAX_KEPT} runs beside the current "
                                 "one: forget one first.")
            name = name or f"{'ABCD'[len(self.kept)]}: {run.name}"
            if any(k.name == name for k in self.kept):
                raise ValueError(f"A kept run is already called {name!r}: choose another name.")
        run.pause()
        run.wait_stopped()
        with self.lock:
            if self.run is not run:
                raise ValueError("The run was replaced meanwhile: nothing was kept.")
            run.name = name
            self.kept.append(run)
            self.run = None
        self._notify()
        return run

    def forget(self, index: int) -> LiveRun:
        """Close kept run number `index` (1 = the first kept); a ValueError if there is none."""
        with self.lock:
            if not (isinstance(index, int) and 1 <= index <= len(self.kept)):
                raise ValueError(f"There is no kept run {index!r:.20}: this session keeps "
                                 f"{len(self.kept)}.")
            run = self.kept.pop(index - 1)
        run.close()
        return_memory_soon()
        return run

    def detach_run(self) -> LiveRun | None:
        """Hand the session's run over (to a reloaded page's new session) without stopping it."""
        with self.lock:
            run, self.run = self.run, None
        self._notify()
        return run

    def set_preview(self, data: str | DataConfig) -> None:
        """Show `data` (a DataConfig, or a dataset's name) while there is no run."""
        if isinstance(data, str):
            data = DataConfig(dataset=data)
        with self.lock:
            if data != self.preview:
                self.preview = data
                self.preview_seq += 1
        self._notify()

    def _notify(self) -> None:
        with self.changed:
            self.changed.notify_all()

    def close(self) -> None:
        """Stop any training and drop the models so their memory is freed. Idempotent."""
        if self.closed:
            return
        self.closed = True
        with self.lock:
            run, self.run = self.run, None
            kept, self.kept = self.kept, []
            self.uploaded = None
        if run is not None:
            self._save(run)
            run.close()
        for other in kept:
            other.close()
        self._notify()


class Registry:
    """Live sessions by Gradio session hash (and by live-view token); sweeps out idle ones."""

    def __init__(self) -> None:
        self._sessions: dict[str, Session] = {}
        self._tokens: dict[str, Session] = {}
        self._lock = threading.Lock()
        self.max_runs = 0  # sessions that may hold a run at once (0 = no cap)
        self.on_save_run: Callable[[LiveRun], None] | None = None  # given to every session

    def __len__(self) -> int:
        with self._lock:
            return len(self._sessions)

    def get(self, state: Any, session_hash: str | None, device: str = "auto",
            ttl_s: float = 3600.0) -> Session:
        """The caller's session: the one in `state`, else the one for `session_hash`, else new."""
        self.sweep(ttl_s)
        if isinstance(state, Session) and not state.closed:
            state.touch()
            return state
        key = session_hash or uuid.uuid4().hex
        with self._lock:
            session = self._sessions.get(key)
            if session is None or session.closed:
                session = Session(key, device)
                session.on_save_run = self.on_save_run
                self._sessions[key] = session
                self._tokens[session.token] = session
        session.touch()
        return session

    def by_token(self, token: Any) -> Session | None:
        if not isinstance(token, str):
            return None
        with self._lock:
            session = self._tokens.get(token)
        if session is not None and not session.closed:
            session.touch()
            return session
        return None

    def runs(self) -> list[Session]:
        with self._lock:
            return [s for s in self._sessions.values()
                    if (s.run is not None or s.kept) and not s.closed]

    def find_run(self, run_id: str) -> Session | None:
        """The live session holding the run `run_id`, if any."""
        with self._lock:
            for s in self._sessions.values():
                if s.run is not None and s.run.run_id == run_id and not s.closed:
                    return s
        return None

    def make_room(self, session: Session) -> None:
        """Before `session` gets a run: if GP_MAX_SESSIONS sessions already hold one, close the
        one idle the longest (its run is saved first); a LimitError-like ValueError when every
        one of them is training."""
        if not self.max_runs or session.run is not None or session.kept:
            return  # it holds its runs' room already
        holders = [s for s in self.runs() if s is not session]
        if len(holders) < self.max_runs:
            return
        idle = [s for s in holders if not s.running]
        if not idle:
            raise RoomError(f"this server already has {len(holders)} runs training, its limit "
                            "(set GP_MAX_SESSIONS to allow more); try again in a while")
        victim = min(idle, key=lambda s: s.last_used)
        self.release(victim.id)

    def release(self, session_hash: str | None) -> None:
        """Free the session of a closed tab (its training stops within a chunk)."""
        if not session_hash:
            return
        with self._lock:
            session = self._sessions.pop(session_hash, None)
            if session is not None:
                self._tokens.pop(session.token, None)
        if session is not None:
            session.close()
            return_memory()

    def sweep(self, ttl_s: float) -> None:
        """Free sessions idle for more than `ttl_s` seconds (never one that is training)."""
        now = time.monotonic()
        with self._lock:
            stale = [k for k, s in self._sessions.items()
                     if not s.running and now - s.last_used > ttl_s]
            dropped = [self._sessions.pop(k) for k in stale]
            for s in dropped:
                self._tokens.pop(s.token, None)
        for session in dropped:
            session.close()
        if dropped:
            return_memory()

    def close_all(self) -> None:
        """Close every session (their runs saved first): the server is shutting down."""
        with self._lock:
            keys = list(self._sessions)
        for key in keys:
            self.release(key)


class RoomError(ValueError):
    """No room for another run on this server (GP_MAX_SESSIONS)."""


def return_memory() -> None:
    """Hand a closed session's freed memory back to the system.

    glibc keeps freed pages for reuse, so without this a server's memory only ever grows to the
    peak of its busiest minute; malloc_trim releases them. Elsewhere (macOS, musl) nothing to do.
    """
    gc.collect()  # the models' reference cycles, if any, before trimming
    _trim()


def return_memory_soon() -> None:
    """After a run is replaced (a Train press): what reference counting freed goes back to the
    system now (malloc_trim, about 1 ms), and a full collection, for the rare reference cycle,
    follows in a background thread COLLECT_AFTER_S later. The collection walks the whole heap
    of a server that imports torch and gradio (~0.2 s here): a Train press must not wait for it
    (it was a third of the time from the click to the new run's first frame)."""
    global _collector
    _trim()
    with _collect_lock:
        if _collector is None or not _collector.is_alive():
            _collector = threading.Thread(target=_collect_later, daemon=True,
                                          name="return-memory")
            _collector.start()
    _collect_due.set()


COLLECT_AFTER_S = 2.0
_collect_due = threading.Event()
_collect_lock = threading.Lock()
_collector: threading.Thread | None = None


def _collect_later() -> None:
    while True:
        _collect_due.wait()
        time.sleep(COLLECT_AFTER_S)  # presses in a row share one collection
        _collect_due.clear()
        return_memory()


def _trim() -> None:
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def close_session(value: Any) -> None:
    """`gr.State(delete_callback=...)`: Gradio dropped a session's state."""
    if isinstance(value, Session):
        REGISTRY.release(value.id)
        value.close()


REGISTRY = Registry()
