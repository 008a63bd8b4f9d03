"""Per-browser-session state: each visitor's own Trainer, stop flag, live edits and timelapse.

A `Session` is created on a visitor's first action and found again by Gradio's session hash, so
clicks in the page (through `gr.State`) and `gradio_client` calls (one hash per `Client`) reach
the same object. Sessions are freed when the tab closes (`demo.unload` -> `REGISTRY.release`), when
Gradio drops the state, or after `GP_SESSION_TTL_S` idle seconds (API clients never close a tab).
No gradio import here.
"""
from __future__ import annotations

import ctypes
import gc
import io
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from ..charts import CurveColumns
from ..plots import LAYERS, ModelCopies
from ..sample import gif
from ..train import Trainer

MAX_FRAMES = 120  # timelapse frames kept; when full, every other frame is dropped
FRAME_SIDE = 240  # timelapse frames are shrunk to about this many pixels across
MEASURE_EVERY = 1000  # the Train tab measures quality every this many steps by default: ~1 s
# for digits (~1 % of the training time of a DCGAN on a CPU), ~0.1 s for 2D


@dataclass
class Timelapse:
    """Frames of the progress picture over a run, thinned so the whole run fits in MAX_FRAMES."""
    frames: list[tuple[int, bytes]] = field(default_factory=list)  # (step, JPEG bytes)
    every: int = 1  # capture at most one frame per this many steps
    next_step: int = 0
    # Its own lock: the training loop offers frames while the Train tab may build the GIF.
    lock: Any = field(default_factory=threading.Lock, repr=False, compare=False)

    def clear(self) -> None:
        with self.lock:
            self.frames.clear()
            self.every, self.next_step = 1, 0

    def offer(self, step: int, make_frame: Any) -> bool:
        """Keep a frame for `step` if one is due; `make_frame()` is called only then."""
        with self.lock:
            return self._offer(step, make_frame)

    def _offer(self, step: int, make_frame: Any) -> bool:
        if step < self.next_step or (self.frames and self.frames[-1][0] == step):
            return False
        img: Image.Image = make_frame()
        if img.width > FRAME_SIDE:
            # A box filter over whole blocks of pixels first (cheap), then the last bit of
            # scaling: a full LANCZOS resize was ~5 ms of every early refresh.
            img = img.resize((FRAME_SIDE, round(img.height * FRAME_SIDE / img.width)),
                             Image.Resampling.BILINEAR, reducing_gap=2.0)
        buf = io.BytesIO()
        # A frame is taken at every refresh early in a run; the frames are only read back to
        # build the GIF, whose 256-colour palette loses more than a JPEG at quality 95 without
        # chroma subsampling. Encoding one took ~2 ms as a PNG at zlib level 1, ~0.4 ms so.
        img.save(buf, format="JPEG", quality=95, subsampling=0)
        self.frames.append((step, buf.getvalue()))
        if len(self.frames) > MAX_FRAMES:  # halve the frame rate over the whole run
            self.frames = self.frames[::2]
            self.every *= 2
        self.next_step = step + self.every
        return True

    def gif(self, label: Any = None, duration_ms: int = 120) -> bytes:
        """The frames as a looping animated GIF; `label(img, step)` may caption each frame."""
        with self.lock:
            frames = list(self.frames)
        if not frames:
            raise ValueError("no timelapse yet: train for a few steps first")
        images = []
        for step, data in frames:
            img = Image.open(io.BytesIO(data)).convert("RGB")
            images.append(label(img, step) if label else img)
        return gif(images, duration_ms=duration_ms)


class TurnLock:
    """A re-entrant lock that knows when someone is waiting for it.

    A training loop holds its session's lock for one chunk of steps at a time, back to back;
    Python's locks are not fair, so a Save or a live edit could wait behind many chunks. The loop
    checks `waiting` between chunks and, when it is set, steps aside for a moment.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._count = threading.Lock()
        self._waiting = 0

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        if self._lock.acquire(blocking=False):
            return True
        if not blocking:
            return False
        with self._count:
            self._waiting += 1
        try:
            return self._lock.acquire(True, timeout)
        finally:
            with self._count:
                self._waiting -= 1

    def release(self) -> None:
        self._lock.release()

    def __enter__(self) -> "TurnLock":
        self.acquire()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()

    @property
    def waiting(self) -> bool:
        return self._waiting > 0


class Session:
    """One visitor's run. `lock` serialises everything that touches the trainer."""

    def __init__(self, session_id: str, device: str = "auto"):
        self.id = session_id
        self.device = device  # the app's default device (--device)
        self.lock = TurnLock()
        self.stop = threading.Event()
        self.run_id = 0  # bumped by every new training loop; a loop whose id is stale exits
        self.running = False
        self.trainer: Trainer | None = None
        self.pending: dict[str, Any] = {}  # live edits for the next chunk of steps
        self.timelapse = Timelapse()
        self.curves = CurveColumns()  # the run's curves, read incrementally (lock held)
        self.view_models = ModelCopies()  # the live view's copies of G and D
        self.uploaded: Trainer | None = None  # a checkpoint uploaded in the Sample/Discriminator tab
        self.uploaded_name = ""
        self.warning = ""  # the last divergence message, shown until the next run
        self.layers: tuple[str, ...] = LAYERS  # which layers of the 2D view to draw
        self.seconds_per_step = 0.0  # measured; sizes the next chunk of steps
        self.metrics: list[dict[str, Any]] = []  # quality measurements of this run, oldest first
        self.measure_every = MEASURE_EVERY  # steps between automatic measurements (0 = off)
        self.last_used = time.monotonic()
        self.closed = False

    def touch(self) -> None:
        self.last_used = time.monotonic()

    def begin_loop(self) -> int:
        """Start a new training loop (any older loop of this session will exit); its id."""
        with self.lock:
            self.run_id += 1
            self.stop.clear()
            self.running = True
            return self.run_id

    def should_continue(self, run_id: int) -> bool:
        return not self.stop.is_set() and self.run_id == run_id and not self.closed

    def end_loop(self, run_id: int) -> None:
        with self.lock:
            if self.run_id == run_id:
                self.running = False

    def set_trainer(self, trainer: Trainer | None) -> None:
        """Replace the session's model (a new run, a reset, a loaded checkpoint)."""
        with self.lock:
            self.trainer = trainer
            self.pending.clear()
            self.timelapse.clear()
            self.warning = ""
            self.seconds_per_step = 0.0
            self.metrics = []

    def take_pending(self) -> dict[str, Any]:
        with self.lock:
            pending, self.pending = self.pending, {}
            return pending

    def close(self) -> None:
        """Stop any training and drop the models so their memory is freed. Idempotent."""
        self.closed = True
        self.stop.set()
        with self.lock:
            self.trainer = None
            self.uploaded = None
            self.pending.clear()
            self.timelapse.clear()


class Registry:
    """Live sessions by Gradio session hash; sweeps out idle ones."""

    def __init__(self) -> None:
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

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
                self._sessions[key] = session
        session.touch()
        return session

    def release(self, session_hash: str | None) -> None:
        """Free the session of a closed tab (its training loop stops within a chunk)."""
        if not session_hash:
            return
        with self._lock:
            session = self._sessions.pop(session_hash, None)
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
        for session in dropped:
            session.close()
        if dropped:
            return_memory()


def return_memory() -> None:
    """Hand a closed session's freed memory back to the system.

    glibc keeps freed pages for reuse, so without this a server's memory only ever grows to the
    peak of its busiest minute; malloc_trim releases them. Elsewhere (macOS, musl) nothing to do.
    """
    gc.collect()  # the models' reference cycles, if any, before trimming
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
