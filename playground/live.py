"""A run as the web app drives it: trained by a worker thread, paused, edited live, watched.

`LiveRun` owns one `Trainer`. `start()` trains it in a worker thread, in short chunks of steps
under the run's lock, until the step target, `pause()`, a divergence or `close()`; live edits
wait in `pending` and apply at the next chunk. Whoever watches calls `frame()`, which waits
for something new and returns a frame (`playground/frames.py`): the worker copies what a frame
needs only when someone is waiting for one (about 1 ms, under the lock), and the frame's numbers
are computed on private copies of G and D in the watcher's thread, beside the training.
`Slots` bounds how many runs train at once; `Timelapse` keeps frames over a run for the GIF.
No gradio here: the UI drives this, the CLI and the tests may too.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from . import alerts
from .frames import (FrameHead, ModelCopies, ViewFrame, curves_since, encode_view, make_frame,
                     real_points, view_job)
from .charts import CurveColumns
from .train import StepRecord, Trainer

CHUNK_S = 0.25  # seconds of training per chunk when nobody watches: how soon Pause takes effect
# While someone watches, a chunk lasts one frame period and a fresh frame can follow each: about
# 12 frames a second of a 2D run (a few KB each), 5 of a digit grid (~50 KB each). More would
# cost the training more than it shows (each frame is G and D run again on the run's copies).
FRAME_PERIOD_S = {"2d": 0.08, "images": 0.2}
WATCH_GRACE_S = 1.5  # a run counts as watched this long after the last frame request
STEP_ASIDE_S = 0.002  # the worker's pause between chunks when another thread waits for the lock
MAX_CHUNK = 10_000
MAX_FRAMES = 120  # timelapse frames kept; when full, every other frame is dropped
HISTORY_TAIL = 600  # records a frame's alerts read (alerts look at the last 550)
ALERT_EVERY_S = 0.5  # a frame's alerts are worked out again at most this often while training
STATES = ("idle", "waiting", "training", "paused", "done", "diverged")


class TurnLock:
    """A re-entrant lock that knows when someone is waiting for it.

    A training loop holds its run's lock for one chunk of steps at a time, back to back; Python's
    locks are not fair, so a Save or a live edit could wait behind many chunks. The loop checks
    `waiting` between chunks and, when it is set, steps aside for a moment.
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


class Slots:
    """At most `n` runs train at the same time; the others wait for a slot, saying so."""

    def __init__(self, n: int):
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"slots={n!r} must be a whole number >= 1")
        self.n = n
        self._free = threading.Semaphore(n)

    def acquire(self, timeout: float) -> bool:
        return self._free.acquire(timeout=timeout)

    def release(self) -> None:
        self._free.release()


@dataclass
class Timelapse:
    """Frames of a run's view, thinned so that the whole run fits in MAX_FRAMES."""
    frames: list[ViewFrame] = field(default_factory=list)
    every: int = 1  # keep at most one frame per this many steps
    next_step: int = 0
    lock: Any = field(default_factory=threading.Lock, repr=False, compare=False)

    def due(self, step: int) -> bool:
        return step >= self.next_step and not (self.frames and self.frames[-1].step == step)

    def offer(self, view: ViewFrame) -> bool:
        """Keep `view` if a frame is due at its step."""
        with self.lock:
            if not self.due(view.step):
                return False
            self.frames.append(view)
            if len(self.frames) > MAX_FRAMES:  # halve the frame rate over the whole run
                self.frames = self.frames[::2]
                self.every *= 2
            self.next_step = view.step + self.every
            return True

    def restore(self, frames: list[ViewFrame]) -> None:
        """Start from frames saved with the run (a checkpoint, an autosave)."""
        with self.lock:
            self.frames = list(frames)[-MAX_FRAMES:]
            steps = [f.step for f in self.frames]
            gaps = [b - a for a, b in zip(steps, steps[1:])]
            self.every = max(1, min(gaps)) if gaps else 1
            self.next_step = (steps[-1] + self.every) if steps else 0

    def snapshot(self) -> list[ViewFrame]:
        with self.lock:
            return list(self.frames)


@dataclass
class Snapshot:
    """What one frame shows, copied from a run at one moment (under its lock)."""
    seq: int
    head: FrameHead
    columns: dict[str, Any]  # charts.CurveColumns of the whole history
    target: int
    history: list[StepRecord]  # the last HISTORY_TAIL records, for the alerts
    metrics: list[dict[str, Any]]
    loss: str
    job: Any = None  # frames.ViewJob on the run's model copies
    view: ViewFrame | None = None  # computed once, by whoever needs it first
    fresh_heat: bool = True  # the decision map is worked out anew for this one
    lock: Any = field(default_factory=threading.Lock, repr=False)

    def compute(self) -> ViewFrame:
        with self.lock:
            if self.view is None:
                self.view = self.job.run()
            return self.view


class LiveRun:
    """One session's run (see the module docstring). `lock` guards the trainer."""

    def __init__(self, trainer: Trainer, run_id: str, name: str, slots: Slots | None = None, *,
                 play: Callable[..., list[StepRecord]] | None = None,
                 evaluate: Callable[[Trainer], dict[str, Any]] | None = None,
                 on_autosave: Callable[["LiveRun"], None] | None = None,
                 autosave_s: float = 0.0, measure_every: int = 1000):
        self.trainer = trainer
        self.run_id = run_id  # a capability: who holds it may open the run (see runs.py)
        self.name = name  # for people: "ring8", "mnist-dcgan", "my-upload"
        self.slots = slots or Slots(1)
        self.lock = TurnLock()
        self.state = "idle" if trainer.step_count == 0 else "paused"
        self.pending: dict[str, Any] = {}  # live edits for the next chunk
        self.timelapse = Timelapse()
        self.metrics: list[dict[str, Any]] = []  # quality measurements, oldest first
        self.measure_every = measure_every  # steps between automatic measurements (0 = off)
        self.warning = ""  # the last divergence (or failure) message, until the next start
        self.note = ""  # what the last action did, in words
        self.error: BaseException | None = None  # the worker's unexpected failure, if any
        self.seconds_per_step = 0.0
        self.last_saved = time.monotonic()
        self.closed = False
        self._play = play or (lambda t, n, which="both": t.step(n, which))
        self._evaluate = evaluate
        self._on_autosave = on_autosave
        self._autosave_s = autosave_s
        self._curves = CurveColumns()
        self._copies = ModelCopies()
        self._stop = threading.Event()
        self._worker: threading.Thread | None = None
        self._gen = 0  # bumped by every start: a worker of an older generation exits
        self._cond = threading.Condition()
        self.seq = 0  # bumped whenever what a frame shows changes
        self._wanted = False  # a watcher waits for a fresh snapshot
        self._watched_at = 0.0
        self._latest: Snapshot | None = None
        self._snapped_at = 0.0
        self._alert_cache: tuple[Any, float, list[dict[str, Any]]] | None = None
        self._heat: Any = None  # the last decision map worked out (2D), and whether the
        self._heat_reused = False  # last snapshot reused it
        self.frame_period = FRAME_PERIOD_S["2d" if trainer.is_2d else "images"]

    # ------------------------------------------------------------------ state
    @property
    def running(self) -> bool:
        return self._worker is not None and self._worker.is_alive()

    def changed(self, note: str | None = None) -> None:
        """Something a frame shows changed (call with the lock held or from the worker)."""
        if note is not None:
            self.note = note
        with self._cond:
            self.seq += 1
            self._latest = None
            self._cond.notify_all()

    def _set_state(self, state: str) -> None:
        self.state = state
        self.changed()

    # ------------------------------------------------------------------ training
    def start(self) -> bool:
        """Train in a worker thread until the target, a pause or a divergence. False (and
        nothing changes) when the run is already at its step target."""
        with self.lock:
            if self.closed:
                raise ValueError("this run was closed: start a new one")
            if self.trainer.step_count >= self.trainer.config.train.steps:
                return False
            self._apply_pending()
            self._gen += 1
            self._stop.clear()
            self.warning = ""
            self.error = None
            gen = self._gen
            self._worker = threading.Thread(target=self._work, args=(gen,), daemon=True,
                                            name=f"train-{self.name}-{self.run_id[:6]}")
            self._set_state("waiting")
            self._worker.start()
            return True

    def pause(self) -> None:
        """Stop training at the end of the current chunk (a fraction of a second)."""
        self._stop.set()

    def wait_stopped(self, timeout: float = 30.0) -> bool:
        worker = self._worker
        if worker is not None and worker is not threading.current_thread():
            worker.join(timeout)
        return not self.running

    def close(self) -> None:
        """Stop training for good and let the models go (idempotent)."""
        self.closed = True
        self._stop.set()
        self.wait_stopped()
        with self._cond:
            self._cond.notify_all()

    def _going(self, gen: int) -> bool:
        return not self._stop.is_set() and gen == self._gen and not self.closed

    def _work(self, gen: int) -> None:
        has_slot = False
        try:
            while not (has_slot := self.slots.acquire(timeout=0.2)):
                if not self._going(gen):
                    return
            if not self._going(gen):
                return
            with self.lock:
                self._set_state("training")
            self._train(gen)
        except Exception as e:  # shown to the user as a warning; the run stays usable
            self.error = e
            self.warning = f"training stopped: {e}"
        finally:
            if has_slot:
                self.slots.release()
            with self.lock:
                if gen == self._gen:
                    t = self.trainer
                    done = t.step_count >= t.config.train.steps
                    self._set_state("diverged" if t.diverged else "done" if done else "paused")
                    if has_slot and not self.closed:
                        self.autosave()  # a stopped run is saved as it stands

    def _train(self, gen: int) -> None:
        note = ""
        while self._going(gen):
            if self.lock.waiting:  # a Save, an edit, a frame capture: let it in first
                time.sleep(STEP_ASIDE_S)
            with self.lock:
                trainer = self.trainer
                if not self._going(gen):
                    break
                note = self._apply_pending() or note
                remaining = trainer.config.train.steps - trainer.step_count
                if remaining <= 0:
                    break
                chunk_s = self.frame_period if self.watched else CHUNK_S
                guess = chunk_s / self.seconds_per_step if self.seconds_per_step else 1
                n = int(max(1, min(remaining, MAX_CHUNK, guess)))
                every = self.measure_every
                if every:  # end the chunk on the next multiple of N, where quality is measured
                    n = min(n, every - trainer.step_count % every)
                start = time.monotonic()
                records = self._play(trainer, n)
                self.seconds_per_step = (time.monotonic() - start) / n
                if trainer.diverged:
                    self.warning = records[-1].event
                    self.changed()
                    break
                if every and trainer.step_count % every == 0:
                    self.measure()
                self.changed(note or None)
                note = ""
                if self._wanted and time.monotonic() - self._snapped_at >= 0.9 * self.frame_period:
                    self._take_snapshot()
                elif not self.watched and self.timelapse.due(trainer.step_count):
                    # Nobody watches (an API client, a closed tab): keep a frame for the
                    # timelapse anyway. While someone watches, their frames feed it.
                    self.timelapse.offer(self._capture().compute())
                if self._autosave_s and time.monotonic() - self.last_saved >= self._autosave_s:
                    self.autosave()

    def autosave(self) -> None:
        """Save through the `on_autosave` hook now (lock held by the caller or taken here)."""
        if self._on_autosave is None:
            return
        with self.lock:
            self.last_saved = time.monotonic()
            try:
                self._on_autosave(self)
            except Exception as e:  # saving must never stop the training
                self.note = f"⚠️ Not saved: {e}"

    # ------------------------------------------------------------------ edits and steps
    def edit(self, changes: dict[str, Any]) -> str:
        """Live edits: applied now when idle, at the next chunk while training. The values are
        checked at once either way, so a bad one is refused here and changes nothing."""
        with self.lock:
            current = self.trainer.config.train
            diff = {k: v for k, v in changes.items() if getattr(current, k) != v}
            if not diff:
                return ""
            self.trainer.check_update(**diff)
            if self.running:
                self.pending.update(diff)
                return ("Sent to the running model, which takes it at its next step (marked "
                        "on the curves): " + describe(diff))
            self.trainer.update(**diff)
            self.changed()
            return "Applied: " + describe(diff)

    def _apply_pending(self) -> str:
        changes, self.pending = self.pending, {}
        if not changes:
            return ""
        changed = self.trainer.update(**changes)
        return ("Applied: " + describe(changed)) if changed else ""

    def back_to_good_settings(self) -> str:
        """Undo the most recent live edit (after a divergence: the settings that came before
        it trained); "" when there is none left to undo. Pressed again, it walks further back."""
        with self.lock:
            trainer = self.trainer
            if not trainer.undo:
                return ""
            previous = trainer.undo.pop()
            trainer.update(**previous)
            trainer.undo.pop()  # undoing is not itself an edit to undo later
            self.changed()
            return "Back to the settings before your last change: " + describe(previous)

    def step_once(self, which: str) -> str:
        """One round of the game ("both", "d" or "g"), said in words: what it did to D(x) and
        D(G(z)) on a fixed probe batch. Pauses a running loop first."""
        self.pause()
        self.wait_stopped()
        with self.lock:
            trainer = self.trainer
            self._apply_pending()
            before = trainer.probe()
            records = self._play(trainer, 1, which)
            if trainer.diverged:
                self.warning = records[-1].event
                self._set_state("diverged")
                return "The step diverged: see the warning."
            after = trainer.probe()
            self.state = "paused"
            text = explain_step(which, before, after)
            self.changed(text)
            return text

    def begin_steps(self) -> None:
        """Before a caller plays steps itself (`play_chunk`): stop the worker, clear Pause."""
        self.pause()
        self.wait_stopped()
        self._stop.clear()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set() or self.closed

    def play_chunk(self, n_left: int, which: str = "both") -> list[StepRecord]:
        """Up to `n_left` steps, about CHUNK_S seconds of them, in the caller's thread (the API's
        /train_steps): a Pause or a cancellation between chunks stops it within one."""
        with self.lock:
            trainer = self.trainer
            self._apply_pending()
            guess = CHUNK_S / self.seconds_per_step if self.seconds_per_step else 1
            n = int(max(1, min(n_left, MAX_CHUNK, guess)))
            start = time.monotonic()
            records = self._play(trainer, n, which)
            self.seconds_per_step = (time.monotonic() - start) / n
            if trainer.diverged:
                self.warning = records[-1].event
                self.state = "diverged"
            elif self.state in ("idle", "diverged"):
                self.state = "paused"
            if self.timelapse.due(trainer.step_count):
                self.timelapse.offer(self._capture().compute())
            self.changed()
            return records

    # ------------------------------------------------------------------ quality
    def measure(self) -> dict[str, Any]:
        """Measure the model now and keep the result with the run (lock held or taken)."""
        if self._evaluate is None:
            raise ValueError("quality metrics are not available here")
        with self.lock:
            result = dict(self._evaluate(self.trainer))
            result["step"] = self.trainer.step_count
            self.metrics.append(result)
            self.changed()
            return result

    # ------------------------------------------------------------------ frames
    @property
    def watched(self) -> bool:
        return time.monotonic() - self._watched_at < WATCH_GRACE_S

    def _capture(self) -> Snapshot:
        """Copy what a frame shows (lock held). A 2D run's decision map is worked out for every
        other frame while it trains, the one before reused in between (it moves slowly, and it
        is the costliest part of a frame)."""
        t = self.trainer
        state = self.state
        head = FrameHead(self.seq, self.run_id, t.step_count, t.config.train.steps, state,
                         t.elapsed_s, 1.0 / self.seconds_per_step if self.seconds_per_step and
                         state == "training" else 0.0,
                         [(s, describe(c, "=")) for s, c in t.changes], [], self.note)
        job = view_job(t, self._copies)
        reuse = self._heat is not None and state == "training" and not self._heat_reused
        if job.real is not None and reuse:
            job.heat = self._heat
        self._heat_reused = reuse
        snap = Snapshot(self.seq, head, self._curves.update(t.history), t.config.train.steps,
                        t.history[-HISTORY_TAIL:], list(self.metrics), t.config.train.loss, job)
        snap.fresh_heat = not reuse
        return snap

    def _take_snapshot(self) -> None:
        self._snapped_at = time.monotonic()
        snap = self._capture()
        with self._cond:
            self._latest = snap
            self._wanted = False
            self._cond.notify_all()

    def frame(self, after_seq: int = -1, since_step: int = -1, with_real: bool = False,
              timeout: float = 2.0) -> dict[str, Any] | None:
        """The next frame newer than `after_seq`, waiting up to `timeout` s; None if nothing
        changed. Curves come from after `since_step`; `with_real` adds the real 2D points."""
        self._watched_at = time.monotonic()
        deadline = time.monotonic() + max(0.0, timeout)
        snap = None
        with self._cond:
            while not self.closed:
                latest = self._latest
                if latest is not None and latest.seq > after_seq:
                    snap = latest
                    break
                if self.seq > after_seq and self.state != "training":
                    break  # nothing trains: capture it here (below)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                if self.state == "training":
                    self._wanted = True
                self._cond.wait(min(remaining, 0.5))
        if snap is None:
            with self.lock:
                if self.closed:
                    return None
                snap = self._capture()
                with self._cond:
                    self._latest = snap
        return self._frame_of(snap, since_step, with_real)

    def _alerts(self, snap: Snapshot) -> list[dict[str, Any]]:
        """The alerts of a snapshot, worked out again only every ALERT_EVERY_S (they look at
        the last 550 records: a fraction of a second changes little)."""
        key = (snap.head.run, self.warning, len(snap.metrics))
        cached = self._alert_cache
        if cached is not None and cached[0] == key and \
                time.monotonic() - cached[1] < ALERT_EVERY_S and snap.head.state == "training":
            return cached[2]
        found = alert_dicts(snap.history, snap.metrics, snap.loss, self.warning)
        self._alert_cache = (key, time.monotonic(), found)
        return found

    def _frame_of(self, snap: Snapshot, since_step: int, with_real: bool) -> dict[str, Any]:
        view = snap.compute()
        if view.kind == "2d" and snap.fresh_heat:
            self._heat = view.heat
        self.timelapse.offer(view)
        head = snap.head
        head.alerts = self._alerts(snap)
        real = None
        if with_real and view.kind == "2d":
            real = snap.job.real.numpy()
        final = head.state != "training"
        curves = curves_since(snap.columns, since_step, snap.target, final)
        # The decision map when it is new, or when this watcher starts afresh.
        heat = snap.fresh_heat or with_real or since_step < 0
        return make_frame(head, curves, encode_view(view, real, heat))

    def latest_view(self) -> ViewFrame:
        """The view of the model as it is now (for the picture download)."""
        with self.lock:
            snap = self._capture()
        return snap.compute()

    def real_points(self) -> Any:
        with self.lock:
            return real_points(self.trainer).numpy() if self.trainer.is_2d else None


def describe(changes: dict[str, Any], sep: str = " = ") -> str:
    """Setting changes in words: "g_lr = 0.0005, loss = hinge"."""
    def fmt(v: Any) -> str:
        return f"{v:.4g}" if isinstance(v, float) else str(v)
    return ", ".join(f"{k}{sep}{fmt(v)}" for k, v in changes.items())


def explain_step(which: str, before: tuple[float, float], after: tuple[float, float]) -> str:
    """What one step did, e.g. "D step: D(x) 0.61 -> 0.64, D(G(z)) 0.42 -> 0.38"."""
    what = {"d": "D step", "g": "G step", "both": "D step, then G step"}[which]
    (r0, f0), (r1, f1) = before, after
    return (f"{what}: D(x) {r0:.3f} → {r1:.3f}, D(G(z)) {f0:.3f} → {f1:.3f} "
            "(mean scores of a fixed batch of reals and fakes)")


def alert_dicts(history: list[StepRecord], metrics: list[dict[str, Any]], loss: str,
                warning: str = "") -> list[dict[str, Any]]:
    """The run's alerts as plain dicts for a frame; the divergence message first."""
    out: list[dict[str, Any]] = []
    if warning:
        out.append({"kind": "diverged", "step": history[-1].step if history else 0,
                    "title": "Training diverged", "text": warning, "try": ""})
    try:
        found = alerts.check(history, metrics or None, loss=loss)
    except Exception:  # an alert bug must never stop the live view
        found = []
    for a in found[:3]:
        if a.kind == "diverged" and warning:
            continue
        out.append({"kind": a.kind, "step": a.step, "title": a.title, "text": a.explanation,
                    "try": a.what_to_try})
    return out

