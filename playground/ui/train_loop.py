"""The Train tab's training loop: a worker thread trains, the event streams views of it.

Training runs in a worker thread, in short chunks of steps (about CHUNK_S seconds each) under the
session's lock, so Pause, live edits and Save take effect within a chunk. About every
REFRESH_PERIOD_S the worker copies what the view needs (`train_view.capture`, a few ms) and goes
on training; the event itself, a generator, draws that snapshot into pictures and yields them to
the page meanwhile. Drawing, PNG encoding and sending cost ~50-100 ms a refresh: done beside the
training (the app leaves a core free for it) rather than between chunks, they no longer slow it.
Live edits of the training fields wait in `session.pending` and apply at the next chunk.
"""
from __future__ import annotations

import contextvars
import threading
import time
from typing import Any, Callable

import gradio as gr

from ..train import StepRecord, Trainer
from .common import error, gpu
from .session import Session
from .train_view import Snapshot, View, capture, draw, render

CHUNK_S = 0.25  # seconds of training per chunk: how soon Pause, edits and Save take effect
REFRESH_PERIOD_S = 0.45  # a snapshot for the page at most this often (the page shows >= 2/s)
STEP_ASIDE_S = 0.002  # the worker's pause between chunks when another event waits for the lock
MAX_CHUNK = 10_000


@gpu(duration=30)
def play(trainer: Trainer, n: int, which: str = "both") -> list[StepRecord]:
    """n steps: the unit of GPU time on a ZeroGPU Space."""
    return trainer.step(n, which)


@gpu(duration=30)
def _evaluate(evaluate_generator: Any, trainer: Trainer) -> dict[str, Any]:
    return evaluate_generator(trainer.sampler(), trainer.dataset, trainer.config.model,
                              device=trainer.device)


def measure_quality(session: Session) -> dict[str, Any]:
    """Measure the session's model now (`playground.metrics`) and keep the result with the run.
    Call with the session's lock held and a trainer present."""
    try:
        from ..metrics import evaluate_generator
    except ImportError:
        raise error("Quality metrics are not available in this version.") from None
    result = _evaluate(evaluate_generator, session.trainer)
    result["step"] = session.trainer.step_count
    session.metrics.append(result)
    return result


def stream(session: Session, updates: Callable[[Session, View], tuple]):
    """Train until the step target, a Pause, a divergence or a closed tab, streaming views."""
    run = session.begin_loop()
    board = _Board()
    try:
        with session.lock:
            first = render(session, "Training…", session.layers)
        yield updates(session, first)
        # The worker runs in this event's context (ZeroGPU and Gradio look up the request).
        worker = threading.Thread(target=contextvars.copy_context().run,
                                  args=(_train_worker, session, run, board),
                                  name=f"train-{session.id[:8]}", daemon=True)
        worker.start()
        while (snap := board.next()) is not None:
            view = draw(snap)
            session.timelapse.offer(snap.step, lambda: view.picture)
            yield updates(session, view)  # training goes on while Gradio sends it
        worker.join()
        if board.error is not None:
            raise board.error
        if board.diverged:
            gr.Warning(board.diverged)
        session.end_loop(run)
        final_view = None
        with session.lock:  # never yield while holding the lock: the generator may resume
            trainer = session.trainer  # on another thread, which could not release it
            if trainer is not None and run == session.run_id:
                apply_pending(session)
                done = trainer.step_count >= trainer.config.train.steps
                final = ("Diverged: see the warning." if trainer.diverged else
                         "Done: reached the step target." if done else "Paused.")
                final_view = render(session, final, session.layers)
                session.timelapse.offer(trainer.step_count, lambda: final_view.picture)
        if final_view is not None:
            yield updates(session, final_view)
    finally:
        session.end_loop(run)  # also stops the worker, e.g. when the page went away
        board.close()


def _train_worker(session: Session, run: int, board: "_Board") -> None:
    """Chunks of steps back to back; a snapshot for the page whenever it is ready for one."""
    note, last_snapshot = "", 0.0
    try:
        while session.should_continue(run) and not board.closed:
            if session.lock.waiting:  # a Save, an edit, a Measure: let it in first
                time.sleep(STEP_ASIDE_S)
            with session.lock:
                trainer = session.trainer
                if trainer is None or not session.should_continue(run):
                    break  # (a new run may have begun while this one waited for the lock)
                note = apply_pending(session) or note
                remaining = trainer.config.train.steps - trainer.step_count
                if remaining <= 0:
                    break
                guess = CHUNK_S / session.seconds_per_step if session.seconds_per_step else 1
                n = int(max(1, min(remaining, MAX_CHUNK, guess)))
                start = time.monotonic()
                records = play(trainer, n)
                session.seconds_per_step = (time.monotonic() - start) / n
                if trainer.diverged:
                    session.warning = board.diverged = records[-1].event
                    break
                every = session.measure_every
                if every and trainer.step_count // every > (trainer.step_count - n) // every:
                    measure_quality(session)  # shown (and checked for collapse) at the next view
                now = time.monotonic()
                if board.ready() and now - last_snapshot >= REFRESH_PERIOD_S:
                    board.put(capture(session, note or "Training…", session.layers))
                    last_snapshot, note = now, ""
    except Exception as e:  # shown to the user by the event, as before
        board.error = e
    finally:
        board.finish()


def apply_pending(session: Session) -> str:
    """Apply the live edits waiting in `session.pending` (lock held); what changed, in words."""
    changes = session.take_pending()
    if not changes or session.trainer is None:
        return ""
    changed = session.trainer.update(**changes)
    return ("Applied: " + ", ".join(f"{k} = {v}" for k, v in changed.items())) if changed \
        else ""


class _Board:
    """Hands snapshots from the training worker to the event that streams them: one at a time,
    the newest; the worker only takes one when the event is ready to draw it."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._snap: Snapshot | None = None
        self._waiting = False  # the event is waiting for a snapshot
        self._done = False  # the worker has stopped
        self.closed = False  # the event has stopped (the worker should too)
        self.error: BaseException | None = None
        self.diverged = ""

    def ready(self) -> bool:
        return self._waiting and self._snap is None

    def put(self, snap: Snapshot) -> None:
        with self._cond:
            self._snap = snap
            self._cond.notify_all()

    def finish(self) -> None:
        with self._cond:
            self._done = True
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()

    def next(self) -> Snapshot | None:
        """The next snapshot, or None once the worker has stopped (and all were taken)."""
        with self._cond:
            self._waiting = True
            try:
                while self._snap is None and not self._done and not self.closed:
                    self._cond.wait()
                snap, self._snap = self._snap, None
                return snap
            finally:
                self._waiting = False
